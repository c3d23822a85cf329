//! Sessions: a verified token plus proof of possession, checked cheaply on
//! every operation.
//!
//! Opening a session does the signature work once. After that, `check` is a
//! clock read, one atomic load to notice revocations, and a grant match: no
//! signature, no allocation.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use super::authority::{Inner, Verified};
use super::grant::{Action, Grant};
use super::keys::{PrincipalId, PublicKey};
use crate::{Error, ErrorKind, Result};

const LIVE: u8 = 0;
const EXPIRED: u8 = 1;
const REVOKED: u8 = 2;

/// An open session. Cloning is cheap and shares the session.
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

struct SessionInner {
    authority: Arc<Inner>,
    verified: Verified,
    /// The revocation epoch last checked against.
    checked_epoch: AtomicU64,
    state: AtomicU8,
}

impl Session {
    pub(crate) fn new(authority: Arc<Inner>, verified: Verified) -> Session {
        let epoch = authority.epoch.load(Ordering::Acquire);
        Session {
            inner: Arc::new(SessionInner {
                authority,
                verified,
                checked_epoch: AtomicU64::new(epoch),
                state: AtomicU8::new(LIVE),
            }),
        }
    }

    /// Whether the session may `action` on `topic` (for `Subscribe`, the
    /// pattern to subscribe with). Fails with `EXPIRED` or `REVOKED` once
    /// the session has ended, and `DENIED`, naming the topic and the
    /// missing grant, when no grant covers it.
    pub fn check(&self, action: Action, topic: &str) -> Result<()> {
        self.alive()?;
        if self.inner.verified.grants.iter().any(|g| g.allows(action, topic)) {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::Denied,
            format!("no {action} grant covers {} for {}", crate::quote(topic), self.inner.verified.principal),
        ))
    }

    /// Whether the session is still open: its token has not expired and no
    /// link of it has been revoked.
    pub fn is_active(&self) -> bool {
        self.alive().is_ok()
    }

    /// Whether `authority` opened this session.
    pub fn opened_by(&self, authority: &super::Authority) -> bool {
        Arc::ptr_eq(&self.inner.authority, &authority.inner)
    }

    /// The holder's principal id.
    pub fn principal(&self) -> PrincipalId {
        self.inner.verified.principal
    }

    /// The holder's public key.
    pub fn subject(&self) -> PublicKey {
        self.inner.verified.subject
    }

    /// What the session may do.
    pub fn grants(&self) -> &[Grant] {
        &self.inner.verified.grants
    }

    /// When the session ends (seconds since the epoch), unless revoked
    /// before.
    pub fn expires_at(&self) -> u64 {
        self.inner.verified.not_after
    }

    fn alive(&self) -> Result<()> {
        let inner = &self.inner;
        match inner.state.load(Ordering::Acquire) {
            EXPIRED => return Err(expired(inner.verified.not_after)),
            REVOKED => return Err(Error::new(ErrorKind::Revoked, "the session's token was revoked")),
            _ => {}
        }
        if inner.authority.clock.now() >= inner.verified.not_after.saturating_add(inner.authority.skew) {
            inner.state.store(EXPIRED, Ordering::Release);
            return Err(expired(inner.verified.not_after));
        }
        let epoch = inner.authority.epoch.load(Ordering::Acquire);
        if epoch != inner.checked_epoch.load(Ordering::Acquire) {
            if let Some(i) = inner.authority.any_revoked(&inner.verified.links) {
                inner.state.store(REVOKED, Ordering::Release);
                return Err(Error::new(
                    ErrorKind::Revoked,
                    format!("link {i} ({}) of the session's token was revoked", inner.verified.links[i]),
                ));
            }
            inner.checked_epoch.store(epoch, Ordering::Release);
        }
        Ok(())
    }
}

fn expired(at: u64) -> Error {
    Error::new(ErrorKind::Expired, format!("the session's token expired at {at}"))
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("principal", &self.inner.verified.principal)
            .field("grants", &self.inner.verified.grants.len())
            .field("expires_at", &self.inner.verified.not_after)
            .finish()
    }
}
