//! Verified messages a durable import handed back to JetStream (a local
//! queue was full), so that their redelivery is not refused as a replay:
//! the verifier's replay window has already spent their sequence numbers.
//!
//! A redelivery is accepted without a second verification only when it is
//! byte for byte the message verified (subject, every header, payload, by
//! SHA-256), so a server that alters a redelivered message gains nothing:
//! the altered one is verified afresh, and refused.

use std::collections::HashMap;

use ring::digest::{Context, SHA256};

/// What a verified, handed-back message was: its digest and its proven
/// sender's principal.
type Verified = ([u8; 32], Option<String>);

pub(crate) struct HandedBack {
    by_seq: HashMap<u64, Verified>,
    capacity: usize,
}

impl HandedBack {
    /// Remembers at most `capacity` (at least 1) messages; beyond it one is
    /// forgotten (its redelivery is then verified again, and refused).
    pub(crate) fn new(capacity: usize) -> HandedBack {
        HandedBack { by_seq: HashMap::new(), capacity: capacity.max(1) }
    }

    /// Whether stream message `seq` was handed back after verification.
    pub(crate) fn contains(&self, seq: u64) -> bool {
        self.by_seq.contains_key(&seq)
    }

    /// The principal proven for stream message `seq`, if it was handed
    /// back and `digest` is the digest it had then. Forgets it either way.
    pub(crate) fn take(&mut self, seq: u64, digest: &[u8; 32]) -> Option<Option<String>> {
        let (kept, principal) = self.by_seq.remove(&seq)?;
        (kept == *digest).then_some(principal)
    }

    pub(crate) fn keep(&mut self, seq: u64, digest: [u8; 32], principal: Option<String>) {
        if self.by_seq.len() >= self.capacity && !self.by_seq.contains_key(&seq) {
            if let Some(&any) = self.by_seq.keys().next() {
                self.by_seq.remove(&any);
            }
        }
        self.by_seq.insert(seq, (digest, principal));
    }
}

/// SHA-256 over a message's subject, headers (sorted: the client's header
/// map does not keep their order) and payload, each part length-prefixed
/// so that no two messages share an encoding.
pub(crate) fn digest(subject: &str, headers: &[(&str, &str)], payload: &[u8]) -> [u8; 32] {
    let mut context = Context::new(&SHA256);
    let mut part = |bytes: &[u8]| {
        context.update(&(bytes.len() as u64).to_be_bytes());
        context.update(bytes);
    };
    part(subject.as_bytes());
    let mut headers = headers.to_vec();
    headers.sort_unstable();
    for (name, value) in headers {
        part(name.as_bytes());
        part(value.as_bytes());
    }
    part(payload);
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::{digest, HandedBack};

    #[test]
    fn a_redelivery_is_taken_only_when_it_is_the_same_message() {
        let mut handed = HandedBack::new(8);
        let verified = digest("a.b", &[("k", "v")], b"pay");
        handed.keep(7, verified, Some("p".into()));
        assert!(handed.contains(7));
        assert_eq!(handed.take(7, &digest("a.b", &[("k", "v")], b"PAY")), None, "altered payload");
        assert!(!handed.contains(7), "forgotten after a mismatch");
        handed.keep(7, verified, Some("p".into()));
        assert_eq!(handed.take(7, &verified), Some(Some("p".into())));
        assert_ne!(digest("a", &[("b", "c")], b""), digest("ab", &[("", "c")], b""), "parts are delimited");
        assert_eq!(
            digest("a", &[("x", "1"), ("y", "2")], b""),
            digest("a", &[("y", "2"), ("x", "1")], b""),
            "header order does not count"
        );
    }

    #[test]
    fn it_holds_at_most_its_capacity() {
        let mut handed = HandedBack::new(2);
        for seq in 0..10 {
            handed.keep(seq, [0; 32], None);
        }
        assert_eq!(handed.by_seq.len(), 2);
        assert!(handed.contains(9));
    }
}
