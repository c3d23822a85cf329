package charter

// #include "shim.h"
import "C"

import (
	"runtime"
	"strconv"
	"time"
)

// Action is what a grant allows on a topic.
type Action int32

// The actions, equal to the CHARTER_ACTION_* constants of charter.h.
const (
	ActionPublish   Action = 1 // publish on a topic
	ActionSubscribe Action = 2 // subscribe to a pattern
	ActionRequest   Action = 3 // send a request on a topic
)

// String returns the action's name as grants spell it: "publish",
// "subscribe" or "request".
func (a Action) String() string {
	switch a {
	case ActionPublish:
		return "publish"
	case ActionSubscribe:
		return "subscribe"
	case ActionRequest:
		return "request"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Session is a verified holder of a token, opened by
// [Authority.OpenSession]: what it may do is its token's grants, until the
// token expires or a link of it is revoked. Use it on an enforcing bus
// with [Bus.Client]. Release it with Close; the zero Session is
// closed.
type Session struct {
	h handle[*C.charter_session_t]
}

func freeSession(p *C.charter_session_t) error {
	return statusErr(C.chgo_session_free(p))
}

// Check reports whether the session may act on topic (for
// [ActionSubscribe], the pattern to subscribe to): nil, or an error
// matching [ErrDenied] (no grant covers it), [ErrExpired] or [ErrRevoked].
// It is cheap: a clock read and a grant match, no signature work.
func (s *Session) Check(action Action, topic string) error {
	t, n, err := cString("topic", topic)
	if err != nil {
		return err
	}
	// Not through run: Check is on every hot path of an enforcing caller,
	// and must not allocate (TestSessionCheckDoesNotAllocate).
	p, err := s.ref().load()
	if err != nil {
		return err
	}
	res := C.chgo_session_check(p, C.int32_t(action), t, n)
	runtime.KeepAlive(s)
	if res.status != C.CHARTER_OK {
		return failure(res.status, res.message, &s.h)
	}
	return nil
}

// Active reports whether the session is still open: its token has not
// expired and no link of it has been revoked. A nil or closed Session is
// not active.
func (s *Session) Active() bool {
	v, _ := use(s.ref(), func(p *C.charter_session_t) C.chgo_value {
		return C.chgo_session_is_active(p)
	}, goValue)
	return v != 0
}

// Principal returns the holder's principal id (text form), as
// [KeyPair.Principal] gives it, or "" for a nil or closed Session.
func (s *Session) Principal() string {
	text, _ := use(s.ref(), func(p *C.charter_session_t) C.chgo_string {
		return C.chgo_session_principal(p)
	}, goString)
	return text
}

// ExpiresAt returns the end of the token's window. The session ends when
// the authority's clock passes it by the clock skew, or earlier if a link
// is revoked. A nil or closed Session returns the zero Time.
func (s *Session) ExpiresAt() time.Time {
	at, err := use(s.ref(), func(p *C.charter_session_t) C.chgo_value {
		return C.chgo_session_expires_at(p)
	}, goValue)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(int64(at), 0)
}

// Close frees the session handle. It does not end the session: the
// subscriptions it opened last until it expires or is revoked. A second
// Close returns nil; any other method called after Close, and any call of
// a [Client] made with the session, returns an error matching [ErrClosed].
func (s *Session) Close() error {
	return s.ref().close(freeSession)
}

// ptr returns the C handle of s for the bus wrappers, which act for its
// holder, or NULL for a nil s: the bus's own calls.
func (s *Session) ptr() (*C.charter_session_t, error) {
	if s == nil {
		return nil, nil
	}
	return s.h.load()
}

// ref returns s's handle; a nil s gets one that fails every use
// with ErrNullArgument.
func (s *Session) ref() *handle[*C.charter_session_t] {
	return refOf(s, "session", func() *handle[*C.charter_session_t] { return &s.h })
}
