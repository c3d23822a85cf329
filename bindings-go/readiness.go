package charter

// #include "shim.h"
import "C"

import (
	"runtime"
	"runtime/cgo"
	"sync"
)

// Waiting for a message happens in the Go runtime, never in a blocked C
// call: a receiver asks Charter for a message with a waiter
// (charter_client_poll_recv) and, when there is none, Charter arms the
// waiter and the receiver parks on the waiter's channel. When the
// subscription becomes readable (a message was queued, or it ended),
// Charter calls the waiter's C function once, outside every lock, on the
// thread that made it readable; that function is charterGoReady, which
// signals the channel without blocking. The receiver then asks again. So
// a waiting receiver costs a parked goroutine, not an OS thread, and
// receiving stays Charter's own counted operation.

// waiter is one C waiter whose readiness signals ready.
type waiter struct {
	c *C.charter_waiter_t
	// ready holds at most one pending signal: a second signal before the
	// receiver looks again says nothing new.
	ready chan struct{}
}

// charterGoReady is the C function of every Go waiter: handle is the
// runtime/cgo.Handle of the channel to signal. It never blocks, as
// Charter requires. Charter never calls a waiter after charter_waiter_free
// has returned, and the handle is deleted only after that.
//
//export charterGoReady
func charterGoReady(handle C.uintptr_t) {
	select {
	case cgo.Handle(handle).Value().(chan struct{}) <- struct{}{}:
	default:
	}
}

// waiters keeps idle waiters for reuse: a receive takes one and puts it
// back, so a Recv costs no C allocation. A waiter the pool lets go is
// freed by the cleanup newWaiter attached.
var waiters sync.Pool

// takeWaiter returns an idle waiter, with no stale signal pending.
func takeWaiter() (*waiter, error) {
	if w, ok := waiters.Get().(*waiter); ok {
		select {
		case <-w.ready:
		default:
		}
		return w, nil
	}
	return newWaiter()
}

// releaseWaiter gives w, no longer armed anywhere, back for reuse.
func releaseWaiter(w *waiter) {
	waiters.Put(w)
}

// waiterRelease is what the cleanup of a waiter needs: not the waiter
// itself.
type waiterRelease struct {
	c      *C.charter_waiter_t
	handle cgo.Handle
}

func newWaiter() (*waiter, error) {
	ready := make(chan struct{}, 1)
	h := cgo.NewHandle(ready)
	res := C.chgo_waiter_new(C.uintptr_t(h))
	if res.status != C.CHARTER_OK {
		h.Delete()
		return nil, cError(res.status, res.message)
	}
	w := &waiter{c: res.waiter, ready: ready}
	runtime.AddCleanup(w, func(r waiterRelease) {
		// Frees first: once the free returns, the callback that uses the
		// handle has returned and never runs again.
		C.chgo_waiter_free(r.c)
		r.handle.Delete()
	}, waiterRelease{c: res.waiter, handle: h})
	return w, nil
}
