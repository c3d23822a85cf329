//! Ed25519 keys and the principals they identify.
//!
//! A principal id is the SHA-256 of a public key, all 32 bytes. It is always
//! derived from a key Charter has seen sign, never accepted on its own
//! authority, which rules out "the claimed id differs from the signer" by
//! construction.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use curve25519_dalek::edwards::CompressedEdwardsY;
use ring::digest::{digest, SHA256};
use ring::rand::{SecureRandom as _, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair as _, UnparsedPublicKey, ED25519};

use super::text::{self, fmt_as_text, PRINCIPAL_PREFIX, PUBLIC_KEY_PREFIX};
use crate::{Error, ErrorKind, Result};

/// The y-coordinates of the eight points of small order: y = 0 (order 4),
/// y = 1 (the identity), y = p - 1 (order 2), and the two y of the points
/// of order 8. Each stands for both signs of x, so keys are compared with
/// the sign bit cleared; encodings of y >= p are refused separately as
/// non-canonical. A signature can be forged for such a key without any
/// secret, so they are refused as keys (libsodium keeps the same list).
const SMALL_ORDER_Y: [[u8; 32]; 5] = [
    [0; 32],
    {
        let mut y = [0u8; 32];
        y[0] = 1;
        y
    },
    {
        let mut y = [0xffu8; 32];
        y[0] = 0xec;
        y[31] = 0x7f;
        y
    },
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5,
        0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a,
        0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
    ],
];

/// An Ed25519 public key that has passed the checks every key must pass:
/// its encoding is canonical, it is a point on the curve, and that point
/// lies in the prime-order subgroup (so it is not of small order either).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// Parses 32 bytes, refusing with `MALFORMED` non-canonical encodings,
    /// encodings of no point, small-order points and mixed-order points.
    pub fn from_bytes(bytes: &[u8]) -> Result<PublicKey> {
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::new(ErrorKind::Malformed, format!("a public key is 32 bytes, got {}", bytes.len()))
        })?;
        if !is_canonical(&key) {
            return Err(Error::new(ErrorKind::Malformed, "public key encoding is not canonical (y >= p)"));
        }
        let mut y = key;
        y[31] &= 0x7f;
        if SMALL_ORDER_Y.contains(&y) {
            return Err(Error::new(ErrorKind::Malformed, "public key is a point of small order"));
        }
        in_prime_order_subgroup(&key)?;
        Ok(PublicKey(key))
    }

    /// Parses the text form `charter-pk1:...`.
    pub fn from_text(text: &str) -> Result<PublicKey> {
        PublicKey::from_bytes(&text::decode(text, PUBLIC_KEY_PREFIX, "public key", 32)?)
    }

    /// The 32 key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The text form, `charter-pk1:` then base64url.
    pub fn to_text(&self) -> String {
        text::encode(PUBLIC_KEY_PREFIX, &self.0)
    }

    /// The principal this key identifies.
    pub fn principal(&self) -> PrincipalId {
        let hash = digest(&SHA256, &self.0);
        let mut id = [0u8; 32];
        id.copy_from_slice(hash.as_ref());
        PrincipalId(id)
    }

    /// Whether `signature` is this key's signature of `message`.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.0).verify(message, signature).is_ok()
    }
}

/// Whether the little-endian y coordinate (sign bit cleared) is below
/// p = 2^255 - 19.
fn is_canonical(key: &[u8; 32]) -> bool {
    let top = key[31] & 0x7f;
    if top != 0x7f || key[1..31].iter().any(|&b| b != 0xff) {
        return true;
    }
    key[0] < 0xed
}

/// Refuses a key that is not a point, or whose point has a component of
/// small order: a valid key plus a point of order 2, 4 or 8 still verifies
/// some signatures made with the valid key's secret, so one secret could
/// act as up to eight principals. The check is `[L]A == identity`.
///
/// `ring` verifies signatures but exposes no group operations, so this one
/// check, on public data only, uses `curve25519-dalek`; no secret and no
/// signature ever goes through it.
fn in_prime_order_subgroup(key: &[u8; 32]) -> Result<()> {
    let point = CompressedEdwardsY(*key)
        .decompress()
        .ok_or_else(|| Error::new(ErrorKind::Malformed, "public key is not a point on the curve"))?;
    if !point.is_torsion_free() {
        return Err(Error::new(
            ErrorKind::Malformed,
            "public key is outside the prime-order subgroup (it has a small-order component)",
        ));
    }
    Ok(())
}

fmt_as_text!(PublicKey, to_text);

/// A principal: the SHA-256 of its public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PrincipalId([u8; 32]);

