package charter_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"charter.dev/charter"
)

// rawPublicOf is k's public key as crypto/x509 reads it from Charter's
// PKCS#8 output.
func rawPublicOf(t *testing.T, k *charter.KeyPair) ed25519.PublicKey {
	t.Helper()
	der, err := k.PKCS8()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatalf("crypto/x509 cannot load Charter's PKCS#8: %v", err)
	}
	return parsed.(ed25519.PrivateKey).Public().(ed25519.PublicKey)
}

func TestKeysInteroperateWithCryptoX509(t *testing.T) {
	k := newKey(t)
	der, _ := k.PKCS8()
	if len(der) != 48 {
		t.Errorf("PKCS#8 is %d bytes; RFC 8410 v1 is 48", len(der))
	}
	// Go's key, loaded in Charter as DER and as PEM, signs the same way.
	public, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := x509.MarshalPKCS8PrivateKey(private)
	if err != nil {
		t.Fatal(err)
	}
	fromDER, err := charter.KeyPairFromPKCS8(theirs)
	if err != nil {
		t.Fatal(err)
	}
	defer fromDER.Close()
	text := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: theirs}))
	fromPEM, err := charter.KeyPairFromPEM(text)
	if err != nil {
		t.Fatal(err)
	}
	defer fromPEM.Close()
	for _, k := range []*charter.KeyPair{fromDER, fromPEM} {
		if got := rawPublicOf(t, k); !got.Equal(public) {
			t.Errorf("loaded public key %x, want %x", got, public)
		}
	}
	// Charter's PEM is what encoding/pem reads.
	out, err := k.PEM()
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode([]byte(out))
	if block == nil || block.Type != "PRIVATE KEY" || len(rest) != 0 || string(block.Bytes) != string(der) {
		t.Errorf("PEM() = %q", out)
	}
	if _, err := charter.KeyPairFromPEM(strings.Replace(out, "PRIVATE", "PUBLIC", 2)); !errors.Is(err, charter.ErrMalformed) {
		t.Errorf("a public key PEM: %v", err)
	}
}

func TestKeyFilesArePrivate(t *testing.T) {
	k := newKey(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "root.key")
	if err := k.WriteFile(path, false); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", info.Mode(), err)
	}
	if err := k.WriteFile(path, true); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Errorf("overwrite: %v", err)
	}
	loaded, err := charter.ReadKeyFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	if publicKey(t, loaded) != publicKey(t, k) {
		t.Error("a different key came back")
	}
	loaded.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := charter.ReadKeyFile(path, false); !errors.Is(err, charter.ErrInvalidArgument) ||
		!strings.Contains(err.Error(), "mode 0644") {
		t.Errorf("a key others may read: %v", err)
	}
	allowed, err := charter.ReadKeyFile(path, true)
	if err != nil {
		t.Fatalf("allowed explicitly: %v", err)
	}
	allowed.Close()
	pemPath := filepath.Join(dir, "root.pem")
	if err := k.WriteFile(pemPath, true); err != nil {
		t.Fatal(err)
	}
	fromPEM, err := charter.ReadKeyFile(pemPath, false)
	if err != nil {
		t.Fatal(err)
	}
	fromPEM.Close()
	if _, err := charter.ReadKeyFile(dir, false); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Errorf("a directory: %v", err)
	}
	if _, err := charter.ReadKeyFile(filepath.Join(dir, "missing"), false); !errors.Is(err, charter.ErrNotFound) {
		t.Errorf("a missing file: %v", err)
	}
}
