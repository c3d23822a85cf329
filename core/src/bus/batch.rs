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

use super::cache::Hit;
use super::queue::{Offer, Offered};
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
    /// The messages that passed every check, in order, and beside each
    /// where its outcome goes, its size and the subscriptions it reaches.
    messages: Vec<Message>,
    admitted: Vec<Admitted>,
    /// A message some subscription refused: its outcome's place, the first
    /// refusal, and the topic for the error's wording.
    refused: Vec<(usize, Error, Arc<str>)>,
}

struct Admitted {
    index: usize,
    size: usize,
    /// Its topic and subscriptions: one shared route for a cached topic,
    /// so consecutive messages to it make one run.
    route: Hit<Target>,
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
            let message = Message::new(seq, &hit.topic, payload, headers, None);
            let matched = hit.targets.len() as u64;
            batch.results.push(Ok(PublishReport { matched, ..PublishReport::default() }));
            batch.admitted.push(Admitted { index, size: message.size(), route: hit });
            batch.messages.push(message);
        }
        let Ok((_level, inside_handler)) = entered else { return };
        self.deliver_runs(batch, !inside_handler);
        for (index, e, topic) in batch.refused.drain(..) {
            let report = *batch.results[index].as_ref().unwrap_or(&PublishReport::default());
            batch.results[index] = Err(refused_by_some(&e, &topic, &report));
        }
    }

    /// Delivers the admitted messages, run by run of consecutive messages
    /// with the same subscriptions (so the same topic): to each
    /// subscription's queue under one lock (a handler's subscription one
    /// message at a time, as a publish delivers), the last subscription
    /// taking the messages themselves, as a publish's last one does; each
    /// outcome counted into its message's report.
    fn deliver_runs(&self, batch: &mut PublishBatch, may_wait: bool) {
        let PublishBatch { results, messages, admitted, refused } = batch;
        let mut start = 0;
        while start < admitted.len() {
            let route = Arc::clone(&admitted[start].route);
            let len = admitted[start..].iter().take_while(|a| Arc::ptr_eq(&a.route, &route)).count();
            let run = &admitted[start..start + len];
            // The run's messages are the first `len` left in `messages`.
            let topic = &route.topic;
            let mut count = |i: usize, offered: Result<Offered>| {
                let index = run[i].index;
                let Ok(report) = &mut results[index] else { return };
                match offered {
                    Ok(Offered::Accepted) => report.delivered += 1,
                    Ok(Offered::Dropped) => report.dropped += 1,
                    Err(e) => {
                        report.dropped += 1;
                        if !refused.iter().any(|(at, _, _)| *at == index) {
                            refused.push((index, e, Arc::clone(topic)));
                        }
                    }
                }
            };
            if let Some((last, others)) = route.targets.split_last() {
                for target in others {
                    self.end_if_stale(target);
                    let borrowed = messages[..len].iter().zip(run).map(|(m, a)| (m, a.size));
                    offer_run(target, borrowed, may_wait, &mut count);
                }
                self.end_if_stale(last);
                let owned = messages.drain(..len).zip(run).map(|(m, a)| (m, a.size));
                offer_run(last, owned, may_wait, &mut count);
            } else {
                messages.drain(..len);
            }
            start += len;
        }
        admitted.clear();
    }
}

/// Offers a run's messages to one subscription: to its queue under one
/// lock, or one by one to its handler, as a publish delivers one.
fn offer_run<M: Offer>(
    target: &Target,
    messages: impl Iterator<Item = (M, usize)>,
    may_wait: bool,
    count: &mut impl FnMut(usize, Result<Offered>),
) {
    if target.handler.is_none() {
        target.queue.offer_many(messages, &target.options, may_wait, count);
    } else {
        for (i, (message, size)) in messages.enumerate() {
            let mut failed = None;
            let offered = target.deliver(message, size, may_wait, &mut failed);
            count(i, failed.map_or(Ok(offered), Err));
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
