package charter

// #include "shim.h"
import "C"

import (
	"runtime"
	"time"
)

// Authority decides what tokens are worth: it trusts a set of root keys,
// judges time on its own clock, keeps the revocation set, verifies tokens
// and opens sessions for their holders. A [Bus] made with
// [NewBusWithAuthority] enforces the grants of its sessions.
//
// Create an Authority with [NewAuthority] and release it with Close; the
// zero Authority is closed. Close releases only this handle: buses and
// sessions made from it keep working with the same roots and revocations.
type Authority struct {
	h handle[*C.charter_authority_t]
}

// AuthorityOption configures [NewAuthority].
type AuthorityOption func(*authorityConfig)

type authorityConfig struct {
	opts     C.charter_authority_options_t
	recorder *Recorder // nil: record nothing
	err      error     // the first invalid option
}

func (c *authorityConfig) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// WithMaxLifetime sets the longest window any link of a token may have
// (default 90 days); a longer one fails verification with [ErrDenied]. d
// is truncated to whole seconds and must not be negative (a C duration
// has no sign); the core judges every other value.
func WithMaxLifetime(d time.Duration) AuthorityOption {
	return secondsOption("max lifetime", d, func(o *C.charter_authority_options_t) *C.uint64_t { return &o.max_lifetime_s })
}

// WithClockSkew sets how far the clocks of the token's issuers and of the
// authority may disagree (default 60 s): a token is accepted from skew
// before its window until skew after it. d is truncated to whole seconds.
func WithClockSkew(d time.Duration) AuthorityOption {
	return secondsOption("clock skew", d, func(o *C.charter_authority_options_t) *C.uint64_t { return &o.clock_skew_s })
}

// secondsOption sets the whole seconds that field picks out of the options
// to d, truncated; d must not be negative (a C duration has no sign).
func secondsOption(what string, d time.Duration, field func(*C.charter_authority_options_t) *C.uint64_t) AuthorityOption {
	return func(c *authorityConfig) {
		if d < 0 {
			c.fail(invalidArgument("%s must not be negative, got %v", what, d))
			return
		}
		*field(&c.opts) = C.uint64_t(d / time.Second)
	}
}

// WithFixedTime runs the authority on a clock of its own, for tests: it
// reads t (truncated to whole seconds, after the Unix epoch) until
// [Authority.SetTime] moves it. By default the authority uses the system
// clock.
func WithFixedTime(t time.Time) AuthorityOption {
	return func(c *authorityConfig) {
		// 0 means "the system clock" to Charter.
		if t.Unix() <= 0 {
			c.fail(invalidArgument("fixed time must be after the Unix epoch, got %v", t))
			return
		}
		c.opts.fixed_time = C.uint64_t(t.Unix())
	}
}

// NewAuthority creates an authority that trusts the root keys roots (see
// [KeyPair.PublicKey]; there may be none yet, see [Authority.Trust]). A
// key that does not parse fails with [ErrMalformed].
func NewAuthority(roots []PublicKey, opts ...AuthorityOption) (*Authority, error) {
	var cfg authorityConfig
	// Cannot fail: the pointer is valid.
	C.charter_authority_options_default(&cfg.opts)
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	keys, n, err := cStrings("root key", publicKeyStrings(roots))
	if err != nil {
		return nil, err
	}
	var res C.chgo_handle
	if rec := cfg.recorder; rec != nil {
		log, err := rec.Log.ref().load()
		if err != nil {
			return nil, err
		}
		res = C.chgo_authority_new_with_recorder(keys, n, cfg.opts, log, C.int32_t(rec.Scope))
		runtime.KeepAlive(rec.Log)
		if res.status != C.CHARTER_OK {
			return nil, failure(res.status, res.message, &rec.Log.h)
		}
	} else {
		res = C.chgo_authority_new(keys, n, cfg.opts)
	}
	a := &Authority{}
	return adopt(a, &a.h, "authority", (*C.charter_authority_t)(res.handle), freeAuthority, res.status, res.message)
}

func freeAuthority(p *C.charter_authority_t) error {
	return statusErr(C.chgo_authority_free(p))
}

// SetTime sets the clock of an authority made with [WithFixedTime] to t
// (truncated to whole seconds). Sessions opened by the authority see the
// new time at once: moving past a session's end expires it. An authority
// on the system clock fails with [ErrInvalidArgument].
func (a *Authority) SetTime(t time.Time) error {
	if a == nil {
		return nilArgument("authority")
	}
	now, err := unixSeconds("time", t)
	if err != nil {
		return err
	}
	return run(a.ref(), func(p *C.charter_authority_t) C.chgo_status {
		return C.chgo_authority_set_time(p, now)
	})
}

// Trust adds a root key to those the authority trusts.
func (a *Authority) Trust(rootKey PublicKey) error {
	k, n, err := cString("root key", string(rootKey))
	if err != nil {
		return err
	}
	return run(a.ref(), func(p *C.charter_authority_t) C.chgo_status {
		return C.chgo_authority_trust(p, k, n)
	})
}

// Distrust stops trusting a root key and reports whether it was
// trusted. Tokens minted by it then fail to verify with [ErrUntrustedRoot],
// and every session opened under it ends at once, with its subscriptions
// (their calls fail with [ErrRevoked]; trusting the root again does not
// reopen them).
func (a *Authority) Distrust(rootKey PublicKey) (bool, error) {
	k, n, err := cString("root key", string(rootKey))
	if err != nil {
		return false, err
	}
	return use(a.ref(), func(p *C.charter_authority_t) C.chgo_value {
		return C.chgo_authority_distrust(p, k, n)
	}, goFlag)
}

