package charter

// #include "shim.h"
import "C"

import (
	"bytes"
	"context"
	"runtime"
	"sync"
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
	packed := packPayloads(payloads)
	defer packed.release()
	var d *C.uint8_t
	if len(packed.data) > 0 {
		d = (*C.uint8_t)(unsafe.Pointer(&packed.data[0]))
	}
	var slots *C.chgo_payload
	if len(packed.slots) > 0 {
		slots = &packed.slots[0]
	}
	res := C.chgo_client_publish_many(c, t, tn, d, slots, C.size_t(len(packed.slots)), hs, hn)
	runtime.KeepAlive(b)
	runtime.KeepAlive(s)
	runtime.KeepAlive(packed)
	if res.status != C.CHARTER_OK {
		return int(res.published), goPublishReport(res.report), b.failure(res.status, res.message, s)
	}
	return int(res.published), goPublishReport(res.report), nil
}

// publishRoom is a batch's payloads laid back to back, and a slot for each
// with its offset and length: a Go buffer passed to C may not hold Go
// pointers, so C turns the slots into charter_payload_t values itself, in
// place (shim.h). A payload that is the same slice as the one before it is
// laid once, so Charter, seeing the same bytes, keeps one copy of it.
// Publishers share rooms through publishRooms, so a warm PublishBatch
// allocates nothing for them.
type publishRoom struct {
	data  []byte
	slots []C.chgo_payload
}

var publishRooms = sync.Pool{New: func() any { return new(publishRoom) }}

// publishRoomKept is the most payload bytes a room may hold to go back to
// the pool: a rare huge batch's room is left to the collector.
const publishRoomKept = 1 << 20

// release puts the room back in the pool unless it grew past
// publishRoomKept.
func (room *publishRoom) release() {
	if cap(room.data) <= publishRoomKept {
		publishRooms.Put(room)
	}
}

// packPayloads copies payloads into a room from the pool; release it
// after the call. The slots are written by index into a slice grown once,
// the payloads appended into data kept from the room's last batch.
func packPayloads(payloads [][]byte) *publishRoom {
	room := publishRooms.Get().(*publishRoom)
	data := room.data[:0]
	slots := room.slots[:0]
	if cap(slots) < len(payloads) {
		slots = make([]C.chgo_payload, len(payloads))
	}
	slots = slots[:len(payloads)]
	var previous []byte
	for i, p := range payloads {
		offset := len(data)
		if i > 0 && len(p) > 0 && len(p) == len(previous) && unsafe.SliceData(p) == unsafe.SliceData(previous) {
			offset = int(slots[i-1].offset)
		} else {
			data = append(data, p...)
		}
		slots[i] = C.chgo_payload{offset: C.size_t(offset), len: C.size_t(len(p))}
		previous = p
	}
	room.data, room.slots = data, slots
	return room
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
	// Past BatchMax, BatchMax+1 is enough for Charter to refuse the call.
	size := min(max(limit, 0), BatchMax+1)
	msgs, err := s.takeQueued(size)
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
		rest, _ := s.takeQueued(size - 1)
		msgs = append(msgs, rest...)
	}
	return msgs, nil
}

// recvRoom is what charter_client_recv_into copies a batch into: Go memory
// holding no pointers, which cgo lets C write during the call. Receivers
// share them through recvRooms, so a warm RecvMany allocates only the
// batch's own values.
type recvRoom struct {
	buf     []byte
	entries []C.charter_received_t
	// topic is the last topic the room unpacked: a batch on the same topic
	// as the one before shares its string instead of allocating one.
	topic string
}

// recvRoomBytes is a room's buffer: a batch of 64 messages of up to about
// 1 KiB each in one call. A batch that does not fit takes more calls; a
// message larger than the whole buffer goes through charter_message_t.
const recvRoomBytes = 64 << 10

// recvRoomEntries is the entries a kept room holds; a larger limit gets
// up to recvChunk entries of its own for the call, and takes a larger
// batch in several.
const (
	recvRoomEntries = 64
	recvChunk       = 1024
)

var recvRooms = sync.Pool{New: func() any {
	return &recvRoom{buf: make([]byte, recvRoomBytes), entries: make([]C.charter_received_t, recvRoomEntries)}
}}

