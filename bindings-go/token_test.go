package charter_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"charter.dev/charter"
)

var hexID = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestMintVerifyAndLinks(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	tok := mint(t, root, holder, "publish orders.*.created", "subscribe payments.>")
	a := newAuthority(t, root)

	got, err := a.Verify(tok)
	if err != nil || got != principal(t, holder) {
		t.Fatalf("Verify = %q, %v; want %q", got, err, principal(t, holder))
	}
	if n := tok.LinkCount(); n != 1 {
		t.Errorf("LinkCount = %d; want 1", n)
	}
	id, err := tok.LinkID(0)
	if err != nil || !hexID.MatchString(id) {
		t.Errorf("LinkID(0) = %q, %v; want 64 hex digits", id, err)
	}
	_, err = tok.LinkID(1)
	wantErr(t, "LinkID past the last link", err, charter.ErrInvalidArgument)
	_, err = tok.LinkID(-1)
	wantErr(t, "LinkID(-1)", err, charter.ErrInvalidArgument)

	account, err := tok.Inspect()
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	for _, want := range []string{id, string(publicKey(t, root)), string(publicKey(t, holder)), "publish orders.*.created", "subscribe payments.>"} {
		if !strings.Contains(account, want) {
			t.Errorf("Inspect lacks %q:\n%s", want, account)
		}
	}
}

func TestTokenEncodingsRoundTrip(t *testing.T) {
	tok := mint(t, newKey(t), newKey(t), "request rpc.>")
	b, err := tok.Bytes()
	if err != nil || !bytes.HasPrefix(b, []byte("CHTK\x01\x01")) {
		t.Fatalf("Bytes = %x, %v; want the CHTK v1 magic and one link", b, err)
	}
	text := tok.Text()
	if !strings.HasPrefix(text, "charter-tok1:") {
		t.Fatalf("Text = %q", text)
	}
	if s := tok.String(); s != text {
		t.Errorf("String = %q, want the text form %q", s, text)
	}
	if s := fmt.Sprint(tok); s != text {
		t.Errorf("fmt.Sprint = %q, want the text form", s)
	}

	decoded, err := charter.DecodeToken(b)
	if err != nil {
		t.Fatalf("DecodeToken: %v", err)
	}
	defer decoded.Close()
	if got := decoded.Text(); got != text {
		t.Errorf("decoded text %q, want %q", got, text)
	}
	parsed, err := charter.ParseToken("  " + text + "\n")
	if err != nil {
		t.Fatalf("ParseToken: %v", err)
	}
	defer parsed.Close()
	if got, _ := parsed.Bytes(); !bytes.Equal(got, b) {
		t.Errorf("parsed bytes %x, want %x", got, b)
	}
}

func TestDelegateNarrows(t *testing.T) {
	root, alice, bob := newKey(t), newKey(t), newKey(t)
	a := newAuthority(t, root)
	tok := mint(t, root, alice, "publish orders.>", "subscribe news.>")

	child, err := tok.Delegate(alice, publicKey(t, bob), []string{"publish orders.eu.*"}, t0, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("Delegate: %v", err)
	}
	defer child.Close()
	if got, err := a.Verify(child); err != nil || got != principal(t, bob) {
		t.Errorf("Verify(child) = %q, %v; want bob %q", got, err, principal(t, bob))
	}
	if n := child.LinkCount(); n != 2 {
		t.Errorf("child LinkCount = %d, want 2", n)
	}
	parentID, _ := tok.LinkID(0)
	rootID, _ := child.LinkID(0)
	ownID, _ := child.LinkID(1)
	if rootID != parentID || ownID == parentID || !hexID.MatchString(ownID) {
		t.Errorf("child link ids %q, %q; want the parent's %q then a new one", rootID, ownID, parentID)
	}

	for _, c := range []struct {
		name   string
		grants []string
		nb, na time.Time
	}{
		{"a wider pattern", []string{"publish >"}, t0, t0.Add(time.Minute)},
		{"another action", []string{"request orders.eu"}, t0, t0.Add(time.Minute)},
		{"an earlier start", []string{"publish orders.eu"}, t0.Add(-time.Second), t0.Add(time.Minute)},
		{"a later end", []string{"publish orders.eu"}, t0, t0.Add(time.Hour + time.Second)},
	} {
		_, err := tok.Delegate(alice, publicKey(t, bob), c.grants, c.nb, c.na)
		wantErr(t, "Delegate with "+c.name, err, charter.ErrDenied)
	}
	_, err = tok.Delegate(bob, publicKey(t, bob), []string{"publish orders.eu"}, t0, t0.Add(time.Minute))
	wantErr(t, "Delegate by a key that is not the holder", err, charter.ErrInvalidArgument)
	_, err = tok.Delegate(nil, publicKey(t, bob), []string{"publish orders.eu"}, t0, t0.Add(time.Minute))
	wantErr(t, "Delegate with a nil holder", err, charter.ErrNullArgument)
}

