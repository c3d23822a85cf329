//! The bus as seen by the holder of a session.

use std::sync::Arc;
use std::time::Duration;

use super::{Bus, Headers, Message, Payload, PublishReport, SubscribeOptions, Subscription, Who};
use crate::capability::Session;
use crate::{HandlerResult, Result};

/// A bus plus the session every call is checked against: publishing needs
/// a `publish` grant matching the topic, subscribing a `subscribe` grant
/// containing the pattern, requesting a `request` grant matching the
/// topic. Get one from [`Bus::with_session`].
#[derive(Clone, Debug)]
pub struct Client {
    bus: Bus,
    session: Session,
}

impl Client {
    pub(crate) fn new(bus: Bus, session: Session) -> Client {
        Client { bus, session }
    }

    /// The session calls are checked against.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// [`Bus::publish`], if a grant allows it.
    pub fn publish(&self, topic: &str, payload: impl Payload, headers: Headers<'_>) -> Result<PublishReport> {
        self.bus.send(topic, payload, headers, None, Who::Holder(&self.session))
    }

    /// [`Bus::subscribe`], if a grant allows it. The subscription ends when
    /// the session does.
    pub fn subscribe(&self, pattern: &str, options: SubscribeOptions) -> Result<Subscription> {
        self.bus.add(pattern, options, None, Who::Holder(&self.session))
    }

    /// [`Bus::subscribe_with`], if a grant allows it.
    pub fn subscribe_with<F>(
        &self,
        pattern: &str,
        options: SubscribeOptions,
        handler: F,
    ) -> Result<Subscription>
    where
        F: Fn(&Message) -> HandlerResult + Send + Sync + 'static,
    {
        self.bus.add(pattern, options, Some(Arc::new(handler)), Who::Holder(&self.session))
    }

    /// [`Bus::request`], if a grant allows it.
    pub fn request(
        &self,
        topic: &str,
        payload: impl Payload,
        headers: Headers<'_>,
        timeout: Duration,
    ) -> Result<Message> {
        self.bus.ask(topic, payload, headers, timeout, Who::Holder(&self.session))
    }

    /// [`Bus::request_start`], if a grant allows it.
    pub fn request_start(
        &self,
        topic: &str,
        payload: impl Payload,
        headers: Headers<'_>,
    ) -> Result<Subscription> {
        self.bus.start_request(topic, payload, headers, Who::Holder(&self.session))
    }
}
