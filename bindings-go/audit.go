package charter

// #include "shim.h"
import "C"

import (
	"context"
	"encoding/hex"
	"iter"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// HashLen is the length of a [Hash].
const HashLen = 32

// Hash is a SHA-256 hash of the audit log's RFC 9162 Merkle tree: a leaf
// hash, a root, or one hash of a proof.
type Hash [HashLen]byte

// String returns h in hex.
func (h Hash) String() string {
	return hex.EncodeToString(h[:])
}

// Decision is what an audited operation came to. The zero Decision is
// none: in an [AuditQuery] it selects every decision.
type Decision int32

// The decisions.
const (
	DecisionAllow Decision = iota + 1 // the operation was allowed
	DecisionDeny                      // the operation was refused
	DecisionError                     // the operation could not be decided or failed
)

// String returns "allow", "deny", "error", or "Decision(n)".
func (d Decision) String() string {
	switch d {
	case DecisionAllow:
		return "allow"
	case DecisionDeny:
		return "deny"
	case DecisionError:
		return "error"
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}

// code is d's C value, CHARTER_AUDIT_ALLOW and so on. Go numbers the
// decisions from 1 (so that the zero Decision is none), C from 0: a d
// outside the constants is refused here, in Go's names, since Charter
// would quote a number the caller never wrote.
func (d Decision) code(what string) (C.int32_t, error) {
	if d < DecisionAllow || d > DecisionError {
		return 0, invalidArgument("%s must be DecisionAllow, DecisionDeny or DecisionError, got %v", what, d)
	}
	return C.int32_t(d - 1), nil
}

// Record is one audit record.
type Record struct {
	// Index is the record's place in the log, set by the log (ignored by
	// Append).
	Index uint64
	// Time is when it happened, kept in milliseconds since the Unix epoch.
	// Append records the zero Time as the current time.
	Time time.Time
	// Actor is who asked, a principal id ("charter-id1:..."), or "" when
	// unknown.
	Actor string
	// ActorUnproven is true when Actor was only claimed, never proven:
	// named by the request (such as the subject of a token whose session
	// was refused before its holder proved possession of the key). Read it
	// as "someone named this principal", not "this principal acted".
	// Append refuses it without an Actor ([ErrInvalidArgument]).
	ActorUnproven bool
	// Action is what was asked, such as "publish": 1 to 64 bytes.
	Action string
	// Resource is what it was asked on, such as a topic: at most 1024 bytes.
	Resource string
	// Decision is what it came to.
	Decision Decision
	// Reason is StatusOK, or the status of the refusal, so a reader can tell
	// a missing grant from an expired session.
	Reason Status
	// Detail is free text for people: at most 1024 bytes.
	Detail string
}

// Fsync is when appended records reach stable storage; see [WithFsync].
// The zero Fsync is [FsyncAlways].
type Fsync struct {
	policy   int32
	interval time.Duration // for FsyncEvery only
}

// The fsync policies' codes in charter.h, as literals so that go doc shows
// the variables below without C names (constants_check.go keeps them equal).
const (
	fsyncAlways   int32 = 0
	fsyncInterval int32 = 1
	fsyncNever    int32 = 2
)

// The fsync policies that take no argument; see also [FsyncEvery].
var (
	// FsyncAlways makes Append return once its record is on stable storage.
	// Concurrent appenders share fsyncs.
	FsyncAlways = Fsync{policy: fsyncAlways}
	// FsyncNever syncs only in Sync, Checkpoint and when the log is released.
	FsyncNever = Fsync{policy: fsyncNever}
)

// FsyncEvery syncs from a background thread once per d (rounded up to whole
// milliseconds; at least 1 ms): a crash loses at most d of records.
func FsyncEvery(d time.Duration) Fsync {
	return Fsync{policy: fsyncInterval, interval: d}
}

// AuditOption configures [OpenAudit], [StartOverAudit] and [OpenAuditInMemory].
type AuditOption func(*auditConfig)

type auditConfig struct {
	fsync              Fsync
	signer             *KeyPair
	origin             *string // nil: not given
	checkpointEvery    uint64
	checkpointInterval time.Duration
}

// WithFsync sets when records reach stable storage (default [FsyncAlways]).
func WithFsync(f Fsync) AuditOption {
	return func(c *auditConfig) { c.fsync = f }
}

// WithSigner signs the log's checkpoints with key (the log keeps its own
// copy; key may be closed afterwards). Without a signer the log cannot sign
// checkpoints.
func WithSigner(key *KeyPair) AuditOption {
	return func(c *auditConfig) { c.signer = key }
}

// WithOrigin names the log in its checkpoints and names its signing key:
// no spaces, no '+' (default "charter.local/audit").
func WithOrigin(origin string) AuditOption {
	return func(c *auditConfig) { c.origin = &origin }
}

// WithCheckpointEvery signs a checkpoint automatically after every n
// records (needs [WithSigner]; 0, the default, never does). Records after
// the newest checkpoint cannot be authenticated: this bounds how many.
func WithCheckpointEvery(n uint64) AuditOption {
	return func(c *auditConfig) { c.checkpointEvery = n }
}

// WithCheckpointInterval signs a checkpoint automatically every d (rounded
// up to whole milliseconds) when records were added since the last one
// (needs [WithSigner]; 0, the default, never does).
func WithCheckpointInterval(d time.Duration) AuditOption {
	return func(c *auditConfig) { c.checkpointInterval = d }
}

// AuditLog is an append-only, tamper-evident log of [Record]s: each record
// is a leaf of an RFC 9162 Merkle tree over SHA-256, whose root is signed
// in C2SP checkpoints that any transparency-log tool can verify (Go's
// golang.org/x/mod/sumdb/note among them). docs/audit.md describes the
// guarantees and docs/formats.md the file.
//
// Create one with [OpenAudit] or [OpenAuditInMemory] and release it with
// Close; the zero AuditLog is closed. A [Bus] or [Authority] recording
// into the log keeps it open after Close.
type AuditLog struct {
	h handle[*C.charter_audit_t]
}

// OpenAudit opens the log kept in the file at path, creating it (mode
// 0600) if it does not exist. A torn last record (a crash during an
// append) is cut off and reported by [AuditLog.Recovery]; a damaged record
// anywhere else, or contents that do not extend the log's own checkpoint
// (rewritten, cut or replaced), fail with [ErrCorrupt] naming the record,
// and the file is left as it is. With a signer, a checkpoint of another
// key fails with [ErrBadSignature] and one of another origin with
// [ErrInvalidArgument]: a new key or origin is a new history, see
// [StartOverAudit]. Anything but a regular file is [ErrInvalidArgument].
func OpenAudit(path string, opts ...AuditOption) (*AuditLog, error) {
	p, n, err := cString("path", path)
	if err != nil {
		return nil, err
	}
	return newAudit(p, n, nil, 0, opts)
}

// StartOverAudit starts a new history at path: the operator's explicit act
// for a log that no longer extends its checkpoint (deleted, damaged,
// rolled back). It needs [WithSigner] and a [WithOrigin] other than the old
// checkpoint's ([ErrInvalidArgument] otherwise). The old log and
// checkpoint are kept, renamed "<path>.replaced-<unix ms>" and
// "<path>.checkpoint.replaced-<unix ms>"; record 0 of the new log (action
// "start_over") names the old origin, size and root and reason, and its
// first checkpoint is signed at once.
func StartOverAudit(path, reason string, opts ...AuditOption) (*AuditLog, error) {
	p, n, err := cString("path", path)
	if err != nil {
		return nil, err
	}
	r, rn, err := cString("reason", reason)
	if err != nil {
		return nil, err
	}
	return newAudit(p, n, r, rn, opts)
}

// OpenAuditInMemory creates a log kept in memory only: the same tree, proofs
// and checkpoints without a file. Its fsync policy is ignored. (Python's
// AuditLog.in_memory, Node's AuditLog.inMemory.)
func OpenAuditInMemory(opts ...AuditOption) (*AuditLog, error) {
	return newAudit(nil, 0, nil, 0, opts)
}

// NewMemoryAudit is the former name of [OpenAuditInMemory].
//
// Deprecated: use [OpenAuditInMemory], the name the other languages use.
func NewMemoryAudit(opts ...AuditOption) (*AuditLog, error) {
	return OpenAuditInMemory(opts...)
}

// AuditRecovery is the former name of [Recovery].
//
// Deprecated: use [Recovery].
type AuditRecovery = Recovery

// AuditFilter is the former name of [AuditQuery].
//
// Deprecated: use [AuditQuery], the name Node uses.
type AuditFilter = AuditQuery

func newAudit(path *C.char, pathLen C.size_t, reason *C.char, reasonLen C.size_t, opts []AuditOption) (
	*AuditLog, error) {
	var cfg auditConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	ms, err := millis("fsync interval", cfg.fsync.interval, false)
	if err != nil && cfg.fsync.policy == fsyncInterval {
		return nil, err
	}
	every, err := millis("checkpoint interval", cfg.checkpointInterval, true)
	if err != nil {
		return nil, err
	}
	var signer *C.charter_keypair_t
	if cfg.signer != nil {
		if signer, err = cfg.signer.ref("signer").load(); err != nil {
			return nil, err
		}
	}
	origin, originLen, err := optionalString("origin", cfg.origin)
	if err != nil {
		return nil, err
	}
	res := C.chgo_audit_open(path, pathLen, C.int32_t(cfg.fsync.policy), ms, signer, origin, originLen,
		C.uint64_t(cfg.checkpointEvery), every, reason, reasonLen)
	runtime.KeepAlive(cfg.signer)
	var hs []checker
	if cfg.signer != nil {
		hs = append(hs, &cfg.signer.h)
	}
	l := &AuditLog{}
	return adopt(l, &l.h, "audit log", (*C.charter_audit_t)(res.handle), freeAudit, res.status, res.message, hs...)
}

func freeAudit(p *C.charter_audit_t) error {
	return statusErr(C.chgo_audit_free(p))
}

// Close releases the log. Buses and authorities recording into it keep it
// open until they are closed; the last to let go syncs it (unless its
// policy is [FsyncNever]). Later calls of any method return an error
// matching [ErrClosed]; a second Close returns nil.
func (l *AuditLog) Close() error {
	return l.ref().close(freeAudit)
}

func (l *AuditLog) ref() *handle[*C.charter_audit_t] {
	return refOf(l, "audit log", func() *handle[*C.charter_audit_t] { return &l.h })
}

// Append appends r and returns its index. Under [FsyncAlways] the record is
// on stable storage when Append returns nil. A record over its limits fails
// with [ErrLimitExceeded] (or [ErrInvalidArgument] for an empty action or
// an invalid decision), an actor that is not a principal id with
// [ErrMalformed], and a failed write or fsync with [ErrIO].
func (l *AuditLog) Append(r Record) (uint64, error) {
	if l == nil {
		return 0, nilArgument("audit log")
	}
	ms := time.Now().UnixMilli()
	if !r.Time.IsZero() {
		ms = r.Time.UnixMilli()
	}
	if ms < 0 {
		return 0, invalidArgument("record time must not be before the Unix epoch, got %v", r.Time)
	}
	var actor *C.char
	var actorLen C.size_t
	var err error
	if r.Actor != "" {
		if actor, actorLen, err = cString("actor", r.Actor); err != nil {
			return 0, err
		}
	}
	action, actionLen, err := cString("action", r.Action)
	if err != nil {
		return 0, err
	}
	resource, resourceLen, err := cString("resource", r.Resource)
	if err != nil {
		return 0, err
	}
	detail, detailLen, err := cString("detail", r.Detail)
	if err != nil {
		return 0, err
	}
	decision, err := r.Decision.code("record Decision")
	if err != nil {
		return 0, err
	}
	p, err := l.ref().load()
	if err != nil {
		return 0, err
	}
	res := C.chgo_audit_append(p, C.uint64_t(ms), actor, actorLen, C.bool(r.ActorUnproven), action, actionLen,
		resource, resourceLen, decision, C.int32_t(r.Reason), detail, detailLen)
	runtime.KeepAlive(l)
	runtime.KeepAlive(r)
	if res.status != C.CHARTER_OK {
		return 0, failure(res.status, res.message, &l.h)
	}
	return uint64(res.value), nil
}

// Sync forces every record appended so far to stable storage.
func (l *AuditLog) Sync() error {
	return run(l.ref(), func(p *C.charter_audit_t) C.chgo_status {
		return C.chgo_audit_sync(p)
	})
}

// Len returns the number of records; 0 for a nil or closed log.
func (l *AuditLog) Len() uint64 {
	n, err := l.length()
	if err != nil {
		return 0
	}
	return n
}

// length is Len with the reason there is none.
func (l *AuditLog) length() (uint64, error) {
	return use(l.ref(), func(p *C.charter_audit_t) C.chgo_value {
		return C.chgo_audit_len(p)
	}, goValue)
}

// Root returns the Merkle root of every record.
func (l *AuditLog) Root() (Hash, error) {
	return use(l.ref(), func(p *C.charter_audit_t) C.chgo_hash {
		return C.chgo_audit_root(p)
	}, goHash)
}

// RootAt returns the Merkle root of the first size records; a size over
// [AuditLog.Len] fails with [ErrInvalidArgument].
func (l *AuditLog) RootAt(size uint64) (Hash, error) {
	return use(l.ref(), func(p *C.charter_audit_t) C.chgo_hash {
		return C.chgo_audit_root_at(p, C.uint64_t(size))
	}, goHash)
}

// RecordHash returns the leaf hash of record index ([ErrNotFound] when
// there is none): what [VerifyInclusion] takes.
func (l *AuditLog) RecordHash(index uint64) (Hash, error) {
	return use(l.ref(), func(p *C.charter_audit_t) C.chgo_hash {
		return C.chgo_audit_record_hash(p, C.uint64_t(index))
	}, goHash)
}

// ProveInclusion returns the proof that record index is in the tree of the
// first size records; check it with [VerifyInclusion].
func (l *AuditLog) ProveInclusion(index, size uint64) ([]Hash, error) {
	return use(l.ref(), func(p *C.charter_audit_t) C.chgo_bytes {
		return C.chgo_audit_prove_inclusion(p, C.uint64_t(index), C.uint64_t(size))
	}, goHashes)
}

// ProveConsistency returns the proof that the tree of the first oldSize
// records is a prefix of the tree of the first newSize; check it with
// [VerifyConsistency].
func (l *AuditLog) ProveConsistency(oldSize, newSize uint64) ([]Hash, error) {
	return use(l.ref(), func(p *C.charter_audit_t) C.chgo_bytes {
		return C.chgo_audit_prove_consistency(p, C.uint64_t(oldSize), C.uint64_t(newSize))
	}, goHashes)
}

// Get returns record index, read back and checked against the tree: a
// record changed on disk fails with [ErrCorrupt], never returned.
// [ErrNotFound] when there is no such record.
func (l *AuditLog) Get(index uint64) (Record, error) {
	p, err := l.ref().load()
	if err != nil {
		return Record{}, err
	}
	res := C.chgo_audit_get(p, C.uint64_t(index))
	runtime.KeepAlive(l)
	if res.status != C.CHARTER_OK {
		return Record{}, failure(res.status, res.message, &l.h)
	}
	r := res.record
	rec := goRecord(r.index, r.time_ms, r.decision, r.reason, r.actor, bool(r.actor_unproven), r.action,
		r.resource, r.detail)
	C.charter_audit_record_free(r)
	return rec, nil
}

// AuditQuery selects records for [AuditLog.Records]. The zero filter
// selects every record.
type AuditQuery struct {
	// FromIndex skips the records before this index.
	FromIndex uint64
	// Since, when not zero, selects records at or after this time.
	Since time.Time
	// Until, when not zero, selects records before this time.
	Until time.Time
	// Actor, when not "", selects the records of this principal id.
	Actor string
	// Decision, when not zero, selects the records with this decision.
	Decision Decision
}

// recordBatch is how many records one cgo call of Records fetches.
const recordBatch = 256

// Records returns an iterator over the records f selects, oldest first,
// among those in the log when iteration starts, each with a nil error.
// Each record is read back and checked as [AuditLog.Get] does: on a
// failure (a record changed on disk is [ErrCorrupt]; a closed log,
// [ErrClosed]; a done ctx, ctx's error; an invalid filter) it yields the
// zero Record and the error, and stops.
//
// Records are fetched in batches, so the loop body runs with no Charter
// call in progress: it may use the log, even Close it (the iteration then
// ends with [ErrClosed]).
func (l *AuditLog) Records(ctx context.Context, f AuditQuery) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		if err := needContext(ctx); err != nil {
			yield(Record{}, err)
			return
		}
		end, err := l.length()
		if err != nil {
			yield(Record{}, err)
			return
		}
		filter, err := f.c()
		if err != nil {
			yield(Record{}, err)
			return
		}
		next := f.FromIndex
		for next < end {
			if err := ctx.Err(); err != nil {
				yield(Record{}, err)
				return
			}
			batch, err := l.batch(next, filter)
			for _, r := range batch {
				if r.Index >= end {
					return
				}
				if !yield(r, nil) {
					return
				}
				next = r.Index + 1
			}
			if err != nil {
				yield(Record{}, err)
				return
			}
			if len(batch) < recordBatch {
				return
			}
		}
	}
}

