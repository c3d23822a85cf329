//! Batches: many messages published, or received, in one call.
//!
//! A batch exists to cross a boundary once (a C call, a binding's call
//! into Rust) instead of once per message; it adds no rule of its own.
//! Every message of a published batch goes through exactly what
//! [`Bus::publish`] does for one (topic, grants and audit record,
//! payload limit, every subscription's overflow policy, counting), in
//! order, and the batch stops at the first message that fails, so a
//! caller always knows which messages went out: the first `published`.
//! When no subscription can refuse a message, make the publisher wait or
//! run a handler, what cannot differ from one message to the next is done
//! once: a [`Bus::publish_many`] (one topic, one header list) checks the
//! topic, builds the headers and matches the subscriptions with its first
//! message, and queues each subscription's share of up to 64 messages
//! under one lock.
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

use super::cache::{self, Hit};
use super::message::{BodyArc, Bytes, Carry, Copied, Given, HeaderText};
use super::pool;
use super::queue::{Offer, Offered};
use super::words;
use super::{
    dispatch, refused_by_some, Bus, Client, Headers, Message, Overflow, Payload, PublishReport,
    SubscriptionRef, Target, Who,
};
use crate::capability::Action;
use crate::depth::Level;
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
    /// and `dropped` over every message). When every subscription matched
    /// is a queue that drops on overflow, they are matched once, when the
    /// batch starts, and each message is admitted (bus open, grants and
    /// audit record, payload limit) on its own; otherwise each message is
    /// published as by `publish`.
    pub fn publish_many<P: Payload>(
        &self,
        topic: &str,
        payloads: impl IntoIterator<Item = P>,
        headers: Headers<'_>,
    ) -> std::result::Result<PublishReport, BatchError> {
        self.send_many(topic, payloads.into_iter().map(Given), headers, Who::Anyone)
    }

    /// [`publish_many`](Bus::publish_many) of borrowed payloads, each
    /// copied once into its message as [`publish_copied`](Bus::publish_copied)
    /// copies one: a warm batch of payloads of at most 1 KiB allocates
    /// nothing for them.
    pub fn publish_many_copied<'a>(
        &self,
        topic: &str,
        payloads: impl IntoIterator<Item = &'a [u8]>,
        headers: Headers<'_>,
    ) -> std::result::Result<PublishReport, BatchError> {
        self.send_many(topic, payloads.into_iter().map(Copied), headers, Who::Anyone)
    }

    /// One topic and one header list for the whole batch: the first
    /// message checks the topic, builds the headers and matches; when every
    /// subscription matched takes whatever it is offered, the others pass
    /// only the checks that can differ from one message to the next (an
    /// open bus, the caller's authorization, recorded per message on an
    /// audited bus, and the payload's length) and go out in chunks;
    /// otherwise each goes out as a publish.
    fn send_many<'a, C: Carry<'a>>(
        &self,
        topic: &str,
        payloads: impl Iterator<Item = C>,
        headers: Headers<'_>,
        who: Who<'_>,
    ) -> std::result::Result<PublishReport, BatchError> {
        let report = PublishReport::default();
        let mut payloads = payloads.peekable();
        let Some(first) = payloads.peek() else { return Ok(report) };
        let started = self.start_many(topic, first.len(), headers, who).map_err(|error| BatchError {
            published: 0,
            report,
            error,
        })?;
        let hit = &started.hit;
        let run = Run {
            bus: self,
            topic,
            headers,
            text: started.text,
            route: hit,
            who,
            may_wait: started.may_wait,
        };
        if hit.targets.iter().all(never_refuses) {
            run.in_chunks(&hit.topic, payloads)
        } else {
            run.one_by_one(payloads)
        }
    }

    /// The checks of a publish that can differ between two messages of one
    /// topic and one header list, in a publish's order: the bus may close,
    /// a session lapse (and an audited bus records each decision), and each
    /// payload has its own length. The topic's check, its reserved prefix
    /// and the headers' check pass or fail alike for both, so a batch asks
    /// them of the first message only.
    #[inline]
    fn admit_again(&self, topic: &str, payload_len: usize, who: Who<'_>) -> Result<()> {
        self.ensure_open()?;
        self.authorize(who, Action::Publish, topic)?;
        self.inner.limits.check_payload(payload_len)
    }

    /// What a publish checks first, done once for a `publish_many`: its
    /// first message admitted and the subscriptions matched, then the
    /// nesting entered for the whole batch.
    #[inline(never)]
    fn start_many(
        &self,
        topic: &str,
        first_len: usize,
        headers: Headers<'_>,
        who: Who<'_>,
    ) -> Result<Started> {
        let (hit, text) = self.admit_and_route(topic, first_len, headers, who)?;
        let (level, inside_handler) = dispatch::enter(self.key()).inspect_err(|_| {
            self.inner.depth_exceeded.fetch_add(1, Ordering::Relaxed);
        })?;
        Ok(Started { _level: level, may_wait: !inside_handler, hit, text })
    }
}

