//! A subscription: a queue to receive from, or a handler's.

use std::sync::{Arc, Mutex, PoisonError};

use charter_core::bus::{self, Polled, SubscriptionId, SubscriptionRef};

use super::types::{MessageData, SubscriptionStats};
use crate::error::Result;
use crate::readiness::Waker;
use crate::time;

/// What ends the subscription when it is closed.
enum Owner {
    /// A queue: the core subscription, closed when this one is (or dropped).
    Pull(bus::Subscription),
    /// A handler's: it lives until it or its bus is closed.
    Handler { id: SubscriptionId, client: bus::Client },
}

/// The outcome of a non-blocking receive for a coroutine.
#[derive(uniffi::Enum)]
pub enum PollOutcome {
    /// A message, taken and counted as delivered.
    Ready {
        /// The message.
        message: MessageData,
    },
    /// Nothing yet: the waker is armed. Poll again after `recheck_nanos`
    /// at the latest, when set (the session's time left).
    Pending {
        /// When to ask again without a wake-up.
        recheck_nanos: Option<i64>,
    },
}

/// A subscription.
#[derive(uniffi::Object)]
pub struct Subscription {
    view: SubscriptionRef,
    owner: Mutex<Option<Owner>>,
}

impl Subscription {
    pub(crate) fn pull(subscription: bus::Subscription) -> Subscription {
        Subscription { view: (*subscription).clone(), owner: Mutex::new(Some(Owner::Pull(subscription))) }
    }

    pub(crate) fn handler(subscription: bus::Subscription, client: bus::Client) -> Subscription {
        let view = (*subscription).clone();
        let id = subscription.detach();
        Subscription { view, owner: Mutex::new(Some(Owner::Handler { id, client })) }
    }
}

#[uniffi::export]
impl Subscription {
    /// The subscription's id.
    pub fn id(&self) -> u64 {
        self.view.id().get()
    }

    /// The pattern it was made with.
    pub fn pattern(&self) -> String {
        self.view.pattern().to_owned()
    }

    /// Waits up to `timeout_nanos` (`None`: no limit) for the next message.
    pub fn recv(&self, timeout_nanos: Option<i64>) -> Result<MessageData> {
        let message = match time::limit(timeout_nanos, "timeout")? {
            None => self.view.recv()?,
            Some(t) => self.view.recv_timeout(t)?,
        };
        Ok((&message).into())
    }

    /// The next message if one is queued.
    pub fn try_recv(&self) -> Result<Option<MessageData>> {
        Ok(self.view.try_recv()?.as_ref().map(MessageData::from))
    }

    /// Takes the next message, or arms `waker` and returns `Pending`.
    pub fn poll_recv(&self, waker: Arc<Waker>) -> Result<PollOutcome> {
        Ok(match self.view.poll_recv(&waker.notify)? {
            Polled::Ready(message) => PollOutcome::Ready { message: (&message).into() },
            Polled::Pending { recheck } => PollOutcome::Pending { recheck_nanos: recheck.map(time::nanos) },
        })
    }

    /// Removes `waker`'s arm (a receiver that gave up); whether it was armed.
    pub fn disarm(&self, waker: Arc<Waker>) -> bool {
        self.view.disarm(&waker.notify)
    }

    /// Whether it has ended.
    pub fn is_closed(&self) -> bool {
        self.view.is_closed()
    }

    /// Its accounting (readable after close).
    pub fn stats(&self) -> SubscriptionStats {
        self.view.stats().into()
    }

    /// Ends it: queued messages are dropped (and counted), blocked
    /// receivers fail with `CLOSED`, a handler is released. Idempotent.
    pub fn end(&self) {
        let owner = self.owner.lock().unwrap_or_else(PoisonError::into_inner).take();
        match owner {
            Some(Owner::Pull(subscription)) => subscription.close(),
            Some(Owner::Handler { id, client }) => {
                let _ = client.unsubscribe(id);
            }
            None => {}
        }
    }
}