// cFilter is an AuditQuery as chgo_audit_each takes it.
type cFilter struct {
	from, until C.uint64_t
	actor       string
	decision    C.int32_t
}

func (f AuditQuery) c() (cFilter, error) {
	c := cFilter{until: math.MaxUint64, actor: f.Actor, decision: C.CHARTER_AUDIT_ANY_DECISION}
	if !f.Since.IsZero() {
		ms := f.Since.UnixMilli()
		if ms < 0 {
			return c, invalidArgument("filter Since must not be before the Unix epoch, got %v", f.Since)
		}
		c.from = C.uint64_t(ms)
	}
	if !f.Until.IsZero() {
		ms := f.Until.UnixMilli()
		if ms < 0 {
			return c, invalidArgument("filter Until must not be before the Unix epoch, got %v", f.Until)
		}
		c.until = C.uint64_t(ms)
	}
	if f.Decision != 0 {
		decision, err := f.Decision.code("filter Decision")
		if err != nil {
			return c, err
		}
		c.decision = decision
	}
	return c, nil
}

// batch fetches up to recordBatch records from index from on, and the
// error that ended the iteration early, if any.
func (l *AuditLog) batch(from uint64, f cFilter) ([]Record, error) {
	var actor *C.char
	var actorLen C.size_t
	var err error
	if f.actor != "" {
		if actor, actorLen, err = cString("actor", f.actor); err != nil {
			return nil, err
		}
	}
	p, err := l.ref().load()
	if err != nil {
		return nil, err
	}
	res := C.chgo_audit_each(p, C.uint64_t(from), f.from, f.until, actor, actorLen, f.decision, recordBatch)
	runtime.KeepAlive(l)
	runtime.KeepAlive(f.actor)
	defer C.chgo_audit_batch_free(res.records, res.count)
	records := make([]Record, 0, int(res.count))
	for _, r := range unsafe.Slice(res.records, int(res.count)) {
		records = append(records,
			goRecord(r.index, r.time_ms, r.decision, r.reason, r.actor, bool(r.actor_unproven), r.action,
				r.resource, r.detail))
	}
	if res.status != C.CHARTER_OK {
		return records, failure(res.status, res.message, &l.h)
	}
	return records, nil
}

