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
	if res.status != C.CHARTER_OK {
		return nil, cError(res.status, res.message)
	}
	k := &KeyPair{}
	attach(k, &k.h, "key pair", (*C.charter_keypair_t)(res.handle), freeKeyPair)
	return k, nil
}

func freeKeyPair(p *C.charter_keypair_t) error {
	if res := C.chgo_keypair_free(p); res.status != C.CHARTER_OK {
		return cError(res.status, res.message)
	}
	return nil
}

// PKCS8 returns the private key as a PKCS#8 document. It is a secret:
// store it with care.
func (k *KeyPair) PKCS8() ([]byte, error) {
	p, err := k.load("key pair")
	if err != nil {
		return nil, err
	}
	res := C.chgo_keypair_to_pkcs8(p)
	runtime.KeepAlive(k)
	return goBytes(res, &k.h)
}

// PublicKey returns the public key's text form ("charter-pk1:..."), which
// names a subject in [Mint] and [Token.Delegate] and a root in
// [NewAuthority].
func (k *KeyPair) PublicKey() (string, error) {
	p, err := k.load("key pair")
	if err != nil {
		return "", err
	}
	res := C.chgo_keypair_public_key(p)
	runtime.KeepAlive(k)
	return goString(res, &k.h)
}

// Principal returns the principal id's text form ("charter-id1:..."), the
// identity [Authority.Verify] and [Session.Principal] report for tokens
// held by this key.
func (k *KeyPair) Principal() (string, error) {
	p, err := k.load("key pair")
	if err != nil {
		return "", err
	}
	res := C.chgo_keypair_principal(p)
	runtime.KeepAlive(k)
	return goString(res, &k.h)
}

// Close frees the key pair. A second Close returns nil; any other method
// called after Close returns an error matching [ErrClosed].
func (k *KeyPair) Close() error {
	return k.h.close(freeKeyPair)
}

// load returns k's C handle. A nil k fails with ErrNullArgument naming
// the argument what; a closed one with ErrClosed.
func (k *KeyPair) load(what string) (*C.charter_keypair_t, error) {
	if k == nil {
		return nil, nilArgument(what)
	}
	return k.h.load()
}