impl PrincipalId {
    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The text form, `charter-id1:` then base64url.
    pub fn to_text(&self) -> String {
        text::encode(PRINCIPAL_PREFIX, &self.0)
    }

    /// Parses the text form (for display and lookups; a principal is only
    /// ever *established* from a key).
    pub fn from_text(text: &str) -> Result<PrincipalId> {
        let bytes = text::decode(text, PRINCIPAL_PREFIX, "principal id", 32)?;
        let id: [u8; 32] =
            bytes.try_into().map_err(|_| Error::new(ErrorKind::Malformed, "a principal id is 32 bytes"))?;
        Ok(PrincipalId(id))
    }
}

fmt_as_text!(PrincipalId, to_text);

/// The start of an RFC 8410 PKCS#8 v1 document for an Ed25519 key, up to
/// the 32 seed bytes that end it: SEQUENCE { INTEGER 0, AlgorithmIdentifier
/// { id-Ed25519 }, OCTET STRING { OCTET STRING (32 bytes) } }.
const PKCS8_V1_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
/// The fields after the outer SEQUENCE header, up to the seed, that every
/// document `ring` accepts has, v1 or v2 (only the version byte differs).
const PKCS8_AFTER_HEADER: [u8; 14] =
    [0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
/// The label of a PEM-armoured PKCS#8 private key (RFC 7468).
const PEM_LABEL: &str = "PRIVATE KEY";
/// The longest key document or PEM text read: an Ed25519 PKCS#8 document is
/// 48 bytes (v1) or about 85 (v2); anything much larger is not one.
pub const MAX_KEY_DOCUMENT_BYTES: usize = 4096;

/// An Ed25519 key pair. The private key never leaves it except through
/// [`KeyPair::to_pkcs8`] and [`KeyPair::to_pem`].
pub struct KeyPair {
    pair: Ed25519KeyPair,
    public: PublicKey,
    /// Always the v1 document of the seed, whatever form was loaded.
    pkcs8: Vec<u8>,
}

impl KeyPair {
    /// A new key pair from the operating system's random source.
    pub fn generate() -> Result<KeyPair> {
        let mut seed = [0u8; 32];
        SystemRandom::new()
            .fill(&mut seed)
            .map_err(|_| Error::new(ErrorKind::Internal, "the system random source failed"))?;
        let document = v1_document(&seed);
        seed.fill(0);
        KeyPair::from_pkcs8(&document)
    }

    /// A key pair from a PKCS#8 document: v1 (RFC 8410, the seed only, as
    /// OpenSSL 3 and Python's `cryptography` write) or v2 (seed and public
    /// key, as `ring` and Charter before 0.1 wrote; the public key must be
    /// the seed's). Refused with `MALFORMED`; the message never quotes the
    /// document, which holds a secret.
    pub fn from_pkcs8(der: &[u8]) -> Result<KeyPair> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|_| Error::new(ErrorKind::Malformed, "not an Ed25519 PKCS#8 key"))?;
        let public = PublicKey::from_bytes(pair.public_key().as_ref())?;
        let pkcs8 = v1_document(seed_of(der)?);
        Ok(KeyPair { pair, public, pkcs8 })
    }

    /// A key pair from PEM text (`-----BEGIN PRIVATE KEY-----`, RFC 7468)
    /// around a PKCS#8 document, as `openssl genpkey` writes it.
    pub fn from_pem(text: &str) -> Result<KeyPair> {
        let mut der = pem_decode(text)?;
        let pair = KeyPair::from_pkcs8(&der);
        der.fill(0);
        pair
    }

    /// The private key as a PKCS#8 v1 document (RFC 8410), which OpenSSL 3,
    /// Python's `cryptography` and every Charter release load. Treat it as
    /// a secret.
    pub fn to_pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The private key as PEM text: [`to_pkcs8`](Self::to_pkcs8) armoured
    /// as `PRIVATE KEY`, in lines of 64 characters. Treat it as a secret.
    pub fn to_pem(&self) -> String {
        let body = STANDARD.encode(&self.pkcs8);
        let mut text = format!("-----BEGIN {PEM_LABEL}-----\n");
        for line in body.as_bytes().chunks(64) {
            text.push_str(std::str::from_utf8(line).unwrap_or_default());
            text.push('\n');
        }
        text.push_str(&format!("-----END {PEM_LABEL}-----\n"));
        text
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The principal this key pair speaks for.
    pub fn principal(&self) -> PrincipalId {
        self.public.principal()
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut signature = [0u8; 64];
        signature.copy_from_slice(self.pair.sign(message).as_ref());
        signature
    }
}

