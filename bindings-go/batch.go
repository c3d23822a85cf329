package charter

// #include "shim.h"
import "C"

import (
	"context"
	"runtime"
	"unsafe"
)

// BatchMax is the most payloads one [Bus.PublishBatch] takes and the most
// messages one [Subscription.RecvMany] returns (CHARTER_BATCH_MAX).
const BatchMax = 65536

// PublishBatch publishes each of payloads on topic, in order, each with the
// same headers, each exactly as [Bus.Publish] would: one call into Charter
// instead of one per message. Every argument is checked before anything is
// published, so a bad topic, header or payload, or more than [BatchMax]
// payloads, fails with n = 0. After that, the first message that fails
// stops the batch: n is how many were published before it and report adds
// up their reports. On success n is len(payloads) and report adds up
// every message's.
func (b *Bus) PublishBatch(topic string, payloads [][]byte, headers ...Header) (n int, report PublishReport, err error) {
	return b.publishBatch(nil, topic, payloads, headers)
}

// PublishBatch is [Bus.PublishBatch] for the session's holder; it needs a
// grant "publish P" with P matching topic.
func (c *Client) PublishBatch(topic string, payloads [][]byte, headers ...Header) (n int, report PublishReport, err error) {
	s, err := c.holder()
	if err != nil {
		return 0, PublishReport{}, err
	}
	return c.bus.publishBatch(s, topic, payloads, headers)
}

// publishBatch is PublishBatch for the holder of s, or for anyone when s is
// nil.
func (b *Bus) publishBatch(s *Session, topic string, payloads [][]byte, headers []Header) (int, PublishReport, error) {
	c, err := b.clientFor(s)
	if err != nil {
		return 0, PublishReport{}, err
	}
	t, tn, err := cString("topic", topic)
	if err != nil {
		return 0, PublishReport{}, err
	}
	hs, hn, err := cHeaders(headers)
	if err != nil {
		return 0, PublishReport{}, err
	}
	data, lens := packPayloads(payloads)
	var d *C.uint8_t
	if len(data) > 0 {
		d = (*C.uint8_t)(unsafe.Pointer(&data[0]))
	}
	var l *C.size_t
	if len(lens) > 0 {
		l = &lens[0]
	}
	res := C.chgo_client_publish_many(c, t, tn, d, l, C.size_t(len(lens)), hs, hn)
	runtime.KeepAlive(b)
	runtime.KeepAlive(s)
	runtime.KeepAlive(data)
	runtime.KeepAlive(lens)
	if res.status != C.CHARTER_OK {
		return int(res.published), goPublishReport(res.report), b.failure(res.status, res.message, s)
	}
	return int(res.published), goPublishReport(res.report), nil
}

// packPayloads lays payloads back to back in one buffer with their
// lengths: a Go buffer passed to C may not hold Go pointers, so C builds
// the array of (pointer, length) itself (shim.h).
func packPayloads(payloads [][]byte) ([]byte, []C.size_t) {
	total := 0
	for _, p := range payloads {
		total += len(p)
	}
	data := make([]byte, 0, total)
	lens := make([]C.size_t, len(payloads))
	for i, p := range payloads {
		data = append(data, p...)
		lens[i] = C.size_t(len(p))
	}
	return data, lens
}

// RecvMany waits, as [Subscription.Recv] does, until at least one message
// is queued or ctx is done, then returns the messages queued at that
// moment, in order, up to limit: one call into Charter takes them all. A
// wait that ends with ctx takes nothing and returns an error matching
// [ErrCancelled] and ctx.Err(). limit must be between 1 and [BatchMax]:
// else [ErrInvalidArgument] or [ErrLimitExceeded], as Charter decides
// (the binding only sizes its array by it). It fails as Recv does once the
// subscription has ended; when it ends after some messages were taken,
// those are returned and the next call reports the end.
func (s *Subscription) RecvMany(ctx context.Context, limit int) ([]*Message, error) {
	if err := s.open(); err != nil {
		return nil, err
	}
	if err := needContext(ctx); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, cancelled(err)
	}
	// The array Charter writes to holds limit pointers; past BatchMax,
	// BatchMax+1 is enough for Charter to refuse the call.
	size := min(max(limit, 0), BatchMax+1)
	out := make([]*C.charter_message_t, max(size, 1))
	msgs, err := s.takeQueued(out, size)
	if err != nil || len(msgs) > 0 {
		return msgs, err
	}
	// Nothing queued: wait for one message the way Recv does, in the Go
	// runtime, then take what queued behind it.
	first, err := s.bus.receive(ctx, s.client, uint64(s.id), &s.closed)
	runtime.KeepAlive(s)
	if err != nil {
		return nil, err
	}
	msgs = []*Message{first}
	if size > 1 {
		// An end or any other failure now belongs to the next call: the
		// message taken above must reach the caller.
		rest, _ := s.takeQueued(out, size-1)
		msgs = append(msgs, rest...)
	}
	return msgs, nil
}

// takeQueued takes up to n queued messages into out without waiting: none
// and no error when nothing is queued.
func (s *Subscription) takeQueued(out []*C.charter_message_t, n int) ([]*Message, error) {
	res := C.chgo_client_recv_many(s.client, C.uint64_t(s.id), &out[0], C.size_t(n))
	runtime.KeepAlive(s)
	switch res.status {
	case C.CHARTER_OK:
	case C.CHARTER_E_WOULD_BLOCK:
		return nil, nil
	default:
		return nil, s.bus.subscriptionError(cError(res.status, res.message), &s.closed)
	}
	count := int(res.count)
	// One allocation for the batch's Message values, one for their
	// payloads, and one topic string for the run of messages that share
	// it: the copies cost less than the messages one by one. A Message
	// kept keeps its batch's values and payloads.
	total := 0
	for _, c := range out[:count] {
		total += int(c.payload_len)
	}
	room := make([]byte, total)
	values := make([]Message, count)
	msgs := make([]*Message, count)
	topic := ""
	for i, c := range out[:count] {
		room = fillMessage(&values[i], c, topic, room)
		topic = values[i].Topic
		msgs[i] = &values[i]
	}
	C.chgo_messages_free(&out[0], res.count)
	return msgs, nil
}
