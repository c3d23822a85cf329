package charter

import (
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"io"
)

// KeyPair is a crypto.Signer, so it signs wherever Go's crypto takes one
// (x509 certificates, SSH, JWS libraries). The key leaves Charter only as
// its PKCS#8 document, read by crypto/x509: no key format is decoded here.
var _ crypto.Signer = (*KeyPair)(nil)

// Ed25519 returns the key pair as Go's own Ed25519 key. It is a secret.
func (k *KeyPair) Ed25519() (ed25519.PrivateKey, error) {
	der, err := k.PKCS8()
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, &Error{Code: StatusInternal, Message: "crypto/x509 cannot read the key's PKCS#8: " + err.Error()}
	}
	private, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, &Error{Code: StatusInternal, Message: "the key's PKCS#8 is not an Ed25519 key"}
	}
	return private, nil
}

// Ed25519PublicKey returns the public key as Go's ed25519.PublicKey.
func (k *KeyPair) Ed25519PublicKey() (ed25519.PublicKey, error) {
	private, err := k.Ed25519()
	if err != nil {
		return nil, err
	}
	return private.Public().(ed25519.PublicKey), nil
}

// Public is [KeyPair.Ed25519PublicKey] for crypto.Signer, which has no
// error to return: it is nil for a nil or closed key pair.
func (k *KeyPair) Public() crypto.PublicKey {
	public, err := k.Ed25519PublicKey()
	if err != nil {
		return nil
	}
	return public
}

// Sign signs message (not a digest: Ed25519 hashes internally, so opts must
// be crypto.Hash(0)) as ed25519.PrivateKey.Sign does; rand is unused.
func (k *KeyPair) Sign(rand io.Reader, message []byte, opts crypto.SignerOpts) ([]byte, error) {
	private, err := k.Ed25519()
	if err != nil {
		return nil, err
	}
	signature, err := private.Sign(rand, message, opts)
	if err != nil {
		return nil, &Error{Code: StatusInvalidArgument, Message: err.Error()}
	}
	return signature, nil
}
