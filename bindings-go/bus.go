package charter

// #include "shim.h"
import "C"

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Bus is a topic bus: publishers send messages on topics such as
// "orders.eu.created", and each subscription whose pattern matches gets
// them, through its own bounded queue ([Bus.Subscribe]) or a callback
// ([Bus.SubscribeFunc]).
//
// Patterns may use "*" for exactly one token and a final ">" for one or
// more trailing tokens ("orders.>" matches "orders.eu" but not "orders").
// Topics beginning "_charter." are reserved. Delivery is FIFO per publisher
// and per subscriber, and every subscription accounts exactly for each
// message it was offered (see [SubscriptionStats]).
//
// Create a Bus with [NewBus] and release it with Close; the zero Bus is
// closed.
type Bus struct {
	h handle[*C.charter_bus_t]
	// clients holds the C clients b acts through, one per session (the nil
	// key: the caller without a session), made on first use and freed by
	// Close; the core decides what each may do. A subscription keeps the
	// client it was made through, the only one that may reach it.
	mu      sync.Mutex
	clients map[*C.charter_session_t]*C.charter_client_t
	ended   bool
}

// SubscriptionID identifies a subscription within its bus: a random number,
// unique among the bus's live subscriptions, so an id from another bus, an
// ended one or a guessed one finds nothing.
type SubscriptionID uint64

// NewBus creates a bus with Charter's default limits, or those set with
// [WithLimits]; with [WithAuthority] it enforces grants, and with
// [WithRecorder] it records its decisions.
func NewBus(opts ...BusOption) (*Bus, error) {
	var cfg busConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.recorder != nil {
		return newRecordingBus(cfg.auth, *cfg.recorder, cfg.limits)
	}
	if cfg.auth != nil {
		return NewBusWithAuthority(cfg.auth, WithLimits(cfg.limits))
	}
	return newBus(nil, cfg.limits)
}

// NewBusWithAuthority creates a bus that enforces auth's grants: every
// publish, subscribe and request must come through a [Client] whose
// session auth opened ([Bus.Client]) and whose grants cover it. The
// Bus's own Publish, Subscribe, SubscribeFunc and Request, and sessions of
// another authority, are refused with [ErrDenied]; refusals are counted in
// [BusStats.Denied]. The bus keeps the authority's roots and revocations
// after auth's Close. It is NewBus(WithAuthority(auth), opts...).
func NewBusWithAuthority(auth *Authority, opts ...BusOption) (*Bus, error) {
	var cfg busConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.recorder != nil {
		return newRecordingBus(auth, *cfg.recorder, cfg.limits)
	}
	a, err := auth.ref().load()
	if err != nil {
		return nil, err
	}
	b, err := newBus(a, cfg.limits, &auth.h)
	runtime.KeepAlive(auth)
	return b, err
}

// newBus creates a bus, enforcing the grants of the authority auth unless
// it is nil; hs is the authority's handle, if any.
func newBus(auth *C.charter_authority_t, limits BusLimits, hs ...checker) (*Bus, error) {
	c, err := limits.cLimits()
	if err != nil {
		return nil, err
	}
	res := C.chgo_bus_new(c, auth)
	b := &Bus{}
	return adopt(b, &b.h, "bus", res.bus, freeBus, res.status, res.message, hs...)
}

func freeBus(p *C.charter_bus_t) error {
	return statusErr(C.chgo_bus_free(p))
}

// Close closes and frees the bus. Every subscription ends: blocked
// receivers wake with [ErrClosed], queued messages are counted as dropped,
// channel adapters close their channels and each callback is released.
// Close waits for callbacks running on dispatch threads to return (except
// the one calling Close, if any). Later calls of any method return an error
// matching [ErrClosed]; a second Close returns nil.
func (b *Bus) Close() error {
	return b.ref().close(func(p *C.charter_bus_t) error {
		b.freeClients()
		return freeBus(p)
	})
}

// ref returns b's handle; a nil b gets one that fails every use
// with ErrNullArgument.
func (b *Bus) ref() *handle[*C.charter_bus_t] {
	return refOf(b, "bus", func() *handle[*C.charter_bus_t] { return &b.h })
}

// clientFor returns the C client through which b acts for the holder of s
// (nil: a caller without a session). It fails as ref().load() does for b
// and as ptr does for s.
func (b *Bus) clientFor(s *Session) (*C.charter_client_t, error) {
	p, err := b.ref().load()
	if err != nil {
		return nil, err
	}
	sp, err := s.ptr()
	if err != nil {
		return nil, err
	}
	return b.client(p, sp)
}

