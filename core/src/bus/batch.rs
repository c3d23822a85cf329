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
//!
//! A batch of distinct messages ([`Bus::publish_each`], each with its own
//! topic, payload and headers) exists to cross a subscription's queue
//! once: a bridge importing a burst from the network hands it over with
//! one lock and one wake-up per subscriber instead of one per message.
//! Each message is still a publish of its own, with its own outcome.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::queue::Offered;
use super::{
    dispatch, refused_by_some, Bus, Client, Headers, Message, Payload, PublishReport, SubscriptionRef,
    Target, Who,
};
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

/// What a batch of distinct messages needs while it is published, and each
/// message's outcome afterwards. Kept by the caller from one batch to the
/// next, so that once it has grown a batch allocates nothing of its own.
#[derive(Default)]
pub struct PublishBatch {
    results: Vec<Result<PublishReport>>,
    admitted: Vec<Admitted>,
    tallies: Vec<Tally>,
}

/// A message of the batch that passed every check, ready for delivery.
struct Admitted {
    /// Its position in the batch.
    index: usize,
    message: Message,
    size: usize,
    targets: Arc<[Target]>,
}

/// What the subscriptions did with an admitted message so far.
#[derive(Default)]
struct Tally {
    delivered: u64,
    dropped: u64,
    error: Option<Error>,
}

impl Tally {
    fn count(&mut self, offered: Result<Offered>) {
        match offered {
            Ok(Offered::Accepted) => self.delivered += 1,
            Ok(Offered::Dropped) => self.dropped += 1,
            Err(e) => {
                self.dropped += 1;
                self.error.get_or_insert(e);
            }
        }
    }
}

impl PublishBatch {
    /// An empty batch.
    pub fn new() -> PublishBatch {
        PublishBatch::default()
    }

    /// Each message's outcome in the last [`Bus::publish_each`], in the
    /// order given: what [`Bus::publish`] would have returned for it.
    pub fn results(&self) -> &[Result<PublishReport>] {
        &self.results
    }
}

impl fmt::Debug for PublishBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishBatch").field("results", &self.results).finish()
    }
}

impl Bus {
    /// Publishes each of `messages` (topic, payload, headers), in order,
    /// each as [`publish`](Bus::publish) would: the same checks (topic,
    /// grants and audit record, payload limit, headers), every
    /// subscription's overflow policy, the same counting, and its own
    /// outcome in [`PublishBatch::results`]; a message that fails does not
    /// stop the others. Consecutive messages that reach the same
    /// subscriptions (the same topic) are queued in each of them under one
    /// lock, with one wake-up; every subscription gets its messages in the
    /// batch's order. The batch is one publish for nesting: inside a
    /// handler of this bus, a full `Block` subscription refuses with
    /// `WOULD_BLOCK`, and too deep a nesting refuses every message.
    pub fn publish_each<'a, P: Payload>(
        &self,
        messages: impl IntoIterator<Item = (&'a str, P, Headers<'a>)>,
        batch: &mut PublishBatch,
    ) {
        self.send_each(messages, Who::Anyone, batch)
    }

    fn send_each<'a, P: Payload>(
        &self,
        messages: impl IntoIterator<Item = (&'a str, P, Headers<'a>)>,
        who: Who<'_>,
        batch: &mut PublishBatch,
    ) {
        batch.results.clear();
        let entered = dispatch::enter(self.key());
        for (index, (topic, payload, headers)) in messages.into_iter().enumerate() {
            let may_publish = match &entered {
                Ok(_) => self.admit_publish(topic, payload.as_ref().len(), headers, who),
                Err(e) => {
                    self.inner.depth_exceeded.fetch_add(1, Ordering::Relaxed);
                    Err(e.clone())
                }
            };
            let (route, headers) = match may_publish {
                Ok(admitted) => admitted,
                Err(e) => {
                    batch.results.push(Err(e));
                    continue;
                }
            };
            let payload: Arc<[u8]> = payload.into();
            let hit = self.route(topic, route);
            let seq = self.inner.published.fetch_add(1, Ordering::Relaxed) + 1;
            let message = Message { seq, topic: hit.topic, payload, headers, reply_to: None };
            let matched = hit.targets.len() as u64;
            batch.results.push(Ok(PublishReport { matched, ..PublishReport::default() }));
            batch.admitted.push(Admitted { index, size: message.size(), message, targets: hit.targets });
        }
        let Ok((_level, inside_handler)) = entered else { return };
        self.deliver_runs(batch, !inside_handler);
        for (admitted, tally) in batch.admitted.drain(..).zip(batch.tallies.drain(..)) {
            let result = &mut batch.results[admitted.index];
            let Ok(report) = result else { continue };
            report.delivered = tally.delivered;
            report.dropped = tally.dropped;
            if let Some(e) = tally.error {
                *result = Err(refused_by_some(&e, admitted.message.topic(), &{ *report }));
            }
        }
    }

    /// Delivers the admitted messages, run by run of consecutive messages
    /// with the same subscriptions: to each subscription's queue under one
    /// lock (a handler's subscription one message at a time, as a publish
    /// delivers), counting each message's outcome.
    fn deliver_runs(&self, batch: &mut PublishBatch, may_wait: bool) {
        let PublishBatch { admitted, tallies, .. } = batch;
        tallies.clear();
        tallies.resize_with(admitted.len(), Tally::default);
        let mut start = 0;
        while start < admitted.len() {
            let targets = &admitted[start].targets;
            let len = admitted[start..].iter().take_while(|a| Arc::ptr_eq(&a.targets, targets)).count();
            let (run, tally) = (&admitted[start..start + len], &mut tallies[start..start + len]);
            for target in targets.iter() {
                self.end_if_stale(target);
                if target.handler.is_none() {
                    let messages = run.iter().map(|a| (&a.message, a.size));
                    let count = |i: usize, offered| tally[i].count(offered);
                    target.queue.offer_many(messages, &target.options, may_wait, count);
                } else {
                    for (a, tally) in run.iter().zip(tally.iter_mut()) {
                        tally.count(target.deliver(&a.message, a.size, may_wait));
                    }
                }
            }
            start += len;
        }
    }
}

impl Client {
    /// [`Bus::publish_each`], each message checked against this client's
    /// grants as [`Client::publish`] checks one.
    pub fn publish_each<'a, P: Payload>(
        &self,
        messages: impl IntoIterator<Item = (&'a str, P, Headers<'a>)>,
        batch: &mut PublishBatch,
    ) {
        self.bus().send_each(messages, self.who(), batch)
    }

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