/// A `publish_many` past its first checks; the batch is one publish for
/// nesting while `_level` lives.
struct Started {
    _level: Level,
    may_wait: bool,
    hit: cache::Hit<Target>,
    text: Option<HeaderText>,
}

/// How many messages of a `publish_many` are admitted, then queued
/// together: they wait on the stack meanwhile, so a batch allocates nothing
/// of its own (the bindings' batches are at most this long).
const CHUNK: usize = 64;

/// A chunk also ends once its payloads reach this many bytes, so that
/// copies of large borrowed payloads do not pile up ahead of the queues
/// (a queue holds at most its `max_bytes`; a chunk adds at most this plus
/// one payload).
const CHUNK_BYTES: usize = 1 << 20;

/// At most how many bodies a `publish_each` run takes from the pool at
/// once: one lock for them instead of one each (callgrind, `budget_loop
/// bus-each-copied 64`: atomic read-modify-writes a message 8.2 -> 5.5,
/// instructions 348 -> 353).
const TAKEN: usize = 16;

/// A subscription that takes every message offered to it without an
/// error and without making the publisher wait: a plain queue that drops
/// a message on overflow. Its share of a batch can be queued at once,
/// since no refusal can stop the batch after the messages it took.
fn never_refuses(target: &Target) -> bool {
    target.handler.is_none() && matches!(target.options.overflow, Overflow::DropOldest | Overflow::DropNewest)
}

/// A `publish_many` under way: what its messages share.
struct Run<'a> {
    bus: &'a Bus,
    topic: &'a str,
    headers: Headers<'a>,
    text: Option<HeaderText>,
    /// The topic and subscriptions the first message matched.
    route: &'a Hit<Target>,
    who: Who<'a>,
    may_wait: bool,
}

