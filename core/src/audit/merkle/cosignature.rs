//! Witness cosignatures: C2SP `tlog-cosignature`, type `cosignature/v1`
//! (Ed25519, timestamped), so the transparency-dev `formats` module and
//! every C2SP witness and client read what Charter writes.
//!
//! A cosignature is a note signature line by a witness key over
//!
//! ```text
//! cosignature/v1
//! time <POSIX seconds>
//! <the checkpoint's note text>
//! ```
//!
//! carrying `key id || 8-byte big-endian timestamp || Ed25519 signature`.
//! The key id is `SHA-256(name || "\n" || 0x04 || public key)[:4]`, so a
//! cosigner key can never be mistaken for a log key (type 0x01) of the same
//! name. A verifier requires `k` of the `n` witnesses it trusts.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::audit::checkpoint::{
    check_key_name, malformed, parse_body, parse_signature_line, split_key, split_note, typed_key_id,
    verify_checkpoint, Checkpoint, MAX_NOTE_BYTES, MAX_SIGNATURES, SIGNATURE_PREFIX,
};
use crate::capability::{KeyPair, PublicKey};
use crate::{quote, Error, ErrorKind, Result};

/// The signed-note signature type of `cosignature/v1` keys.
const COSIGNATURE_V1_TYPE: u8 = 0x04;

/// The most witnesses a verifier may be configured with.
pub const MAX_WITNESSES: usize = 64;

/// Timestamps are POSIX seconds and, per the spec, at most 2^63 - 1.
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// A checkpoint with the witnesses that verifiably cosigned it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// What the log's own signature vouches for.
    pub checkpoint: Checkpoint,
    /// The names of the trusted witnesses whose cosignatures verified, in
    /// the order their lines appear (each at most once).
    pub witnesses: Vec<String>,
    /// When each of them cosigned (POSIX seconds), in the same order.
    pub timestamps: Vec<u64>,
}

/// The note verifier key of a witness: `<name>+<key id>+<base64(0x04 ||
/// public key)>`, what `NewVerifierForCosignatureV1` in transparency-dev's
/// `formats/note` reads. `INVALID_ARGUMENT` for an invalid name.
pub fn cosigner_key(name: &str, key: &PublicKey) -> Result<String> {
    check_name(name)?;
    let id = typed_key_id(name, COSIGNATURE_V1_TYPE, key);
    let hex = crate::text::hex(&id);
    let mut encoded = vec![COSIGNATURE_V1_TYPE];
    encoded.extend_from_slice(key.as_bytes());
    Ok(format!("{name}+{hex}+{}", STANDARD.encode(encoded)))
}

/// The cosignature line (ending in a newline) of witness `name` with `key`
/// over the checkpoint in `note`, at `timestamp` (POSIX seconds). `note`
/// is a signed checkpoint; only its text is signed, never its signature
/// lines. Append the line to the note to publish it. The caller is the
/// witness: it has verified the log's signature and the consistency proof
/// (as [`Witness`](crate::audit::Witness) does) before calling this.
pub fn cosign(note: &str, name: &str, key: &KeyPair, timestamp: u64) -> Result<String> {
    check_name(name)?;
    if timestamp > MAX_TIMESTAMP {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("a cosignature timestamp is at most 2^63 - 1, got {timestamp}"),
        ));
    }
    let (text, _) = split_note(note)?;
    parse_body(text)?;
    let mut signature = typed_key_id(name, COSIGNATURE_V1_TYPE, &key.public_key()).to_vec();
    signature.extend_from_slice(&timestamp.to_be_bytes());
    signature.extend_from_slice(&key.sign(&message(text, timestamp)));
    Ok(format!("{SIGNATURE_PREFIX}{name} {}\n", STANDARD.encode(signature)))
}

