//! Recording authorization decisions: what the bus and the authority hold
//! when they are given an audit log.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::audit::audit_log::AuditLog;
use crate::audit::record::{Decision, Record, MAX_DETAIL_BYTES, MAX_RESOURCE_BYTES};
use crate::capability::PrincipalId;
use crate::{ErrorKind, Result};

/// Which decisions a [`Recorder`] records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Refusals only: a record per denial, nothing on the allowed path, so
    /// allowed operations cost nothing extra.
    Denials,
    /// Every decision, allowed or refused. Each allowed operation then
    /// waits for its record (and, under `FsyncPolicy::Always`, its fsync).
    All,
}

/// An audit log plus which decisions to record in it. Give one to
/// [`Bus::with_recorder`](crate::bus::Bus::with_recorder) or to
/// [`AuthorityOptions::recorder`](crate::capability::AuthorityOptions::recorder).
///
/// Recording fails closed: an allowed operation whose record cannot be
/// appended fails with the log's error instead of going ahead unrecorded.
/// A refusal stays a refusal (with its own error) either way.
#[derive(Clone, Debug)]
pub struct Recorder {
    log: AuditLog,
    scope: Scope,
}

impl Recorder {
    /// Records the decisions `scope` selects in `log`.
    pub fn new(log: AuditLog, scope: Scope) -> Recorder {
        Recorder { log, scope }
    }

    /// The log decisions go to.
    pub fn log(&self) -> &AuditLog {
        &self.log
    }

    /// Which decisions are recorded.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// Records `verdict`, `actor`'s request to `action` on `resource`, if
    /// the scope covers it, and returns the verdict (or, for an allow that
    /// could not be recorded, the log's error). Allocates nothing for an
    /// allow under [`Scope::Denials`]. The actor, if any, is proven.
    pub(crate) fn decide(
        &self,
        actor: Option<PrincipalId>,
        action: &str,
        resource: &str,
        verdict: Result<()>,
    ) -> Result<()> {
        self.record(actor, false, action, resource, verdict)
    }

    /// As [`decide`](Self::decide), for a request that names `claimed` as
    /// its actor before any proof: the record marks the actor unproven
    /// unless `proven`.
    pub(crate) fn decide_claimed(
        &self,
        claimed: PrincipalId,
        proven: bool,
        action: &str,
        resource: &str,
        verdict: Result<()>,
    ) -> Result<()> {
        self.record(Some(claimed), !proven, action, resource, verdict)
    }

    fn record(
        &self,
        actor: Option<PrincipalId>,
        actor_unproven: bool,
        action: &str,
        resource: &str,
        verdict: Result<()>,
    ) -> Result<()> {
        let (decision, reason, detail) = match &verdict {
            Ok(()) if self.scope == Scope::Denials => return verdict,
            Ok(()) => (Decision::Allow, 0, ""),
            Err(e) => {
                let decision = match e.kind() {
                    ErrorKind::Internal | ErrorKind::Io | ErrorKind::Panic => Decision::Error,
                    _ => Decision::Deny,
                };
                (decision, e.kind().code(), e.message())
            }
        };
        let record = Record {
            time: now_ms(),
            actor,
            actor_unproven,
            action: action.into(),
            resource: clip(resource, MAX_RESOURCE_BYTES).into(),
            decision,
            reason,
            detail: clip(detail, MAX_DETAIL_BYTES).into(),
        };
        let appended = self.log.append(&record);
        match verdict {
            Ok(()) => appended.map(|_| ()),
            Err(e) => Err(e),
        }
    }
}

/// Milliseconds since the Unix epoch (0 for a clock set before it).
fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
