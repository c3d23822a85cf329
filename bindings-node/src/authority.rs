//! `NativeAuthority`, `NativeSession` and `NativeManualClock`, wrapped by
//! the public `Authority`, `Session` and `ManualClock` (`lib/authority.js`).
//!
//! Verifying a token (and opening a session, which verifies it) checks one
//! Ed25519 signature per link, so the Promise-returning forms run on a pool
//! thread (`src/pool.rs`), like waiting receives. None of these objects
//! holds anything that keeps the event loop alive; a pending verification
//! does, until it settles, like a timer.

use std::sync::Arc;
use std::time::Duration;

use charter_core::capability::{
    Action, Authority, AuthorityOptions, Clock, Grant, LinkId, ManualClock, Session,
};
use napi::bindgen_prelude::{Buffer, BufferSlice, Env, Object};
use napi_derive::napi;

use crate::audit::NativeAuditLog;
use crate::error::{boundary, from_core, Result};
use crate::keys::NativePublicKey;
use crate::promise::on_pool;
use crate::token::{challenge_bytes, seconds, NativeToken};

/// A clock that moves only when told to, for tests; times in Unix seconds.
#[napi]
pub struct NativeManualClock {
    clock: Arc<ManualClock>,
}

#[napi]
impl NativeManualClock {
    #[napi(constructor)]
    pub fn new(now: f64) -> NativeManualClock {
        NativeManualClock { clock: Arc::new(ManualClock::new(seconds(now))) }
    }

    #[napi]
    pub fn set(&self, now: f64) {
        self.clock.set(seconds(now));
    }

    #[napi]
    pub fn advance(&self, by: f64) {
        self.clock.advance(seconds(by));
    }

    #[napi(getter)]
    pub fn now(&self) -> f64 {
        self.clock.now() as f64
    }
}

/// `new Authority(roots, {...})`'s options; absent ones keep the core's
/// defaults (90 days, 60 s, only refusals recorded).
#[napi(object)]
pub struct AuthoritySpec {
    pub max_lifetime_seconds: Option<f64>,
    pub clock_skew_seconds: Option<f64>,
    /// Which session openings an audit log records: `"denials"` or `"all"`.
    pub audit_scope: Option<String>,
}

/// What a verified token establishes.
#[napi(object, object_from_js = false)]
pub struct Verified {
    /// The holder's key: the last link's subject.
    pub subject: NativePublicKey,
    /// The holder's principal id, `charter-id1:...`.
    pub principal: String,
    /// The last link's grants, `"action pattern"`.
    pub grants: Vec<String>,
    /// The last link's window, in Unix seconds.
    pub not_before: f64,
    pub not_after: f64,
    /// Every link's id, root first.
    pub links: Vec<String>,
}

impl From<charter_core::capability::Verified> for Verified {
    fn from(v: charter_core::capability::Verified) -> Verified {
        Verified {
            subject: NativePublicKey { key: v.subject },
            principal: v.principal.to_text(),
            grants: v.grants.iter().map(Grant::to_string).collect(),
            not_before: v.not_before as f64,
            not_after: v.not_after as f64,
            links: v.links.iter().map(LinkId::to_hex).collect(),
        }
    }
}

/// The core's authority; see the module docs.
#[napi]
pub struct NativeAuthority {
    pub(crate) authority: Authority,
}

#[napi]
impl NativeAuthority {
    /// An authority that trusts no root yet (`trust` adds them), on the
    /// system clock unless `clock` is given, recording session openings in
    /// `audit` when given.
    #[napi(constructor)]
    pub fn new(
        spec: AuthoritySpec,
        clock: Option<&NativeManualClock>,
        audit: Option<&NativeAuditLog>,
    ) -> Result<NativeAuthority> {
        boundary(|| {
            let mut options = AuthorityOptions::default();
            if let Some(s) = spec.max_lifetime_seconds {
                options.max_lifetime = Duration::from_secs(seconds(s));
            }
            if let Some(s) = spec.clock_skew_seconds {
                options.clock_skew = Duration::from_secs(seconds(s));
            }
            if let Some(clock) = clock {
                options.clock = Arc::clone(&clock.clock) as _;
            }
            if let Some(log) = audit {
                options.recorder = Some(log.recorder(spec.audit_scope.as_deref())?);
            }
            Ok(NativeAuthority { authority: Authority::new([], options) })
        })
    }

    #[napi]
    pub fn trust(&self, root: &NativePublicKey) {
        self.authority.trust(root.key);
    }

    /// Returns whether `root` was trusted. Ends the sessions opened under
    /// it.
    #[napi]
    pub fn distrust(&self, root: &NativePublicKey) -> bool {
        self.authority.distrust(&root.key)
    }

    /// Ends every session that has ended by the clock, revocation or
    /// distrust, with its subscriptions; returns how many.
    #[napi]
    pub fn sweep(&self) -> f64 {
        self.authority.sweep() as f64
    }

