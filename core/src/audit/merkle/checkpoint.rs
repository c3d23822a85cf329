//! Checkpoints: the C2SP `tlog-checkpoint` body in a C2SP `signed-note`,
//! signed with Ed25519, so Go's `golang.org/x/mod/sumdb/note` and every
//! other transparency-log tool can verify what Charter signs.
//!
//! A note is text, a blank line, then signature lines. Each line names a
//! key and carries a 4-byte key id, so a note can hold several signatures
//! (a rotated log key, witness cosignatures) and a verifier checks the one
//! it trusts and ignores the rest.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::audit::hash::{sha256, Hash};
use crate::capability::{KeyPair, PublicKey};
use crate::{quote, Error, ErrorKind, Result};

/// The largest note (and verifier key) accepted, in bytes: a checkpoint is
/// well under 1 KiB, so this leaves room for many cosignatures while
/// bounding the work hostile input can cause.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;

/// The most signature lines a note may carry. The signed-note spec asks
/// verifiers to accept at least 16; Go's `note` package stops at 100.
pub(in crate::audit) const MAX_SIGNATURES: usize = 100;

/// The signed-note signature type of Ed25519 keys.
const ED25519_TYPE: u8 = 0x01;

/// What starts a signature line: an em dash (U+2014) and a space.
pub(in crate::audit) const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// A signed tree head: the log's name, its size and its root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity. Charter signs with it as the key name, so it
    /// must be a valid note key name to be signed.
    pub origin: String,
    /// The number of leaves in the tree.
    pub size: u64,
    /// The RFC 9162 root of the tree of `size` leaves.
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: `<origin>\n<size>\n<base64 root>\n`. It never carries
    /// extension lines, which C2SP discourages as monitors cannot audit them.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root))
    }

    /// The signed note: the body, a blank line and one signature line by
    /// `key`, named after the origin. `INVALID_ARGUMENT` when the origin is
    /// not a valid key name or the note would exceed [`MAX_NOTE_BYTES`].
    pub fn sign(&self, key: &KeyPair) -> Result<String> {
        check_key_name(&self.origin).map_err(|why| invalid_name("origin", why))?;
        let body = self.body();
        let mut signature = key_id(&self.origin, &key.public_key()).to_vec();
        signature.extend_from_slice(&key.sign(body.as_bytes()));
        let note = format!("{body}\n{SIGNATURE_PREFIX}{} {}\n", self.origin, STANDARD.encode(signature));
        if note.len() > MAX_NOTE_BYTES {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("the signed note would be {} bytes, at most {MAX_NOTE_BYTES}", note.len()),
            ));
        }
        Ok(note)
    }
}

/// The note verifier key for `key` under `name`:
/// `<name>+<8 hex digits of key id>+<base64(0x01 || public key)>`, the form
/// Go's `note.NewVerifier` reads. `INVALID_ARGUMENT` for an invalid name.
pub fn verifier_key(name: &str, key: &PublicKey) -> Result<String> {
    check_key_name(name).map_err(|why| invalid_name("key name", why))?;
    if name.len() > MAX_NOTE_BYTES {
        return Err(invalid_name("key name", "is longer than a note may be"));
    }
    let id = key_id(name, key);
    let hex = crate::text::hex(&id);
    Ok(format!("{name}+{hex}+{}", STANDARD.encode(encoded_key(key))))
}

/// What a note says, its signatures unchecked: for a writer reading back its
/// own checkpoint file without a key to verify it, and for callers that
/// verify the signatures separately.
pub(crate) fn parse_unverified(note: &str) -> Result<Checkpoint> {
    let (text, _) = split_note(note)?;
    parse_body(text)
}

/// Verifies a signed checkpoint with one trusted verifier key and returns
/// what it says.
///
/// Signature lines by other keys (another name or key id) are ignored; every
/// line by the trusted key must verify (`BAD_SIGNATURE` otherwise) and at
/// least one must be present. Syntax errors are `MALFORMED`. Extension lines
/// after the root are accepted and ignored. The origin is returned, not
/// checked: the caller compares it with the log it expects.
pub fn verify_checkpoint(note: &str, verifier_key: &str) -> Result<Checkpoint> {
    let verifier = Verifier::parse(verifier_key)?;
    let (text, signatures) = split_note(note)?;
    verifier.verify(text, signatures)?;
    parse_body(text)
}

/// The key name of a verifier key, after checking its syntax, id and key
/// (`MALFORMED` otherwise).
pub(in crate::audit) fn verifier_key_name(text: &str) -> Result<String> {
    Verifier::parse(text).map(|v| v.name)
}

