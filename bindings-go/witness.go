package charter

// #include "shim.h"
import "C"

import (
	"runtime"
	"strings"
	"time"
	"unsafe"
)

// Witnessed checkpoints, C2SP tlog-cosignature (cosignature/v1, Ed25519).
// A witness cosigns a log's checkpoint only when a consistency proof shows
// that it extends the last one the witness cosigned for that log, so a
// verifier that requires k witnesses accepts a split view only if k of
// them collude. The checks are the library's; this file maps them.

// CosignerKey returns the cosigner verifier key of the witness name with
// key, "<name>+<key id>+<base64(0x04 || public key)>", what
// transparency-dev's NewVerifierForCosignatureV1 reads. An invalid name
// fails with [ErrInvalidArgument].
func CosignerKey(name string, key *KeyPair) (string, error) {
	k, err := key.ref("key").load()
	if err != nil {
		return "", err
	}
	n, nn, err := cString("name", name)
	if err != nil {
		return "", err
	}
	res := C.chgo_audit_cosigner_key(k, n, nn)
	runtime.KeepAlive(key)
	runtime.KeepAlive(name)
	return goString(res, &key.h)
}

// Cosign returns the cosignature line of the witness name with key over
// the checkpoint in note at t (whole seconds), ending in a newline: append
// it to the note. Only the note's text is signed. The caller is the
// witness and has checked the checkpoint first; [Witness.AddCheckpoint]
// does both.
func Cosign(note, name string, key *KeyPair, t time.Time) (string, error) {
	ts, err := unixSeconds("cosignature time", t)
	if err != nil {
		return "", err
	}
	k, err := key.ref("key").load()
	if err != nil {
		return "", err
	}
	n, nn, err := cString("note", note)
	if err != nil {
		return "", err
	}
	w, wn, err := cString("name", name)
	if err != nil {
		return "", err
	}
	res := C.chgo_audit_cosign(n, nn, w, wn, k, ts)
	runtime.KeepAlive(key)
	runtime.KeepAlive(note)
	runtime.KeepAlive(name)
	return goString(res, &key.h)
}

// Cosigned is what [VerifyCosigned] verified.
type Cosigned struct {
	// Size and Root are what the log's own signature vouches for.
	Size uint64
	Root Hash
	// Witnesses is how many distinct trusted witnesses verifiably
	// cosigned it.
	Witnesses int
	// Names are those witnesses' names, in the order verified, and
	// Timestamps the times of their cosignatures, in the same order.
	Names      []string
	Timestamps []time.Time
}

// VerifyCosigned verifies that note is a checkpoint signed by logKey and
// cosigned by at least quorum distinct witnesses among witnesses (cosigner
// keys). A witness counts once however often its line appears; lines by
// other keys are ignored. Too few witnesses, or a trusted line that does
// not verify, fail with [ErrBadSignature]; a quorum above len(witnesses)
// with [ErrInvalidArgument]; a malformed key or note with [ErrMalformed].
func VerifyCosigned(note, logKey string, witnesses []string, quorum int) (Cosigned, error) {
	if quorum < 0 {
		return Cosigned{}, invalidArgument("quorum must not be negative, got %d", quorum)
	}
	n, nn, err := cString("note", note)
	if err != nil {
		return Cosigned{}, err
	}
	k, kn, err := cString("log key", logKey)
	if err != nil {
		return Cosigned{}, err
	}
	ws, wn, err := cStrings("witness key", witnesses)
	if err != nil {
		return Cosigned{}, err
	}
	// One slot per trusted witness: never fewer than verify.
	stamps := make([]C.uint64_t, len(witnesses)+1)
	res := C.chgo_audit_verify_cosigned(n, nn, k, kn, ws, wn, C.size_t(quorum), &stamps[0])
	runtime.KeepAlive(note)
	runtime.KeepAlive(logKey)
	runtime.KeepAlive(witnesses)
	if res.status != C.CHARTER_OK {
		return Cosigned{}, cError(res.status, res.message)
	}
	names := C.GoString(res.names)
	C.charter_string_free(res.names)
	count := int(res.count)
	c := Cosigned{
		Size:       uint64(res.size),
		Root:       Hash(C.GoBytes(unsafe.Pointer(&res.root[0]), HashLen)),
		Witnesses:  count,
		Names:      []string{},
		Timestamps: make([]time.Time, count),
	}
	if count > 0 {
		c.Names = strings.Split(names, "\n")
	}
	for i := range c.Timestamps {
		c.Timestamps[i] = time.Unix(int64(stamps[i]), 0)
	}
	return c, nil
}

// WitnessRequest returns the body of a C2SP tlog-witness add-checkpoint
// request: the witness's last size oldSize, the consistency proof from it
// to note's size, and the checkpoint note.
func WitnessRequest(oldSize uint64, proof []Hash, note string) (string, error) {
	n, nn, err := cString("note", note)
	if err != nil {
		return "", err
	}
	pp, pn := cProof(proof)
	res := C.chgo_audit_witness_request(C.uint64_t(oldSize), pp, pn, n, nn)
	runtime.KeepAlive(proof)
	runtime.KeepAlive(note)
	return goString(res)
}

// ParseWitnessRequest splits a tlog-witness add-checkpoint request body
// into the old size, the proof and the checkpoint note, what
// [Witness.AddCheckpoint] takes. A body that is not one fails with
// [ErrMalformed] or [ErrInvalidArgument].
func ParseWitnessRequest(body string) (oldSize uint64, proof []Hash, note string, err error) {
	b, bn, err := cString("body", body)
	if err != nil {
		return 0, nil, "", err
	}
	res := C.chgo_audit_parse_witness_request(b, bn)
	runtime.KeepAlive(body)
	if res.status != C.CHARTER_OK {
		return 0, nil, "", cError(res.status, res.message)
	}
	note = C.GoString(res.note)
	C.charter_string_free(res.note)
	proof, err = goHashes(C.chgo_bytes{status: C.CHARTER_OK, data: res.proof, len: res.proof_len})
	if err != nil {
		return 0, nil, "", err
	}
	return uint64(res.old_size), proof, note, nil
}