func goRecord(index, ms C.uint64_t, decision, reason C.int32_t, actor *C.char, actorUnproven bool,
	action, resource, detail *C.char) Record {
	r := Record{
		Index:         uint64(index),
		Time:          time.UnixMilli(int64(ms)),
		ActorUnproven: actorUnproven,
		Action:        C.GoString(action),
		Resource:      C.GoString(resource),
		Decision:      Decision(decision) + 1,
		Reason:        Status(reason),
		Detail:        C.GoString(detail),
	}
	if actor != nil {
		r.Actor = C.GoString(actor)
	}
	return r
}

// VerifierKey returns the note verifier key the log's checkpoints verify
// with, "<origin>+<key id>+<key>": publish it to auditors. A log without a
// signer fails with [ErrInvalidArgument].
func (l *AuditLog) VerifierKey() (string, error) {
	return use(l.ref(), func(p *C.charter_audit_t) C.chgo_string {
		return C.chgo_audit_verifier_key(p)
	}, goString)
}

// Checkpoint signs a checkpoint of the log as it is now, syncing the
// records it covers first, and returns the note. A file log also keeps it
// in "<path>.checkpoint". A log without a signer fails with
// [ErrInvalidArgument].
func (l *AuditLog) Checkpoint() (string, error) {
	return use(l.ref(), func(p *C.charter_audit_t) C.chgo_string {
		return C.chgo_audit_checkpoint(p)
	}, goString)
}