/// A trusted key, parsed from its verifier key text.
struct Verifier {
    name: String,
    id: [u8; 4],
    key: PublicKey,
}

impl Verifier {
    fn parse(text: &str) -> Result<Verifier> {
        let (name, id, key) = split_key(text, "verifier key")?;
        let key = parse_verifier_public_key(key)?;
        if key_id(name, &key) != id {
            return Err(malformed("verifier key id does not match its name and key"));
        }
        Ok(Verifier { name: name.to_owned(), id, key })
    }

    /// Checks every signature line by this key over `text`, and that there
    /// is at least one.
    fn verify(&self, text: &str, signatures: &str) -> Result<()> {
        let mut verified = false;
        for (number, line) in signatures.split_terminator('\n').enumerate() {
            let number = number + 1;
            if number > MAX_SIGNATURES {
                return Err(malformed(format!("a note has at most {MAX_SIGNATURES} signature lines")));
            }
            let (name, id, signature) = parse_signature_line(line, number)?;
            if name != self.name || id != self.id {
                continue;
            }
            if !self.key.verifies(text.as_bytes(), &signature) {
                return Err(Error::new(
                    ErrorKind::BadSignature,
                    format!("signature line {number} by {} does not verify", quote(name)),
                ));
            }
            verified = true;
        }
        if !verified {
            return Err(Error::new(
                ErrorKind::BadSignature,
                format!("the note has no signature by {}", self.name),
            ));
        }
        Ok(())
    }
}

/// The key id: the first 4 bytes of
/// `SHA-256(name || "\n" || 0x01 || public key)`.
fn key_id(name: &str, key: &PublicKey) -> [u8; 4] {
    typed_key_id(name, ED25519_TYPE, key)
}

/// The key id of a key of signature type `kind`: the first 4 bytes of
/// `SHA-256(name || "\n" || kind || public key)`.
pub(in crate::audit) fn typed_key_id(name: &str, kind: u8, key: &PublicKey) -> [u8; 4] {
    let hash = sha256(&[name.as_bytes(), b"\n", &[kind], key.as_bytes()]);
    [hash[0], hash[1], hash[2], hash[3]]
}

/// The key as signed-note encodes it: the type byte, then the 32 bytes.
fn encoded_key(key: &PublicKey) -> [u8; 33] {
    let mut encoded = [0u8; 33];
    encoded[0] = ED25519_TYPE;
    encoded[1..].copy_from_slice(key.as_bytes());
    encoded
}

/// Why `name` is not a valid key name, if it is not: key names are
/// non-empty, with no Unicode space and no '+', and a note has no control
/// character.
pub(in crate::audit) fn check_key_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() {
        Err("is empty")
    } else if name.chars().any(char::is_whitespace) {
        Err("contains a space or newline")
    } else if name.contains('+') {
        Err("contains '+'")
    } else if name.chars().any(char::is_control) {
        Err("contains a control character")
    } else {
        Ok(())
    }
}

/// Checks a log's origin as a note key name (the rule [`verifier_key`]
/// applies), for logs that sign nothing yet still carry an origin.
pub(in crate::audit) fn check_origin(origin: &str) -> Result<()> {
    check_key_name(origin).map_err(|why| invalid_name("origin", why))?;
    if origin.len() > MAX_NOTE_BYTES {
        return Err(invalid_name("origin", "is longer than a note may be"));
    }
    Ok(())
}

fn invalid_name(what: &str, why: &str) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("{what} {why}; it must be a valid note key name"))
}

/// The name, key id and encoded key of a note key's text form,
/// `<name>+<key id>+<key>`, of at most a note's size; `what` names the kind
/// of key in the errors.
pub(in crate::audit) fn split_key<'a>(text: &'a str, what: &str) -> Result<(&'a str, [u8; 4], &'a str)> {
    if text.len() > MAX_NOTE_BYTES {
        return Err(malformed(format!("a {what} is at most {MAX_NOTE_BYTES} bytes")));
    }
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(hex), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed(format!("a {what} is <name>+<key id>+<key>, with two '+'")));
    };
    check_key_name(name).map_err(|why| malformed(format!("{what} name {why}")))?;
    Ok((name, parse_key_id(hex)?, key))
}

fn parse_key_id(hex: &str) -> Result<[u8; 4]> {
    let bad = || malformed(format!("verifier key id {} is not 8 hex digits", crate::quote(hex)));
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    u32::from_str_radix(hex, 16).map(u32::to_be_bytes).map_err(|_| bad())
}

