package charter_test

import (
	"testing"
	"time"

	"charter.dev/charter"
)

// t0 is the start of the test clock: the authorities of these tests run on
// WithFixedTime clocks, so windows and edges are exact.
var t0 = time.Unix(5_000_000, 0)

// skew is the clock skew the test authorities allow.
const skew = 60 * time.Second

func newKey(t testing.TB) *charter.KeyPair {
	t.Helper()
	k, err := charter.GenerateKey()
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func publicKey(t testing.TB, k *charter.KeyPair) charter.PublicKey {
	t.Helper()
	pk := k.PublicKey()
	if pk == "" {
		t.Fatal("PublicKey of an open key pair is empty")
	}
	return pk
}

func principal(t testing.TB, k *charter.KeyPair) string {
	t.Helper()
	id := k.Principal()
	if id == "" {
		t.Fatal("Principal of an open key pair is empty")
	}
	return id
}

// mint mints a token from root to holder for [t0, t0+1h).
func mint(t testing.TB, root, holder *charter.KeyPair, grants ...string) *charter.Token {
	t.Helper()
	tok, err := charter.Mint(root, publicKey(t, holder), grants, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	t.Cleanup(func() { tok.Close() })
	return tok
}

// newAuthority trusts roots, on a fixed clock at t0 with skew.
func newAuthority(t testing.TB, roots ...*charter.KeyPair) *charter.Authority {
	t.Helper()
	keys := make([]charter.PublicKey, len(roots))
	for i, r := range roots {
		keys[i] = publicKey(t, r)
	}
	a, err := charter.NewAuthority(keys, charter.WithFixedTime(t0), charter.WithClockSkew(skew))
	if err != nil {
		t.Fatalf("NewAuthority: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// prove returns a fresh challenge of a and holder's proof for tok.
func prove(t testing.TB, a *charter.Authority, tok *charter.Token, holder *charter.KeyPair) (challenge, proof []byte) {
	t.Helper()
	challenge, err := a.Challenge()
	if err != nil {
		t.Fatalf("Challenge: %v", err)
	}
	proof, err = tok.Prove(holder, challenge)
	if err != nil {
		t.Fatalf("Prove: %v", err)
	}
	return challenge, proof
}

func openSession(t testing.TB, a *charter.Authority, tok *charter.Token, holder *charter.KeyPair) *charter.Session {
	t.Helper()
	challenge, proof := prove(t, a, tok, holder)
	s, err := a.OpenSession(tok, challenge, proof)
	if err != nil {
		t.Fatalf("OpenSession: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