/// Verifies that `note` is a checkpoint signed by the log key `log_key`
/// and cosigned by at least `quorum` distinct witnesses among `witnesses`
/// (their cosigner verifier keys).
///
/// Lines by other keys are ignored; a line by a trusted witness that does
/// not verify fails the whole note with `BAD_SIGNATURE`, as a line by the
/// log key does. Too few witnesses is `BAD_SIGNATURE` naming how many
/// verified. A quorum larger than the witness list, or over
/// [`MAX_WITNESSES`] witnesses, is `INVALID_ARGUMENT`; a malformed key or
/// note `MALFORMED`.
pub fn verify_cosigned(note: &str, log_key: &str, witnesses: &[String], quorum: usize) -> Result<Cosigned> {
    if witnesses.len() > MAX_WITNESSES {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("at most {MAX_WITNESSES} witnesses, got {}", witnesses.len()),
        ));
    }
    if quorum > witnesses.len() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("a quorum of {quorum} witnesses out of {} can never be met", witnesses.len()),
        ));
    }
    let mut keys = Vec::with_capacity(witnesses.len());
    for text in witnesses {
        let key = Cosigner::parse(text)?;
        if !keys.iter().any(|k: &Cosigner| k.name == key.name && k.id == key.id) {
            keys.push(key);
        }
    }
    let checkpoint = verify_checkpoint(note, log_key)?;
    let (text, signatures) = split_note(note)?;
    let mut cosigned = Cosigned { checkpoint, witnesses: Vec::new(), timestamps: Vec::new() };
    for (number, line) in signatures.split_terminator('\n').enumerate() {
        let number = number + 1;
        if number > MAX_SIGNATURES {
            return Err(malformed(format!("a note has at most {MAX_SIGNATURES} signature lines")));
        }
        let (name, id, signature) = parse_signature_line(line, number)?;
        let Some(key) = keys.iter().find(|k| k.name == name && k.id == id) else { continue };
        let timestamp = key.verify(text, &signature).ok_or_else(|| {
            Error::new(
                ErrorKind::BadSignature,
                format!("cosignature line {number} by {} does not verify", quote(name)),
            )
        })?;
        if !cosigned.witnesses.iter().any(|w| w == name) {
            cosigned.witnesses.push(name.to_owned());
            cosigned.timestamps.push(timestamp);
        }
    }
    if cosigned.witnesses.len() < quorum {
        return Err(Error::new(
            ErrorKind::BadSignature,
            format!(
                "{} of the {} trusted witnesses cosigned the checkpoint; {quorum} are required",
                cosigned.witnesses.len(),
                keys.len()
            ),
        ));
    }
    Ok(cosigned)
}

/// What a cosigner signs: the header line, the time line, the note text.
fn message(text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{text}").into_bytes()
}

fn check_name(name: &str) -> Result<()> {
    check_key_name(name).map_err(|why| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("witness name {why}; it must be a valid note key name"),
        )
    })?;
    if name.len() > MAX_NOTE_BYTES {
        return Err(Error::new(ErrorKind::InvalidArgument, "witness name is longer than a note may be"));
    }
    Ok(())
}

/// A trusted witness key, parsed from its verifier key.
pub(in crate::audit) struct Cosigner {
    pub(in crate::audit) name: String,
    id: [u8; 4],
    key: PublicKey,
}

impl Cosigner {
    pub(in crate::audit) fn parse(text: &str) -> Result<Cosigner> {
        let (name, id, key) = split_key(text, "witness key")?;
        let bytes = STANDARD.decode(key).map_err(|e| {
            malformed(format!("witness key is not standard base64: {}", crate::base64_problem::describe(&e)))
        })?;
        let key = match bytes.split_first() {
            Some((&COSIGNATURE_V1_TYPE, key)) => PublicKey::from_bytes(key)?,
            Some((kind, _)) => {
                return Err(malformed(format!("witness key type 0x{kind:02x} is not cosignature/v1 (0x04)")))
            }
            None => return Err(malformed("witness key is empty")),
        };
        if typed_key_id(name, COSIGNATURE_V1_TYPE, &key) != id {
            return Err(malformed("witness key id does not match its name and key"));
        }
        Ok(Cosigner { name: name.to_owned(), id, key })
    }

