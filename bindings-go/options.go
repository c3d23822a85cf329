package charter

// #include "shim.h"
import "C"

import (
	"fmt"
	"math"
	"time"
)

// BusLimits bounds the resources of a [Bus]. A zero field keeps Charter's
// default for it; exceeding a limit fails with [ErrLimitExceeded] (or
// [ErrInvalidArgument] for topics) and a message naming the limit.
type BusLimits struct {
	MaxSubscriptions int // live subscriptions at once (default 65536)
	MaxQueueMessages int // the largest capacity a subscription may ask for, in messages (default 1 Mi)
	MaxQueueBytes    int // the largest capacity a subscription may ask for, in bytes (default 256 MiB)
	MaxPayload       int // the largest payload, in bytes (default 1 MiB)
	MaxTopicLen      int // the longest topic or pattern, in bytes (1 to 256, the default)
	MaxTopicTokens   int // the most tokens in a topic or pattern (1 to 16, the default)
	MaxHeaders       int // the most headers on one message (default 64)
	MaxHeaderBytes   int // the most bytes of header names and values on one message (default 16 KiB)
}

// BusOption configures [NewBus]. Options compose: each sets only what it
// names, and a later one wins where two set the same thing.
type BusOption func(*busConfig)

type busConfig struct {
	limits   BusLimits
	auth     *Authority
	recorder *Recorder
}

// WithLimits sets limits of the bus: each non-zero field of l replaces the
// default (or what an earlier WithLimits set); zero fields leave it.
func WithLimits(l BusLimits) BusOption {
	return func(c *busConfig) {
		for _, f := range []struct{ dst, v *int }{
			{&c.limits.MaxSubscriptions, &l.MaxSubscriptions},
			{&c.limits.MaxQueueMessages, &l.MaxQueueMessages},
			{&c.limits.MaxQueueBytes, &l.MaxQueueBytes},
			{&c.limits.MaxPayload, &l.MaxPayload},
			{&c.limits.MaxTopicLen, &l.MaxTopicLen},
			{&c.limits.MaxTopicTokens, &l.MaxTopicTokens},
			{&c.limits.MaxHeaders, &l.MaxHeaders},
			{&c.limits.MaxHeaderBytes, &l.MaxHeaderBytes},
		} {
			if *f.v != 0 {
				*f.dst = *f.v
			}
		}
	}
}

// WithAuthority makes the bus enforce auth's grants, as
// [NewBusWithAuthority] describes.
func WithAuthority(auth *Authority) BusOption {
	return func(c *busConfig) { c.auth = auth }
}

// WithRecorder makes the bus record its authorization decisions, as
// [NewBusWithRecorder] describes.
func WithRecorder(rec Recorder) BusOption {
	return func(c *busConfig) { c.recorder = &rec }
}

// cLimits returns Charter's defaults overridden by the non-zero fields of l.
func (l BusLimits) cLimits() (C.charter_bus_limits_t, error) {
	var c C.charter_bus_limits_t
	// Cannot fail: the pointer is valid.
	C.charter_bus_limits_default(&c)
	err := setSizes("BusLimits.", []sizeField{
		{"MaxSubscriptions", l.MaxSubscriptions, &c.max_subscriptions},
		{"MaxQueueMessages", l.MaxQueueMessages, &c.max_queue_messages},
		{"MaxQueueBytes", l.MaxQueueBytes, &c.max_queue_bytes},
		{"MaxPayload", l.MaxPayload, &c.max_payload},
		{"MaxTopicLen", l.MaxTopicLen, &c.max_topic_len},
		{"MaxTopicTokens", l.MaxTopicTokens, &c.max_topic_tokens},
		{"MaxHeaders", l.MaxHeaders, &c.max_headers},
		{"MaxHeaderBytes", l.MaxHeaderBytes, &c.max_header_bytes},
	})
	return c, err
}

// sizeField is one count of an options struct: its Go name and value, and
// the C field it goes to.
type sizeField struct {
	name string
	v    int
	into *C.size_t
}

// setSizes writes the value of each field that is positive into its C
// field (0 keeps Charter's default there); a negative one fails, named
// prefix + name.
func setSizes(prefix string, fields []sizeField) error {
	for _, f := range fields {
		switch {
		case f.v < 0:
			return invalidArgument("%s%s must not be negative, got %d", prefix, f.name, f.v)
		case f.v > 0:
			*f.into = C.size_t(f.v)
		}
	}
	return nil
}

// Overflow is what a full subscription queue does with one more message.
// The zero Overflow is [DropOldest], the default.
type Overflow struct {
	policy  int32
	timeout time.Duration // for Block only
}

// The policies' codes in charter.h, as literals so that go doc shows the
// variables below without C names (constants_check.go keeps them equal).
const (
	overflowDropOldest int32 = 0
	overflowDropNewest int32 = 1
	overflowBlock      int32 = 2
	overflowError      int32 = 3
)

// The overflow policies that take no argument; see also [Block].
var (
	// DropOldest drops the oldest queued message to make room.
	DropOldest = Overflow{policy: overflowDropOldest}
	// DropNewest drops the new message.
	DropNewest = Overflow{policy: overflowDropNewest}
	// ErrorOnFull drops the new message and fails the publish with
	// [ErrLimitExceeded].
	ErrorOnFull = Overflow{policy: overflowError}
)

