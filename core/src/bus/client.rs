//! The caller of a bus: a client, with or without a session.
//!
//! A [`Client`] is what a component is handed instead of the bus. It says
//! who is calling, once, for every operation:
//!
//! * On a bus that enforces an authority, a client without a session is
//!   refused every call with `DENIED`, and a client's session must have
//!   been opened by that authority and still be open (`EXPIRED`,
//!   `REVOKED` otherwise).
//! * Publishing needs a `publish` grant matching the topic, subscribing a
//!   `subscribe` grant containing the pattern, requesting a `request`
//!   grant matching the topic. Answering a request needs no grant: knowing
//!   its unguessable reply inbox is what allows it.
//! * A subscription made through a client (a request's reply inbox
//!   included) can be reached by id — received from, inspected, ended —
//!   only through a client of the same session; any other caller gets
//!   `NOT_FOUND`, exactly as for an id that does not exist, so ids reveal
//!   nothing. Subscriptions made without a session are reachable only
//!   without one.
//! * A client cannot close the bus, read its totals or evict: those belong
//!   to whoever holds the [`Bus`].
//! * When the session ends (expiry, revocation, distrust of its root), so
//!   does every subscription made through it, at once (see
//!   [`Authority::sweep`](crate::capability::Authority::sweep)).

use std::sync::Arc;
use std::time::Duration;

use super::message::{Copied, Given};
use super::{Bus, Headers, Message, Payload, PublishReport, SubscribeOptions, Subscription, SubscriptionId};
use super::{SubscriptionRef, Who};
use crate::capability::Session;
use crate::{Error, HandlerResult, Result};

/// A bus as seen by one caller: the holder of a session, or a caller
/// without one. Get one from [`Bus::client`] or [`Bus::with_session`].
/// Cloning is cheap.
#[derive(Clone, Debug)]
pub struct Client {
    bus: Bus,
    session: Option<Session>,
}

impl Client {
    pub(crate) fn new(bus: Bus, session: Option<Session>) -> Client {
        Client { bus, session }
    }

    /// The session calls are checked against, if any.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The bus's limits.
    pub fn limits(&self) -> &super::BusLimits {
        self.bus.limits()
    }

    pub(super) fn bus(&self) -> &Bus {
        &self.bus
    }

    pub(super) fn who(&self) -> Who<'_> {
        match &self.session {
            Some(session) => Who::Holder(session),
            None => Who::Anyone,
        }
    }

    fn owner(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// [`Bus::publish`], if a grant allows it.
    pub fn publish(&self, topic: &str, payload: impl Payload, headers: Headers<'_>) -> Result<PublishReport> {
        self.bus.send(topic, Given(payload), headers, None, self.who())
    }

    /// [`Bus::publish_copied`], if a grant allows it.
    pub fn publish_copied(&self, topic: &str, payload: &[u8], headers: Headers<'_>) -> Result<PublishReport> {
        self.bus.send(topic, Copied(payload), headers, None, self.who())
    }

    /// [`Bus::subscribe`], if a grant allows it. The subscription ends when
    /// the session does.
    pub fn subscribe(&self, pattern: &str, options: SubscribeOptions) -> Result<Subscription> {
        self.bus.add(pattern, options, None, self.who(), self.owner())
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
        self.bus.add(pattern, options, Some(Arc::new(handler)), self.who(), self.owner())
    }

    /// [`Bus::request`], if a grant allows it.
    pub fn request(
        &self,
        topic: &str,
        payload: impl Payload,
        headers: Headers<'_>,
        timeout: Duration,
    ) -> Result<Message> {
        self.bus.ask(topic, payload, headers, timeout, self.who())
    }

    /// [`Bus::request_start`], if a grant allows it. The reply inbox
    /// belongs to this client.
    pub fn request_start(
        &self,
        topic: &str,
        payload: impl Payload,
        headers: Headers<'_>,
    ) -> Result<Subscription> {
        self.bus.start_request(topic, payload, headers, self.who())
    }

    /// [`Bus::respond`] for this caller.
    pub fn respond(
        &self,
        request: &Message,
        payload: impl Payload,
        headers: Headers<'_>,
    ) -> Result<PublishReport> {
        self.bus.answer(request.reply_to(), payload, headers, self.who())
    }

    /// [`Bus::reply`] for this caller.
    pub fn reply(&self, inbox: &str, payload: impl Payload, headers: Headers<'_>) -> Result<PublishReport> {
        self.bus.answer(Some(inbox), payload, headers, self.who())
    }

    /// [`Bus::fail_request`] for this caller.
    pub fn fail_request(&self, inbox: &str, error: &Error) -> Result<bool> {
        self.bus.fail_request_for(inbox, error, self.who())
    }

    /// A receiving view of subscription `id`, if this client may reach it
    /// (see the [module docs](self)): `NOT_FOUND` otherwise, and `CLOSED`
    /// for every id once the bus is closed. One that ended
    /// without this client's unsubscribe (a failed request, idle eviction)
    /// is still reachable, ended: receiving gives its end error.
    pub fn subscription(&self, id: SubscriptionId) -> Result<SubscriptionRef> {
        self.bus.reach(id, self.who()).map(|shared| SubscriptionRef { shared })
    }

    /// Ends subscription `id`, if this client may reach it, and forgets
    /// its id, also one that had ended otherwise and still answered with
    /// its end error. Returns whether it was live (`false` also for an id
    /// this client may not reach, and for any id of a closed bus).
    /// Queued messages are counted as dropped and blocked receivers get
    /// `CLOSED`; for a `Dispatch::Thread` subscription this waits for a
    /// running handler to return (unless called from that handler). When it
    /// returns, nothing more can be taken from the queue, even if another
    /// thread was ending the subscription at the same time (then `false`).
    pub fn unsubscribe(&self, id: SubscriptionId) -> Result<bool> {
        self.bus.end_for(id, self.who())
    }
}