    /// The timestamp of `signature` (the line's bytes after the key id) if
    /// it is a valid cosignature of `text`.
    fn verify(&self, text: &str, signature: &[u8]) -> Option<u64> {
        let (time, signature) = signature.split_first_chunk::<8>()?;
        let timestamp = u64::from_be_bytes(*time);
        if signature.len() != 64 || timestamp > MAX_TIMESTAMP {
            return None;
        }
        self.key.verifies(&message(text, timestamp), signature).then_some(timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::checkpoint::verifier_key;

    fn checkpoint_note(log: &KeyPair) -> String {
        Checkpoint { origin: "log.example".into(), size: 3, root: [7; 32] }.sign(log).unwrap()
    }

    #[test]
    fn k_of_n() {
        let log = KeyPair::generate().unwrap();
        let vkey = verifier_key("log.example", &log.public_key()).unwrap();
        let note = checkpoint_note(&log);
        let witnesses: Vec<KeyPair> = (0..3).map(|_| KeyPair::generate().unwrap()).collect();
        let keys: Vec<String> = witnesses
            .iter()
            .enumerate()
            .map(|(i, w)| cosigner_key(&format!("w{i}.example"), &w.public_key()).unwrap())
            .collect();
        let mut cosigned = note.clone();
        for (i, w) in witnesses.iter().enumerate().take(2) {
            cosigned += &cosign(&note, &format!("w{i}.example"), w, 1_700_000_000 + i as u64).unwrap();
        }
        let found = verify_cosigned(&cosigned, &vkey, &keys, 2).unwrap();
        assert_eq!(found.witnesses, ["w0.example", "w1.example"]);
        assert_eq!(found.timestamps, [1_700_000_000, 1_700_000_001]);
        assert_eq!(verify_cosigned(&cosigned, &vkey, &keys, 3).unwrap_err().kind(), ErrorKind::BadSignature);
        assert_eq!(
            verify_cosigned(&cosigned, &vkey, &keys, 4).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        // The same witness twice counts once.
        let twice = format!("{note}{}", cosign(&note, "w0.example", &witnesses[0], 5).unwrap().repeat(2));
        assert_eq!(verify_cosigned(&twice, &vkey, &keys, 2).unwrap_err().kind(), ErrorKind::BadSignature);
    }

    #[test]
    fn a_cosignature_is_not_a_log_signature_and_the_time_is_signed() {
        let log = KeyPair::generate().unwrap();
        let witness = KeyPair::generate().unwrap();
        let note = checkpoint_note(&log);
        let line = cosign(&note, "w.example", &witness, 1).unwrap();
        let mut bytes = STANDARD.decode(line.trim_end().rsplit(' ').next().unwrap()).unwrap();
        bytes[11] ^= 1; // the timestamp's last byte
        let forged = format!("{SIGNATURE_PREFIX}w.example {}\n", STANDARD.encode(&bytes));
        let key = cosigner_key("w.example", &witness.public_key()).unwrap();
        let vkey = verifier_key("log.example", &log.public_key()).unwrap();
        assert_eq!(
            verify_cosigned(&format!("{note}{forged}"), &vkey, std::slice::from_ref(&key), 1)
                .unwrap_err()
                .kind(),
            ErrorKind::BadSignature
        );
        // The witness's key under the log key type is another key id.
        let as_log_key = verifier_key("w.example", &witness.public_key()).unwrap();
        assert_ne!(as_log_key.split('+').nth(1), key.split('+').nth(1));
        assert_eq!(Cosigner::parse(&as_log_key).err().map(|e| e.kind()), Some(ErrorKind::Malformed));
    }
}