impl Run<'_> {
    /// The checks of a publish that the batch's first message did not
    /// answer for the others: the same topic and headers pass or fail
    /// alike, but the bus may close, a session lapse, and each payload has
    /// its own length.
    #[inline]
    fn admit(&self, published: usize, payload_len: usize) -> Result<()> {
        if published > 0 {
            self.bus.admit_again(self.topic, payload_len, self.who)?;
        }
        Ok(())
    }

    /// Every subscription takes whatever it is offered: up to [`CHUNK`]
    /// payloads admitted, numbered together, then queued in each
    /// subscription under one lock with one wake-up.
    fn in_chunks<'a, C: Carry<'a>>(
        &self,
        topic: &Arc<str>,
        mut payloads: impl Iterator<Item = C>,
    ) -> std::result::Result<PublishReport, BatchError> {
        let mut report = PublishReport::default();
        let mut published = 0;
        // Payloads rather than messages: a fifth of the stack to clear.
        let mut chunk: [Option<C::Taken>; CHUNK] = [const { None }; CHUNK];
        let mut more = true;
        while more {
            let (mut len, mut bytes) = (0, 0);
            let mut failed = None;
            while len < CHUNK && bytes < CHUNK_BYTES {
                let Some(payload) = payloads.next() else {
                    more = false;
                    break;
                };
                let payload_len = payload.len();
                if let Err(e) = self.admit(published + len, payload_len) {
                    failed = Some(e);
                    break;
                }
                chunk[len] = Some(payload.taken());
                len += 1;
                bytes += payload_len;
            }
            if len > 0 {
                self.queue_chunk(topic, &mut chunk[..len], &mut report);
            }
            published += len;
            if let Some(error) = failed {
                return Err(BatchError { published, report, error });
            }
        }
        Ok(report)
    }

    /// Numbers a chunk's messages and queues them in every subscription,
    /// the last one taking the payloads themselves.
    fn queue_chunk(&self, topic: &Arc<str>, chunk: &mut [Option<impl Bytes>], report: &mut PublishReport) {
        let len = chunk.len();
        let first = self.bus.inner.published.fetch_add(len as u64, Ordering::Relaxed) + 1;
        report.matched += (self.route.targets.len() * len) as u64;
        let mut count = |_: usize, offered: Result<Offered>| match offered {
            Ok(Offered::Accepted) => report.delivered += 1,
            // A plain queue refuses nothing: `Err` is not offered.
            Ok(Offered::Dropped) | Err(_) => report.dropped += 1,
        };
        let sized = |message: Message| {
            let size = message.size();
            (message, size)
        };
        let Some((last, others)) = self.route.targets.split_last() else { return };
        // Each message made once, shared by every subscription, in bodies
        // taken from the pool together.
        let mut bodies: [Option<BodyArc>; CHUNK] = [const { None }; CHUNK];
        pool::take_many(&mut bodies[..len]);
        // Vacant messages rather than `None`s: a message is one pointer,
        // an `Option` of one a tag and a pointer (see `Message`).
        let mut messages: [Message; CHUNK] = [const { Message::vacant() }; CHUNK];
        let made = messages.iter_mut().zip(chunk.iter_mut()).zip(bodies.iter_mut()).zip(first..);
        for (((slot, payload), body), seq) in made {
            let text = self.text.clone();
            if let Some(p) = payload.take() {
                *slot = match body.take() {
                    Some(kept) => Message::in_body(kept, seq, topic, p, text),
                    None => Message::new(seq, topic, p, text, None),
                };
            }
        }
        let messages = &mut messages[..len];
        for target in others {
            self.bus.end_if_stale(target);
            let shared = messages.iter().filter(|m| !m.is_vacant()).map(|m| (m, m.size()));
            target.queue.offer_many(shared, &target.options, self.may_wait, &mut count);
        }
        self.bus.end_if_stale(last);
        let owned = messages.iter_mut().filter_map(|m| std::mem::replace(m, Message::vacant()).occupied());
        last.queue.offer_many(owned.map(sized), &last.options, self.may_wait, &mut count);
    }

    /// Some subscription may refuse a message, make the publisher wait or
    /// run a handler: each message admitted, matched and delivered before
    /// the next, exactly as a publish does one, so that the batch stops
    /// right after the first message refused (which every other
    /// subscription did get) and a handler that unsubscribes, subscribes
    /// or closes the bus changes what the next message reaches.
    fn one_by_one<'a, C: Carry<'a>>(
        &self,
        payloads: impl Iterator<Item = C>,
    ) -> std::result::Result<PublishReport, BatchError> {
        let mut report = PublishReport::default();
        let mut first = Some(self.text.clone());
        for (published, payload) in payloads.enumerate() {
            let stop = |error| BatchError { published, report, error };
            // The first message was admitted and matched with the batch.
            let (hit, text) = match first.take() {
                Some(text) => (Arc::clone(self.route), text),
                None => self
                    .bus
                    .admit_and_route(self.topic, payload.len(), self.headers, self.who)
                    .map_err(stop)?,
            };
            let seq = self.bus.inner.published.fetch_add(1, Ordering::Relaxed) + 1;
            let message = Message::new(seq, &hit.topic, payload.taken(), text, None);
            let size = message.size();
            let mut one = PublishReport { matched: hit.targets.len() as u64, ..PublishReport::default() };
            // A refusal counts as dropped and leaves its error here, as in
            // a publish.
            let mut first_error = None;
            let mut count = |offered: Offered| match offered {
                Offered::Accepted => one.delivered += 1,
                Offered::Dropped => one.dropped += 1,
            };
            if let Some((last, others)) = hit.targets.split_last() {
                for target in others {
                    self.bus.end_if_stale(target);
                    count(target.deliver(&message, size, self.may_wait, &mut first_error));
                }
                self.bus.end_if_stale(last);
                count(last.deliver(message, size, self.may_wait, &mut first_error));
            }
            if let Some(e) = first_error {
                let error = refused_by_some(&e, self.topic, &one);
                return Err(BatchError { published, report, error });
            }
            report.matched += one.matched;
            report.delivered += one.delivered;
            report.dropped += one.dropped;
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
    /// The messages that passed every check, in order.
    messages: Vec<Message>,
    /// The admitted messages in spans of consecutive ones with the same
    /// subscriptions and side by side outcomes.
    runs: Vec<Span>,
    /// A message some subscription refused: its outcome's place, the first
    /// refusal, and the topic for the error's wording.
    refused: Vec<(usize, Error, Arc<str>)>,
}

/// Consecutive admitted messages with the same subscriptions whose
/// outcomes are consecutive too (no message refused at admission between
/// them): the `n`th is `messages[from + n]` and its outcome
/// `results[at + n]`, so a message needs no entry of its own to find its
/// outcome, and the route is held once for the span rather than by each
/// message.
struct Span {
    at: usize,
    from: usize,
    route: Hit<Target>,
}

impl Span {
    /// A span whose first message is the next one `batch` admits.
    fn new(batch: &PublishBatch, route: Hit<Target>) -> Span {
        Span { at: batch.results.len(), from: batch.messages.len(), route }
    }

    /// Whether the next message `batch` admits may join this span, the
    /// last: no refused message's outcome came after its own.
    fn adjoins(&self, batch: &PublishBatch) -> bool {
        batch.results.len() - self.at == batch.messages.len() - self.from
    }
}

/// A run of a `publish_each` under way: the topic text and header list
/// its first message was admitted with, the bus's generation before that
/// message was matched, its route and its header text.
struct Burst<'a> {
    topic: &'a str,
    headers: Headers<'a>,
    generation: u64,
    route: Hit<Target>,
    text: Option<HeaderText>,
}