/// The v1 document for `seed`.
fn v1_document(seed: &[u8; 32]) -> Vec<u8> {
    let mut document = Vec::with_capacity(PKCS8_V1_PREFIX.len() + 32);
    document.extend_from_slice(&PKCS8_V1_PREFIX);
    document.extend_from_slice(seed);
    document
}

/// The seed in a document `ring` has accepted. `ring` compares the
/// algorithm identifier byte for byte and requires the private key to be
/// an OCTET STRING of 32 bytes, so after the outer SEQUENCE's header (short
/// or long form: attributes may follow) the layout is fixed.
fn seed_of(der: &[u8]) -> Result<&[u8; 32]> {
    let header = match der.get(1) {
        Some(&len) if len < 0x80 => 2,
        Some(&0x81) => 3,
        Some(&0x82) => 4,
        _ => der.len(),
    };
    let fields = der.get(header..).and_then(|rest| rest.get(..PKCS8_AFTER_HEADER.len() + 32));
    if let Some(fields) = fields {
        let (head, seed) = fields.split_at(PKCS8_AFTER_HEADER.len());
        let mut expected = PKCS8_AFTER_HEADER;
        expected[2] = head[2]; // the version: 0 (v1) or 1 (v2), checked by ring
        if head == expected {
            if let Ok(seed) = seed.try_into() {
                return Ok(seed);
            }
        }
    }
    Err(Error::new(ErrorKind::Malformed, "not an Ed25519 PKCS#8 key: unexpected layout"))
}

/// The DER bytes inside PEM text labelled `PRIVATE KEY`: the text before
/// the begin line and after the end line is ignored, whitespace inside the
/// base64 is skipped. Errors never quote the text.
fn pem_decode(text: &str) -> Result<Vec<u8>> {
    let bad = |why: &str| Error::new(ErrorKind::Malformed, format!("not a PEM private key: {why}"));
    if text.len() > MAX_KEY_DOCUMENT_BYTES {
        return Err(bad(&format!("{} bytes; the limit is {MAX_KEY_DOCUMENT_BYTES}", text.len())));
    }
    let begin = format!("-----BEGIN {PEM_LABEL}-----");
    let end = format!("-----END {PEM_LABEL}-----");
    let Some(start) = text.find(&begin) else {
        return Err(bad(&format!("no {begin:?} line")));
    };
    let body = &text[start + begin.len()..];
    let Some(stop) = body.find(&end) else {
        return Err(bad(&format!("no {end:?} line")));
    };
    let base64: String = body[..stop].chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(base64.as_bytes()).map_err(|_| bad("the body is not standard base64"))
}

impl Drop for KeyPair {
    fn drop(&mut self) {
        // Best effort: the compiler may keep copies elsewhere, but the
        // buffer we own does not outlive us with the secret in it.
        self.pkcs8.fill(0);
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair").field("public", &self.public).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_sign_verify_and_round_trip() {
        let pair = KeyPair::generate().unwrap();
        let signature = pair.sign(b"hello");
        assert!(pair.public_key().verifies(b"hello", &signature));
        assert!(!pair.public_key().verifies(b"hellO", &signature));
        let again = KeyPair::from_pkcs8(pair.to_pkcs8()).unwrap();
        assert_eq!(again.public_key(), pair.public_key());
        let text = pair.public_key().to_text();
        assert!(text.starts_with("charter-pk1:"));
        assert_eq!(PublicKey::from_text(&text).unwrap(), pair.public_key());
        let id = pair.principal();
        assert_eq!(PrincipalId::from_text(&id.to_text()).unwrap(), id);
        assert_eq!(id.as_bytes().len(), 32);
    }

    #[test]
    fn refuses_small_order_and_non_canonical_keys() {
        for point in SMALL_ORDER_Y {
            assert_eq!(PublicKey::from_bytes(&point).unwrap_err().kind(), ErrorKind::Malformed);
            let mut signed = point;
            signed[31] |= 0x80;
            assert_eq!(PublicKey::from_bytes(&signed).unwrap_err().kind(), ErrorKind::Malformed);
        }
        let mut p = [0xffu8; 32];
        p[31] = 0x7f;
        p[0] = 0xed; // y = p: non-canonical
        let e = PublicKey::from_bytes(&p).unwrap_err();
        assert!(e.message().contains("not canonical"), "{e}");
        assert_eq!(PublicKey::from_bytes(&[1; 31]).unwrap_err().kind(), ErrorKind::Malformed);
        assert!(PublicKey::from_text("charter-id1:AAAA").is_err(), "the prefix says what it is");
    }