// Block makes a publisher wait up to timeout (rounded up to whole
// milliseconds; 0 means not at all) for room in the queue. When the time
// runs out the message is dropped and Publish fails with [ErrTimeout]. A
// publisher running inside a callback of the same bus fails at once with
// [ErrWouldBlock] instead of waiting, since it may be the very consumer it
// would wait for.
func Block(timeout time.Duration) Overflow {
	return Overflow{policy: overflowBlock, timeout: timeout}
}

// SubscribeOption configures [Bus.Subscribe] and [Bus.SubscribeFunc].
type SubscribeOption func(*subscribeConfig)

type subscribeConfig struct {
	opts C.charter_subscribe_options_t
	err  error // the first invalid option
}

func (c *subscribeConfig) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// WithCapacity bounds the queue to n messages (default 1024).
func WithCapacity(n int) SubscribeOption {
	return countOption("capacity", n, func(o *C.charter_subscribe_options_t) *C.size_t { return &o.capacity })
}

// WithMaxBytes bounds the queue to n bytes of topics, payloads and headers
// (default 16 MiB).
func WithMaxBytes(n int) SubscribeOption {
	return countOption("max bytes", n, func(o *C.charter_subscribe_options_t) *C.size_t { return &o.max_bytes })
}

// countOption sets the count that field picks out of the options to n,
// which must not be negative; what names it in the error.
func countOption(what string, n int, field func(*C.charter_subscribe_options_t) *C.size_t) SubscribeOption {
	return func(c *subscribeConfig) {
		if n < 0 {
			c.fail(invalidArgument("%s must not be negative, got %d", what, n))
			return
		}
		*field(&c.opts) = C.size_t(n)
	}
}

// WithOverflow sets what a full queue does (default [DropOldest]).
func WithOverflow(o Overflow) SubscribeOption {
	return func(c *subscribeConfig) {
		ms, err := millis("block timeout", o.timeout, true)
		if err != nil {
			c.fail(err)
			return
		}
		c.opts.overflow = C.int32_t(o.policy)
		c.opts.block_timeout_ms = ms
	}
}

// WithTTL drops a message instead of delivering it when it has waited in
// the queue longer than d (counted in [Drops.Expired]). d must be positive;
// it is rounded up to whole milliseconds.
func WithTTL(d time.Duration) SubscribeOption {
	return periodOption("ttl", d, func(o *C.charter_subscribe_options_t) *C.uint32_t { return &o.ttl_ms })
}

// WithIdleTTL ends a pull subscription that nobody has received from for
// d: publishing evicts it when it meets it, and so does [Bus.EvictIdle].
// Its Recv then fails with [ErrClosed]. d must be positive; it is rounded
// up to whole milliseconds.
func WithIdleTTL(d time.Duration) SubscribeOption {
	return periodOption("idle ttl", d, func(o *C.charter_subscribe_options_t) *C.uint32_t { return &o.idle_ttl_ms })
}

// periodOption sets the milliseconds that field picks out of the options
// to d, which must be positive (see millis); what names it in the error.
func periodOption(what string, d time.Duration, field func(*C.charter_subscribe_options_t) *C.uint32_t) SubscribeOption {
	return func(c *subscribeConfig) {
		ms, err := millis(what, d, false)
		if err != nil {
			c.fail(err)
			return
		}
		*field(&c.opts) = ms
	}
}

// WithDispatchThread runs a [Bus.SubscribeFunc] callback on a thread of the
// subscription's own, fed by its queue, so that a slow callback never slows
// publishers. By default callbacks run inline, on the publishing goroutine
// inside Publish. A pull subscription ([Bus.Subscribe]) refuses it with
// [ErrInvalidArgument]: it has no callback to run.
func WithDispatchThread() SubscribeOption {
	return func(c *subscribeConfig) { c.opts.dispatch = C.CHARTER_DISPATCH_THREAD }
}

// subscribeOptions applies opts to Charter's defaults.
func subscribeOptions(opts []SubscribeOption) (C.charter_subscribe_options_t, error) {
	var c subscribeConfig
	// Cannot fail: the pointer is valid.
	C.charter_subscribe_options_default(&c.opts)
	for _, opt := range opts {
		opt(&c)
	}
	return c.opts, c.err
}

// millis converts d to the whole milliseconds Charter takes, rounding up so
// that a short positive duration never becomes 0 (which means "none" or
// "do not wait" in the C ABI).
func millis(what string, d time.Duration, zeroOK bool) (C.uint32_t, error) {
	switch {
	case d < 0 && zeroOK:
		return 0, invalidArgument("%s must not be negative, got %v", what, d)
	case d <= 0 && !zeroOK:
		return 0, invalidArgument("%s must be positive, got %v", what, d)
	}
	ms := d / time.Millisecond
	if d%time.Millisecond != 0 {
		ms++
	}
	// UINT32_MAX means "forever" to some calls: stay below it.
	if ms >= math.MaxUint32 {
		return 0, invalidArgument("%s must be under %v, got %v", what, math.MaxUint32*time.Millisecond, d)
	}
	return C.uint32_t(ms), nil
}

func invalidArgument(format string, args ...any) *Error {
	return &Error{Code: StatusInvalidArgument, Message: fmt.Sprintf(format, args...)}
}