// client returns the C client through which b, the bus p, acts for the
// holder of the session sp (nil: a caller without a session).
func (b *Bus) client(p *C.charter_bus_t, sp *C.charter_session_t) (*C.charter_client_t, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.clients[sp]; ok {
		return c, nil
	}
	if b.ended {
		return nil, &Error{Code: StatusClosed, Message: "the bus is closed"}
	}
	res := C.chgo_client_new(p, sp)
	if res.status != C.CHARTER_OK {
		return nil, failure(res.status, res.message, &b.h)
	}
	if b.clients == nil {
		b.clients = make(map[*C.charter_session_t]*C.charter_client_t)
	}
	b.clients[sp] = res.client
	return res.client, nil
}

// freeClients frees every client of b; later calls make none.
func (b *Bus) freeClients() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ended = true
	for _, c := range b.clients {
		if res := C.chgo_client_free(c); res.status != C.CHARTER_OK {
			C.charter_string_free(res.message)
		}
	}
	b.clients = nil
}

// Publish sends payload with headers on topic to every matching
// subscription and reports how many took it. Publish does not keep payload
// or headers.
//
// It fails before delivering anything on an invalid topic (a wildcard, an
// empty token, a reserved topic ...), payload or headers, or a closed bus.
// A subscription whose overflow policy refuses the message ([ErrorOnFull],
// or [Block] out of time) makes Publish fail, with [ErrLimitExceeded],
// [ErrTimeout] or [ErrWouldBlock], after every other subscription has had
// the message; the report is then not available.
//
// Inline callbacks ([Bus.SubscribeFunc]) run on the calling goroutine
// before Publish returns.
func (b *Bus) Publish(topic string, payload []byte, headers ...Header) (PublishReport, error) {
	return b.publish(nil, topic, payload, headers)
}

// publish is Publish for the holder of s, or for anyone when s is nil.
func (b *Bus) publish(s *Session, topic string, payload []byte, headers []Header) (PublishReport, error) {
	c, err := b.clientFor(s)
	if err != nil {
		return PublishReport{}, err
	}
	return b.send(s, "topic", topic, payload, headers, func(to *C.char, tn C.size_t, data *C.uint8_t, n C.size_t, hs *C.char, hn C.size_t) C.chgo_publish {
		return C.chgo_client_publish(c, to, tn, data, n, hs, hn)
	})
}

// send makes one message of payload and headers addressed to to (named
// what: a topic, a reply inbox), hands it to call, and returns the
// report; a failure is b's for the holder of s.
func (b *Bus) send(s *Session, what, to string, payload []byte, headers []Header,
	call func(to *C.char, tn C.size_t, data *C.uint8_t, n C.size_t, hs *C.char, hn C.size_t) C.chgo_publish,
) (PublishReport, error) {
	t, tn, err := cString(what, to)
	if err != nil {
		return PublishReport{}, err
	}
	hs, hn, err := cHeaders(headers)
	if err != nil {
		return PublishReport{}, err
	}
	data, n := cPayload(payload)
	res := call(t, tn, data, n, hs, hn)
	runtime.KeepAlive(b)
	runtime.KeepAlive(s)
	if res.status != C.CHARTER_OK {
		return PublishReport{}, b.failure(res.status, res.message, s)
	}
	return goPublishReport(res.report), nil
}

// Request publishes a request on topic and waits for the first reply until
// ctx is done, returning then an error that matches both [ErrCancelled]
// and ctx.Err() (a done ctx publishes nothing). It
// fails with [ErrNotFound] at once when nothing subscribes to topic. A
// responder answers with [Bus.Respond]. The reply's Topic is the request's
// reply inbox.
func (b *Bus) Request(ctx context.Context, topic string, payload []byte, headers ...Header) (*Message, error) {
	return b.request(ctx, nil, topic, payload, headers)
}

// request is Request for the holder of s, or for anyone when s is nil.
func (b *Bus) request(ctx context.Context, s *Session, topic string, payload []byte, headers []Header) (*Message, error) {
	if err := needContext(ctx); err != nil {
		return nil, err
	}
	c, err := b.clientFor(s)
	if err != nil {
		return nil, err
	}
	// Nobody would wait for the reply.
	if err := ctx.Err(); err != nil {
		return nil, cancelled(err)
	}
	t, tn, err := cString("topic", topic)
	if err != nil {
		return nil, err
	}
	hs, hn, err := cHeaders(headers)
	if err != nil {
		return nil, err
	}
	data, n := cPayload(payload)
	res := C.chgo_client_request_start(c, t, tn, data, n, hs, hn)
	runtime.KeepAlive(b)
	runtime.KeepAlive(s)
	if res.status != C.CHARTER_OK {
		return nil, b.failure(res.status, res.message, s)
	}
	// The reply arrives on a subscription of its own, which must end
	// however the wait does; a late reply to it is then dropped.
	inbox := uint64(res.value)
	defer func() {
		unsubscribe(c, inbox)
		runtime.KeepAlive(b)
	}()
	return b.receive(ctx, c, inbox, nil)
}