/// Keeps a subscription's refusal of the message whose outcome is
/// `results[index]`, unless another subscription refused it first: its
/// outcome becomes that error once the batch is delivered. Out of line:
/// only a `Block` or `Error` subscription refuses.
#[cold]
#[inline(never)]
fn refuse(refused: &mut Vec<(usize, Error, Arc<str>)>, index: usize, e: Error, topic: &Arc<str>) {
    if !refused.iter().any(|(at, _, _)| *at == index) {
        refused.push((index, e, Arc::clone(topic)));
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
    /// batch's order. A message with the same topic text and the same
    /// header list as the one before it, of a run whose first message was
    /// admitted, takes that run's route and header text instead of
    /// matching and checking them again; it is still
    /// admitted on its own (an open bus, the caller's grants and audit
    /// record, its payload's length), so each outcome is the one a publish
    /// would give. A run of such messages is thus matched once, unless a
    /// subscription is made or ended while it is admitted: the next
    /// message is then matched again, as a publish would be. The batch is
    /// one publish for nesting: inside a
    /// handler of this bus, a full `Block` subscription refuses with
    /// `WOULD_BLOCK`, and too deep a nesting refuses every message.
    pub fn publish_each<'a, P: Payload>(
        &self,
        messages: impl IntoIterator<Item = (&'a str, P, Headers<'a>)>,
        batch: &mut PublishBatch,
    ) {
        let messages = messages.into_iter().map(|(topic, payload, headers)| (topic, Given(payload), headers));
        self.send_each(messages, Who::Anyone, batch)
    }

    /// [`publish_each`](Bus::publish_each) of borrowed payloads, each
    /// copied once into its message as [`publish_copied`](Bus::publish_copied)
    /// copies one: a warm batch of payloads of at most 1 KiB allocates
    /// nothing for them (a bridge's imports, whose payloads are the NATS
    /// client's buffers).
    pub fn publish_each_copied<'a, 'p>(
        &self,
        messages: impl IntoIterator<Item = (&'a str, &'p [u8], Headers<'a>)>,
        batch: &mut PublishBatch,
    ) {
        let messages =
            messages.into_iter().map(|(topic, payload, headers)| (topic, Copied(payload), headers));
        self.send_each(messages, Who::Anyone, batch)
    }

    fn send_each<'a, 'p, C: Carry<'p>>(
        &self,
        messages: impl IntoIterator<Item = (&'a str, C, Headers<'a>)>,
        who: Who<'_>,
        batch: &mut PublishBatch,
    ) {
        batch.results.clear();
        let entered = dispatch::enter(self.key());
        // The last header list whose text was built, and the admitted
        // message that holds it: the same headers again (a bridge's imports
        // from one origin carry the same ones) pass the same checks, so
        // their text is shared, not built again.
        let mut last: Option<(Headers<'a>, usize)> = None;
        let mut messages = messages.into_iter();
        let mut next = messages.next();
        while let Some((topic, payload, headers)) = next.take() {
            if let Err(e) = &entered {
                self.inner.depth_exceeded.fetch_add(1, Ordering::Relaxed);
                batch.results.push(Err(e.clone()));
                next = messages.next();
                continue;
            }
            let known = match last {
                Some((seen, at)) if same_headers(seen, headers) => batch.messages[at].header_text().cloned(),
                _ => None,
            };
            let checked = if known.is_some() { &[][..] } else { headers };
            let generation = self.inner.generation.load(Ordering::Acquire);
            let (hit, built) = match self.admit_and_route(topic, payload.len(), checked, who) {
                Ok(admitted) => admitted,
                Err(e) => {
                    batch.results.push(Err(e));
                    next = messages.next();
                    continue;
                }
            };
            if built.is_some() {
                last = Some((headers, batch.messages.len()));
            }
            // The same route as the last span's (the same topic with other
            // headers) continues it, unless a refusal came between.
            if !batch.runs.last().is_some_and(|span| span.adjoins(batch) && Arc::ptr_eq(&span.route, &hit)) {
                batch.runs.push(Span::new(batch, Arc::clone(&hit)));
            }
            let burst = Burst { topic, headers, generation, route: hit, text: known.or(built) };
            next = self.publish_run(payload, &mut messages, burst, who, batch);
        }
        let Ok((_level, inside_handler)) = entered else { return };
        self.deliver_runs(batch, !inside_handler);
        for (index, e, topic) in batch.refused.drain(..) {
            let report = *batch.results[index].as_ref().unwrap_or(&PublishReport::default());
            batch.results[index] = Err(refused_by_some(&e, &topic, &report));
        }
    }

    /// Publishes `first`, admitted and matched (the last span of `batch`
    /// holds its route), then each next message of its run: the same topic
    /// text and header list while no subscription was made or ended (the
    /// same generation as before `first` was matched), whose route the
    /// match cache would give again (a bridge's burst from one subject),
    /// with the same header text. One loop per run, so that what the run's
    /// messages share stays in registers (callgrind, `budget_loop
    /// bus-each-copied 64`: 388 -> 348 instructions a message). Each is still admitted on its own (an open bus,
    /// the caller's grants and audit record, its payload's length), so its
    /// outcome is the one a publish would give. Returns the first message
    /// that does not continue the run, `None` once there are no more.
    fn publish_run<'a, 'p, C: Carry<'p>>(
        &self,
        first: C,
        messages: &mut impl Iterator<Item = (&'a str, C, Headers<'a>)>,
        burst: Burst<'a>,
        who: Who<'_>,
        batch: &mut PublishBatch,
    ) -> Option<(&'a str, C, Headers<'a>)> {
        let Burst { topic, headers, generation, route, text } = burst;
        let PublishBatch { results, messages: admitted, runs, .. } = batch;
        let report = PublishReport { matched: route.targets.len() as u64, ..PublishReport::default() };
        let mut payload = first;
        // Whether the last span's outcomes still end the results: a
        // message of the run refused at admission puts its own outcome
        // after them, and the run's next message opens a span.
        let mut adjoining = true;
        // Bodies taken from the pool under one lock for the run's next
        // messages, `taken` of the `held` used: the first message takes
        // its own, then 2, 4, 8, then `TAKEN` at a time (never more than
        // may follow), so that a short run takes few it gives back.
        let mut bodies: [Option<BodyArc>; TAKEN] = [const { None }; TAKEN];
        let (mut taken, mut held, mut block) = (0, 0, 2);
        let mut first = true;
        // A closure, so that the bodies left go back however the run ends.
        let next = (|| loop {
            if !adjoining {
                runs.push(Span { at: results.len(), from: admitted.len(), route: Arc::clone(&route) });
                adjoining = true;
            }
            let seq = self.inner.published.fetch_add(1, Ordering::Relaxed) + 1;
            let body = if first {
                first = false;
                None
            } else {
                if taken == held {
                    held = (messages.size_hint().0 + 1).min(block);
                    block = (2 * block).min(TAKEN);
                    pool::take_many(&mut bodies[..held]);
                    taken = 0;
                }
                taken += 1;
                bodies[taken - 1].take()
            };
            admitted.push(match body {
                Some(kept) => Message::in_body(kept, seq, &route.topic, payload.taken(), text.clone()),
                None => Message::new(seq, &route.topic, payload.taken(), text.clone(), None),
            });
            results.push(Ok(report));
            payload = loop {
                let next = messages.next()?;
                let continues = same_text(topic, next.0)
                    && same_headers(headers, next.2)
                    && self.inner.generation.load(Ordering::Acquire) == generation;
                if !continues {
                    return Some(next);
                }
                match self.admit_again(topic, next.1.len(), who) {
                    Ok(()) => break next.1,
                    Err(e) => {
                        results.push(Err(e));
                        adjoining = false;
                    }
                }
            };
        })();
        if taken < held {
            pool::give_back_many(&mut bodies[taken..held]);
        }
        next
    }

    /// Delivers the admitted messages, span by span of consecutive messages
    /// with the same subscriptions (so the same topic): to each
    /// subscription's queue under one lock (a handler's subscription one
    /// message at a time, as a publish delivers), the last subscription
    /// taking the messages themselves, as a publish's last one does; each
    /// outcome counted into its message's report.
    fn deliver_runs(&self, batch: &mut PublishBatch, may_wait: bool) {
        let PublishBatch { results, messages, runs, refused } = batch;
        let admitted = messages.len();
        for (i, span) in runs.iter().enumerate() {
            let end = runs.get(i + 1).map_or(admitted, |next| next.from);
            let len = end - span.from;
            // The span's messages are the first `len` left in `messages`,
            // and their outcomes the `len` from `span.at`, side by side.
            let reports = &mut results[span.at..span.at + len];
            // Small enough to be inlined into the queue's loop; a refusal
            // goes out of line (`budget_loop bus-each-copied 64`: 440 -> 388
            // with the spans).
            let mut count = |i: usize, offered: Result<Offered>| {
                let Some(Ok(report)) = reports.get_mut(i) else { return };
                match offered {
                    Ok(Offered::Accepted) => report.delivered += 1,
                    Ok(Offered::Dropped) => report.dropped += 1,
                    Err(e) => {
                        report.dropped += 1;
                        refuse(refused, span.at + i, e, &span.route.topic);
                    }
                }
            };
            if let Some((last, others)) = span.route.targets.split_last() {
                for target in others {
                    self.end_if_stale(target);
                    let borrowed = messages[..len].iter().map(|m| (m, m.size()));
                    offer_run(target, borrowed, may_wait, &mut count);
                }
                self.end_if_stale(last);
                let owned = messages.drain(..len).map(|m| {
                    let size = m.size();
                    (m, size)
                });
                offer_run(last, owned, may_wait, &mut count);
            } else {
                messages.drain(..len);
            }
        }
        runs.clear();
    }
}

