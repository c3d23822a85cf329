package charter

// #include "shim.h"
import "C"

import (
	"runtime"
	"time"
)

// ChallengeLen is the length of a session challenge ([Authority.Challenge]).
const ChallengeLen = 32

// ProofLen is the length of a proof of possession ([Token.Prove]).
const ProofLen = 64

// Token is a capability token: a chain of signed links from a root key to
// the holder, each granting actions on topic patterns for a window of
// time. A token is a bearer of rights only together with its holder's key:
// opening a session takes a proof signed by that key ([Token.Prove]).
//
// Decoding ([DecodeToken], [ParseToken]) checks structure only;
// [Authority.Verify] checks signatures, trust, revocation and time. Create
// a Token with [Mint], [Token.Delegate], [DecodeToken] or [ParseToken] and
// release it with Close; the zero Token is closed.
type Token struct {
	h handle[*C.charter_token_t]
}

// Mint makes a root token: root grants grants to the key subject (see
// [KeyPair.PublicKey]) for [notBefore,
// notAfter), in whole seconds. A grant is "ACTION PATTERN" with ACTION one
// of publish, subscribe or request, such as "publish orders.*.created".
func Mint(root *KeyPair, subject PublicKey, grants []string, notBefore, notAfter time.Time) (*Token, error) {
	args, err := linkArgs(subject, grants, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	r, err := root.ref("root").load()
	if err != nil {
		return nil, err
	}
	res := C.chgo_token_mint(r, args.subject, args.subjectLen, args.grants, args.grantCount, args.notBefore, args.notAfter)
	runtime.KeepAlive(root)
	return newToken(res, &root.h)
}

// Delegate makes a token for subject from t, signed by holder, which must
// be t's holder (the subject of its last link). The grants must each be
// within one of t's grants and the window within t's, else Delegate fails
// with [ErrDenied]: a delegation can only narrow.
func (t *Token) Delegate(holder *KeyPair, subject PublicKey, grants []string, notBefore, notAfter time.Time) (*Token, error) {
	if t == nil {
		return nil, nilArgument("token")
	}
	args, err := linkArgs(subject, grants, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	p, err := t.ref("token").load()
	if err != nil {
		return nil, err
	}
	h, err := holder.ref("holder").load()
	if err != nil {
		return nil, err
	}
	res := C.chgo_token_delegate(p, h, args.subject, args.subjectLen, args.grants, args.grantCount, args.notBefore, args.notAfter)
	runtime.KeepAlive(t)
	runtime.KeepAlive(holder)
	return newToken(res, &t.h, &holder.h)
}

// link holds the C form of the arguments of one link.
type link struct {
	subject    *C.char
	subjectLen C.size_t
	grants     *C.char
	grantCount C.size_t
	notBefore  C.uint64_t
	notAfter   C.uint64_t
}

func linkArgs(subject PublicKey, grants []string, notBefore, notAfter time.Time) (link, error) {
	var l link
	var err error
	if l.subject, l.subjectLen, err = cString("subject", string(subject)); err != nil {
		return l, err
	}
	if l.grants, l.grantCount, err = cStrings("grant", grants); err != nil {
		return l, err
	}
	if l.notBefore, err = unixSeconds("notBefore", notBefore); err != nil {
		return l, err
	}
	if l.notAfter, err = unixSeconds("notAfter", notAfter); err != nil {
		return l, err
	}
	return l, nil
}

// DecodeToken decodes a token's binary form, as returned by [Token.Bytes].
// Bytes that are not a well-formed token fail with [ErrMalformed].
func DecodeToken(b []byte) (*Token, error) {
	data, n := cPayload(b)
	return newToken(C.chgo_token_decode(data, n))
}

// ParseToken decodes a token's text form ("charter-tok1:..."), as returned
// by [Token.Text]; surrounding whitespace is ignored. Anything else fails
// with [ErrMalformed].
func ParseToken(text string) (*Token, error) {
	s, n, err := cString("text", text)
	if err != nil {
		return nil, err
	}
	return newToken(C.chgo_token_from_text(s, n))
}

// newToken wraps the token made by a call on the handles hs.
func newToken(res C.chgo_handle, hs ...checker) (*Token, error) {
	t := &Token{}
	return adopt(t, &t.h, "token", (*C.charter_token_t)(res.handle), freeToken, res.status, res.message, hs...)
}

func freeToken(p *C.charter_token_t) error {
	return statusErr(C.chgo_token_free(p))
}

// Bytes returns the token's binary form (docs/formats.md).
func (t *Token) Bytes() ([]byte, error) {
	return use(t.ref("token"), func(p *C.charter_token_t) C.chgo_bytes {
		return C.chgo_token_encode(p)
	}, goBytes)
}

// Text returns the token's text form ("charter-tok1:..."), or "" for a
// nil or closed token.
func (t *Token) Text() string {
	text, err := t.text()
	if err != nil {
		return ""
	}
	return text
}

func (t *Token) text() (string, error) {
	return use(t.ref("token"), func(p *C.charter_token_t) C.chgo_string { return C.chgo_token_to_text(p) }, goString)
}

// String returns the token's text form, or a placeholder naming the error
// (such as a closed token) when there is none, so that a Token prints well
// with the fmt verbs.
func (t *Token) String() string {
	text, err := t.text()
	if err != nil {
		return "<charter.Token: " + err.Error() + ">"
	}
	return text
}

// MarshalText implements [encoding.TextMarshaler]: the text form, so a
// Token is a JSON string. A nil or closed token fails ([ErrNullArgument],
// [ErrClosed]).
func (t *Token) MarshalText() ([]byte, error) {
	text, err := t.text()
	if err != nil {
		return nil, err
	}
	return []byte(text), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] as [ParseToken]
// does, into the zero Token (such as the one encoding/json allocates for a
// *Token field); the Token then needs Close as any other. A Token that
// holds, or held, a token is left alone: [ErrInvalidArgument].
func (t *Token) UnmarshalText(text []byte) error {
	if t == nil {
		return nilArgument("token")
	}
	if t.h.ptr != nil {
		return invalidArgument("UnmarshalText needs a zero Token; this one holds a token")
	}
	s, n, err := cString("text", string(text))
	if err != nil {
		return err
	}
	res := C.chgo_token_from_text(s, n)
	if res.status != C.CHARTER_OK {
		return failure(res.status, res.message)
	}
	attach(t, &t.h, "token", (*C.charter_token_t)(res.handle), freeToken)
	return nil
}

// Subject returns the holder's public key: the subject of the last link,
// the key that must prove possession ([Token.Prove]). A nil or closed
// token has none: "".
func (t *Token) Subject() PublicKey {
	return t.key(false)
}

// RootKey returns the root key the chain starts from, which an
// [Authority] must trust. A nil or closed token has none: "".
func (t *Token) RootKey() PublicKey {
	return t.key(true)
}

// key returns the root key, or the subject when root is false.
func (t *Token) key(root bool) PublicKey {
	text, err := use(t.ref("token"), func(p *C.charter_token_t) C.chgo_string {
		if root {
			return C.chgo_token_root_key(p)
		}
		return C.chgo_token_subject(p)
	}, goString)
	if err != nil {
		return ""
	}
	return PublicKey(text)
}

// Inspect returns a readable account of every link: issuer, subject,
// grants, window and id. Its layout is for people, not for parsing.
func (t *Token) Inspect() (string, error) {
	return use(t.ref("token"), func(p *C.charter_token_t) C.chgo_string { return C.chgo_token_inspect(p) }, goString)
}

// LinkCount returns the number of links: 1 for a minted token, one more
// for each delegation; 0 for a nil or closed token.
func (t *Token) LinkCount() int {
	v, _ := use(t.ref("token"), func(p *C.charter_token_t) C.chgo_value {
		return C.chgo_token_link_count(p)
	}, goValue)
	return int(v)
}

// LinkID returns the id of link i (64 hex digits), 0 being the root link:
// the name by which [Authority.Revoke] revokes it, and with it every token
// that contains it. It fails with [ErrInvalidArgument] past the last link.
func (t *Token) LinkID(i int) (string, error) {
	if i < 0 {
		return "", invalidArgument("link index must not be negative, got %d", i)
	}
	return use(t.ref("token"), func(p *C.charter_token_t) C.chgo_string {
		return C.chgo_token_link_id(p, C.size_t(i))
	}, goString)
}

// Prove signs challenge, from [Authority.Challenge], as t's holder, giving
// the proof of possession that [Authority.OpenSession] takes. holder must
// be the key t was issued to.
func (t *Token) Prove(holder *KeyPair, challenge []byte) ([]byte, error) {
	if t == nil {
		return nil, nilArgument("token")
	}
	if len(challenge) != ChallengeLen {
		return nil, invalidArgument("challenge must be %d bytes, got %d", ChallengeLen, len(challenge))
	}
	p, err := t.ref("token").load()
	if err != nil {
		return nil, err
	}
	h, err := holder.ref("holder").load()
	if err != nil {
		return nil, err
	}
	proof := make([]byte, ProofLen)
	res := C.chgo_token_prove(p, h, (*C.uint8_t)(&challenge[0]), (*C.uint8_t)(&proof[0]))
	runtime.KeepAlive(t)
	runtime.KeepAlive(holder)
	if res.status != C.CHARTER_OK {
		return nil, failure(res.status, res.message, &t.h, &holder.h)
	}
	return proof, nil
}

// Close frees the token. A second Close returns nil; any other method
// called after Close returns an error matching [ErrClosed]. Sessions opened
// with the token are not affected.
func (t *Token) Close() error {
	return t.ref("token").close(freeToken)
}

// ref returns t's handle; a nil t gets one that fails every use
// with ErrNullArgument naming the argument what.
func (t *Token) ref(what string) *handle[*C.charter_token_t] {
	return refOf(t, what, func() *handle[*C.charter_token_t] { return &t.h })
}
