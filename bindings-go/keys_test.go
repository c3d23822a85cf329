package charter_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"charter.dev/charter"
)

func TestKeyPairPKCS8RoundTrip(t *testing.T) {
	k := newKey(t)
	der, err := k.PKCS8()
	if err != nil {
		t.Fatalf("PKCS8: %v", err)
	}
	loaded, err := charter.KeyPairFromPKCS8(der)
	if err != nil {
		t.Fatalf("KeyPairFromPKCS8: %v", err)
	}
	defer loaded.Close()
	if got, want := publicKey(t, loaded), publicKey(t, k); got != want {
		t.Errorf("loaded public key %q, want %q", got, want)
	}
	if got, want := principal(t, loaded), principal(t, k); got != want {
		t.Errorf("loaded principal %q, want %q", got, want)
	}
	again, err := loaded.PKCS8()
	if err != nil || !bytes.Equal(again, der) {
		t.Errorf("PKCS8 of the loaded key = %x, %v; want %x", again, err, der)
	}
}

func TestKeyPairTextForms(t *testing.T) {
	a, b := newKey(t), newKey(t)
	pa, ia := publicKey(t, a), principal(t, a)
	if !strings.HasPrefix(string(pa), "charter-pk1:") || !strings.HasPrefix(ia, "charter-id1:") {
		t.Errorf("text forms %q, %q lack their prefixes", pa, ia)
	}
	if pa == publicKey(t, b) || ia == principal(t, b) {
		t.Error("two generated keys are the same")
	}
}

func TestKeyPairFromPKCS8Malformed(t *testing.T) {
	for _, der := range [][]byte{nil, []byte("not a key"), bytes.Repeat([]byte{0x30}, 48)} {
		if k, err := charter.KeyPairFromPKCS8(der); !errors.Is(err, charter.ErrMalformed) {
			t.Errorf("KeyPairFromPKCS8(%x) = %v, %v; want ErrMalformed", der, k, err)
		}
	}
}

func TestKeyPairClose(t *testing.T) {
	k, err := charter.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	closeTwice(t, k)
	if k.PublicKey() != "" || k.Principal() != "" {
		t.Errorf("PublicKey, Principal after Close = %q, %q; want empty", k.PublicKey(), k.Principal())
	}
	_, err = k.PKCS8()
	wantErr(t, "PKCS8 after Close", err, charter.ErrClosed)
	_, err = charter.Mint(k, publicKey(t, newKey(t)), []string{"publish a"}, t0, t0.Add(time.Hour))
	wantErr(t, "Mint with a closed root", err, charter.ErrClosed)

	var zero charter.KeyPair
	if zero.PublicKey() != "" {
		t.Error("PublicKey of the zero KeyPair is not empty")
	}
	_, err = zero.PKCS8()
	wantErr(t, "PKCS8 of the zero KeyPair", err, charter.ErrClosed)
	if err := zero.Close(); err != nil {
		t.Errorf("Close of the zero KeyPair: %v", err)
	}
	_, err = charter.Mint(nil, "x", []string{"publish a"}, t0, t0.Add(time.Hour))
	wantErr(t, "Mint with a nil root", err, charter.ErrNullArgument)
}