fn parse_verifier_public_key(text: &str) -> Result<PublicKey> {
    let bytes = STANDARD.decode(text).map_err(|e| {
        malformed(format!("verifier key is not standard base64: {}", crate::base64_problem::describe(&e)))
    })?;
    match bytes.split_first() {
        Some((&ED25519_TYPE, key)) => PublicKey::from_bytes(key),
        Some((kind, _)) => Err(malformed(format!("verifier key type 0x{kind:02x} is not Ed25519 (0x01)"))),
        None => Err(malformed("verifier key is empty")),
    }
}

/// Splits a note into its text (with its final newline) and its signature
/// lines, after the checks every note must pass: bounded, no control
/// character but newline, and the last blank line followed by signatures.
pub(in crate::audit) fn split_note(note: &str) -> Result<(&str, &str)> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(malformed(format!("a note is at most {MAX_NOTE_BYTES} bytes, got {}", note.len())));
    }
    if let Some((at, c)) = note.char_indices().find(|&(_, c)| c < ' ' && c != '\n') {
        return Err(malformed(format!("note has control character U+{:04X} at byte {at}", c as u32)));
    }
    let Some(blank) = note.rfind("\n\n") else {
        return Err(malformed("note has no blank line between its text and its signatures"));
    };
    let (text, signatures) = (&note[..blank + 1], &note[blank + 2..]);
    if signatures.is_empty() {
        return Err(malformed("note has no signature lines after its blank line"));
    }
    if !signatures.ends_with('\n') {
        return Err(malformed("the note's last signature line does not end in a newline"));
    }
    Ok((text, signatures))
}

/// One signature line: `— <name> <base64(key id || signature)>`.
pub(in crate::audit) fn parse_signature_line(line: &str, number: usize) -> Result<(&str, [u8; 4], Vec<u8>)> {
    let bad = |what: &str| malformed(format!("signature line {number} {what}"));
    let rest = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or_else(|| bad("does not start with an em dash and a space"))?;
    let (name, encoded) = rest.split_once(' ').ok_or_else(|| bad("has no space after the key name"))?;
    check_key_name(name).map_err(|why| bad(&format!("has a key name that {why}")))?;
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|e| bad(&format!("is not standard base64: {}", crate::base64_problem::describe(&e))))?;
    if bytes.len() < 5 {
        return Err(bad("is shorter than a key id and a signature"));
    }
    let (id, signature) = bytes.split_at(4);
    Ok((name, [id[0], id[1], id[2], id[3]], signature.to_vec()))
}

/// The checkpoint in a verified note text: origin, size and root lines,
/// then any extension lines, all non-empty.
pub(in crate::audit) fn parse_body(text: &str) -> Result<Checkpoint> {
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    if let Some(index) = lines.iter().position(|line| line.is_empty()) {
        return Err(malformed(format!("checkpoint line {} is empty", index + 1)));
    }
    let [origin, size, root, ..] = lines[..] else {
        return Err(malformed(format!(
            "checkpoint has {} lines; it needs origin, tree size and root hash",
            lines.len()
        )));
    };
    Ok(Checkpoint { origin: origin.to_owned(), size: parse_size(size)?, root: parse_root(root)? })
}

/// Decimal ASCII without sign or leading zero, as C2SP requires, so each
/// size has exactly one spelling.
fn parse_size(text: &str) -> Result<u64> {
    let bad = || malformed(format!("checkpoint line 2 (tree size) {} is not a decimal size", quote(text)));
    if !text.bytes().all(|b| b.is_ascii_digit()) || (text.len() > 1 && text.starts_with('0')) {
        return Err(bad());
    }
    text.parse().map_err(|_| bad())
}

fn parse_root(text: &str) -> Result<Hash> {
    let bytes = STANDARD.decode(text).map_err(|e| {
        malformed(format!(
            "checkpoint line 3 (root hash) is not standard base64: {}",
            crate::base64_problem::describe(&e)
        ))
    })?;
    bytes.try_into().map_err(|bytes: Vec<u8>| {
        malformed(format!("checkpoint line 3 (root hash) is {} bytes, not 32", bytes.len()))
    })
}