/// Whether two header lists are the same, names and values in order; a
/// name or value that is the very same text (the same place and length,
/// as a bridge's own headers are) is not compared byte by byte.
#[inline]
fn same_headers(a: Headers<'_>, b: Headers<'_>) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|((n, v), (m, w))| same_text(n, m) && same_text(v, w))
}

/// Whether two texts are equal: the very same text (the same place and
/// length) without comparing its bytes, else by the match cache's word
/// loads (a bridge's burst names its subject in a string per message; the
/// library's `memcmp` call costs more than a short topic's compare).
#[inline]
fn same_text(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || words::same(a.as_bytes(), b.as_bytes())
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
        let messages = messages.into_iter().map(|(topic, payload, headers)| (topic, Given(payload), headers));
        self.bus().send_each(messages, self.who(), batch)
    }

    /// [`Bus::publish_each_copied`], each message checked against this
    /// client's grants as [`Client::publish`] checks one.
    pub fn publish_each_copied<'a, 'p>(
        &self,
        messages: impl IntoIterator<Item = (&'a str, &'p [u8], Headers<'a>)>,
        batch: &mut PublishBatch,
    ) {
        let messages =
            messages.into_iter().map(|(topic, payload, headers)| (topic, Copied(payload), headers));
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
        self.bus().send_many(topic, payloads.into_iter().map(Given), headers, self.who())
    }

    /// [`Bus::publish_many_copied`], each message checked against this
    /// client's grants as [`Client::publish`] checks one.
    pub fn publish_many_copied<'a>(
        &self,
        topic: &str,
        payloads: impl IntoIterator<Item = &'a [u8]>,
        headers: Headers<'_>,
    ) -> std::result::Result<PublishReport, BatchError> {
        self.bus().send_many(topic, payloads.into_iter().map(Copied), headers, self.who())
    }
}

