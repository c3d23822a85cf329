//! The bridge's message-authentication format: its header names and the
//! canonical bytes a proof signs (docs/formats.md, "NATS bridge message
//! authentication"). Pure functions, no networking, so the vectors and an
//! independent implementation can reproduce every byte.

use ring::digest::{digest, SHA256};

use charter_core::{quote, Error, ErrorKind, Result};

/// The origin id of the bridge that first carried a message onto NATS:
/// 32 lowercase hex digits. Every bridge sets it; a bridge drops what
/// carries its own (loops), and never exports what carries any.
pub const ORIGIN: &str = "Charter-Origin";
/// The per-origin sequence number, decimal, from 1.
pub const SEQ: &str = "Charter-Seq";
/// When the message was sealed, decimal milliseconds since the Unix epoch.
pub const TIME: &str = "Charter-Time";
/// The sender's capability token, in its text form.
pub const TOKEN: &str = "Charter-Token";
/// The Ed25519 signature over [`signed_bytes`], base64url without padding.
pub const PROOF: &str = "Charter-Proof";
/// On a message of a signed batch: its place in the batch, whose
/// signature `Charter-Proof` carries (`crate::batch`).
pub const BATCH: &str = "Charter-Batch";
/// A request's nonce (32 lowercase hex digits), echoed by its reply.
pub const NONCE: &str = "Charter-Nonce";
/// On a reply: the subject of the request it answers.
pub const REQUEST: &str = "Charter-Request";
/// On a message the bridge delivers locally: the origin id of the bridge
/// that imported it, which never exports it again.
pub const VIA: &str = "Charter-Via";
/// On a message the bridge delivers locally: the proven sender's principal.
pub const PRINCIPAL: &str = "Charter-Principal";
/// On a reply the bridge makes itself: why there is no real reply
/// (`NOT_FOUND` when nothing responded, `DENIED` when the reply was refused).
pub const STATUS: &str = "Charter-Status";
/// NATS's message id header: JetStream stores a message once per id within
/// its stream's duplicate window. A bridge sets it on every message it
/// exports (`<origin>-<n>`, `n` counting the bridge's publishes from 1)
/// unless the local publisher set one itself.
pub const MSG_ID: &str = "Nats-Msg-Id";
/// On a message a durable import delivers locally: its stream sequence
/// number, decimal (stable across redeliveries: a consumer that must see
/// each message once dedups by it, with the stream's name).
pub const STREAM_SEQ: &str = "Charter-Stream-Seq";
/// On a message a durable import delivers locally for the second time or
/// more: how many times JetStream has delivered it (an earlier delivery may
/// have reached this bus, or the bus of a bridge that was killed since).
pub const DELIVERED: &str = "Charter-Delivered";
/// On a message a durable import delivers locally: a stream sequence
/// number, decimal, at or below which this durable import delivers nothing
/// any more (the consumer's acknowledgement floor as last read from the
/// server, or the application's own `handled_through`). An application
/// that stores the sequences it handled above it, with its results, has a
/// position to restart from without duplicates (docs/bridge.md).
pub const STREAM_FLOOR: &str = "Charter-Stream-Floor";
/// On a message a verifying durable import delivers locally: its seal id
/// (`charter_bridge::seal_id`), decimal.
pub const SEAL_ID: &str = "Charter-Seal-Id";
/// With [`SEAL_ID`]: when it was sealed (its `Charter-Time`), decimal ms.
pub const SEAL_TIME: &str = "Charter-Seal-Time";
/// With [`SEAL_ID`]: the import's seal floor, decimal ms: nothing sealed
/// before it is delivered any more (docs/bridge.md).
pub const SEAL_FLOOR: &str = "Charter-Seal-Floor";

/// The headers that carry the envelope's own fields, each required once;
/// with [`BATCH`] (at most once), every other header is covered as a
/// header.
pub const ENVELOPE_HEADERS: [&str; 5] = [ORIGIN, SEQ, TIME, TOKEN, PROOF];

/// The domain separation string that starts every signed message.
pub const CONTEXT: &[u8] = b"charter/bridge-message/v1\0";

