package charter

// #include "shim.h"
import "C"

import (
	"context"
	"math"
	"runtime"
	"sync/atomic"
	"time"
)

// pollRecv asks subscription id, through client c, for its next message
// with the waiter w. With none queued it arms w and returns no message
// and no error, and recheck > 0 when the subscription's session expires
// after recheck: w is then not signalled, so the receiver must ask again.
func pollRecv(c *C.charter_client_t, id uint64, w *waiter) (m *Message, recheck time.Duration, err *Error) {
	res := C.chgo_client_poll_recv(c, C.uint64_t(id), w.c)
	switch res.status {
	case C.CHARTER_OK:
		m = goMessage(res.msg)
		C.charter_message_free(res.msg)
		return m, 0, nil
	case C.CHARTER_E_WOULD_BLOCK:
		if res.recheck_ms == math.MaxUint64 {
			return nil, 0, nil
		}
		// At least 1 ns: 0 means no recheck, and an expiry due now must
		// still be asked about.
		return nil, max(time.Duration(res.recheck_ms)*time.Millisecond, 1), nil
	default:
		return nil, 0, cError(res.status, res.message)
	}
}

// disarm removes w from subscription id's armed waiters, once its
// receiver gives up: the armed set never outgrows the receivers waiting.
// A failure means the subscription or its bus has ended, which disarms
// everything anyway.
func disarm(c *C.charter_client_t, id uint64, w *waiter) {
	if res := C.chgo_client_disarm(c, C.uint64_t(id), w.c); res.status != C.CHARTER_OK {
		C.charter_string_free(res.message)
	}
}

// recheckTimer is the timer of a wait that must ask again by a deadline,
// made on first use.
type recheckTimer struct{ t *time.Timer }

// after returns a channel that receives after d, or nil (never) for d = 0.
func (r *recheckTimer) after(d time.Duration) <-chan time.Time {
	if d == 0 {
		return nil
	}
	if r.t == nil {
		r.t = time.NewTimer(d)
	} else {
		r.t.Reset(d)
	}
	return r.t.C
}

func (r *recheckTimer) stop() {
	if r.t != nil {
		r.t.Stop()
	}
}

// receive waits for the next message of subscription id, through client
// c, until ctx is done. The goroutine parks on a waiter's channel (see
// readiness.go) and holds no thread meanwhile. A wait that ends with ctx
// takes nothing: it disarms its waiter and returns the error of cancelled,
// matching ErrCancelled and ctx.Err(), and the next
// message stays queued for the next receive. closed is as for
// subscriptionError.
func (b *Bus) receive(ctx context.Context, c *C.charter_client_t, id uint64, closed *atomic.Bool) (*Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, cancelled(err)
	}
	if _, err := b.h.load(); err != nil {
		return nil, err
	}
	w, err := takeWaiter()
	if err != nil {
		return nil, err
	}
	// Once armed, the waiter is disarmed on the way out, whether it fired
	// or not: the C waiter keeps a list of the subscriptions it may be
	// armed on, which this keeps to the one it waits on.
	armed := false
	var timer recheckTimer
	defer func() {
		timer.stop()
		if armed {
			disarm(c, id, w)
		}
		releaseWaiter(w)
		runtime.KeepAlive(b)
	}()
	for {
		m, recheck, cerr := pollRecv(c, id, w)
		if cerr != nil {
			return nil, b.subscriptionError(cerr, closed)
		}
		if m != nil {
			return m, nil
		}
		armed = true
		select {
		case <-w.ready:
		case <-timer.after(recheck):
		case <-ctx.Done():
			return nil, cancelled(ctx.Err())
		}
	}
}
