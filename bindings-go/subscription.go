package charter

// #include "shim.h"
import "C"

import (
	"context"
	"errors"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"
)

// Subscription is one subscription to a [Bus]: a pull subscription, read
// with Recv, TryRecv or C, or a callback subscription made with
// [Bus.SubscribeFunc]. Close ends it. The zero Subscription is closed.
type Subscription struct {
	bus *Bus
	// client is the C client it was made through, the only one that may
	// reach it.
	client *C.charter_client_t
	id     SubscriptionID
	closed atomic.Bool
	// cleanup ends a pull subscription collected without Close.
	cleanup runtime.Cleanup
	adapter sync.Once
	ch      chan *Message
}

// Subscribe subscribes to pattern with a bounded queue, read with Recv,
// TryRecv or C. The options set the queue's capacity, overflow policy and
// time-to-live.
//
// A pull subscription that becomes unreachable without Close is ended by a
// cleanup ([runtime.AddCleanup]) as a backstop; until then its queue keeps
// filling, so close it.
func (b *Bus) Subscribe(pattern string, opts ...SubscribeOption) (*Subscription, error) {
	return b.subscribe(nil, pattern, opts)
}

// subscribe is Subscribe for the holder of s, or for anyone when s is nil.
func (b *Bus) subscribe(s *Session, pattern string, opts []SubscribeOption) (*Subscription, error) {
	sub, err := b.openSubscription(s, pattern, opts, func(c *C.charter_client_t, pat *C.char, n C.size_t, options C.charter_subscribe_options_t) C.chgo_value {
		return C.chgo_client_subscribe(c, pat, n, options)
	})
	if err != nil {
		return nil, err
	}
	// The cleanup keeps only the C client pointer: a freed client (its
	// bus closed) makes the call a harmless failure.
	c := sub.client
	sub.cleanup = runtime.AddCleanup(sub, func(id uint64) { unsubscribe(c, id) }, uint64(sub.id))
	return sub, nil
}

// openSubscription makes a subscription to pattern with opts for the
// holder of s, or for anyone when s is nil, through call, given the C
// client, the pattern and the options.
func (b *Bus) openSubscription(s *Session, pattern string, opts []SubscribeOption,
	call func(c *C.charter_client_t, pat *C.char, n C.size_t, options C.charter_subscribe_options_t) C.chgo_value,
) (*Subscription, error) {
	options, err := subscribeOptions(opts)
	if err != nil {
		return nil, err
	}
	c, err := b.clientFor(s)
	if err != nil {
		return nil, err
	}
	pat, n, err := cString("pattern", pattern)
	if err != nil {
		return nil, err
	}
	res := call(c, pat, n, options)
	runtime.KeepAlive(b)
	runtime.KeepAlive(s)
	if res.status != C.CHARTER_OK {
		return nil, b.failure(res.status, res.message, s)
	}
	return &Subscription{bus: b, client: c, id: SubscriptionID(res.value)}, nil
}

// SubscribeFunc subscribes fn to pattern. By default fn runs inline, on the
// publishing goroutine inside Publish; with [WithDispatchThread] it runs on
// a thread of the subscription's own, fed by a queue that the other options
// configure.
//
// The subscription lasts until Close or the bus's Close, whether or not the
// Subscription stays reachable, and the bus holds fn until then: anything
// fn refers to stays alive, and a callback that refers to its own Bus keeps
// it from being collected unclosed.
func (b *Bus) SubscribeFunc(pattern string, fn MessageFunc, opts ...SubscribeOption) (*Subscription, error) {
	return b.subscribeFunc(nil, pattern, fn, opts)
}

// subscribeFunc is SubscribeFunc for the holder of s, or for anyone when s
// is nil.
func (b *Bus) subscribeFunc(s *Session, pattern string, fn MessageFunc, opts []SubscribeOption) (*Subscription, error) {
	if fn == nil {
		return nil, &Error{Code: StatusNullArgument, Message: "fn is nil"}
	}
	return b.openSubscription(s, pattern, opts, func(c *C.charter_client_t, pat *C.char, n C.size_t, options C.charter_subscribe_options_t) C.chgo_value {
		// Charter hands the handle back to charterGoMessage and deletes it
		// through charterGoDrop when the subscription ends.
		h := cgo.NewHandle(fn)
		res := C.chgo_client_subscribe_callback(c, pat, n, options, C.uintptr_t(h))
		if res.status != C.CHARTER_OK {
			// The subscription never began, so Charter will not drop it.
			h.Delete()
		}
		return res
	})
}

// ID returns the subscription's id, also after Close.
func (s *Subscription) ID() SubscriptionID {
	if s == nil {
		return 0
	}
	return s.id
}