impl Message {
    /// Drops every message of `messages`, leaving it empty with its
    /// capacity, as dropping them one by one would; the bodies whose last
    /// references they were go back to the pool under one lock for every
    /// 64 instead of one each. For a receiver done with a batch at once (a
    /// binding that has copied it out).
    pub fn drop_all(messages: &mut Vec<Message>) {
        let mut bodies: [Option<BodyArc>; CHUNK] = [const { None }; CHUNK];
        let mut drained = messages.drain(..);
        loop {
            let mut len = 0;
            for message in drained.by_ref() {
                if let Some(body) = message.into_body() {
                    bodies[len] = Some(body);
                    len += 1;
                    if len == CHUNK {
                        break;
                    }
                }
            }
            if len == 0 {
                return;
            }
            pool::give_back_many(&mut bodies[..len]);
            // Bodies the pool had no room for are freed here, outside its lock.
            bodies[..len].fill(None);
        }
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

    /// [`try_recv_many_into`](Self::try_recv_many_into), stopping before
    /// the first message `fits` refuses, which stays queued for the next
    /// receive: how a receiver that copies a batch into a buffer of its
    /// own (the C ABI's `charter_client_recv_into`) takes only what fits.
    /// 0 on an empty queue and when the first message is refused (`fits`
    /// saw it, so its caller can tell the two apart). `fits` runs under
    /// the subscription's lock: it must be quick and must not call the bus.
    pub fn try_recv_many_while(
        &self,
        out: &mut Vec<Message>,
        max: usize,
        fits: impl FnMut(&Message) -> bool,
    ) -> Result<usize> {
        if max == 0 {
            return Err(Error::new(ErrorKind::InvalidArgument, "try_recv_many needs a max of at least 1"));
        }
        self.pull()?;
        self.shared.end_if_lapsed();
        self.shared.queue.take_queued_while(out, max, fits)
    }
}