    /// The time by this authority's clock, in Unix seconds.
    #[napi(getter)]
    pub fn now(&self) -> f64 {
        self.authority.now() as f64
    }

    /// Verifies `token` on this thread.
    #[napi]
    pub fn verify_sync(&self, token: &NativeToken) -> Result<Verified> {
        boundary(|| self.authority.verify(&token.token).map(Verified::from).map_err(from_core))
    }

    /// Verifies `token` on a pool thread.
    #[napi(ts_return_type = "Promise<Verified | undefined>")]
    pub fn verify<'env>(&self, env: &'env Env, token: &NativeToken) -> Result<Object<'env>> {
        boundary(|| {
            let (authority, token) = (self.authority.clone(), token.token.clone());
            on_pool(env, move || authority.verify(&token), Verified::from)
        })
    }

    /// A fresh, single-use 32-byte challenge.
    #[napi]
    pub fn challenge(&self) -> Result<Buffer> {
        boundary(|| Ok(self.authority.challenge().map_err(from_core)?.as_slice().into()))
    }

    /// Opens a session on this thread.
    #[napi(ts_args_type = "token: NativeToken, challenge: Uint8Array, proof: Uint8Array")]
    pub fn open_session_sync(
        &self,
        token: &NativeToken,
        challenge: BufferSlice,
        proof: BufferSlice,
    ) -> Result<NativeSession> {
        boundary(|| {
            let challenge = challenge_bytes(&challenge)?;
            let session = self.authority.open_session(&token.token, &challenge, &proof).map_err(from_core)?;
            Ok(NativeSession { session })
        })
    }

    /// Opens a session on a pool thread.
    #[napi(
        ts_args_type = "token: NativeToken, challenge: Uint8Array, proof: Uint8Array",
        ts_return_type = "Promise<NativeSession | undefined>"
    )]
    pub fn open_session<'env>(
        &self,
        env: &'env Env,
        token: &NativeToken,
        challenge: BufferSlice,
        proof: BufferSlice,
    ) -> Result<Object<'env>> {
        boundary(|| {
            let challenge = challenge_bytes(&challenge)?;
            let (authority, token, proof) = (self.authority.clone(), token.token.clone(), proof.to_vec());
            on_pool(
                env,
                move || authority.open_session(&token, &challenge, &proof),
                |session| NativeSession { session },
            )
        })
    }

    /// Revokes the link with hex id `id`; returns whether it was new.
    #[napi]
    pub fn revoke(&self, id: String) -> Result<bool> {
        boundary(|| self.authority.revoke(link_id(&id)?).map_err(from_core))
    }

    /// Lifts the revocation of `id`; returns whether it was revoked.
    #[napi]
    pub fn unrevoke(&self, id: String) -> Result<bool> {
        boundary(|| Ok(self.authority.unrevoke(&link_id(&id)?)))
    }

    /// The revoked link ids, sorted.
    #[napi]
    pub fn revocations(&self) -> Vec<String> {
        self.authority.revocations().iter().map(LinkId::to_hex).collect()
    }

    /// One hex link id per line, sorted.
    #[napi]
    pub fn export_revocations(&self) -> String {
        self.authority.export_revocations()
    }

    /// Adds every link id of `text`, all or nothing; returns how many were new.
    #[napi]
    pub fn import_revocations(&self, text: String) -> Result<f64> {
        boundary(|| Ok(self.authority.import_revocations(&text).map_err(from_core)? as f64))
    }
}

fn link_id(hex: &str) -> Result<LinkId> {
    LinkId::from_hex(hex).map_err(from_core)
}

/// An open session: a verified token whose holder proved possession.
#[napi]
pub struct NativeSession {
    pub(crate) session: Session,
}

#[napi]
impl NativeSession {
    /// Fails with `DENIED` (naming the topic and the missing grant),
    /// `EXPIRED` or `REVOKED`; `action` is `publish`, `subscribe` or
    /// `request`.
    #[napi]
    pub fn check(&self, action: String, topic: String) -> Result<()> {
        boundary(|| {
            let action = Action::from_name(&action).map_err(from_core)?;
            self.session.check(action, &topic).map_err(from_core)
        })
    }

    /// Whether it has neither expired nor been revoked.
    #[napi(getter)]
    pub fn active(&self) -> bool {
        self.session.is_active()
    }

    #[napi(getter)]
    pub fn principal(&self) -> String {
        self.session.principal().to_text()
    }

    #[napi(getter)]
    pub fn subject(&self) -> NativePublicKey {
        NativePublicKey { key: self.session.subject() }
    }

    #[napi(getter)]
    pub fn grants(&self) -> Vec<String> {
        self.session.grants().iter().map(Grant::to_string).collect()
    }

    /// When it ends unless revoked before, in Unix seconds.
    #[napi(getter)]
    pub fn expires_at(&self) -> f64 {
        self.session.expires_at() as f64
    }
}