// LatestCheckpoint returns the latest persisted checkpoint note, and false
// when there is none yet.
func (l *AuditLog) LatestCheckpoint() (string, bool, error) {
	p, err := l.ref().load()
	if err != nil {
		return "", false, err
	}
	res := C.chgo_audit_latest_checkpoint(p)
	runtime.KeepAlive(l)
	if res.status == C.CHARTER_OK && res.value == nil {
		return "", false, nil
	}
	note, err := goString(res, &l.h)
	return note, err == nil, err
}

// VerifyReport is what [AuditLog.Verify] or [VerifyAuditFile] found.
type VerifyReport struct {
	// Records is how many records were read back intact, in order, from
	// the start.
	Records uint64
	// FirstBad is the first damaged, rewritten or missing record, when
	// HasFirstBad.
	FirstBad    uint64
	HasFirstBad bool
	// CheckpointSize is the size of the signed checkpoint the records were
	// checked against, when HasCheckpoint.
	CheckpointSize uint64
	HasCheckpoint  bool
	// Problem says what is wrong, or is "" when everything checked out.
	Problem string
	// Root is the root of the first Records records.
	Root Hash
	// WitnessCount is how many trusted witnesses verifiably cosigned the
	// checkpoint ([VerifyAuditFile] with [WithWitnesses]).
	WitnessCount uint64
	// Witnesses are those witnesses' names ([VerifyAuditFile] only).
	Witnesses []string
	// ProblemStatus is what kind of problem was found: [StatusCorrupt]
	// for records damaged, missing or rewritten, [StatusBadSignature] for
	// a checkpoint missing, not verifying or short of its witnesses;
	// [StatusOK] when everything checked out.
	ProblemStatus Status
}