    #[test]
    fn refuses_mixed_order_and_off_curve_keys() {
        use base64::Engine as _;
        use curve25519_dalek::constants::EIGHT_TORSION;
        let valid = KeyPair::generate().unwrap().public_key();
        let point = CompressedEdwardsY(*valid.as_bytes()).decompress().unwrap();
        for (order, torsion) in [(8, EIGHT_TORSION[1]), (4, EIGHT_TORSION[2]), (2, EIGHT_TORSION[4])] {
            let mixed = (point + torsion).compress().to_bytes();
            let e = PublicKey::from_bytes(&mixed).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Malformed, "order {order}");
            assert!(e.message().contains("prime-order subgroup"), "order {order}: {e}");
            let text = text::encode(PUBLIC_KEY_PREFIX, &mixed);
            assert_eq!(PublicKey::from_text(&text).unwrap_err().kind(), ErrorKind::Malformed);
        }
        // A verifier key (signed-note form) naming the same mixed key.
        let mixed = (point + EIGHT_TORSION[1]).compress().to_bytes();
        let encoded = [&[0x01u8][..], &mixed].concat();
        let id = digest(&SHA256, &[&b"log\n"[..], &encoded].concat());
        let vkey = format!(
            "log+{}+{}",
            crate::text::hex(&id.as_ref()[..4]),
            base64::engine::general_purpose::STANDARD.encode(&encoded)
        );
        let e = crate::audit::verify_checkpoint("log\n1\nAAAA\n\n\u{2014} log AAAA\n", &vkey).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
        assert!(e.message().contains("prime-order subgroup"), "{e}");
        // y = 2 is below p but no x satisfies the curve equation for it.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        let e = PublicKey::from_bytes(&off_curve).unwrap_err();
        assert!(e.message().contains("not a point"), "{e}");
    }

    #[test]
    fn writes_pkcs8_v1_and_loads_v1_and_v2() {
        let pair = KeyPair::generate().unwrap();
        let v1 = pair.to_pkcs8().to_vec();
        assert_eq!((v1.len(), &v1[..16]), (48, &PKCS8_V1_PREFIX[..]), "RFC 8410 v1, the seed only");
        // ring writes v2: version 1, the seed, then the public key.
        let v2 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let v2 = v2.as_ref();
        assert_eq!((v2[4], v2.len()), (1, 83));
        let loaded = KeyPair::from_pkcs8(v2).unwrap();
        assert_eq!(loaded.to_pkcs8(), &v1_document(v2[16..48].try_into().unwrap())[..], "saved as v1");
        assert_eq!(KeyPair::from_pkcs8(loaded.to_pkcs8()).unwrap().public_key(), loaded.public_key());
        // A v2 document whose public key is not the seed's is refused.
        let mut lying = v2.to_vec();
        let last = lying.len() - 1;
        lying[last] ^= 1;
        assert_eq!(KeyPair::from_pkcs8(&lying).unwrap_err().kind(), ErrorKind::Malformed);
        // Attributes ([0]) between the key and the end: ring accepts them.
        let mut with_attributes = v1.clone();
        with_attributes.extend_from_slice(&[0xa0, 0x02, 0x05, 0x00]);
        with_attributes[1] += 4;
        assert_eq!(KeyPair::from_pkcs8(&with_attributes).unwrap().public_key(), pair.public_key());
        for bad in [&v1[..47], &[], &v1[..2], &[0x30, 0x80]] {
            assert_eq!(KeyPair::from_pkcs8(bad).unwrap_err().kind(), ErrorKind::Malformed, "{bad:?}");
        }
    }

    #[test]
    fn pem_round_trip_and_refusals() {
        let pair = KeyPair::generate().unwrap();
        let pem = pair.to_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"), "{pem}");
        assert_eq!(KeyPair::from_pem(&pem).unwrap().public_key(), pair.public_key());
        let framed = format!("comment before\n{}trailing\n", pem.replace('\n', "\r\n"));
        assert_eq!(KeyPair::from_pem(&framed).unwrap().public_key(), pair.public_key());
        for bad in [
            String::new(),
            pem.replace("BEGIN PRIVATE KEY", "BEGIN PUBLIC KEY"),
            pem.replace("-----END PRIVATE KEY-----\n", ""),
            pem.replace("MC4", "M*4"),
            "x".repeat(MAX_KEY_DOCUMENT_BYTES + 1),
        ] {
            let e = KeyPair::from_pem(&bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Malformed, "{bad:?}");
            assert!(e.message().len() < 200, "quotes no key: {e}");
        }
    }

    #[test]
    fn rfc8032_test_1() {
        // RFC 8032, section 7.1, TEST 1 (empty message).
        let public = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let signature = hex(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        );
        let key = PublicKey::from_bytes(&public).unwrap();
        assert!(key.verifies(b"", &signature));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }
}
