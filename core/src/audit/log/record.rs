//! Audit records and their canonical encoding, which is the Merkle leaf.
//!
//! The encoding is versioned and byte-exact (docs/formats.md, "Audit records
//! and file"): one record has exactly one encoding, so a leaf hash names a
//! record, and the decoder accepts nothing else.
//!
//! An actor is either proven (flag 1: the principal signed, as a session's
//! holder did to open it) or only claimed (flag 2: named by the request,
//! such as the subject of a token whose holder never proved possession of
//! its key). Anyone who knows a public key can make Charter record a
//! refusal naming it, so a reader must never take a claimed actor for the
//! one who acted. Flag 2 was added within version 1: records without it
//! encode exactly as before, and a reader that predates it refuses such a
//! record as `MALFORMED` rather than misattribute it.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::capability::{PrincipalId, PRINCIPAL_PREFIX};
use crate::{Error, ErrorKind, Result};

/// The version byte every encoded record starts with.
pub const RECORD_VERSION: u8 = 1;
/// The longest action, in bytes.
pub const MAX_ACTION_BYTES: usize = 64;
/// The longest resource, in bytes.
pub const MAX_RESOURCE_BYTES: usize = 1024;
/// The longest detail, in bytes.
pub const MAX_DETAIL_BYTES: usize = 1024;
/// The shortest encoded record: no actor, a one-byte action, nothing else.
pub const MIN_RECORD_BYTES: usize = FIXED_BYTES + 1;
/// The longest encoded record: every field at its limit.
pub const MAX_RECORD_BYTES: usize =
    FIXED_BYTES + 32 + MAX_ACTION_BYTES + MAX_RESOURCE_BYTES + MAX_DETAIL_BYTES;

/// version, index, time, decision, reason, actor flag, three lengths.
const FIXED_BYTES: usize = ACTOR_FLAG_AT + 1 + 3 * 2;
/// Where the actor flag is: after the version, index, time, decision and
/// reason.
const ACTOR_FLAG_AT: usize = 1 + 8 + 8 + 1 + 4;

/// The actor flag: no actor.
const ACTOR_NONE: u8 = 0;
/// The actor flag: an actor proven by a signature, or vouched for by the
/// application that appended the record.
const ACTOR_PROVEN: u8 = 1;
/// The actor flag: an actor only claimed, never proven.
const ACTOR_CLAIMED: u8 = 2;

/// What an authorization (or any audited operation) came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// The operation was allowed.
    Allow,
    /// The operation was refused.
    Deny,
    /// The operation could not be decided or failed.
    Error,
}

impl Decision {
    /// The decision's byte in the encoding.
    pub fn code(self) -> u8 {
        match self {
            Decision::Allow => 0,
            Decision::Deny => 1,
            Decision::Error => 2,
        }
    }

    /// The decision with this byte, if any.
    pub fn from_code(code: u8) -> Option<Decision> {
        [Decision::Allow, Decision::Deny, Decision::Error].into_iter().find(|d| d.code() == code)
    }

    /// `allow`, `deny` or `error`.
    pub fn name(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Error => "error",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One audited event. The log assigns its index when it is appended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// When it happened, in milliseconds since the Unix epoch.
    pub time: u64,
    /// Who asked, when known (a caller without a session has no principal).
    pub actor: Option<PrincipalId>,
    /// Whether `actor` is only claimed, not proven: named by the request
    /// but not shown to hold the key, as for a session refused before (or
    /// because) its holder's proof of possession failed. Never set without
    /// an actor. `false` for records an application appends: it vouches
    /// for their actors itself.
    pub actor_unproven: bool,
    /// What was asked, such as `publish`: 1 to [`MAX_ACTION_BYTES`] bytes.
    pub action: String,
    /// What it was asked on, such as a topic: at most [`MAX_RESOURCE_BYTES`].
    pub resource: String,
    /// What it came to.
    pub decision: Decision,
    /// A status code (`0` for success, else an [`ErrorKind`] code), so a
    /// reader can tell a missing grant from an expired session.
    pub reason: i32,
    /// Free text for people, such as the error message: at most
    /// [`MAX_DETAIL_BYTES`].
    pub detail: String,
}

impl Record {
    /// A record of `decision` on `action` and `resource` at `time`, with no
    /// actor, reason `0` and no detail.
    pub fn new(time: u64, action: &str, resource: &str, decision: Decision) -> Record {
        Record {
            time,
            actor: None,
            actor_unproven: false,
            action: action.into(),
            resource: resource.into(),
            decision,
            reason: 0,
            detail: String::new(),
        }
    }

