//! Sessions: a verified token plus proof of possession, checked cheaply on
//! every operation.
//!
//! Opening a session does the signature work once. After that, `check` is a
//! clock read, one atomic load to notice revocations and distrust, and a
//! grant match: no signature, no allocation.
//!
//! Invariants:
//!
//! * A session ends once and for good: when its token expires by the
//!   authority's clock, when a link of it is revoked, or when its root key
//!   is distrusted. Trusting the root again or lifting the revocation does
//!   not reopen it.
//! * What depends on a session (a bus subscription made with it) registers
//!   as a [`Dependent`]. Revocation and distrust end every dependent at
//!   once, on the revoking thread and outside every lock of the authority
//!   (see [`Authority::sweep`](super::Authority::sweep)); expiry ends them
//!   when the authority sweeps, or when they are next touched.
//! * A dependent registered after its session ended is refused, so none
//!   outlives its session unnoticed.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use super::authority::{Inner, Verified};
use super::grant::{Action, Grant};
use super::keys::{PrincipalId, PublicKey};
use crate::{Error, ErrorKind, Result};

const LIVE: u8 = 0;
const EXPIRED: u8 = 1;
const REVOKED: u8 = 2;
const DISTRUSTED: u8 = 3;

/// Something that must end when a session does.
pub(crate) trait Dependent: Send + Sync {
    /// The session ended for `why` (an `EXPIRED` or `REVOKED` error).
    fn session_ended(&self, why: &Error);
}

/// An open session. Cloning is cheap and shares the session.
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

pub(crate) struct SessionInner {
    authority: Arc<Inner>,
    verified: Verified,
    /// The root key the token is anchored in.
    root: PublicKey,
    /// The revocation epoch last checked against.
    checked_epoch: AtomicU64,
    state: AtomicU8,
    /// What ends with the session; dead entries are pruned as it grows.
    dependents: Mutex<Vec<Weak<dyn Dependent>>>,
}

impl Session {
    pub(crate) fn new(authority: Arc<Inner>, verified: Verified, root: PublicKey) -> Session {
        let epoch = authority.epoch.load(Ordering::Acquire);
        Session {
            inner: Arc::new(SessionInner {
                authority,
                verified,
                root,
                checked_epoch: AtomicU64::new(epoch),
                state: AtomicU8::new(LIVE),
                dependents: Mutex::new(Vec::new()),
            }),
        }
    }

    pub(crate) fn from_inner(inner: Arc<SessionInner>) -> Session {
        Session { inner }
    }

    pub(crate) fn downgrade(&self) -> Weak<SessionInner> {
        Arc::downgrade(&self.inner)
    }

    /// Whether `other` is this very session (not merely one with the same
    /// token).
    pub fn same_as(&self, other: &Session) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// `Ok` while the session is open; once it has ended, the `EXPIRED` or
    /// `REVOKED` error saying why.
    pub fn ensure_active(&self) -> Result<()> {
        self.alive()
    }

    /// How long until the session expires by its authority's clock (zero
    /// once it has); revocation may end it sooner.
    pub(crate) fn time_left(&self) -> Duration {
        let inner = &self.inner;
        let end = Duration::from_secs(inner.verified.not_after.saturating_add(inner.authority.skew));
        end.saturating_sub(inner.authority.clock.now_precise())
    }

    /// Registers `dependent` to be ended with the session. Fails, with the
    /// reason the session ended, when it already has: the caller then ends
    /// the dependent itself.
    pub(crate) fn watch(&self, dependent: Weak<dyn Dependent>) -> Result<()> {
        {
            let mut dependents = self.inner.dependents.lock().unwrap_or_else(PoisonError::into_inner);
            if dependents.len() == dependents.capacity() {
                dependents.retain(|d| d.strong_count() > 0);
            }
            dependents.push(dependent);
        }
        // Checked after registering: an ending that races with us either
        // sees the new dependent or is seen here.
        self.alive()
    }

    /// Ends every dependent if the session has ended. Returns whether it
    /// had.
    pub(crate) fn end_if_lapsed(&self) -> bool {
        let Err(why) = self.alive() else { return false };
        let dependents =
            std::mem::take(&mut *self.inner.dependents.lock().unwrap_or_else(PoisonError::into_inner));
        for dependent in dependents.iter().filter_map(Weak::upgrade) {
            dependent.session_ended(&why);
        }
        true
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

    /// Whether the session is still open: its token has not expired, no
    /// link of it has been revoked and its root is still trusted.
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
            DISTRUSTED => return Err(distrusted()),
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
            if !inner.authority.trusts(&inner.root) {
                inner.state.store(DISTRUSTED, Ordering::Release);
                return Err(distrusted());
            }
            inner.checked_epoch.store(epoch, Ordering::Release);
        }
        Ok(())
    }
}

fn distrusted() -> Error {
    Error::new(ErrorKind::Revoked, "the session's root key is no longer trusted")
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