// OK reports whether everything checked out.
func (r VerifyReport) OK() bool {
	return r.Problem == ""
}

// Verify rereads every record (from the file, for a file log), checks each
// one, recomputes the tree and checks it against the latest persisted
// checkpoint (for a log with a signer). The findings are in the report; an
// error means the check could not run ([ErrIO], or a file that is not an
// audit log).
func (l *AuditLog) Verify() (VerifyReport, error) {
	return l.verify(nil, 0)
}

// VerifyAgainst is [AuditLog.Verify], and also checks that the log extends
// note, an earlier checkpoint of it kept elsewhere: a log truncated,
// rolled back or rewritten since is reported even if its persisted
// checkpoint was replaced too. A note that is not a checkpoint of this
// log's signer and origin fails with [ErrBadSignature], [ErrMalformed] or
// [ErrInvalidArgument].
func (l *AuditLog) VerifyAgainst(note string) (VerifyReport, error) {
	n, nn, err := cString("note", note)
	if err != nil {
		return VerifyReport{}, err
	}
	return l.verify(n, nn)
}

func (l *AuditLog) verify(note *C.char, noteLen C.size_t) (VerifyReport, error) {
	return use(l.ref(), func(p *C.charter_audit_t) C.chgo_report {
		return C.chgo_audit_verify(p, note, noteLen)
	}, goReport)
}

