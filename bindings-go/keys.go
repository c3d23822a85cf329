package charter

// #include "shim.h"
import "C"

import "runtime"

// KeyPair is an Ed25519 key pair: a root that mints tokens, or a holder
// that delegates them and proves possession when opening a session. Its
// private key never leaves Charter except through [KeyPair.PKCS8]. Create
// one with [GenerateKey] or [KeyPairFromPKCS8] and release it with Close;
// the zero KeyPair is closed.
type KeyPair struct {
	h handle[*C.charter_keypair_t]
}

// GenerateKey generates a key pair from the operating system's random
// source.
func GenerateKey() (*KeyPair, error) {
	return newKeyPair(C.chgo_keypair_generate())
}

// KeyPairFromPKCS8 loads a key pair from a PKCS#8 document (RFC 8410, v1
// or v2), as written by [KeyPair.PKCS8]. It fails with [ErrMalformed] when
// der is not an Ed25519 private key.
func KeyPairFromPKCS8(der []byte) (*KeyPair, error) {
	data, n := cPayload(der)
	return newKeyPair(C.chgo_keypair_from_pkcs8(data, n))
}

func newKeyPair(res C.chgo_handle) (*KeyPair, error) {
	k := &KeyPair{}
	return adopt(k, &k.h, "key pair", (*C.charter_keypair_t)(res.handle), freeKeyPair, res.status, res.message)
}

func freeKeyPair(p *C.charter_keypair_t) error {
	return statusErr(C.chgo_keypair_free(p))
}

// PKCS8 returns the private key as a PKCS#8 v1 document (RFC 8410), which
// OpenSSL 3 and Go's crypto/x509 load. It is a secret: store it with care.
func (k *KeyPair) PKCS8() ([]byte, error) {
	return use(k.ref("key pair"), func(p *C.charter_keypair_t) C.chgo_bytes {
		return C.chgo_keypair_to_pkcs8(p)
	}, goBytes)
}

// PublicKey returns the public key, which names a subject in [Mint] and
// [Token.Delegate] and a root in [NewAuthority]. A nil or closed KeyPair
// has none: PublicKey returns "".
func (k *KeyPair) PublicKey() PublicKey {
	text, _ := use(k.ref("key pair"), func(p *C.charter_keypair_t) C.chgo_string {
		return C.chgo_keypair_public_key(p)
	}, goString)
	return PublicKey(text)
}

// Principal returns the principal id's text form ("charter-id1:..."), the
// identity [Authority.Verify] and [Session.Principal] report for tokens
// held by this key. A nil or closed KeyPair has none: Principal returns "".
func (k *KeyPair) Principal() string {
	text, _ := use(k.ref("key pair"), func(p *C.charter_keypair_t) C.chgo_string {
		return C.chgo_keypair_principal(p)
	}, goString)
	return text
}

// KeyPairFromPEM loads a key pair from PEM text ("-----BEGIN PRIVATE
// KEY-----" around a PKCS#8 document), as [KeyPair.PEM] and openssl write
// it. It fails with [ErrMalformed] otherwise.
func KeyPairFromPEM(text string) (*KeyPair, error) {
	s, n, err := cString("text", text)
	if err != nil {
		return nil, err
	}
	k, err := newKeyPair(C.chgo_keypair_from_pem(s, n))
	runtime.KeepAlive(text)
	return k, err
}

// PEM returns the private key as PEM text. It is a secret: store it with
// care.
func (k *KeyPair) PEM() (string, error) {
	return use(k.ref("key pair"), func(p *C.charter_keypair_t) C.chgo_string {
		return C.chgo_keypair_to_pem(p)
	}, goString)
}

// ReadKeyFile loads a key pair from a private key file (PKCS#8, DER or
// PEM). As ssh does, it refuses with [ErrInvalidArgument] a file that
// group or others may access, unless allowOpenPermissions, and anything
// but a regular file.
func ReadKeyFile(path string, allowOpenPermissions bool) (*KeyPair, error) {
	s, n, err := cString("path", path)
	if err != nil {
		return nil, err
	}
	k, err := newKeyPair(C.chgo_keypair_read_file(s, n, C.bool(allowOpenPermissions)))
	runtime.KeepAlive(path)
	return k, err
}

// WriteFile writes the private key to a new file at path with mode 0600,
// as DER or, with pem, PEM text. An existing file there is never replaced:
// [ErrInvalidArgument].
func (k *KeyPair) WriteFile(path string, pem bool) error {
	p, err := k.ref("key pair").load()
	if err != nil {
		return err
	}
	s, n, err := cString("path", path)
	if err != nil {
		return err
	}
	res := C.chgo_keypair_write_file(p, s, n, C.bool(pem))
	runtime.KeepAlive(k)
	runtime.KeepAlive(path)
	if res.status != C.CHARTER_OK {
		return failure(res.status, res.message, &k.h)
	}
	return nil
}

// Close frees the key pair. A second Close returns nil; any other method
// called after Close returns an error matching [ErrClosed].
func (k *KeyPair) Close() error {
	return k.ref("key pair").close(freeKeyPair)
}

// ref returns k's handle; a nil k gets one that fails every use
// with ErrNullArgument naming the argument what.
func (k *KeyPair) ref(what string) *handle[*C.charter_keypair_t] {
	return refOf(k, what, func() *handle[*C.charter_keypair_t] { return &k.h })
}
