//! Batches: many messages published, or received, in one call.
//!
//! A batch exists to cross a boundary once (a C call, a binding's call
//! into Rust) instead of once per message; it adds no rule of its own.
//! Every message of a published batch goes through exactly what
//! [`Bus::publish`] does for one (topic, grants and audit record,
//! payload limit, every subscription's overflow policy, counting), in
//! order, and the batch stops at the first message that fails, so a
//! caller always knows which messages went out: the first `published`.
//! A received batch is what a receive returns, followed by whatever else
//! was already queued, up to `max`, taken under one lock.

use std::fmt;
use std::time::Duration;

use super::{Bus, Client, Headers, Message, Payload, PublishReport, SubscriptionRef, Who};
use crate::{Error, ErrorKind, Result};

/// Why a batch publish stopped: the error of the first message that
/// failed, and what the messages before it did.
#[derive(Clone, Debug)]
pub struct BatchError {
    /// How many messages, from the start of the batch, were published
    /// before the one that failed.
    pub published: usize,
    /// Those messages' reports, added up.
    pub report: PublishReport,
    /// The failing message's error, as [`Bus::publish`] gives it (a
    /// subscription's overflow policy refusing it means that the other
    /// subscriptions did get that message).
    pub error: Error,
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (message {} of the batch; those before it were published)", self.error, self.published)
    }
}

impl std::error::Error for BatchError {}

impl From<BatchError> for Error {
    fn from(e: BatchError) -> Error {
        Error::new(
            e.error.kind(),
            format!(
                "{} (message {} of the batch; those before it were published)",
                e.error.message(),
                e.published
            ),
        )
    }
}

impl Bus {
    /// Publishes each of `payloads` on `topic` with `headers`, in order,
    /// as [`publish`](Bus::publish) would one by one; stops at the first
    /// that fails. Returns the reports added up (`matched`, `delivered`
    /// and `dropped` over every message).
    pub fn publish_many<P: Payload>(
        &self,
        topic: &str,
        payloads: impl IntoIterator<Item = P>,
        headers: Headers<'_>,
    ) -> std::result::Result<PublishReport, BatchError> {
        self.send_many(topic, payloads, headers, Who::Anyone)
    }

    fn send_many<P: Payload>(
        &self,
        topic: &str,
        payloads: impl IntoIterator<Item = P>,
        headers: Headers<'_>,
        who: Who<'_>,
    ) -> std::result::Result<PublishReport, BatchError> {
        let mut report = PublishReport::default();
        for (published, payload) in payloads.into_iter().enumerate() {
            match self.send(topic, payload, headers, None, who) {
                Ok(one) => {
                    report.matched += one.matched;
                    report.delivered += one.delivered;
                    report.dropped += one.dropped;
                }
                Err(error) => return Err(BatchError { published, report, error }),
            }
        }
        Ok(report)
    }
}

impl Client {
    /// [`Bus::publish_many`], each message checked against this client's
    /// grants as [`Client::publish`] checks one.
    pub fn publish_many<P: Payload>(
        &self,
        topic: &str,
        payloads: impl IntoIterator<Item = P>,
        headers: Headers<'_>,
    ) -> std::result::Result<PublishReport, BatchError> {
        self.bus().send_many(topic, payloads, headers, self.who())
    }
}

impl SubscriptionRef {
    /// Waits up to `timeout` (forever when `None`) for the next message,
    /// as [`recv_timeout`](Self::recv_timeout) and [`recv`](Self::recv)
    /// do, then takes, without waiting, the messages queued behind it, up
    /// to `max` in all. Fails as those do when no message comes (a zero
    /// timeout gives `WOULD_BLOCK` on an empty queue); a `max` of 0 is
    /// `INVALID_ARGUMENT`.
    pub fn recv_many(&self, max: usize, timeout: Option<Duration>) -> Result<Vec<Message>> {
        let mut out = Vec::new();
        self.recv_many_into(&mut out, max, timeout)?;
        Ok(out)
    }

    /// [`recv_many`](Self::recv_many) appending to `out`, so a receiver
    /// that reuses its vector allocates nothing once it has grown. Returns
    /// how many messages were appended.
    pub fn recv_many_into(
        &self,
        out: &mut Vec<Message>,
        max: usize,
        timeout: Option<Duration>,
    ) -> Result<usize> {
        if max == 0 {
            return Err(Error::new(ErrorKind::InvalidArgument, "recv_many needs a max of at least 1"));
        }
        let first = match timeout {
            None => self.recv()?,
            Some(timeout) => self.recv_timeout(timeout)?,
        };
        out.push(first);
        Ok(1 + self.shared.queue.take_queued(out, max - 1))
    }

    /// Takes, without waiting, up to `max` queued messages, appending them
    /// to `out`; 0 on an empty queue (no error built: a consumer that
    /// drains after every wake-up ends each round on an empty queue). Fails
    /// as [`try_recv`](Self::try_recv) does once the subscription has
    /// ended; a `max` of 0 is `INVALID_ARGUMENT`.
    // Inline: built where it is used (the bridge), so the core's own code
    // generation, which the bus's instruction budgets measure, is left as
    // it was (built in the core, it moved `publish among 10,000
    // subscriptions` from 493 to 497 instructions).
    #[inline]
    pub fn try_recv_many_into(&self, out: &mut Vec<Message>, max: usize) -> Result<usize> {
        if max == 0 {
            return Err(Error::new(ErrorKind::InvalidArgument, "try_recv_many needs a max of at least 1"));
        }
        let Some(first) = self.try_recv()? else { return Ok(0) };
        out.push(first);
        Ok(1 + self.shared.queue.take_queued(out, max - 1))
    }
}
