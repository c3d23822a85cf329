package charter_test

import (
	"bytes"
	"testing"
	"time"

	"charter.dev/charter"
)

func TestOpenSessionAndCheck(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	tok := mint(t, root, holder, "publish orders.*.created", "subscribe news.>", "request rpc.time")
	a := newAuthority(t, root)
	s := openSession(t, a, tok, holder)

	if id := s.Principal(); id != principal(t, holder) {
		t.Errorf("Principal = %q; want %q", id, principal(t, holder))
	}
	if !s.Active() {
		t.Error("Active = false; want true")
	}
	if end := s.ExpiresAt(); !end.Equal(t0.Add(time.Hour)) {
		t.Errorf("ExpiresAt = %v; want %v", end, t0.Add(time.Hour))
	}
	for _, c := range []struct {
		action  charter.Action
		topic   string
		allowed bool
	}{
		{charter.ActionPublish, "orders.eu.created", true},
		{charter.ActionPublish, "orders.eu.deleted", false},
		{charter.ActionSubscribe, "orders.eu.created", false},
		{charter.ActionSubscribe, "news.eu.>", true},
		{charter.ActionSubscribe, "news.>", true},
		{charter.ActionSubscribe, ">", false},
		{charter.ActionRequest, "rpc.time", true},
		{charter.ActionRequest, "rpc.date", false},
		{charter.ActionPublish, "rpc.time", false},
	} {
		err := s.Check(c.action, c.topic)
		if c.allowed && err != nil {
			t.Errorf("Check(%v, %q) = %v, want allowed", c.action, c.topic, err)
		}
		if !c.allowed {
			wantErr(t, "Check("+c.action.String()+", "+c.topic+")", err, charter.ErrDenied)
		}
	}
	wantErr(t, "Check with a NUL in the topic", s.Check(charter.ActionPublish, "orders\x00"), charter.ErrInvalidArgument)
}

func TestActionString(t *testing.T) {
	for a, want := range map[charter.Action]string{
		charter.ActionPublish:   "publish",
		charter.ActionSubscribe: "subscribe",
		charter.ActionRequest:   "request",
		charter.Action(9):       "Action(9)",
	} {
		if got := a.String(); got != want {
			t.Errorf("Action(%d).String() = %q, want %q", int32(a), got, want)
		}
	}
}

func TestChallengeIsSingleUse(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	tok := mint(t, root, holder, "publish a")
	a := newAuthority(t, root)
	challenge, proof := prove(t, a, tok, holder)
	if len(challenge) != charter.ChallengeLen || len(proof) != charter.ProofLen {
		t.Fatalf("challenge %d bytes, proof %d; want %d and %d", len(challenge), len(proof), charter.ChallengeLen, charter.ProofLen)
	}
	other, _ := a.Challenge()
	if bytes.Equal(challenge, other) {
		t.Error("two challenges are equal")
	}

	s, err := a.OpenSession(tok, challenge, proof)
	if err != nil {
		t.Fatalf("OpenSession: %v", err)
	}
	defer s.Close()
	_, err = a.OpenSession(tok, challenge, proof)
	wantErr(t, "OpenSession with a used challenge", err, charter.ErrDenied)

	unknown := make([]byte, charter.ChallengeLen)
	p, err := tok.Prove(holder, unknown)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.OpenSession(tok, unknown, p)
	wantErr(t, "OpenSession with a challenge the authority never issued", err, charter.ErrDenied)
}

