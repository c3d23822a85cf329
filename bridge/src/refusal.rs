//! Why an inbound message was refused: one reason per check, each counted
//! and recorded on its own.

use std::fmt;

use charter_core::capability::PrincipalId;
use charter_core::Error;

/// The reason a receiving bridge refused a message, in check order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The message carries no envelope (no token, sequence, time or proof).
    Unsigned,
    /// An envelope header is not in its one canonical spelling.
    Malformed,
    /// The token's chain does not verify against the trusted roots
    /// (untrusted root, bad link signature, expired, not yet valid).
    Chain,
    /// The proof does not verify with the token holder's key: the message
    /// was forged or altered.
    BadProof,
    /// No grant of the token covers the subject for this kind of message.
    NotGranted,
    /// The message's time is outside the skew window.
    Stale,
    /// The sequence number was seen before (or is too old to tell).
    Replayed,
    /// A link of the token is revoked.
    Revoked,
    /// A reply that does not answer the request it arrived for (another
    /// inbox, nonce or request subject).
    Misdirected,
    /// An allowed message whose audit record could not be written
    /// (recording fails closed).
    AuditFailed,
}

impl Reason {
    /// Every reason, in check order.
    pub const ALL: [Reason; 10] = [
        Reason::Unsigned,
        Reason::Malformed,
        Reason::Chain,
        Reason::BadProof,
        Reason::NotGranted,
        Reason::Stale,
        Reason::Replayed,
        Reason::Revoked,
        Reason::Misdirected,
        Reason::AuditFailed,
    ];

    /// The reason's name in counters and audit details.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Unsigned => "unsigned",
            Reason::Malformed => "malformed",
            Reason::Chain => "chain",
            Reason::BadProof => "bad_proof",
            Reason::NotGranted => "not_granted",
            Reason::Stale => "stale",
            Reason::Replayed => "replayed",
            Reason::Revoked => "revoked",
            Reason::Misdirected => "misdirected",
            Reason::AuditFailed => "audit_failed",
        }
    }

    pub(crate) fn index(self) -> usize {
        Reason::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A refused message: why, the error that says so, and who it names.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// Which check refused it.
    pub reason: Reason,
    /// The error, with a status that fits the reason.
    pub error: Error,
    /// The token's holder, when a token could be read, and whether the
    /// proof showed that holder signed (otherwise the actor is only claimed).
    pub actor: Option<(PrincipalId, bool)>,
}