    /// Checks every limit, naming the field that exceeds its own, and that
    /// only an actor can be unproven.
    pub fn validate(&self) -> Result<()> {
        if self.action.is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument, "a record's action must not be empty"));
        }
        if self.actor_unproven && self.actor.is_none() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a record without an actor cannot mark its actor unproven",
            ));
        }
        for (field, value, max) in [
            ("action", &self.action, MAX_ACTION_BYTES),
            ("resource", &self.resource, MAX_RESOURCE_BYTES),
            ("detail", &self.detail, MAX_DETAIL_BYTES),
        ] {
            if value.len() > max {
                return Err(Error::new(
                    ErrorKind::LimitExceeded,
                    format!("a record's {field} is {} bytes; the limit is {max}", value.len()),
                ));
            }
        }
        Ok(())
    }

    /// The canonical encoding of this record stored at `index`: the Merkle
    /// leaf. Fails on a record [`validate`](Self::validate) refuses.
    pub fn encode(&self, index: u64) -> Result<Vec<u8>> {
        self.validate()?;
        let mut out = vec![0; self.encoded_size()];
        self.encode_onto(index, &mut out);
        Ok(out)
    }

    /// The length of this record's encoding. The record must have passed
    /// [`validate`](Self::validate).
    pub(crate) fn encoded_size(&self) -> usize {
        let actor_len = if self.actor.is_some() { 32 } else { 0 };
        FIXED_BYTES + actor_len + self.action.len() + self.resource.len() + self.detail.len()
    }

    /// Writes the encoding of this record at `index` over `out`, which is
    /// [`encoded_size`](Self::encoded_size) bytes long: the in-memory log
    /// writes it in place, into memory it has mapped, on every append. The
    /// record must have passed [`validate`](Self::validate): the lengths
    /// are written as `u16`, which the limits keep far from overflowing.
    /// The 23 fixed bytes before the actor are written as one array.
    pub(crate) fn encode_onto(&self, index: u64, out: &mut [u8]) {
        let mut head = [0u8; ACTOR_FLAG_AT + 1];
        head[0] = RECORD_VERSION;
        head[1..9].copy_from_slice(&index.to_be_bytes());
        head[9..17].copy_from_slice(&self.time.to_be_bytes());
        head[17] = self.decision.code();
        head[18..22].copy_from_slice(&self.reason.to_be_bytes());
        head[ACTOR_FLAG_AT] = match (&self.actor, self.actor_unproven) {
            (None, _) => ACTOR_NONE,
            (Some(_), false) => ACTOR_PROVEN,
            (Some(_), true) => ACTOR_CLAIMED,
        };
        let mut out = Cursor(out);
        out.put(&head);
        if let Some(actor) = &self.actor {
            out.put(actor.as_bytes());
        }
        for field in [&self.action, &self.resource, &self.detail] {
            out.put(&(field.len() as u16).to_be_bytes());
            out.put(field.as_bytes());
        }
    }

    /// Decodes a leaf into its index and record. Total: any input that is
    /// not exactly one canonical encoding fails with `MALFORMED`.
    pub fn decode(leaf: &[u8]) -> Result<(u64, Record)> {
        let mut r = Reader { bytes: leaf, at: 0 };
        let version = r.u8("version")?;
        if version != RECORD_VERSION {
            return Err(malformed(format!("record version {version}; this build reads {RECORD_VERSION}")));
        }
        let index = u64::from_be_bytes(r.array("index")?);
        let time = u64::from_be_bytes(r.array("time")?);
        let code = r.u8("decision")?;
        let decision = Decision::from_code(code).ok_or_else(|| malformed(format!("decision byte {code}")))?;
        let reason = i32::from_be_bytes(r.array("reason")?);
        let (actor, actor_unproven) = match r.u8("actor flag")? {
            ACTOR_NONE => (None, false),
            ACTOR_PROVEN => (Some(principal(r.array("actor")?)?), false),
            ACTOR_CLAIMED => (Some(principal(r.array("actor")?)?), true),
            flag => return Err(malformed(format!("actor flag {flag}; expected 0, 1 or 2"))),
        };
        let action = r.text("action", MAX_ACTION_BYTES)?;
        if action.is_empty() {
            return Err(malformed("empty action".into()));
        }
        let resource = r.text("resource", MAX_RESOURCE_BYTES)?;
        let detail = r.text("detail", MAX_DETAIL_BYTES)?;
        if r.at != leaf.len() {
            return Err(malformed(format!("{} bytes after the record", leaf.len() - r.at)));
        }
        Ok((index, Record { time, actor, actor_unproven, action, resource, decision, reason, detail }))
    }
}