func TestOpenSessionRefusesBadProofs(t *testing.T) {
	root, holder, thief := newKey(t), newKey(t), newKey(t)
	tok := mint(t, root, holder, "publish a")
	a := newAuthority(t, root)

	// A proof for another challenge.
	challenge, _ := prove(t, a, tok, holder)
	_, otherProof := prove(t, a, tok, holder)
	_, err := a.OpenSession(tok, challenge, otherProof)
	wantErr(t, "OpenSession with a proof of another challenge", err, charter.ErrBadSignature)

	// A flipped bit.
	challenge, proof := prove(t, a, tok, holder)
	proof[0] ^= 0x80
	_, err = a.OpenSession(tok, challenge, proof)
	wantErr(t, "OpenSession with a flipped proof bit", err, charter.ErrBadSignature)

	// Another key cannot even make a proof for the token.
	challenge, _ = prove(t, a, tok, holder)
	_, err = tok.Prove(thief, challenge)
	wantErr(t, "Prove by a key that is not the holder", err, charter.ErrInvalidArgument)

	// A stolen token proved with the thief's own token's key.
	theirs := mint(t, root, thief, "publish a")
	theirProof, err := theirs.Prove(thief, challenge)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.OpenSession(tok, challenge, theirProof)
	wantErr(t, "OpenSession with the proof of another holder", err, charter.ErrBadSignature)

	_, err = a.OpenSession(tok, challenge[:31], make([]byte, charter.ProofLen))
	wantErr(t, "OpenSession with a short challenge", err, charter.ErrInvalidArgument)
	_, err = a.OpenSession(tok, challenge, make([]byte, charter.ProofLen+1))
	wantErr(t, "OpenSession with a long proof", err, charter.ErrInvalidArgument)
	_, err = tok.Prove(holder, nil)
	wantErr(t, "Prove of an empty challenge", err, charter.ErrInvalidArgument)
}

func TestOpenSessionFailsAsVerify(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	tok := mint(t, root, holder, "publish a")
	a := newAuthority(t)
	challenge, proof := prove(t, a, tok, holder)
	_, err := a.OpenSession(tok, challenge, proof)
	wantErr(t, "OpenSession with an untrusted root", err, charter.ErrUntrustedRoot)
}

func TestRevocationEndsALiveSession(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	tok := mint(t, root, holder, "publish a")
	a := newAuthority(t, root)
	s := openSession(t, a, tok, holder)
	if err := s.Check(charter.ActionPublish, "a"); err != nil {
		t.Fatalf("Check before revocation: %v", err)
	}

	id, _ := tok.LinkID(0)
	if _, err := a.Revoke(id); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Check after revocation", s.Check(charter.ActionPublish, "a"), charter.ErrRevoked)
	if s.Active() {
		t.Error("Active after revocation")
	}
	// Ended stays ended.
	if _, err := a.Unrevoke(id); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Check after Unrevoke", s.Check(charter.ActionPublish, "a"), charter.ErrRevoked)
}

func TestSessionExpiresWithTheClock(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	tok := mint(t, root, holder, "publish a")
	a := newAuthority(t, root)
	s := openSession(t, a, tok, holder)
	end := s.ExpiresAt()

	if err := a.SetTime(end.Add(skew - time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(charter.ActionPublish, "a"); err != nil {
		t.Errorf("Check within the skew after the end: %v", err)
	}
	if err := a.SetTime(end.Add(skew)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Check past the end and the skew", s.Check(charter.ActionPublish, "a"), charter.ErrExpired)
	if s.Active() {
		t.Error("Active past the end")
	}
}

func TestSessionClose(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	tok := mint(t, root, holder, "publish a")
	a := newAuthority(t, root)
	challenge, proof := prove(t, a, tok, holder)
	s, err := a.OpenSession(tok, challenge, proof)
	if err != nil {
		t.Fatal(err)
	}
	closeTwice(t, s)
	wantErr(t, "Check after Close", s.Check(charter.ActionPublish, "a"), charter.ErrClosed)
	if s.Active() || s.Principal() != "" || !s.ExpiresAt().IsZero() {
		t.Errorf("after Close: Active %v, Principal %q, ExpiresAt %v; want the zero values", s.Active(), s.Principal(),
			s.ExpiresAt())
	}

	var zero charter.Session
	wantErr(t, "Check of the zero Session", zero.Check(charter.ActionPublish, "a"), charter.ErrClosed)
	var none *charter.Session
	wantErr(t, "Check of a nil Session", none.Check(charter.ActionPublish, "a"), charter.ErrNullArgument)
}

// Check is meant for hot paths: an allowed check makes no Go allocation.
func TestSessionCheckDoesNotAllocate(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	a := newAuthority(t, root)
	s := openSession(t, a, mint(t, root, holder, "publish orders.>"), holder)
	allocs := testing.AllocsPerRun(100, func() {
		if err := s.Check(charter.ActionPublish, "orders.eu.created"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Check made %v allocations, want 0", allocs)
	}
}