// Recv waits for the next message until ctx is done, returning then an
// error that matches both [ErrCancelled] and ctx.Err() (errors.Is(err,
// context.Canceled) works). A wait that ends without a message consumes
// nothing: the next
// message stays queued for the next receive. Recv waits parked in the Go
// runtime, holding no OS thread, and a cancellation of ctx ends it at
// once. Recv fails with [ErrClosed] once the subscription or its
// bus has ended, waking a Recv that was waiting, and with
// [ErrInvalidArgument] on a callback subscription.
func (s *Subscription) Recv(ctx context.Context) (*Message, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	if err := needContext(ctx); err != nil {
		return nil, err
	}
	m, err := s.bus.receive(ctx, s.client, uint64(s.id), &s.closed)
	// Without this, s could be collected during the wait and its cleanup
	// end the subscription under the caller.
	runtime.KeepAlive(s)
	return m, err
}

// TryRecv returns the next message if one is queued, without waiting; ok
// is false when none is.
func (s *Subscription) TryRecv() (msg *Message, ok bool, err error) {
	if err := s.open(); err != nil {
		return nil, false, err
	}
	m, err := s.bus.recv(s.client, uint64(s.id), 0, &s.closed)
	runtime.KeepAlive(s)
	switch {
	case err == nil:
		return m, true, nil
	case errors.Is(err, ErrWouldBlock):
		return nil, false, nil
	default:
		return nil, false, err
	}
}

// C returns a channel that delivers the subscription's messages, for use
// in select. Every call returns the same channel. A goroutine of the
// binding takes each message from the queue (as Recv does, so it counts
// as delivered) and hands it over on the unbuffered channel before taking
// the next; while nothing is queued it waits parked in the Go runtime,
// holding no OS thread.
//
// At most one message has left the queue without being received from the
// channel, and it is never dropped: when the subscription or its bus ends,
// the channel still delivers that message, then is closed. So a reader
// that drains the channel (for range) after Close receives every message
// the subscription counts as delivered. On a callback subscription the
// channel is closed at once.
//
// The channel does not keep the Subscription alive: keep the Subscription
// reachable (and Close it) while reading. One that is collected ends, and
// its channel is closed.
func (s *Subscription) C() <-chan *Message {
	if s == nil {
		return closedMessages
	}
	s.adapter.Do(func() {
		s.ch = make(chan *Message)
		f := &feed{c: s.client, id: uint64(s.id), out: s.ch, gone: make(chan struct{})}
		runtime.AddCleanup(s, func(gone chan struct{}) { close(gone) }, f.gone)
		w, err := takeWaiter()
		if err != nil {
			// No waiter, no way to wait: a channel that is closed at once
			// is the only honest answer, as for an ended subscription.
			close(s.ch)
			return
		}
		go f.run(w)
	})
	return s.ch
}

// closedMessages is what C returns for a nil Subscription: a channel that
// is closed, as for any subscription that has ended.
var closedMessages = func() chan *Message {
	ch := make(chan *Message)
	close(ch)
	return ch
}()

// Stats returns the subscription's accounting, the final one once the
// subscription has ended otherwise (idle eviction). It fails with
// [ErrClosed] after Close or the bus's Close, and with the session's error
// once that has ended; [Bus.Stats] keeps the totals of ended
// subscriptions.
func (s *Subscription) Stats() (SubscriptionStats, error) {
	if err := s.open(); err != nil {
		return SubscriptionStats{}, err
	}
	if _, err := s.bus.ref().load(); err != nil {
		return SubscriptionStats{}, err
	}
	res := C.chgo_client_subscription_stats(s.client, C.uint64_t(s.id))
	runtime.KeepAlive(s)
	if res.status != C.CHARTER_OK {
		return SubscriptionStats{}, s.bus.subscriptionError(cError(res.status, res.message), &s.closed)
	}
	return goSubscriptionStats(res.stats), nil
}

// Close ends the subscription (unsubscribes): queued messages are counted
// as dropped, a waiting Recv gets [ErrClosed], the channel of C is closed
// and a callback is released. For a [WithDispatchThread] callback, Close
// waits for a running call to return, unless called from that callback.
// Close may be called from any callback, its own included. Later calls of
// other methods return an error matching [ErrClosed]; a second Close, or a
// Close after the bus's, returns nil.
func (s *Subscription) Close() error {
	if s == nil {
		return nil
	}
	if s.bus == nil || !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.cleanup.Stop()
	if _, err := s.bus.h.load(); err != nil {
		// The bus's Close ended the subscription already.
		return nil
	}
	res := C.chgo_client_unsubscribe(s.client, C.uint64_t(s.id))
	runtime.KeepAlive(s)
	if res.status != C.CHARTER_OK {
		if err := s.bus.h.check(cError(res.status, res.message)); !errors.Is(err, ErrClosed) {
			return err
		}
	}
	return nil
}

// open returns an error matching ErrClosed once Close has begun, or for the
// zero Subscription, and ErrNullArgument for a nil s.
func (s *Subscription) open() error {
	if s == nil {
		return nilArgument("subscription")
	}
	if s.bus == nil || s.closed.Load() {
		return &Error{Code: StatusClosed, Message: "subscription is closed"}
	}
	return nil
}