// goReport copies the report of a verify on hs and frees its problem, or
// returns its error.
func goReport(res C.chgo_report, hs ...checker) (VerifyReport, error) {
	if res.status != C.CHARTER_OK {
		return VerifyReport{}, failure(res.status, res.message, hs...)
	}
	r := res.report
	report := VerifyReport{
		Records:        uint64(r.records),
		FirstBad:       uint64(r.first_bad),
		HasFirstBad:    bool(r.has_first_bad),
		CheckpointSize: uint64(r.checkpoint_size),
		HasCheckpoint:  bool(r.has_checkpoint),
		Root:           Hash(C.GoBytes(unsafe.Pointer(&r.root[0]), HashLen)),
		WitnessCount:   uint64(r.witness_count),
		ProblemStatus:  Status(r.problem_status),
	}
	if res.problem != nil {
		report.Problem = C.GoString(res.problem)
		C.charter_string_free(res.problem)
	}
	if res.witnesses != nil {
		if names := C.GoString(res.witnesses); names != "" {
			report.Witnesses = strings.Split(names, "\n")
		}
		C.charter_string_free(res.witnesses)
	}
	return report, nil
}

// Recovery is what opening a log found and repaired.
type Recovery struct {
	// Records is how many intact records the file held.
	Records uint64
	// TruncatedBytes is how many bytes of a torn last record (a crash
	// during an append) were cut off. Such a record was never acknowledged
	// under [FsyncAlways].
	TruncatedBytes uint64
}

