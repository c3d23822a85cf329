package charter

import (
	"runtime"
	"sync/atomic"
)

// handle owns one C handle P (a pointer such as *C.charter_registry_t) for
// a Go object: it refuses use after Close, frees the handle exactly once,
// and frees it anyway if the object is collected without Close.
type handle[P comparable] struct {
	ptr     P // the zero P for an object that was never created
	kind    string
	closed  atomic.Bool
	cleanup runtime.Cleanup
}

// attach gives h the C handle ptr, owned by owner (the object that embeds
// h). free must not refer to owner: the cleanup keeps only ptr.
func attach[O any, P comparable](owner *O, h *handle[P], kind string, ptr P, free func(P) error) {
	h.ptr = ptr
	h.kind = kind
	// The library never prints, and a failure here has no caller to report
	// to; the C ABI also makes a stale free harmless.
	h.cleanup = runtime.AddCleanup(owner, func(p P) { _ = free(p) }, ptr)
}

// load returns the C handle, or an error matching ErrClosed once Close has
// begun (or for a zero value, which has no handle).
func (h *handle[P]) load() (P, error) {
	var zero P
	if h.ptr == zero || h.closed.Load() {
		return zero, h.closedError()
	}
	return h.ptr, nil
}

// check turns a C failure on h into the caller's error. A call that raced
// with Close finds the C handle freed: that is reported as closed too, so
// every use after Close matches ErrClosed.
func (h *handle[P]) check(err *Error) error {
	if err.Code == StatusHandleFreed && h.closed.Load() {
		return h.closedError()
	}
	return err
}

// close frees the C handle with free the first time; later calls, and
// calls on a zero value, do nothing and return nil.
func (h *handle[P]) close(free func(P) error) error {
	var zero P
	if h.ptr == zero || !h.closed.CompareAndSwap(false, true) {
		return nil
	}
	h.cleanup.Stop()
	return free(h.ptr)
}

func (h *handle[P]) closedError() error {
	kind := h.kind
	if kind == "" {
		kind = "object"
	}
	return &Error{Code: StatusClosed, Message: kind + " is closed"}
}
