package charter

// #include "shim.h"
import "C"

import (
	"runtime"
	"sync/atomic"
)

// handle owns one C handle P (a pointer such as *C.charter_registry_t) for
// a Go object: it refuses use after Close, frees the handle exactly once,
// and frees it anyway if the object is collected without Close.
//
// Each object type reaches its handle through one nil-safe method, ref,
// which gives a nil object a handle of its own from nilHandle; everything
// else (use, run, close) is written once here, for every type.
type handle[P comparable] struct {
	ptr     P    // the zero P for an object that was never created
	null    bool // the handle of a nil object (nilHandle)
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

// adopt ends a constructor: the error of its C call, which returned status
// and message, on the handles hs (see failure); or else owner, which now
// owns the C handle ptr that the call made (see attach).
func adopt[O any, P comparable](owner *O, h *handle[P], kind string, ptr P, free func(P) error,
	status C.charter_status_t, message *C.char, hs ...checker) (*O, error) {
	if status != C.CHARTER_OK {
		return nil, failure(status, message, hs...)
	}
	attach(owner, h, kind, ptr, free)
	return owner, nil
}

// refOf is the body of every object type's ref method: the handle that
// field returns, or nilHandle(what) when owner is nil (field is then not
// called, since it would dereference owner).
func refOf[O any, P comparable](owner *O, what string, field func() *handle[P]) *handle[P] {
	if owner == nil {
		return nilHandle[P](what)
	}
	return field()
}

// nilHandle is what ref returns for a nil object: every use fails with an
// error matching ErrNullArgument that names what, and close does nothing.
func nilHandle[P comparable](what string) *handle[P] {
	return &handle[P]{null: true, kind: what}
}

// load returns the C handle, or an error matching ErrNullArgument for a
// nil object's handle, or ErrClosed once Close has begun (or for a zero
// value, which has no handle).
func (h *handle[P]) load() (P, error) {
	var zero P
	if h.null {
		return zero, nilArgument(h.kind)
	}
	if h.ptr == zero || h.closed.Load() {
		return zero, h.closedError()
	}
	return h.ptr, nil
}

// use makes the C call f on h's C handle and converts its result with
// conv, which is given h to tell a failure caused by a racing Close. h
// points into its owner, so keeping h alive until f returns keeps the
// owner's cleanup from freeing the handle under the call.
func use[P comparable, R, T any](h *handle[P], f func(P) R, conv func(R, ...checker) (T, error)) (T, error) {
	p, err := h.load()
	if err != nil {
		var zero T
		return zero, err
	}
	res := f(p)
	runtime.KeepAlive(h)
	return conv(res, h)
}

// run is use for a C call with no result.
func run[P comparable](h *handle[P], f func(P) C.chgo_status) error {
	_, err := use(h, f, goStatus)
	return err
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
// calls on a zero value or a nil object's handle, do nothing and return
// nil.
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
