package charter

// #include "shim.h"
import "C"

import (
	"strings"
	"unsafe"
)

// Header is one message header. Names are non-empty, without whitespace,
// control characters or ':'; values have no control characters but tab.
type Header struct {
	Name  string
	Value string
}

// Message is a bus message as a Go value: it owns copies of everything
// Charter delivered and stays valid for as long as it is referenced.
type Message struct {
	// Seq is the bus-wide sequence number, increasing in publish order.
	Seq uint64
	// Topic is the topic the message was published on.
	Topic string
	// Payload is the message's bytes, nil when empty.
	Payload []byte
	// Headers are in the order they were published, nil when none.
	Headers []Header
	// ReplyTo is the reply inbox of a request ("" for any other message).
	// Answer the request with [Bus.Respond].
	ReplyTo string
}

// Header returns the value of the first header called name, and whether
// there is one.
func (m *Message) Header(name string) (string, bool) {
	for _, h := range m.Headers {
		if h.Name == name {
			return h.Value, true
		}
	}
	return "", false
}

// MessageFunc handles one message of a [Bus.SubscribeFunc] subscription.
// The message is the callback's own copy. Returning a non-nil error, or
// panicking (the panic is recovered), counts the call in
// [SubscriptionStats.HandlerFailures]; it never affects the publisher or
// other subscriptions.
//
// A MessageFunc may call any method, on the same bus too: publish,
// subscribe, close its own subscription or the bus. It must not call
// runtime.Goexit (nor t.FailNow and the like): Go cannot exit a goroutine
// from inside a call that came from C.
type MessageFunc func(msg *Message) error

// goMessage copies a Charter message into Go memory.
func goMessage(c *C.charter_message_t) *Message {
	m := &Message{}
	fillMessage(m, c, "", nil)
	return m
}

// fillMessage copies the Charter message c into m. The topic is topic
// when c's equals it (no copy: a batch's messages mostly share one), else
// a copy. The payload is copied into the front of room when it has space
// for it (a batch's payloads share one allocation), else into a slice of
// its own; fillMessage returns what is left of room.
func fillMessage(m *Message, c *C.charter_message_t, topic string, room []byte) []byte {
	if !equalCString(c.topic, topic) {
		topic = C.GoString(c.topic)
	}
	m.Seq, m.Topic = uint64(c.seq), topic
	if n := int(c.payload_len); n > 0 {
		if n <= len(room) {
			// Capped, so an append to one payload never writes the next.
			m.Payload, room = room[:n:n], room[n:]
		} else {
			m.Payload = make([]byte, n)
		}
		copy(m.Payload, unsafe.Slice((*byte)(unsafe.Pointer(c.payload)), n))
	}
	if c.header_count > 0 {
		m.Headers = make([]Header, int(c.header_count))
		for i, h := range unsafe.Slice(c.headers, int(c.header_count)) {
			m.Headers[i] = Header{Name: C.GoString(h.name), Value: C.GoString(h.value)}
		}
	}
	if c.reply_to != nil {
		m.ReplyTo = C.GoString(c.reply_to)
	}
	return room
}

// equalCString reports whether the NUL-terminated c holds s, reading no
// further than its NUL or its first difference (s has no NUL: a topic).
func equalCString(c *C.char, s string) bool {
	if s == "" {
		return false
	}
	p := unsafe.Pointer(c)
	for i := 0; i < len(s); i++ {
		if *(*byte)(unsafe.Add(p, i)) != s[i] {
			return false
		}
	}
	return *(*byte)(unsafe.Add(p, len(s))) == 0
}

// cString passes s to a string parameter of a chgo_* wrapper, which takes a
// pointer and a length (see shim.h). A short s is passed as is, since the
// wrapper copies it onto the C stack; a longer one is copied and terminated
// here. C would stop at a NUL, silently using a prefix of s, so s must have
// none.
//
// The pointer is never nil, even for "": the data of an empty Go string
// may be nil, and the wrappers read NULL as "not given" (an in-memory log,
// no note), which would turn an empty argument into a silent default.
// Charter itself decides what an empty string means.
func cString(what, s string) (*C.char, C.size_t, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, 0, invalidArgument("%s contains a NUL byte", what)
	}
	if len(s) == 0 {
		return (*C.char)(unsafe.Pointer(&emptyCString[0])), 0, nil
	}
	if len(s) < C.CHGO_INLINE_STRING {
		return (*C.char)(unsafe.Pointer(unsafe.StringData(s))), C.size_t(len(s)), nil
	}
	b := make([]byte, len(s)+1)
	copy(b, s)
	return (*C.char)(unsafe.Pointer(&b[0])), C.size_t(len(s)), nil
}

// emptyCString is the "" that cString passes: one NUL, holding no Go
// pointer, so C may read it.
var emptyCString = [1]byte{0}

// cPayload points at p's bytes for C, or is nil for an empty p.
func cPayload(p []byte) (*C.uint8_t, C.size_t) {
	if len(p) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(p))), C.size_t(len(p))
}

// cHeaders packs headers as the chgo_* wrappers take them,
// "name\0value\0..." (a Go buffer passed to C may hold no pointers, so the
// wrapper builds the charter_header_t array). It is nil when there are no
// headers.
func cHeaders(headers []Header) (*C.char, C.size_t, error) {
	if len(headers) == 0 {
		return nil, 0, nil
	}
	n := 0
	for _, h := range headers {
		if strings.IndexByte(h.Name, 0) >= 0 || strings.IndexByte(h.Value, 0) >= 0 {
			return nil, 0, invalidArgument("header %q contains a NUL byte", h.Name)
		}
		n += len(h.Name) + len(h.Value) + 2
	}
	packed := make([]byte, 0, n)
	for _, h := range headers {
		packed = append(packed, h.Name...)
		packed = append(packed, 0)
		packed = append(packed, h.Value...)
		packed = append(packed, 0)
	}
	return (*C.char)(unsafe.Pointer(&packed[0])), C.size_t(len(headers)), nil
}