func TestMintRefusesBadArguments(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	subject := publicKey(t, holder)
	later := t0.Add(time.Hour)
	for _, c := range []struct {
		name    string
		subject charter.PublicKey
		grants  []string
		nb, na  time.Time
		want    error
	}{
		{"an unknown action", subject, []string{"fly a.b"}, t0, later, charter.ErrInvalidArgument},
		{"a grant without a pattern", subject, []string{"publish"}, t0, later, charter.ErrInvalidArgument},
		{"a NUL in a grant", subject, []string{"publish a\x00b"}, t0, later, charter.ErrInvalidArgument},
		{"no grants", subject, nil, t0, later, charter.ErrInvalidArgument},
		{"a subject that is not a key", "charter-pk1:AAAA", []string{"publish a"}, t0, later, charter.ErrMalformed},
		{"a principal id as subject", charter.PublicKey(principal(t, holder)), []string{"publish a"}, t0, later, charter.ErrMalformed},
		{"a time before the epoch", subject, []string{"publish a"}, time.Time{}, later, charter.ErrInvalidArgument},
		{"an empty window", subject, []string{"publish a"}, t0, t0, charter.ErrInvalidArgument},
	} {
		tok, err := charter.Mint(root, c.subject, c.grants, c.nb, c.na)
		if tok != nil {
			tok.Close()
		}
		wantErr(t, "Mint with "+c.name, err, c.want)
	}
}

func TestHostileTokens(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	tok := mint(t, root, holder, "publish a.>")
	a := newAuthority(t, root)
	b, err := tok.Bytes()
	if err != nil {
		t.Fatal(err)
	}

	for n := range len(b) {
		if tok, err := charter.DecodeToken(b[:n]); err == nil {
			tok.Close()
			t.Fatalf("DecodeToken of the first %d of %d bytes succeeded", n, len(b))
		} else {
			wantErr(t, fmt.Sprintf("DecodeToken of %d bytes", n), err, charter.ErrMalformed)
		}
	}
	_, err = charter.DecodeToken(append(bytes.Clone(b), 0))
	wantErr(t, "DecodeToken with a trailing byte", err, charter.ErrMalformed)
	for _, text := range []string{"", "charter-tok1:", "charter-tok1:!!!", "charter-pk1:" + strings.Repeat("A", 43), "CHTK"} {
		_, err := charter.ParseToken(text)
		wantErr(t, fmt.Sprintf("ParseToken(%q)", text), err, charter.ErrMalformed)
	}

	// The token ends with the root link's signature.
	flipped := bytes.Clone(b)
	flipped[len(flipped)-1] ^= 0x01
	bad, err := charter.DecodeToken(flipped)
	if err != nil {
		t.Fatalf("DecodeToken of a token with a flipped signature bit: %v", err)
	}
	defer bad.Close()
	_, err = a.Verify(bad)
	wantErr(t, "Verify with a flipped signature bit", err, charter.ErrBadSignature)
}

func TestTokenClose(t *testing.T) {
	tok, err := charter.Mint(newKey(t), publicKey(t, newKey(t)), []string{"publish a"}, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	closeTwice(t, tok)
	_, err = tok.Bytes()
	wantErr(t, "Bytes after Close", err, charter.ErrClosed)
	_, err = tok.Inspect()
	wantErr(t, "Inspect after Close", err, charter.ErrClosed)
	if tok.Text() != "" || tok.LinkCount() != 0 || tok.Subject() != "" || tok.RootKey() != "" {
		t.Error("a closed token reports a property")
	}
	_, err = tok.MarshalText()
	wantErr(t, "MarshalText after Close", err, charter.ErrClosed)
	_, err = tok.LinkID(0)
	wantErr(t, "LinkID after Close", err, charter.ErrClosed)
	_, err = tok.Prove(newKey(t), make([]byte, charter.ChallengeLen))
	wantErr(t, "Prove after Close", err, charter.ErrClosed)
	_, err = tok.Delegate(newKey(t), publicKey(t, newKey(t)), []string{"publish a"}, t0, t0.Add(time.Minute))
	wantErr(t, "Delegate after Close", err, charter.ErrClosed)
	_, err = newAuthority(t).Verify(tok)
	wantErr(t, "Verify of a closed token", err, charter.ErrClosed)
	if s := tok.String(); !strings.Contains(s, "CHARTER_E_CLOSED") {
		t.Errorf("String of a closed token = %q, want it to say so", s)
	}

	var zero charter.Token
	_, err = zero.Bytes()
	wantErr(t, "Bytes of the zero Token", err, charter.ErrClosed)
	_, err = newAuthority(t).Verify(nil)
	wantErr(t, "Verify(nil)", err, charter.ErrNullArgument)
}
