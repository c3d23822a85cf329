//! The vectors' fixed keys: Ed25519 key pairs from fixed 32-byte seeds.

use charter_core::capability::KeyPair;
use ring::signature::Ed25519KeyPair;
use serde_json::{json, Value};

/// A PKCS#8 v1 document for an Ed25519 seed (RFC 8410): this prefix, then
/// the 32 seed bytes.
const PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// A named key with the seed every byte of it follows from.
pub(crate) struct Key {
    pub(crate) name: &'static str,
    pub(crate) pair: KeyPair,
    pub(crate) ring: Ed25519KeyPair,
}

impl Key {
    pub(crate) fn new(name: &'static str, seed_byte: u8) -> Key {
        let mut pkcs8 = PKCS8_PREFIX.to_vec();
        pkcs8.extend_from_slice(&[seed_byte; 32]);
        Key {
            name,
            pair: KeyPair::from_pkcs8(&pkcs8).expect("a valid Ed25519 seed"),
            ring: Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8).expect("a valid Ed25519 seed"),
        }
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.ring.sign(message).as_ref().to_vec()
    }

    pub(crate) fn describe(&self) -> Value {
        json!({
            "name": self.name,
            "pkcs8_hex": charter_core::text::hex(self.pair.to_pkcs8()),
            "public_key": self.pair.public_key().to_text(),
            "public_key_hex": charter_core::text::hex(self.pair.public_key().as_bytes()),
            "principal": self.pair.principal().to_text(),
        })
    }
}