// takeQueued takes up to n queued messages without waiting: none and no
// error when nothing is queued. A failure after some messages were taken
// is left to the next call.
func (s *Subscription) takeQueued(n int) ([]*Message, error) {
	if n > BatchMax {
		// Past every batch: Charter refuses it, in its words.
		return s.takeMessages(n)
	}
	room := recvRooms.Get().(*recvRoom)
	defer recvRooms.Put(room)
	entries := room.entries
	if n > len(entries) {
		entries = make([]C.charter_received_t, min(n, recvChunk))
	}
	var msgs []*Message
	for {
		want := min(n-len(msgs), len(entries))
		res := C.chgo_client_recv_into(s.client, C.uint64_t(s.id), (*C.uint8_t)(unsafe.Pointer(&room.buf[0])),
			C.size_t(len(room.buf)), &entries[0], C.size_t(max(want, 0)))
		runtime.KeepAlive(s)
		switch res.status {
		case C.CHARTER_OK:
		case C.CHARTER_E_WOULD_BLOCK:
			return msgs, nil
		case C.CHARTER_E_LIMIT_EXCEEDED:
			// The next message alone is larger than the room: it comes as
			// charter_message_t, with what is queued behind it.
			rest, err := s.takeMessages(n - len(msgs))
			if err != nil && len(msgs) > 0 {
				return msgs, nil
			}
			return append(msgs, rest...), err
		default:
			if len(msgs) > 0 {
				C.charter_string_free(res.message)
				return msgs, nil
			}
			return nil, s.bus.subscriptionError(cError(res.status, res.message), &s.closed)
		}
		if got := room.unpack(entries[:res.count]); msgs == nil {
			// The first (mostly the only) call's slice is the batch's.
			msgs = got
		} else {
			msgs = append(msgs, got...)
		}
		// Full when the room or the entries ran out; else the queue did.
		if len(msgs) == n || (!res.more && int(res.count) < want) {
			return msgs, nil
		}
	}
}

// unpack copies the batch that charter_client_recv_into wrote in the
// room's buffer into Go values: one allocation for the Message values, one
// for the payloads, and one topic string per run of messages that share it
// (none for a run on the room's last topic). A kept Message keeps its
// batch's values and payloads.
func (room *recvRoom) unpack(entries []C.charter_received_t) []*Message {
	buf := room.buf
	payloads := payloadArena(buf, entries)
	values := make([]Message, len(entries))
	msgs := make([]*Message, len(entries))
	topic, topicAt := room.topic, -1
	for i := range entries {
		e := &entries[i]
		m := &values[i]
		if at := int(e.topic_offset); at != topicAt {
			if b := buf[at : at+int(e.topic_len)]; string(b) != topic {
				topic = string(b)
			}
			topicAt = at
		}
		m.Seq, m.Topic = uint64(e.seq), topic
		if n := int(e.payload_len); n > 0 {
			// Capped, so an append to one payload never writes the next.
			at := int(e.payload_offset) - payloads.base
			m.Payload = payloads.bytes[at : at+n : at+n]
		}
		if e.header_count > 0 {
			m.Headers = unpackHeaders(buf[e.headers_offset:e.headers_offset+e.headers_len], int(e.header_count))
		}
		if e.reply_to_len > 0 {
			m.ReplyTo = string(buf[e.reply_to_offset : e.reply_to_offset+e.reply_to_len])
		}
		msgs[i] = m
	}
	room.topic = topic
	return msgs
}

// arena is a batch's payloads copied out of a room's buffer: the payload
// at offset o of the buffer is at o-base in bytes.
type arena struct {
	bytes []byte
	base  int
}

// payloadArena copies the payloads of entries out of buf. Written in
// order, they mostly lie back to back (a run on one topic writes its
// topic once, before them), so the span from the first to the end of the
// last is copied at once when the payloads fill at least half of it; a
// batch whose headers or topics take more gets each payload copied on its
// own, so that a kept payload does not keep them.
func payloadArena(buf []byte, entries []C.charter_received_t) arena {
	total, lo, hi := 0, len(buf), 0
	for i := range entries {
		if n := int(entries[i].payload_len); n > 0 {
			at := int(entries[i].payload_offset)
			total += n
			lo, hi = min(lo, at), max(hi, at+n)
		}
	}
	if total == 0 {
		return arena{}
	}
	if hi-lo <= 2*total {
		b := make([]byte, hi-lo)
		copy(b, buf[lo:hi])
		return arena{b, lo}
	}
	// Packed one after the other; each entry's offset is moved to match.
	b := make([]byte, total)
	packed := 0
	for i := range entries {
		e := &entries[i]
		if n := int(e.payload_len); n > 0 {
			copy(b[packed:], buf[e.payload_offset:int(e.payload_offset)+n])
			e.payload_offset = C.size_t(packed)
			packed += n
		}
	}
	return arena{b, 0}
}

// unpackHeaders reads count headers laid out as "name\0value\0...".
func unpackHeaders(b []byte, count int) []Header {
	hs := make([]Header, count)
	next := func() string {
		end := bytes.IndexByte(b, 0)
		text := string(b[:end])
		b = b[end+1:]
		return text
	}
	for i := range hs {
		hs[i].Name = next()
		hs[i].Value = next()
	}
	return hs
}

// takeMessages takes up to n queued messages as charter_message_t, each
// copied then freed: the way for a message larger than a room.
func (s *Subscription) takeMessages(n int) ([]*Message, error) {
	out := make([]*C.charter_message_t, max(n, 1))
	res := C.chgo_client_recv_many(s.client, C.uint64_t(s.id), &out[0], C.size_t(n))
	runtime.KeepAlive(s)
	switch res.status {
	case C.CHARTER_OK:
	case C.CHARTER_E_WOULD_BLOCK:
		return nil, nil
	default:
		return nil, s.bus.subscriptionError(cError(res.status, res.message), &s.closed)
	}
	msgs := make([]*Message, res.count)
	for i, c := range out[:res.count] {
		msgs[i] = goMessage(c)
	}
	C.chgo_messages_free(&out[0], res.count)
	return msgs, nil
}