// Recovery returns what opening the log found and repaired (all zero for a
// log in memory).
func (l *AuditLog) Recovery() (Recovery, error) {
	return use(l.ref(), func(p *C.charter_audit_t) C.chgo_recovery { return C.chgo_audit_recovery(p) }, goRecovery)
}

// goRecovery is the result of a recovery call on hs, or its error.
func goRecovery(res C.chgo_recovery, hs ...checker) (Recovery, error) {
	if res.status != C.CHARTER_OK {
		return Recovery{}, failure(res.status, res.message, hs...)
	}
	return Recovery{Records: uint64(res.recovery.records), TruncatedBytes: uint64(res.recovery.truncated_bytes)}, nil
}

// LeafHash returns the RFC 9162 leaf hash of leaf, SHA-256(0x00 || leaf).
func LeafHash(leaf []byte) Hash {
	data, n := cPayload(leaf)
	res := C.chgo_audit_leaf_hash(data, n)
	runtime.KeepAlive(leaf)
	// Cannot fail: the output is valid and leaf is nil only when empty.
	h, _ := goHash(res)
	return h
}

// VerifyInclusion checks that leaf (a leaf hash, see [AuditLog.RecordHash])
// is at index in the tree of size leaves whose root is root, given the
// inclusion proof. It needs no log. A proof that does not lead to root
// fails with [ErrBadSignature], one of the wrong length with
// [ErrMalformed], an index not below size with [ErrInvalidArgument].
func VerifyInclusion(leaf Hash, index, size uint64, proof []Hash, root Hash) error {
	p, n := cProof(proof)
	res := C.chgo_audit_verify_inclusion((*C.uint8_t)(&leaf[0]), C.uint64_t(index), C.uint64_t(size), p, n,
		(*C.uint8_t)(&root[0]))
	runtime.KeepAlive(proof)
	if res.status != C.CHARTER_OK {
		return cError(res.status, res.message)
	}
	return nil
}

// VerifyConsistency checks that the tree of oldSize leaves with root
// oldRoot is a prefix of the tree of newSize leaves with root newRoot,
// given the consistency proof. It needs no log, and fails as
// [VerifyInclusion] does.
func VerifyConsistency(oldSize, newSize uint64, oldRoot, newRoot Hash, proof []Hash) error {
	p, n := cProof(proof)
	res := C.chgo_audit_verify_consistency(C.uint64_t(oldSize), C.uint64_t(newSize), (*C.uint8_t)(&oldRoot[0]),
		(*C.uint8_t)(&newRoot[0]), p, n)
	runtime.KeepAlive(proof)
	if res.status != C.CHARTER_OK {
		return cError(res.status, res.message)
	}
	return nil
}

// Checkpoint is what a verified checkpoint says: a signed tree head.
type Checkpoint struct {
	// Origin names the log. VerifyCheckpoint does not check it: compare it
	// with the log you expect.
	Origin string
	// Size is the number of records in the tree.
	Size uint64
	// Root is the root of the tree of Size records.
	Root Hash
}

// VerifyCheckpoint verifies the signed checkpoint note with the trusted
// verifierKey ([AuditLog.VerifierKey]) and returns what it says. It needs
// no log. A note without a valid signature by that key fails with
// [ErrBadSignature]; text that is not a note or a key, with [ErrMalformed].
func VerifyCheckpoint(note, verifierKey string) (Checkpoint, error) {
	n, nn, err := cString("note", note)
	if err != nil {
		return Checkpoint{}, err
	}
	k, kn, err := cString("verifier key", verifierKey)
	if err != nil {
		return Checkpoint{}, err
	}
	res := C.chgo_audit_verify_checkpoint(n, nn, k, kn)
	runtime.KeepAlive(note)
	runtime.KeepAlive(verifierKey)
	if res.status != C.CHARTER_OK {
		return Checkpoint{}, cError(res.status, res.message)
	}
	cp := Checkpoint{
		Origin: C.GoString(res.origin),
		Size:   uint64(res.size),
		Root:   Hash(C.GoBytes(unsafe.Pointer(&res.root[0]), HashLen)),
	}
	C.charter_string_free(res.origin)
	return cp, nil
}

