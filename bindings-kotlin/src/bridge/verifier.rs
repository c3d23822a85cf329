//! The checks a receiving bridge makes on every sealed message, on their
//! own (the crate's `Verifier`): for a message that reached a program from
//! NATS some other way, and for the shared vectors.

use std::collections::HashMap;
use std::sync::Arc;

use charter_bridge::verify::{Expect, Inbound};
use charter_bridge::{Verifier, VerifyOptions};
use charter_core::audit::Recorder;

use super::stats;
use crate::audit::{AuditLog, AuditScope};
use crate::bus::{header_refs, size_of, Header};
use crate::capability::Authority;
use crate::error::Result;
use crate::time;

/// What a checked message must be.
#[derive(uniffi::Enum)]
pub enum BridgeExpect {
    /// A publish: a `publish` grant on the subject.
    Publish,
    /// A request: a `request` grant on the subject.
    Request,
    /// The reply to a request sent on `subject` with reply inbox `inbox`
    /// and nonce `nonce`, sealed at `sent_ms` (Unix ms).
    Reply {
        /// The request's subject.
        subject: String,
        /// The request's reply inbox.
        inbox: String,
        /// The request's nonce.
        nonce: String,
        /// When the request was sealed, Unix ms.
        sent_ms: i64,
    },
}

/// Verifies sealed bridge messages, keeping a replay window as a bridge does.
#[derive(uniffi::Object)]
pub struct BridgeVerifier {
    core: Verifier,
}

#[uniffi::export]
impl BridgeVerifier {
    /// A verifier trusting `authority`, with the freshness window
    /// `max_skew_nanos` (`None`: the crate's), judging times by
    /// `fixed_time_ms` (tests and vectors; `None`: the system clock),
    /// recording in `audit` per `scope`.
    #[uniffi::constructor]
    pub fn new(
        authority: Arc<Authority>,
        max_skew_nanos: Option<i64>,
        fixed_time_ms: Option<i64>,
        audit: Option<Arc<AuditLog>>,
        scope: AuditScope,
    ) -> Result<Arc<BridgeVerifier>> {
        let mut options = VerifyOptions::new(authority.core.clone());
        if let Some(nanos) = max_skew_nanos {
            options.max_skew = time::duration(nanos, "maxSkew")?;
        }
        if let Some(log) = audit {
            options.recorder = Some(Recorder::new(log.handle()?, scope.into()));
        }
        if let Some(now) = fixed_time_ms {
            let now = size_of(now, "fixedTimeMs")? as u64;
            options.clock = Some(Arc::new(move || now));
        }
        Ok(Arc::new(BridgeVerifier { core: Verifier::new(options) }))
    }

    /// Checks one message as it arrived from NATS (every header, the
    /// envelope's included); the proven sender's principal id, or the
    /// refusal with its reason.
    pub fn check(
        &self,
        subject: String,
        reply: Option<String>,
        headers: Vec<Header>,
        payload: Vec<u8>,
        expect: BridgeExpect,
    ) -> Result<String> {
        let pairs = header_refs(&headers);
        let inbound =
            Inbound { subject: &subject, reply: reply.as_deref(), headers: &pairs, payload: &payload };
        let expect = match &expect {
            BridgeExpect::Publish => Expect::Publish,
            BridgeExpect::Request => Expect::Request,
            BridgeExpect::Reply { subject, inbox, nonce, sent_ms } => {
                Expect::Reply { subject, inbox, nonce, sent_ms: size_of(*sent_ms, "sentMs")? as u64 }
            }
        };
        Ok(self.core.check(&inbound, expect).map(|principal| principal.to_text())?)
    }

    /// The messages refused so far, by reason (zeros included).
    pub fn refused(&self) -> HashMap<String, i64> {
        stats::by_reason(&self.core.refused())
    }
}