pub(in crate::audit) fn malformed(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Malformed, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A note over any `text`, signed as `sign` would sign a checkpoint: the
    /// way to reach the body parser with syntax `Checkpoint` never emits.
    fn signed_note(text: &str, name: &str, key: &KeyPair) -> String {
        let mut signature = key_id(name, &key.public_key()).to_vec();
        signature.extend_from_slice(&key.sign(text.as_bytes()));
        format!("{text}\n{SIGNATURE_PREFIX}{name} {}\n", STANDARD.encode(signature))
    }

    fn open(text: &str) -> Result<Checkpoint> {
        let key = KeyPair::generate().unwrap();
        let verifier = verifier_key("log.example", &key.public_key()).unwrap();
        verify_checkpoint(&signed_note(text, "log.example", &key), &verifier)
    }

    fn malformed_because(text: &str, why: &str) {
        let e = open(text).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed, "{text:?}: {e}");
        assert!(e.message().contains(why), "{text:?}: {e}");
    }

    const ROOT: &str = "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b";

    fn root_base64() -> String {
        let bytes: Vec<u8> =
            (0..32).map(|i| u8::from_str_radix(&ROOT[2 * i..2 * i + 2], 16).unwrap()).collect();
        STANDARD.encode(bytes)
    }

    #[test]
    fn a_well_formed_body_parses() {
        let checkpoint = open(&format!("log.example\n42\n{}\n", root_base64())).unwrap();
        assert_eq!(checkpoint.origin, "log.example");
        assert_eq!(checkpoint.size, 42);
        assert_eq!(STANDARD.encode(checkpoint.root), root_base64());
    }

    #[test]
    fn extension_lines_are_accepted_and_ignored() {
        let text = format!("log.example\n7\n{}\nextension one\n— and two\n", root_base64());
        let checkpoint = open(&text).unwrap();
        assert_eq!((checkpoint.size, checkpoint.body().lines().count()), (7, 3));
    }

    #[test]
    fn origins_need_not_be_key_names() {
        let checkpoint = open(&format!("go.sum database tree\n0\n{}\n", root_base64())).unwrap();
        assert_eq!(checkpoint.origin, "go.sum database tree");
    }

    #[test]
    fn sizes_have_one_spelling() {
        for size in ["0", "1", "18446744073709551615"] {
            assert_eq!(open(&format!("o\n{size}\n{}\n", root_base64())).unwrap().size.to_string(), size);
        }
        for size in ["00", "01", "+1", "-1", "1.0", " 1", "1 ", "0x10", "18446744073709551616", "１"] {
            malformed_because(&format!("o\n{size}\n{}\n", root_base64()), "line 2 (tree size)");
        }
    }

    #[test]
    fn roots_are_32_bytes_of_canonical_standard_base64() {
        let good = root_base64();
        let cases = [
            good.trim_end_matches('='),
            &good[..40],
            "not base64!",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            // 32 zero bytes with the two unused bits set: non-canonical.
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=",
        ];
        for root in cases {
            malformed_because(&format!("o\n1\n{root}\n"), "line 3 (root hash)");
        }
        let url_safe = good.replace('+', "-").replace('/', "_");
        if url_safe != good {
            malformed_because(&format!("o\n1\n{url_safe}\n"), "line 3 (root hash)");
        }
    }

    #[test]
    fn every_line_is_present_and_non_empty() {
        let root = root_base64();
        malformed_because("o\n1\n", "has 2 lines");
        malformed_because("o\n", "has 1 lines");
        malformed_because(&format!("\n1\n{root}\n"), "line 1 is empty");
        malformed_because(&format!("o\n\n{root}\n"), "line 2 is empty");
        malformed_because(&format!("o\n1\n{root}\n\nextension\n"), "line 4 is empty");
    }

    #[test]
    fn names_follow_the_note_rules() {
        for good in ["a", "example.com/log42", "ünïcode", "sum.golang.org"] {
            assert_eq!(check_key_name(good), Ok(()), "{good}");
        }
        for bad in ["", "a b", "a\tb", "a\nb", "a+b", "a\u{a0}b", "a\u{2028}b", "a\u{7f}b", "a\u{3000}b"] {
            assert!(check_key_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn key_ids_are_parsed_in_either_case_and_only_as_8_digits() {
        assert_eq!(parse_key_id("c74f20a3").unwrap(), [0xc7, 0x4f, 0x20, 0xa3]);
        assert_eq!(parse_key_id("C74F20A3").unwrap(), [0xc7, 0x4f, 0x20, 0xa3]);
        for bad in ["c74f20a", "c74f20a30", "+74f20a3", "c74f20ag", "", "-1234567"] {
            assert_eq!(parse_key_id(bad).unwrap_err().kind(), ErrorKind::Malformed, "{bad:?}");
        }
    }
}