// Witness keeps, in its state file, the last checkpoint it cosigned for
// each log it trusts, and cosigns a new one only when it extends that one.
// Create one with [OpenWitness] and release it with Close; the zero
// Witness is closed. Its methods may be called from any goroutine; two
// witnesses (in one process or several) on one state file are serialized
// by a lock on that file.
type Witness struct {
	h handle[*C.charter_witness_t]
}

// OpenWitness opens a witness named name signing with key (it keeps its
// own copy; key may be closed afterwards), keeping its state in the file
// at statePath (created 0600 on first use), and trusting the logs whose
// note verifier keys are logKeys (a log's origin is its key's name). A bad
// name fails with [ErrInvalidArgument], a bad log key with [ErrMalformed].
func OpenWitness(statePath, name string, key *KeyPair, logKeys ...string) (*Witness, error) {
	k, err := key.ref("key").load()
	if err != nil {
		return nil, err
	}
	s, sn, err := cString("state path", statePath)
	if err != nil {
		return nil, err
	}
	n, nn, err := cString("name", name)
	if err != nil {
		return nil, err
	}
	logs, count, err := cStrings("log key", logKeys)
	if err != nil {
		return nil, err
	}
	res := C.chgo_witness_open(s, sn, n, nn, k, logs, count)
	runtime.KeepAlive(key)
	runtime.KeepAlive(statePath)
	runtime.KeepAlive(name)
	w := &Witness{}
	return adopt(w, &w.h, "witness", (*C.charter_witness_t)(res.handle), freeWitness, res.status, res.message, &key.h)
}

func freeWitness(p *C.charter_witness_t) error {
	return statusErr(C.chgo_witness_free(p))
}

// Close releases the witness; its state file stays. Later calls return an
// error matching [ErrClosed]; a second Close returns nil.
func (w *Witness) Close() error {
	return w.ref().close(freeWitness)
}

func (w *Witness) ref() *handle[*C.charter_witness_t] {
	return refOf(w, "witness", func() *handle[*C.charter_witness_t] { return &w.h })
}

// VerifierKey returns the witness's cosigner verifier key, for verifiers
// ([WithWitnesses], [VerifyCosigned]).
func (w *Witness) VerifierKey() (string, error) {
	return use(w.ref(), func(p *C.charter_witness_t) C.chgo_string {
		return C.chgo_witness_verifier_key(p)
	}, goString)
}

// AddCheckpoint checks note against the last checkpoint this witness
// cosigned for its log, with the consistency proof from oldSize (the size
// the witness holds; 0 and no proof the first time), records it, and
// returns the cosignature line, timestamped now, to append to the note.
// Refusals follow C2SP tlog-witness: [ErrNotFound] an unknown log,
// [ErrBadSignature] no valid signature by the log's key, [ErrDenied] an
// oldSize other than the size the witness holds (see [Witness.Latest]),
// [ErrCorrupt] a proof that fails (a split view or a rollback),
// [ErrInvalidArgument] or [ErrMalformed] a bad request.
func (w *Witness) AddCheckpoint(oldSize uint64, proof []Hash, note string) (string, error) {
	return w.addCheckpoint(oldSize, proof, note, 0)
}

// AddCheckpointAt is [Witness.AddCheckpoint] with the cosignature
// timestamped t (whole seconds, after the Unix epoch).
func (w *Witness) AddCheckpointAt(oldSize uint64, proof []Hash, note string, t time.Time) (string, error) {
	if w == nil {
		return "", nilArgument("witness")
	}
	ts, err := unixSeconds("cosignature time", t)
	if err != nil {
		return "", err
	}
	if ts == 0 {
		return "", invalidArgument("a cosignature time must be after the Unix epoch, got %v", t)
	}
	return w.addCheckpoint(oldSize, proof, note, ts)
}

func (w *Witness) addCheckpoint(oldSize uint64, proof []Hash, note string, ts C.uint64_t) (string, error) {
	n, nn, err := cString("note", note)
	if err != nil {
		return "", err
	}
	p, err := w.ref().load()
	if err != nil {
		return "", err
	}
	pp, pn := cProof(proof)
	res := C.chgo_witness_add_checkpoint(p, C.uint64_t(oldSize), pp, pn, n, nn, ts)
	runtime.KeepAlive(w)
	runtime.KeepAlive(proof)
	runtime.KeepAlive(note)
	return goString(res, &w.h)
}

// Latest returns the size and root of the last checkpoint this witness
// cosigned for origin, and false when it has cosigned none.
func (w *Witness) Latest(origin string) (uint64, Hash, bool, error) {
	o, on, err := cString("origin", origin)
	if err != nil {
		return 0, Hash{}, false, err
	}
	p, err := w.ref().load()
	if err != nil {
		return 0, Hash{}, false, err
	}
	res := C.chgo_witness_latest(p, o, on)
	runtime.KeepAlive(w)
	runtime.KeepAlive(origin)
	if res.status != C.CHARTER_OK {
		return 0, Hash{}, false, failure(res.status, res.message, &w.h)
	}
	if !res.found {
		return 0, Hash{}, false, nil
	}
	return uint64(res.size), Hash(C.GoBytes(unsafe.Pointer(&res.root[0]), HashLen)), true, nil
}