// Respond answers req, a request received from a subscription or passed to
// a callback, with payload and headers. It fails with [ErrInvalidArgument]
// when req is not a request (its ReplyTo is empty: Charter refuses the
// empty inbox as one that is not a request). A reply that comes after
// the requester gave up is dropped; Respond still succeeds. A bus made with
// [NewBusWithAuthority] refuses it with [ErrDenied]: answer through a
// [Client] ([Client.Respond]).
func (b *Bus) Respond(req *Message, payload []byte, headers ...Header) (PublishReport, error) {
	return b.respond(nil, req, payload, headers)
}

// respond is Respond for the holder of s, or for anyone when s is nil.
func (b *Bus) respond(s *Session, req *Message, payload []byte, headers []Header) (PublishReport, error) {
	if req == nil {
		return PublishReport{}, &Error{Code: StatusNullArgument, Message: "req is nil"}
	}
	c, err := b.clientFor(s)
	if err != nil {
		return PublishReport{}, err
	}
	return b.send(s, "reply inbox", req.ReplyTo, payload, headers, func(to *C.char, tn C.size_t, data *C.uint8_t, n C.size_t, hs *C.char, hn C.size_t) C.chgo_publish {
		return C.chgo_client_respond(c, to, tn, data, n, hs, hn)
	})
}

// Stats returns the bus's accounting over its whole life, ended
// subscriptions included.
func (b *Bus) Stats() (BusStats, error) {
	return use(b.ref(), func(p *C.charter_bus_t) C.chgo_stats { return C.chgo_bus_stats(p) }, goBusStats)
}

// goBusStats is the result of a stats call on hs, or its error.
func goBusStats(res C.chgo_stats, hs ...checker) (BusStats, error) {
	if res.status != C.CHARTER_OK {
		return BusStats{}, failure(res.status, res.message, hs...)
	}
	return BusStats{
		Published:         uint64(res.stats.published),
		Subscriptions:     goSubscriptionStats(res.stats.subscriptions),
		LiveSubscriptions: uint64(res.stats.live_subscriptions),
		Denied:            uint64(res.stats.denied),
		DepthExceeded:     uint64(res.stats.depth_exceeded),
	}, nil
}

// EvictIdle ends every pull subscription idle for longer than its
// [WithIdleTTL] (with no receiver waiting) and returns how many ended.
// Publishing also evicts the idle subscriptions it meets.
func (b *Bus) EvictIdle() (int, error) {
	n, err := use(b.ref(), func(p *C.charter_bus_t) C.chgo_value { return C.chgo_bus_evict_idle(p) }, goValue)
	return int(n), err
}

// failure builds the error of a failed C call on b acting for the holder
// of s (nil for the bus's own calls).
func (b *Bus) failure(status C.charter_status_t, message *C.char, s *Session) error {
	if s == nil {
		return failure(status, message, &b.h)
	}
	return failure(status, message, &b.h, &s.h)
}

// recv makes one C receive on subscription id through client c, waiting
// up to timeout milliseconds; closed is as for subscriptionError.
func (b *Bus) recv(c *C.charter_client_t, id uint64, timeout C.uint32_t, closed *atomic.Bool) (*Message, error) {
	if _, err := b.ref().load(); err != nil {
		return nil, err
	}
	res := C.chgo_client_recv(c, C.uint64_t(id), timeout)
	runtime.KeepAlive(b)
	if res.status != C.CHARTER_OK {
		return nil, b.subscriptionError(cError(res.status, res.message), closed)
	}
	m := goMessage(res.msg)
	C.charter_message_free(res.msg)
	return m, nil
}

// subscriptionError turns a C failure of a call on one of b's subscriptions
// into the caller's error. A subscription that ended otherwise (idle
// eviction, a failed request, its session's end) still answers by id with
// the core's error for its end, and a closed bus answers every id with
// CLOSED: both come through as they are. Only its owner's unsubscribe
// (Close, which sets closed first; nil for a request's reply inbox,
// unsubscribed only after its wait) forgets the id, so a NOT_FOUND after
// it is reported as closed, as every use after Close is.
func (b *Bus) subscriptionError(err *Error, closed *atomic.Bool) error {
	if err.Code == StatusNotFound && closed != nil && closed.Load() {
		return &Error{Code: StatusClosed, Message: "the subscription has ended"}
	}
	return b.h.check(err)
}

// unsubscribe ends subscription id through client c, if both still exist.
// It serves where there is nobody to report a failure to: a failure can
// only mean that the bus is gone, which ended the subscription anyway.
func unsubscribe(c *C.charter_client_t, id uint64) {
	if res := C.chgo_client_unsubscribe(c, C.uint64_t(id)); res.status != C.CHARTER_OK {
		C.charter_string_free(res.message)
	}
}
