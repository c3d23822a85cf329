package charter

// #include "shim.h"
import "C"

// PublicKey is an Ed25519 public key in its text form ("charter-pk1:..."),
// as [KeyPair.PublicKey] and [Token.Subject] give it: a subject in [Mint]
// and [Token.Delegate], a root in [NewAuthority]. It is a string so that it
// prints, compares and keys a map as text does; [ParsePublicKey] and
// UnmarshalText check text from outside, and Charter checks every key it
// is given anyway (a bad one fails with [ErrMalformed]). The zero
// PublicKey, "", is no key.
type PublicKey string

// ParsePublicKey checks that text is a public key's text form and returns
// it in canonical form. Anything else fails with [ErrMalformed].
func ParsePublicKey(text string) (PublicKey, error) {
	s, n, err := cString("text", text)
	if err != nil {
		return "", err
	}
	canonical, err := goString(C.chgo_public_key_parse(s, n))
	if err != nil {
		return "", err
	}
	return PublicKey(canonical), nil
}

// String returns the text form.
func (k PublicKey) String() string {
	return string(k)
}

// MarshalText implements [encoding.TextMarshaler]: the text form, so a
// PublicKey is a JSON string.
func (k PublicKey) MarshalText() ([]byte, error) {
	return []byte(k), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with
// [ParsePublicKey]: text that is not a public key fails with
// [ErrMalformed] and leaves k as it was.
func (k *PublicKey) UnmarshalText(text []byte) error {
	parsed, err := ParsePublicKey(string(text))
	if err != nil {
		return err
	}
	*k = parsed
	return nil
}

// publicKeyStrings returns keys as strings, for cStrings.
func publicKeyStrings(keys []PublicKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = string(k)
	}
	return out
}
