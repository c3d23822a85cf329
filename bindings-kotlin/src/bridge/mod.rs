//! The NATS bridge (the `charter-bridge` crate, docs/bridge.md): this
//! module maps its options, counters and checks to uniffi and decides
//! nothing of its own. Starting, flushing and closing wait on the
//! network; the Kotlin side calls them off its callers' coroutines.

mod options;
mod stats;
mod verifier;

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use charter_bridge::in_async_context;
use charter_core::audit::Recorder;

use crate::audit::{AuditLog, AuditScope};
use crate::bus::Bus;
use crate::capability::{Authority, KeyPair, Session, Token};
use crate::error::{closed, Result};
use crate::time;
use options::BridgeSettings;
use stats::BridgeStats;

/// A running bridge between a bus and NATS; `None` once closed.
#[derive(uniffi::Object)]
pub struct Bridge {
    core: RwLock<Option<charter_bridge::Bridge>>,
    origin: String,
}

impl Bridge {
    fn read(&self) -> RwLockReadGuard<'_, Option<charter_bridge::Bridge>> {
        self.core.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn with<T>(&self, f: impl FnOnce(&charter_bridge::Bridge) -> T) -> Result<T> {
        self.read().as_ref().map(f).ok_or_else(|| closed("bridge"))
    }
}

#[uniffi::export]
impl Bridge {
    /// Starts a bridge for `bus` with `settings`: sealing with `token` and
    /// `key` (both or neither), verifying against `authority` (refusals
    /// recorded in `audit` per `scope`), acting on an enforcing bus as
    /// `session`. The crate judges every option.
    #[uniffi::constructor]
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        bus: Arc<Bus>,
        settings: BridgeSettings,
        token: Option<Arc<Token>>,
        key: Option<Arc<KeyPair>>,
        authority: Option<Arc<Authority>>,
        audit: Option<Arc<AuditLog>>,
        scope: AuditScope,
        session: Option<Arc<Session>>,
    ) -> Result<Arc<Bridge>> {
        let mut options = settings.to_core()?;
        options.set_credentials(token.map(|t| t.core.clone()), key.map(|k| Arc::clone(&k.core)))?;
        let recorder = audit.map(|log| log.handle().map(|h| Recorder::new(h, scope.into()))).transpose()?;
        let verify = options.set_verification(authority.map(|a| a.core.clone()), recorder)?;
        if let (Some(verify), Some(nanos)) = (verify, settings.max_skew_nanos) {
            verify.max_skew = time::duration(nanos, "maxSkew")?;
        }
        options.local_session = session.map(|s| s.core.clone());
        let core = charter_bridge::Bridge::start(&*bus.open()?, options)?;
        let origin = core.origin().to_owned();
        Ok(Arc::new(Bridge { core: RwLock::new(Some(core)), origin }))
    }

    /// The bridge's origin id (32 hex digits), fresh at every start.
    pub fn origin(&self) -> String {
        self.origin.clone()
    }

    /// Whether it is connected to a NATS server now.
    pub fn is_connected(&self) -> Result<bool> {
        self.with(charter_bridge::Bridge::is_connected)
    }

    /// Whether it has been closed.
    pub fn is_closed(&self) -> bool {
        self.read().is_none()
    }

    /// Waits up to `timeout_nanos` until the server has seen everything
    /// sent so far. A close waits for a flush in progress.
    pub fn flush(&self, timeout_nanos: i64) -> Result<()> {
        let timeout = time::duration(timeout_nanos, "timeout")?;
        let guard = self.read();
        Ok(guard.as_ref().ok_or_else(|| closed("bridge"))?.flush(timeout)?)
    }

    /// Its counters.
    pub fn stats(&self) -> Result<BridgeStats> {
        self.with(|b| (&b.stats()).into())
    }

    /// The messages its verifier refused, by reason (zeros included).
    pub fn refused(&self) -> Result<HashMap<String, i64>> {
        self.with(|b| stats::by_reason(&b.stats().refused))
    }

    /// Stops it (idempotent). On one of a bridge's own threads (a handler
    /// its import runs), where waiting for a runtime is not possible, the
    /// stop finishes on a thread of its own.
    pub fn end(&self) {
        let taken = self.core.write().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(bridge) = taken {
            if in_async_context() {
                std::thread::spawn(move || bridge.close());
            } else {
                bridge.close();
            }
        }
    }
}

/// How long a flush waits when its caller names no timeout (the crate's
/// `DEFAULT_FLUSH_TIMEOUT`), in nanoseconds.
#[uniffi::export]
pub fn default_flush_timeout_nanos() -> u64 {
    u64::try_from(charter_bridge::DEFAULT_FLUSH_TIMEOUT.as_nanos()).unwrap_or(u64::MAX)
}