/// The part of an encoding's buffer not written yet.
struct Cursor<'a>(&'a mut [u8]);

impl Cursor<'_> {
    /// Writes `bytes` next: the buffer was sized by
    /// [`Record::encoded_size`], so they fit.
    fn put(&mut self, bytes: &[u8]) {
        let (head, rest) = std::mem::take(&mut self.0).split_at_mut(bytes.len());
        head.copy_from_slice(bytes);
        self.0 = rest;
    }
}

/// The length of the encoding at the start of `bytes`, read from its actor
/// flag and field lengths alone, never past `bytes.len()`: exact for what
/// [`Record::encode_onto`] wrote, the only thing the in-memory log holds,
/// which finds its records by this instead of keeping each one's end.
/// Total, like the decoder, but it checks nothing else.
pub(crate) fn encoded_len(bytes: &[u8]) -> usize {
    let byte = |at: usize| bytes.get(at).map_or(0, |&b| usize::from(b));
    let mut at = ACTOR_FLAG_AT + 1;
    if byte(ACTOR_FLAG_AT) != usize::from(ACTOR_NONE) {
        at += 32;
    }
    for _ in 0..3 {
        at += 2 + (byte(at) << 8 | byte(at + 1));
    }
    at.min(bytes.len())
}

/// A principal id from its stored bytes. `PrincipalId` is built from a key
/// or from its text form only, so the bytes go through the text form.
fn principal(bytes: [u8; 32]) -> Result<PrincipalId> {
    PrincipalId::from_text(&format!("{PRINCIPAL_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

fn malformed(why: String) -> Error {
    Error::new(ErrorKind::Malformed, format!("audit record: {why}"))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8]> {
        let rest = &self.bytes[self.at..];
        if rest.len() < n {
            return Err(malformed(format!("ends inside the {what} ({} of {n} bytes)", rest.len())));
        }
        self.at += n;
        Ok(&rest[..n])
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn text(&mut self, what: &str, max: usize) -> Result<String> {
        let len = usize::from(u16::from_be_bytes(self.array(what)?));
        if len > max {
            return Err(malformed(format!("{what} of {len} bytes; the limit is {max}")));
        }
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| malformed(format!("{what} is not UTF-8")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::KeyPair;

    #[test]
    fn encoded_len_finds_the_end_of_each_encoding() {
        let mut record = Record::new(7, "publish", "orders", Decision::Deny);
        record.detail = "why".into();
        let mut claimed = record.clone();
        claimed.actor = Some(KeyPair::generate().unwrap().principal());
        claimed.actor_unproven = true;
        for record in [record, claimed] {
            let leaf = record.encode(3).unwrap();
            let mut bytes = leaf.clone();
            bytes.extend_from_slice(&leaf);
            assert_eq!(encoded_len(&bytes), leaf.len());
            for cut in 0..leaf.len() {
                assert_eq!(encoded_len(&leaf[..cut]), cut, "cut at {cut}");
            }
        }
        assert_eq!(encoded_len(&[]), 0);
    }
}
