package charter

// #include "shim.h"
import "C"

import (
	"runtime"
	"unsafe"
)

// LogView is a read-only snapshot of an audit log file: the tree of its
// complete records when it was opened, read once and asked for many
// proofs, where [ProveFileInclusion] and [ProveFileConsistency] reread the
// whole file on every call. It never writes to the file and takes no
// lock, and its answers do not change while a writer appends. Open one
// with [OpenLogView] and release it with Close; the zero LogView is
// closed. Its methods may be called from any goroutine.
type LogView struct {
	h handle[*C.charter_audit_view_t]
}

// OpenLogView reads the log file at path. [ErrNotFound], [ErrIO],
// [ErrInvalidArgument] (not a regular file) or [ErrCorrupt] (not an audit
// log, or a damaged record).
func OpenLogView(path string) (*LogView, error) {
	p, pn, err := cString("path", path)
	if err != nil {
		return nil, err
	}
	res := C.chgo_audit_view_open(p, pn)
	runtime.KeepAlive(path)
	v := &LogView{}
	return adopt(v, &v.h, "log view", (*C.charter_audit_view_t)(res.handle), freeLogView, res.status, res.message)
}

func freeLogView(p *C.charter_audit_view_t) error {
	return statusErr(C.chgo_audit_view_free(p))
}

// Close releases the view. Later calls return an error matching
// [ErrClosed]; a second Close, or Close on nil, returns nil.
func (v *LogView) Close() error {
	return v.ref().close(freeLogView)
}

func (v *LogView) ref() *handle[*C.charter_audit_view_t] {
	return refOf(v, "log view", func() *handle[*C.charter_audit_view_t] { return &v.h })
}

// Len returns how many records the view holds and their root.
func (v *LogView) Len() (uint64, Hash, error) {
	p, err := v.ref().load()
	if err != nil {
		return 0, Hash{}, err
	}
	res := C.chgo_audit_view_len(p)
	runtime.KeepAlive(v)
	if res.status != C.CHARTER_OK {
		return 0, Hash{}, failure(res.status, res.message, &v.h)
	}
	return uint64(res.len), Hash(C.GoBytes(unsafe.Pointer(&res.root[0]), HashLen)), nil
}

// ProveInclusion returns the proof that record index is in the tree of
// the first size records, and that tree's root, as [ProveFileInclusion].
func (v *LogView) ProveInclusion(index, size uint64) ([]Hash, Hash, error) {
	p, err := v.ref().load()
	if err != nil {
		return nil, Hash{}, err
	}
	res := C.chgo_audit_view_prove_inclusion(p, C.uint64_t(index), C.uint64_t(size))
	runtime.KeepAlive(v)
	root := Hash(C.GoBytes(unsafe.Pointer(&res.root[0]), HashLen))
	proof, err := goHashes(C.chgo_bytes{status: res.status, message: res.message, data: res.data, len: res.len}, &v.h)
	if err != nil {
		return nil, Hash{}, err
	}
	return proof, root, nil
}

// ProveConsistency returns the proof that the first oldSize records are a
// prefix of the first newSize, as [ProveFileConsistency].
func (v *LogView) ProveConsistency(oldSize, newSize uint64) ([]Hash, error) {
	return use(v.ref(), func(p *C.charter_audit_view_t) C.chgo_bytes {
		return C.chgo_audit_view_prove_consistency(p, C.uint64_t(oldSize), C.uint64_t(newSize))
	}, goHashes)
}

// WitnessRequest returns the tlog-witness add-checkpoint body for the
// log's persisted checkpoint from a witness at oldSize ([ErrNotFound]
// without a checkpoint).
func (v *LogView) WitnessRequest(oldSize uint64) (string, error) {
	return use(v.ref(), func(p *C.charter_audit_view_t) C.chgo_string {
		return C.chgo_audit_view_witness_request(p, C.uint64_t(oldSize))
	}, goString)
}
