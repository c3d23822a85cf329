package charter

// #include "shim.h"
import "C"

import (
	"runtime"
	"sync"
	"sync/atomic"
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

// readyChannels maps the key a C waiter carries as its user data to the
// channel it signals. A key, not a runtime/cgo.Handle, because Charter may
// call a waiter once more after the receiver gave up: an unknown key is
// then ignored, where a deleted Handle would panic.
var (
	readyChannels sync.Map // uintptr → chan struct{}
	lastReadyKey  atomic.Uintptr
)

// charterGoReady is the C function of every Go waiter: key says which
// channel to signal. It never blocks, as Charter requires.
//
//export charterGoReady
func charterGoReady(key C.uintptr_t) {
	if ch, ok := readyChannels.Load(uintptr(key)); ok {
		select {
		case ch.(chan struct{}) <- struct{}{}:
		default:
		}
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

// waiterKey is what the cleanup of a waiter needs: not the waiter itself.
type waiterKey struct {
	c   *C.charter_waiter_t
	key uintptr
}

func newWaiter() (*waiter, error) {
	key := lastReadyKey.Add(1)
	ready := make(chan struct{}, 1)
	readyChannels.Store(key, ready)
	res := C.chgo_waiter_new(C.uintptr_t(key))
	if res.status != C.CHARTER_OK {
		readyChannels.Delete(key)
		return nil, cError(res.status, res.message)
	}
	w := &waiter{c: res.waiter, ready: ready}
	runtime.AddCleanup(w, func(k waiterKey) {
		C.chgo_waiter_free(k.c)
		readyChannels.Delete(k.key)
	}, waiterKey{c: res.waiter, key: key})
	return w, nil
}