// Verify checks tok and returns its holder's principal id (text form). It
// fails with the first problem found, in this order (docs/formats.md):
// [ErrMalformed], [ErrRevoked], [ErrUntrustedRoot], then for each link
// [ErrMalformed] (a broken chain), [ErrBadSignature] or [ErrDenied] (a
// widening delegation, a window longer than the maximum lifetime), and
// last [ErrNotYetValid] or [ErrExpired].
func (a *Authority) Verify(tok *Token) (principal string, err error) {
	p, err := a.ref().load()
	if err != nil {
		return "", err
	}
	t, err := tok.ref("token").load()
	if err != nil {
		return "", err
	}
	res := C.chgo_authority_verify(p, t)
	runtime.KeepAlive(a)
	runtime.KeepAlive(tok)
	return goString(res, &a.h, &tok.h)
}

// Challenge returns a fresh random challenge of [ChallengeLen] bytes for a
// holder to sign with [Token.Prove]. Each challenge opens at most one
// session, within two minutes.
func (a *Authority) Challenge() ([]byte, error) {
	challenge := make([]byte, ChallengeLen)
	err := run(a.ref(), func(p *C.charter_authority_t) C.chgo_status {
		return C.chgo_authority_challenge(p, (*C.uint8_t)(&challenge[0]))
	})
	if err != nil {
		return nil, err
	}
	return challenge, nil
}

// OpenSession opens a session for tok's holder, who signed challenge (from
// [Authority.Challenge]) into proof (with [Token.Prove]). It fails as
// Verify does, with [ErrDenied] for a challenge that is unknown, used or
// too old, and with [ErrBadSignature] for a proof not made by the holder's
// key for this token and challenge.
func (a *Authority) OpenSession(tok *Token, challenge, proof []byte) (*Session, error) {
	if a == nil {
		return nil, nilArgument("authority")
	}
	// Charter reads exactly these lengths: shorter slices would let it read
	// past their end.
	if len(challenge) != ChallengeLen {
		return nil, invalidArgument("challenge must be %d bytes, got %d", ChallengeLen, len(challenge))
	}
	if len(proof) != ProofLen {
		return nil, invalidArgument("proof must be %d bytes, got %d", ProofLen, len(proof))
	}
	p, err := a.ref().load()
	if err != nil {
		return nil, err
	}
	t, err := tok.ref("token").load()
	if err != nil {
		return nil, err
	}
	res := C.chgo_authority_open_session(p, t, (*C.uint8_t)(&challenge[0]), (*C.uint8_t)(&proof[0]))
	runtime.KeepAlive(a)
	runtime.KeepAlive(tok)
	s := &Session{}
	return adopt(s, &s.h, "session", (*C.charter_session_t)(res.handle), freeSession, res.status, res.message, &a.h, &tok.h)
}

// Revoke revokes the link linkID (64 hex digits, see [Token.LinkID]) and
// reports whether it was newly revoked. Every token containing the link
// then fails to verify with [ErrRevoked], and every session opened with one
// ends at once, with the subscriptions it opened.
func (a *Authority) Revoke(linkID string) (bool, error) {
	return a.revocation(linkID, true)
}

// Unrevoke lifts the revocation of linkID and reports whether it was
// revoked. Sessions that the revocation ended stay ended.
func (a *Authority) Unrevoke(linkID string) (bool, error) {
	return a.revocation(linkID, false)
}

// revocation revokes linkID, or lifts its revocation when revoke is false,
// and reports whether that changed anything.
func (a *Authority) revocation(linkID string, revoke bool) (bool, error) {
	id, n, err := cString("link id", linkID)
	if err != nil {
		return false, err
	}
	return use(a.ref(), func(p *C.charter_authority_t) C.chgo_value {
		if revoke {
			return C.chgo_authority_revoke(p, id, n)
		}
		return C.chgo_authority_unrevoke(p, id, n)
	}, goFlag)
}

// ExportRevocations returns the revocation set: one link id per line, as
// 64 lowercase hex digits, sorted, each line ending in "\n".
func (a *Authority) ExportRevocations() (string, error) {
	return use(a.ref(), func(p *C.charter_authority_t) C.chgo_string {
		return C.chgo_authority_export_revocations(p)
	}, goString)
}

// ImportRevocations revokes every link id in text, as ExportRevocations
// writes it (blank lines and lines starting with "#" are ignored), and
// returns how many were new. It is all or nothing: a malformed line fails
// with [ErrMalformed] and revokes none.
func (a *Authority) ImportRevocations(text string) (int, error) {
	s, n, err := cString("text", text)
	if err != nil {
		return 0, err
	}
	count, err := use(a.ref(), func(p *C.charter_authority_t) C.chgo_value {
		return C.chgo_authority_import_revocations(p, s, n)
	}, goValue)
	return int(count), err
}

// Close frees the authority handle. A second Close returns nil; any other
// method called after Close returns an error matching [ErrClosed]. Buses
// and sessions made from the authority keep working.
func (a *Authority) Close() error {
	return a.ref().close(freeAuthority)
}

// ref returns a's handle; a nil a gets one that fails every use
// with ErrNullArgument.
func (a *Authority) ref() *handle[*C.charter_authority_t] {
	return refOf(a, "authority", func() *handle[*C.charter_authority_t] { return &a.h })
}
