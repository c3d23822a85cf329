package charter_test

import (
	"strings"
	"testing"
	"time"

	"charter.dev/charter"
)

func TestVerifyTimeEdges(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	a := newAuthority(t, root)
	nb, na := t0.Add(100*time.Second), t0.Add(1000*time.Second)
	tok, err := charter.Mint(root, publicKey(t, holder), []string{"publish a"}, nb, na)
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	for _, c := range []struct {
		now  time.Time
		want error
	}{
		{nb.Add(-skew - time.Second), charter.ErrNotYetValid},
		{nb.Add(-skew), nil},
		{na.Add(skew - time.Second), nil},
		{na.Add(skew), charter.ErrExpired},
	} {
		if err := a.SetTime(c.now); err != nil {
			t.Fatalf("SetTime: %v", err)
		}
		_, err := a.Verify(tok)
		if c.want == nil && err != nil {
			t.Errorf("Verify at window%+ds: %v, want success", c.now.Unix()-nb.Unix(), err)
		}
		if c.want != nil {
			wantErr(t, "Verify at "+c.now.String(), err, c.want)
		}
	}
}

func TestAuthorityOptions(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	strict, err := charter.NewAuthority([]charter.PublicKey{publicKey(t, root)}, charter.WithFixedTime(t0), charter.WithMaxLifetime(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	_, err = strict.Verify(mint(t, root, holder, "publish a"))
	wantErr(t, "Verify of a 1 h token under a 30 min maximum lifetime", err, charter.ErrDenied)

	for name, opt := range map[string]charter.AuthorityOption{
		"a fixed time at the epoch": charter.WithFixedTime(time.Unix(0, 0)),
		"the zero fixed time":       charter.WithFixedTime(time.Time{}),
		"a negative clock skew":     charter.WithClockSkew(-time.Second),
		"a negative max lifetime":   charter.WithMaxLifetime(-time.Second),
	} {
		_, err := charter.NewAuthority(nil, opt)
		wantErr(t, "NewAuthority with "+name, err, charter.ErrInvalidArgument)
	}
	_, err = charter.NewAuthority([]charter.PublicKey{"charter-pk1:nope"})
	wantErr(t, "NewAuthority with a malformed root", err, charter.ErrMalformed)

	system, err := charter.NewAuthority(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer system.Close()
	wantErr(t, "SetTime on the system clock", system.SetTime(t0), charter.ErrInvalidArgument)
}

func TestTrustAndDistrust(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	tok := mint(t, root, holder, "publish a")
	a := newAuthority(t)
	_, err := a.Verify(tok)
	wantErr(t, "Verify before Trust", err, charter.ErrUntrustedRoot)

	if err := a.Trust(publicKey(t, root)); err != nil {
		t.Fatalf("Trust: %v", err)
	}
	if _, err := a.Verify(tok); err != nil {
		t.Errorf("Verify after Trust: %v", err)
	}
	wantErr(t, "Trust of a malformed key", a.Trust("charter-pk1:"), charter.ErrMalformed)

	for i, want := range []bool{true, false} {
		removed, err := a.Distrust(publicKey(t, root))
		if err != nil || removed != want {
			t.Errorf("Distrust #%d = %v, %v; want %v", i+1, removed, err, want)
		}
	}
	_, err = a.Verify(tok)
	wantErr(t, "Verify after Distrust", err, charter.ErrUntrustedRoot)
}

func TestRevokeAndUnrevoke(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	tok := mint(t, root, holder, "publish a")
	a := newAuthority(t, root)
	id, _ := tok.LinkID(0)

	for i, want := range []bool{true, false} {
		if added, err := a.Revoke(id); err != nil || added != want {
			t.Errorf("Revoke #%d = %v, %v; want %v", i+1, added, err, want)
		}
	}
	_, err := a.Verify(tok)
	wantErr(t, "Verify of a revoked token", err, charter.ErrRevoked)

	// Revocation is checked before trust (docs/formats.md).
	if _, err := a.Distrust(publicKey(t, root)); err != nil {
		t.Fatal(err)
	}
	_, err = a.Verify(tok)
	wantErr(t, "Verify of a revoked token with an untrusted root", err, charter.ErrRevoked)
	if err := a.Trust(publicKey(t, root)); err != nil {
		t.Fatal(err)
	}

	for i, want := range []bool{true, false} {
		if removed, err := a.Unrevoke(id); err != nil || removed != want {
			t.Errorf("Unrevoke #%d = %v, %v; want %v", i+1, removed, err, want)
		}
	}
	if _, err := a.Verify(tok); err != nil {
		t.Errorf("Verify after Unrevoke: %v", err)
	}
	_, err = a.Revoke("not a link id")
	wantErr(t, "Revoke of a malformed id", err, charter.ErrMalformed)
}

func TestRevocationsExportImport(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	first, second := mint(t, root, holder, "publish a"), mint(t, root, holder, "publish b")
	src := newAuthority(t, root)
	ids := make([]string, 0, 2)
	for _, tok := range []*charter.Token{first, second} {
		id, _ := tok.LinkID(0)
		ids = append(ids, id)
		if _, err := src.Revoke(id); err != nil {
			t.Fatal(err)
		}
	}
	text, err := src.ExportRevocations()
	if err != nil {
		t.Fatalf("ExportRevocations: %v", err)
	}
	if ids[0] > ids[1] {
		ids[0], ids[1] = ids[1], ids[0]
	}
	if want := ids[0] + "\n" + ids[1] + "\n"; text != want {
		t.Errorf("ExportRevocations = %q, want the sorted ids %q", text, want)
	}

	dst := newAuthority(t, root)
	// All or nothing: one bad line imports none.
	_, err = dst.ImportRevocations(ids[0] + "\nnot hex\n")
	wantErr(t, "ImportRevocations with a bad line", err, charter.ErrMalformed)
	if got, _ := dst.ExportRevocations(); got != "" {
		t.Errorf("a failed import revoked %q", got)
	}
	commented := "# from src\n\n" + strings.ToUpper(text)
	if n, err := dst.ImportRevocations(commented); n != 2 || err != nil {
		t.Errorf("ImportRevocations = %d, %v; want 2 new", n, err)
	}
	if n, err := dst.ImportRevocations(text); n != 0 || err != nil {
		t.Errorf("ImportRevocations again = %d, %v; want 0 new", n, err)
	}
	_, err = dst.Verify(second)
	wantErr(t, "Verify after the import", err, charter.ErrRevoked)
}

func TestAuthorityClose(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	tok := mint(t, root, holder, "publish a")
	a, err := charter.NewAuthority([]charter.PublicKey{publicKey(t, root)}, charter.WithFixedTime(t0))
	if err != nil {
		t.Fatal(err)
	}
	s := openSession(t, a, tok, holder)
	bus, err := charter.NewBusWithAuthority(a)
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()

	closeTwice(t, a)
	id, _ := tok.LinkID(0)
	calls := map[string]func() error{
		"SetTime":           func() error { return a.SetTime(t0) },
		"Trust":             func() error { return a.Trust(publicKey(t, root)) },
		"Distrust":          func() error { _, err := a.Distrust(publicKey(t, root)); return err },
		"Verify":            func() error { _, err := a.Verify(tok); return err },
		"Challenge":         func() error { _, err := a.Challenge(); return err },
		"OpenSession":       func() error { _, err := a.OpenSession(tok, make([]byte, 32), make([]byte, 64)); return err },
		"Revoke":            func() error { _, err := a.Revoke(id); return err },
		"Unrevoke":          func() error { _, err := a.Unrevoke(id); return err },
		"ExportRevocations": func() error { _, err := a.ExportRevocations(); return err },
		"ImportRevocations": func() error { _, err := a.ImportRevocations(""); return err },
		"NewBusWithAuthority": func() error {
			_, err := charter.NewBusWithAuthority(a)
			return err
		},
	}
	for name, call := range calls {
		wantErr(t, name+" after Close", call(), charter.ErrClosed)
	}

	// The session and the bus outlive the authority's handle.
	if err := s.Check(charter.ActionPublish, "a"); err != nil {
		t.Errorf("Check after the authority's Close: %v", err)
	}
	if _, err := bus.Client(s).Publish("a", nil); err != nil {
		t.Errorf("Publish after the authority's Close: %v", err)
	}
	_, err = bus.Publish("a", nil)
	wantErr(t, "Publish without a session after the authority's Close", err, charter.ErrDenied)

	var zero charter.Authority
	_, err = zero.Challenge()
	wantErr(t, "Challenge of the zero Authority", err, charter.ErrClosed)
}
