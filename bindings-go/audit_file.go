package charter

// #include "shim.h"
import "C"

import (
	"runtime"
	"unsafe"
)

// The auditor's path: verifying and proving from a log file without ever
// writing to it or taking its lock, so it works on a read-only file and
// beside a live writer (it reads the records complete when it runs). What
// is trusted and what counts as a rollback is decided by the library;
// these functions pass the options through.

// VerifyOption configures [VerifyAuditFile]. Without any, nothing is
// trusted: only the records' own integrity is checked.
type VerifyOption func(*verifyConfig)

type verifyConfig struct {
	logKey, against, state *string // nil: not given
	allowMissing           bool
	witnesses              []string
	quorum                 int
}

// WithLogKey trusts the log's note verifier key ([AuditLog.VerifierKey]):
// the persisted checkpoint "<path>.checkpoint" must verify with it and the
// records must extend it. A log without one fails unless
// [AllowMissingCheckpoint].
func WithLogKey(key string) VerifyOption {
	return func(c *verifyConfig) { c.logKey = &key }
}

// AllowMissingCheckpoint accepts, with [WithLogKey], a log that has no
// persisted checkpoint.
func AllowMissingCheckpoint() VerifyOption {
	return func(c *verifyConfig) { c.allowMissing = true }
}

// WithAgainst requires the records to extend note too, an earlier
// checkpoint of the log kept elsewhere (needs [WithLogKey]).
func WithAgainst(note string) VerifyOption {
	return func(c *verifyConfig) { c.against = &note }
}

// WithWitnesses requires quorum of the witnesses whose cosigner keys
// ([CosignerKey], [Witness.VerifierKey]) are keys to have cosigned the
// persisted checkpoint.
func WithWitnesses(quorum int, keys ...string) VerifyOption {
	return func(c *verifyConfig) { c.quorum, c.witnesses = quorum, keys }
}

// WithTrustState keeps the last checkpoint this verifier accepted per
// origin in the file at path (created 0600): the log must extend it, and
// a passing verification records the newest one, so a rollback or a
// deleted and restarted log is caught without [WithAgainst] (needs
// [WithLogKey]).
func WithTrustState(path string) VerifyOption {
	return func(c *verifyConfig) { c.state = &path }
}

// VerifyAuditFile verifies the log file at path without writing to it or
// locking it: it rereads every record and recomputes the tree in memory
// that does not grow with the log, then checks what opts require. The
// findings are in the report; an error means the check could not run:
// [ErrNotFound], [ErrIO], [ErrInvalidArgument] (not a regular file, or
// options that need [WithLogKey]), [ErrCorrupt] (not an audit log),
// [ErrMalformed] or [ErrBadSignature] (a bad key or note).
func VerifyAuditFile(path string, opts ...VerifyOption) (VerifyReport, error) {
	var cfg verifyConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.quorum < 0 {
		return VerifyReport{}, invalidArgument("quorum must not be negative, got %d", cfg.quorum)
	}
	p, pn, err := cString("path", path)
	if err != nil {
		return VerifyReport{}, err
	}
	key, keyLen, err := optionalString("log key", cfg.logKey)
	if err != nil {
		return VerifyReport{}, err
	}
	against, againstLen, err := optionalString("against note", cfg.against)
	if err != nil {
		return VerifyReport{}, err
	}
	state, stateLen, err := optionalString("trust state path", cfg.state)
	if err != nil {
		return VerifyReport{}, err
	}
	ws, wn, err := cStrings("witness key", cfg.witnesses)
	if err != nil {
		return VerifyReport{}, err
	}
	res := C.chgo_audit_verify_file(p, pn, key, keyLen, C.bool(cfg.allowMissing), against, againstLen, ws, wn,
		C.size_t(cfg.quorum), state, stateLen)
	runtime.KeepAlive(cfg)
	return goReport(res)
}

// ProveFileInclusion returns the proof that record index is in the tree of
// the first size records of the log file at path, and that tree's root,
// read without writing or locking. Check it with [VerifyInclusion].
func ProveFileInclusion(path string, index, size uint64) ([]Hash, Hash, error) {
	p, pn, err := cString("path", path)
	if err != nil {
		return nil, Hash{}, err
	}
	res := C.chgo_audit_prove_file_inclusion(p, pn, C.uint64_t(index), C.uint64_t(size))
	runtime.KeepAlive(path)
	root := Hash(C.GoBytes(unsafe.Pointer(&res.root[0]), HashLen))
	proof, err := goHashes(C.chgo_bytes{status: res.status, message: res.message, data: res.data, len: res.len})
	if err != nil {
		return nil, Hash{}, err
	}
	return proof, root, nil
}

// ProveFileConsistency returns the proof that the tree of the first
// oldSize records of the log file at path is a prefix of the tree of the
// first newSize, read without writing or locking. Check it with
// [VerifyConsistency].
func ProveFileConsistency(path string, oldSize, newSize uint64) ([]Hash, error) {
	p, pn, err := cString("path", path)
	if err != nil {
		return nil, err
	}
	res := C.chgo_audit_prove_file_consistency(p, pn, C.uint64_t(oldSize), C.uint64_t(newSize))
	runtime.KeepAlive(path)
	return goHashes(res)
}

// optionalString is cString, or NULL for an option not given (nil). An
// option given as "" is passed as "", for Charter to refuse: it is never
// read as "not given".
func optionalString(what string, s *string) (*C.char, C.size_t, error) {
	if s == nil {
		return nil, 0, nil
	}
	return cString(what, *s)
}