/// Everything a proof covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The sending bridge's origin id.
    pub origin: [u8; 16],
    /// Its sequence number for this message.
    pub seq: u64,
    /// When it was sealed, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The NATS subject it is published on.
    pub subject: &'a str,
    /// The reply subject of a request, if this is one.
    pub reply: Option<&'a str>,
    /// SHA-256 of the token's binary encoding.
    pub token_hash: [u8; 32],
    /// SHA-256 of the payload.
    pub payload_hash: [u8; 32],
    /// Every header but the envelope's own, in any order.
    pub headers: Vec<(&'a str, &'a str)>,
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

/// The bytes the sender signs: the context, then each field in order,
/// strings with a 16-bit big-endian length, headers sorted by name then
/// value (bytewise).
pub fn signed_bytes(envelope: &Envelope<'_>) -> Result<Vec<u8>> {
    let mut headers = envelope.headers.clone();
    headers.sort_unstable();
    let mut out = Vec::with_capacity(
        CONTEXT.len() + 16 + 16 + 4 + envelope.subject.len() + 64 + 2 + headers.len() * 16,
    );
    out.extend_from_slice(CONTEXT);
    out.extend_from_slice(&envelope.origin);
    out.extend_from_slice(&envelope.seq.to_be_bytes());
    out.extend_from_slice(&envelope.time_ms.to_be_bytes());
    put_str(&mut out, envelope.subject)?;
    put_str(&mut out, envelope.reply.unwrap_or(""))?;
    out.extend_from_slice(&envelope.token_hash);
    out.extend_from_slice(&envelope.payload_hash);
    let count = u16::try_from(headers.len())
        .map_err(|_| Error::new(ErrorKind::LimitExceeded, "more than 65535 headers"))?;
    out.extend_from_slice(&count.to_be_bytes());
    for (name, value) in headers {
        put_str(&mut out, name)?;
        put_str(&mut out, value)?;
    }
    Ok(out)
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Result<()> {
    let len = u16::try_from(s.len()).map_err(|_| {
        Error::new(ErrorKind::LimitExceeded, format!("{} is longer than 65535 bytes", quote(s)))
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Whether `name` is one of the envelope's own headers.
pub fn is_envelope_header(name: &str) -> bool {
    ENVELOPE_HEADERS.contains(&name) || name == BATCH
}

/// 16 bytes as 32 lowercase hex digits.
pub fn hex16(bytes: &[u8; 16]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `Nats-Msg-Id` of a bridge's `n`th exported message:
/// `<origin>-<n>`, written without the formatting machinery (it is built
/// for every message).
pub fn msg_id(origin: &str, n: u64) -> String {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = n;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut id = String::with_capacity(origin.len() + 1 + digits.len() - start);
    id.push_str(origin);
    id.push('-');
    id.extend(digits[start..].iter().map(|&d| char::from(d)));
    id
}

/// The origin id a message claims: its `Charter-Origin`, or, without one,
/// the origin in a bridge's own `Nats-Msg-Id` (`<origin>-<n>`), which an
/// unsealed export sends instead of a second header. Unsealed, it is a
/// claim, not a proof: it only keeps a bridge from importing its own
/// messages.
pub fn origin_of<'a>(headers: &[(&'a str, &'a str)]) -> Option<&'a str> {
    let mut id = None;
    for &(name, value) in headers {
        if name == ORIGIN {
            return Some(value);
        }
        if name == MSG_ID {
            id.get_or_insert(value);
        }
    }
    // Read on bytes (every import reads it): 32 lowercase hex digits, a
    // `-` (so the first one), and the count as `parse_decimal` spells it,
    // from 1.
    let id = id?;
    let bytes = id.as_bytes();
    if bytes.len() < 34 || bytes[32] != b'-' {
        return None;
    }
    let (origin, n) = (&bytes[..32], &bytes[33..]);
    let hex = origin.iter().fold(true, |ok, &b| ok & (b.is_ascii_digit() | (b'a'..=b'f').contains(&b)));
    let digits = n.iter().fold(true, |ok, &b| ok & b.is_ascii_digit());
    let count = n[0] != b'0' && (n.len() < 20 || (n.len() == 20 && id[33..].parse::<u64>().is_ok()));
    (hex && digits && count).then(|| &id[..32])
}

/// 32 lowercase hex digits as 16 bytes; anything else is `MALFORMED`.
pub fn parse_hex16(text: &str) -> Result<[u8; 16]> {
    let bad = || Error::new(ErrorKind::Malformed, format!("{} is not 32 lowercase hex digits", quote(text)));
    let bytes = text.as_bytes();
    if bytes.len() != 32 {
        return Err(bad());
    }
    let mut out = [0u8; 16];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        out[i] = digit(pair[0]).zip(digit(pair[1])).map(|(h, l)| h << 4 | l).ok_or_else(bad)?;
    }
    Ok(out)
}

/// A decimal `u64` with no sign, no leading zero (but `0`) and no spaces;
/// anything else is `MALFORMED`, so each number has one spelling.
pub fn parse_decimal(name: &str, text: &str) -> Result<u64> {
    let canonical = !text.is_empty()
        && text.len() <= 20
        && text.bytes().all(|c| c.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    let value = canonical.then(|| text.parse::<u64>().ok()).flatten();
    value.ok_or_else(|| {
        Error::new(ErrorKind::Malformed, format!("{name} {} is not a canonical decimal number", quote(text)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_order_does_not_change_the_signed_bytes() {
        let mut envelope = Envelope {
            origin: [7; 16],
            seq: 1,
            time_ms: 2,
            subject: "a.b",
            reply: None,
            token_hash: [1; 32],
            payload_hash: [2; 32],
            headers: vec![("b", "2"), ("a", "1"), ("a", "0")],
        };
        let one = signed_bytes(&envelope).unwrap();
        envelope.headers.reverse();
        assert_eq!(one, signed_bytes(&envelope).unwrap());
        envelope.headers[0].1 = "3";
        assert_ne!(one, signed_bytes(&envelope).unwrap());
    }

    #[test]
    fn message_ids_spell_the_count_in_decimal() {
        for n in [0, 1, 9, 10, 4_096, u64::MAX] {
            assert_eq!(msg_id("ab", n), format!("ab-{n}"));
        }
    }

    #[test]
    fn the_origin_is_the_header_or_else_the_bridges_own_message_id() {
        let origin = hex16(&[0xab; 16]);
        let id = msg_id(&origin, 7);
        assert_eq!(origin_of(&[(MSG_ID, &id)]), Some(origin.as_str()));
        assert_eq!(origin_of(&[(MSG_ID, &id), (ORIGIN, "other")]), Some("other"), "the header wins");
        assert_eq!(origin_of(&[]), None);
        let largest = msg_id(&origin, u64::MAX);
        assert_eq!(origin_of(&[(MSG_ID, &largest)]), Some(origin.as_str()));
        let upper = msg_id(&origin.to_uppercase(), 7);
        let short = msg_id(&origin[1..], 7);
        let too_big = format!("{origin}-18446744073709551616");
        let not_digits = format!("{origin}-1x");
        let two_dashes = format!("{origin}--1");
        for not_ours in [
            "order-17",
            &upper,
            &short,
            &format!("{origin}-0"),
            &format!("{origin}-07"),
            &format!("{origin}-"),
            &origin,
            &too_big,
            &not_digits,
            &two_dashes,
        ] {
            assert_eq!(origin_of(&[(MSG_ID, not_ours)]), None, "{not_ours}");
        }
    }

    #[test]
    fn numbers_and_ids_have_one_spelling() {
        assert_eq!(parse_decimal("seq", "0").unwrap(), 0);
        assert_eq!(parse_decimal("seq", "18446744073709551615").unwrap(), u64::MAX);
        for bad in ["", "01", "+1", " 1", "18446744073709551616", "1e3"] {
            assert_eq!(parse_decimal("seq", bad).unwrap_err().kind(), ErrorKind::Malformed, "{bad:?}");
        }
        let id = [0xab; 16];
        assert_eq!(parse_hex16(&hex16(&id)).unwrap(), id);
        assert!(parse_hex16(&hex16(&id).to_uppercase()).is_err());
        assert!(parse_hex16("ab").is_err());
    }
}