// AuditScope is which decisions a [Recorder] records.
type AuditScope int32

// The scopes.
const (
	// RecordDenials records refusals only: allowed operations cost nothing
	// extra.
	RecordDenials AuditScope = 0
	// RecordAll records every decision: each allowed operation waits for
	// its record (and, under [FsyncAlways], its fsync).
	RecordAll AuditScope = 1
)

// Recorder is an audit log plus which decisions to record in it, for
// [NewBusWithRecorder] and [WithAuditRecorder]. Recording fails closed: an
// allowed operation whose record cannot be written fails with the log's
// error. The bus or authority keeps the log open after its Close.
type Recorder struct {
	Log   *AuditLog
	Scope AuditScope
}

// NewBusWithRecorder creates a bus that records its authorization
// decisions (publish, subscribe and request; replies are not decisions) as
// rec selects: actor = the session's principal ("" without a session),
// action "publish", "subscribe" or "request", resource = the topic or
// pattern, reason and detail = the refusal's status and message. With a
// non-nil auth it enforces auth's grants as [NewBusWithAuthority] does. It
// is NewBus(WithAuthority(auth), WithRecorder(rec), opts...).
func NewBusWithRecorder(auth *Authority, rec Recorder, opts ...BusOption) (*Bus, error) {
	var cfg busConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	return newRecordingBus(auth, rec, cfg.limits)
}

func newRecordingBus(auth *Authority, rec Recorder, limits BusLimits) (*Bus, error) {
	var a *C.charter_authority_t
	var hs []checker
	if auth != nil {
		p, err := auth.ref().load()
		if err != nil {
			return nil, err
		}
		a, hs = p, []checker{&auth.h}
	}
	log, err := rec.Log.ref().load()
	if err != nil {
		return nil, err
	}
	hs = append(hs, &rec.Log.h)
	c, err := limits.cLimits()
	if err != nil {
		return nil, err
	}
	res := C.chgo_bus_new_with_recorder(c, a, log, C.int32_t(rec.Scope))
	runtime.KeepAlive(auth)
	runtime.KeepAlive(rec.Log)
	b := &Bus{}
	return adopt(b, &b.h, "bus", res.bus, freeBus, res.status, res.message, hs...)
}

// WithAuditRecorder records the authority's session openings, allowed or
// refused as rec selects: actor = the token's subject as claimed (on a
// refusal it was not proven), action "open_session", resource = the
// token's root key.
func WithAuditRecorder(rec Recorder) AuthorityOption {
	return func(c *authorityConfig) {
		if rec.Log == nil {
			c.fail(nilArgument("recorder log"))
			return
		}
		c.recorder = &rec
	}
}

// goHash copies the hash result of a call on hs, or returns its error.
func goHash(res C.chgo_hash, hs ...checker) (Hash, error) {
	if res.status != C.CHARTER_OK {
		return Hash{}, failure(res.status, res.message, hs...)
	}
	return Hash(C.GoBytes(unsafe.Pointer(&res.hash[0]), HashLen)), nil
}

// goHashes copies and frees the proof result of a call on hs, or returns
// its error.
func goHashes(res C.chgo_bytes, hs ...checker) ([]Hash, error) {
	b, err := goBytes(res, hs...)
	if err != nil {
		return nil, err
	}
	proof := make([]Hash, len(b)/HashLen)
	for i := range proof {
		copy(proof[i][:], b[i*HashLen:])
	}
	return proof, nil
}

// cProof points at proof's hashes for C, which are contiguous in a []Hash,
// or is nil for an empty proof.
func cProof(proof []Hash) (*C.uint8_t, C.size_t) {
	if len(proof) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&proof[0][0])), C.size_t(len(proof) * HashLen)
}
