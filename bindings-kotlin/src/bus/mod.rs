//! The topic bus: [`Bus`], the [`Client`] every call goes through (the
//! bus's own, without a session, or a session's) and [`Subscription`].

mod subscription;
mod types;

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use charter_core::audit::Recorder;
use charter_core::bus;
use charter_core::{HandlerError, HandlerResult};

use crate::audit::{AuditLog, AuditScope};
use crate::capability::{Authority, Session};
use crate::error::{closed, Result};
use crate::time;
pub use subscription::Subscription;
pub(crate) use types::size as size_of;
pub(crate) use types::{header_refs, Header};
use types::{BusStats, Limits, MessageData, PublishReport, SubscribeSettings};

/// A Kotlin message handler. It returns `false` when the Kotlin code threw
/// (already reported there); the core counts a handler failure.
#[uniffi::export(with_foreign)]
pub trait MessageHandler: Send + Sync {
    /// Handles one message.
    fn on_message(&self, message: MessageData) -> bool;
}

/// A topic bus. Closing releases the core bus and its own client at once
/// (a closed bus's memory does not wait for Kotlin's garbage collector);
/// afterwards its calls fail with `CLOSED`.
#[derive(uniffi::Object)]
pub struct Bus {
    core: ArcSwapOption<bus::Bus>,
    anyone: Arc<Client>,
}

impl Bus {
    /// The core bus, or `CLOSED` once closed through this binding.
    pub(crate) fn open(&self) -> Result<Arc<bus::Bus>> {
        self.core.load_full().ok_or_else(|| closed("bus"))
    }
}

#[uniffi::export]
impl Bus {
    /// A bus with `limits`, enforcing `authority` when given, recording its
    /// decisions in `audit` (per `scope`) when given.
    #[uniffi::constructor]
    pub fn new(
        limits: Limits,
        authority: Option<Arc<Authority>>,
        audit: Option<Arc<AuditLog>>,
        scope: AuditScope,
    ) -> Result<Arc<Bus>> {
        let limits = limits.to_core()?;
        let authority = authority.map(|a| a.core.clone());
        let core = match audit {
            Some(log) => {
                bus::Bus::with_recorder(limits, authority, Recorder::new(log.handle()?, scope.into()))?
            }
            None => match authority {
                Some(a) => bus::Bus::with_authority(limits, a)?,
                None => bus::Bus::new(limits)?,
            },
        };
        let anyone = Arc::new(Client { core: ArcSwapOption::from_pointee(core.client(None)) });
        Ok(Arc::new(Bus { core: ArcSwapOption::from_pointee(core), anyone }))
    }

    /// The caller without a session: the bus's own calls.
    pub fn anyone(&self) -> Arc<Client> {
        Arc::clone(&self.anyone)
    }

    /// A client whose every call is checked against `session`.
    pub fn client(&self, session: Arc<Session>) -> Result<Arc<Client>> {
        let core = self.open()?.with_session(&session.core);
        Ok(Arc::new(Client { core: ArcSwapOption::from_pointee(core) }))
    }

    /// The bus's accounting.
    pub fn stats(&self) -> Result<BusStats> {
        Ok(self.open()?.stats().into())
    }

    /// Ends idle subscriptions now; how many.
    pub fn evict_idle(&self) -> Result<i64> {
        Ok(self.open()?.evict_idle() as i64)
    }

    /// Ends every subscription, joins handler threads and releases every
    /// handler, then lets go of the core bus. Idempotent.
    pub fn end(&self) {
        if let Some(core) = self.core.swap(None) {
            core.close();
        }
        self.anyone.core.store(None);
    }

    /// Whether the bus is closed.
    pub fn is_closed(&self) -> bool {
        self.core.load().as_ref().is_none_or(|c| c.is_closed())
    }
}

/// Who calls: the bus's own caller or a session's. The bus's own is
/// emptied when the bus is closed through this binding.
#[derive(uniffi::Object)]
pub struct Client {
    core: ArcSwapOption<bus::Client>,
}

impl Client {
    fn open(&self) -> Result<Arc<bus::Client>> {
        self.core.load_full().ok_or_else(|| closed("bus"))
    }
}

fn handle(handler: &dyn MessageHandler, message: &bus::Message) -> HandlerResult {
    if handler.on_message(message.into()) {
        Ok(())
    } else {
        Err(HandlerError)
    }
}

#[uniffi::export]
impl Client {
    /// Publishes `payload` on `topic`.
    pub fn publish(&self, topic: String, payload: Vec<u8>, headers: Vec<Header>) -> Result<PublishReport> {
        Ok(self.open()?.publish(&topic, payload, &header_refs(&headers))?.into())
    }

    /// A queue subscription to receive from.
    pub fn subscribe(&self, pattern: String, settings: SubscribeSettings) -> Result<Arc<Subscription>> {
        let subscription = self.open()?.subscribe(&pattern, settings.to_core()?)?;
        Ok(Arc::new(Subscription::pull(subscription)))
    }

    /// A subscription whose messages go to `handler`.
    pub fn subscribe_with(
        &self,
        pattern: String,
        settings: SubscribeSettings,
        handler: Arc<dyn MessageHandler>,
    ) -> Result<Arc<Subscription>> {
        let run = move |m: &bus::Message| handle(&*handler, m);
        let client = self.open()?;
        let subscription = client.subscribe_with(&pattern, settings.to_core()?, run)?;
        Ok(Arc::new(Subscription::handler(subscription, (*client).clone())))
    }

    /// Publishes a request and waits up to `timeout_nanos` for the first reply.
    pub fn request(
        &self,
        topic: String,
        payload: Vec<u8>,
        headers: Vec<Header>,
        timeout_nanos: i64,
    ) -> Result<MessageData> {
        let timeout = time::duration(timeout_nanos, "timeout")?;
        Ok((&self.open()?.request(&topic, payload, &header_refs(&headers), timeout)?).into())
    }

    /// Publishes a request; its reply arrives on the returned subscription.
    pub fn request_start(
        &self,
        topic: String,
        payload: Vec<u8>,
        headers: Vec<Header>,
    ) -> Result<Arc<Subscription>> {
        Ok(Arc::new(Subscription::pull(self.open()?.request_start(
            &topic,
            payload,
            &header_refs(&headers),
        )?)))
    }

    /// Answers the request whose reply inbox is `inbox`.
    pub fn reply(&self, inbox: String, payload: Vec<u8>, headers: Vec<Header>) -> Result<PublishReport> {
        Ok(self.open()?.reply(&inbox, payload, &header_refs(&headers))?.into())
    }
}

/// The core's wait for a reply when a request names no timeout
/// (`charter_core::bus::DEFAULT_REQUEST_TIMEOUT`), in nanoseconds: the
/// Kotlin API's default argument, so that it is decided in the core only.
#[uniffi::export]
pub fn default_request_timeout_nanos() -> u64 {
    u64::try_from(bus::DEFAULT_REQUEST_TIMEOUT.as_nanos()).unwrap_or(u64::MAX)
}

/// Fails with the core's error for a request on `topic` that got no reply
/// within `timeout_nanos` (for receives that wait on the reply themselves).
#[uniffi::export]
pub fn no_reply(topic: String, timeout_nanos: i64) -> Result<()> {
    Err(bus::no_reply(&topic, time::duration(timeout_nanos, "timeout")?).into())
}
