package charter_test

import (
	"crypto"
	"crypto/ed25519"
	"errors"
	"testing"

	charter "charter.dev/charter"
)

func TestKeyPairIsACryptoSigner(t *testing.T) {
	key, err := charter.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	var signer crypto.Signer = key
	public, ok := signer.Public().(ed25519.PublicKey)
	if !ok || len(public) != ed25519.PublicKeySize {
		t.Fatalf("Public() = %#v", signer.Public())
	}
	signature, err := signer.Sign(nil, []byte("message"), crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(public, []byte("message"), signature) {
		t.Fatal("the signature does not verify with crypto/ed25519")
	}
	if _, err := signer.Sign(nil, []byte("m"), crypto.SHA256); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("Sign with a digest: %v", err)
	}
	explicit, err := key.Ed25519PublicKey()
	if err != nil || !explicit.Equal(public) {
		t.Fatalf("Ed25519PublicKey() = %x, %v", explicit, err)
	}
	if err := key.Close(); err != nil {
		t.Fatal(err)
	}
	if key.Public() != nil {
		t.Fatal("a closed key pair has a public key")
	}
	if _, err := key.Sign(nil, []byte("m"), crypto.Hash(0)); !errors.Is(err, charter.ErrClosed) {
		t.Fatalf("Sign after Close: %v", err)
	}
}
