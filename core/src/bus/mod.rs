//! The topic bus: NATS-style topics and wildcards, bounded queues with
//! explicit overflow policies, request/reply, exact accounting.
//!
//! # Design
//!
//! Subscriptions live in a token trie ([`index`]) under a read-write lock,
//! stamped with a generation that every subscribe and unsubscribe bumps
//! before it clears the match cache.
//! A publish looks its topic up in a sharded match cache ([`cache`]); on a
//! hit it never touches the trie, and a warm publish allocates nothing.
//! The message (topic, payload, headers) is built once, in a reusable body
//! from a pool ([`pool`]), and each matching subscription's queue holds one
//! reference to it. A topic whose every subscription runs its handler
//! inline reuses one message kept by its cached route instead
//! ([`dispatch::Spare`]): nothing queues it, so it serves the next publish. Each subscription has its own bounded queue
//! ([`queue`]) whose one lock also guards its counters, so
//! `received == delivered + dropped + queued` holds exactly at every
//! instant. No lock of the bus is held while a handler runs, so handlers
//! may publish, subscribe and unsubscribe (themselves included).
//!
//! Ordering is FIFO per publisher and per subscriber; each message carries
//! a bus-wide sequence number.
//!
//! ```
//! use charter_core::bus::{Bus, BusLimits, SubscribeOptions};
//!
//! let bus = Bus::new(BusLimits::default()).unwrap();
//! let orders = bus.subscribe("orders.*.created", SubscribeOptions::new()).unwrap();
//! let report = bus.publish("orders.eu.created", &b"order 17"[..], &[("trace", "abc")]).unwrap();
//! assert_eq!((report.matched, report.delivered), (1, 1));
//! let message = orders.try_recv().unwrap().unwrap();
//! assert_eq!(message.payload(), b"order 17");
//! assert_eq!(message.header("trace"), Some("abc"));
//! ```

mod batch;
mod cache;
mod client;
mod dispatch;
mod ended;
mod fifo;
mod hashed;
mod header_text;
mod index;
mod interrupt;
mod message;
mod options;
mod pool;
mod queue;
mod readiness;
mod spin;
mod stats;
mod subscription;
pub mod topic;
mod words;

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, Weak};
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};

use crate::audit::Recorder;
use crate::background::Background;
use crate::capability::{Action, Authority, Dependent, Session};
use crate::{quote, Error, ErrorKind, HandlerResult, Result};
use cache::MatchCache;
use dispatch::Spare;
use ended::Ended;
use index::Index;
use message::{Bytes, Carry, Copied, Given, Taken};
use queue::{Offered, Queue};
use subscription::Shared;
use topic::Kind;

pub use batch::{BatchError, PublishBatch};
pub use client::Client;
pub use dispatch::MAX_NESTING;
pub use interrupt::{interruptible, INTERRUPT_CHECK};
pub use message::{Message, COPY_KEEP};
pub use options::{BusLimits, Dispatch, Overflow, SubscribeOptions};
pub use readiness::{Cancel, Notify, Polled};
pub use stats::{BusStats, Drops, PublishReport, SubscriptionStats};
pub use subscription::{Subscription, SubscriptionId, SubscriptionRef};

type Target = Arc<Shared>;

/// The error of a request that got no reply within `timeout`: the one
/// wording for every way of waiting for a reply (blocking here, or on an
/// event loop through [`request_start`](Bus::request_start) and
/// [`SubscriptionRef::poll_recv`]).
pub fn no_reply(topic: &str, timeout: Duration) -> Error {
    Error::new(ErrorKind::Timeout, format!("no reply to {} within {} ms", quote(topic), timeout.as_millis()))
}

/// How long a request waits for its reply when the caller names no time:
/// decided here once, so that every binding's omitted timeout means the
/// same wait.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Every check of a publish before anything is copied or delivered, in
/// this order: an open bus, a valid topic that the library does not
/// reserve (both made while routing: a cached route is of neither, see
/// [`Bus::fresh_route`]), then here, once routed, the caller's
/// authorization (recorded when the bus audits), the payload's length and
/// the headers, built into the message's header text, bound to the name
/// after `=>`; a failed check returns its error from the calling
/// function. One place for a single publish and each message of a batch
/// ([`Bus::admit_and_route`]); a macro because a function returning both,
/// even inlined, cost a single publish 2% to 4% more instructions
/// (benches/budgets.toml).
macro_rules! admit_publish {
    ($bus:ident, $topic:ident, $payload_len:expr, $headers:ident, $who:ident => $text:ident) => {
        let limits = &$bus.inner.limits;
        $bus.authorize($who, Action::Publish, $topic)?;
        limits.check_payload($payload_len)?;
        // Most publishes have no headers: decided here without a call.
        let $text = if $headers.is_empty() { None } else { message::HeaderText::build($headers, limits)? };
    };
}

/// A topic bus. Cloning it is cheap and gives another handle to the same
/// bus; every handle may be used from any thread.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    limits: BusLimits,
    index: RwLock<Index<Target>>,
    /// Bumped by every change of the index, which then clears the match
    /// cache; a route is cached only at the generation it was computed at.
    generation: AtomicU64,
    cache: MatchCache<Target>,
    subscriptions: Mutex<HashMap<u64, Target>>,
    /// Subscriptions that ended but whose ids still answer (see [`ended`]).
    /// Locked after `subscriptions` when both are.
    ended: Mutex<Ended>,
    random: SystemRandom,
    published: AtomicU64,
    closed: AtomicBool,
    retired: Arc<Mutex<SubscriptionStats>>,
    /// When set, every publish, subscribe and request needs a session of
    /// this authority with a matching grant.
    authority: Option<Authority>,
    denied: AtomicU64,
    depth_exceeded: AtomicU64,
    /// When set, authorization decisions are recorded in its audit log.
    /// Closing the bus drops it, so the log's last clone (and with it the
    /// file lock) goes when the log is closed, not when every handle to
    /// the bus has been collected.
    recorder: Mutex<Option<Recorder>>,
    /// Whether the bus was built with a recorder: an unaudited bus never
    /// takes the lock above.
    audited: bool,
}

/// Who is asking, for authorization.
#[derive(Clone, Copy)]
enum Who<'a> {
    /// A caller without a session: fine on an open bus only.
    Anyone,
    /// The holder of a session.
    Holder(&'a Session),
    /// The library itself (reply inboxes and replies).
    Library,
}

/// A header list as given to `publish`.
pub type Headers<'a> = &'a [(&'a str, &'a str)];

/// A payload as given to `publish`: bytes the bus can measure before it
/// takes (and, for a borrowed slice, copies) them, so a payload over the
/// limit is refused without a copy. `&[u8]`, `Vec<u8>`, `Box<[u8]>` and
/// `Arc<[u8]>` (shared, never copied) all qualify.
pub trait Payload: Into<Arc<[u8]>> + AsRef<[u8]> {}

impl<P: Into<Arc<[u8]>> + AsRef<[u8]>> Payload for P {}

impl Bus {
    /// A new bus with `limits`.
    pub fn new(limits: BusLimits) -> Result<Bus> {
        Bus::build(limits, None, None)
    }

    /// A new bus on which every publish, subscribe and request needs a
    /// session opened by `authority` whose grants cover it (see
    /// [`Bus::with_session`]). Refusals fail with `DENIED` and are counted.
    pub fn with_authority(limits: BusLimits, authority: Authority) -> Result<Bus> {
        Bus::build(limits, Some(authority), None)
    }

    /// A new bus, enforcing `authority` when given one, that records its
    /// authorization decisions (publish, subscribe and request; those the
    /// library makes for itself, such as reply inboxes, are not decisions)
    /// in `recorder`'s log: actor = the session's principal (none for a
    /// caller without a session), action, resource = the topic or pattern.
    /// An allowed operation whose record cannot be written fails with the
    /// log's error (see [`Recorder`]).
    pub fn with_recorder(limits: BusLimits, authority: Option<Authority>, recorder: Recorder) -> Result<Bus> {
        Bus::build(limits, authority, Some(recorder))
    }

    /// The bus as seen by the holder of `session`: the same operations,
    /// each checked against the session's grants. Same as
    /// `client(Some(session))`.
    pub fn with_session(&self, session: &Session) -> Client {
        self.client(Some(session))
    }

    /// The bus as seen by one caller: the holder of `session`, or, with
    /// `None`, a caller without one (refused everything on a bus that
    /// enforces an authority). Hand a component a client, not the bus:
    /// a client can publish, subscribe, request, answer, and reach by id
    /// only the subscriptions made through a client of the same session,
    /// and cannot close the bus.
    pub fn client(&self, session: Option<&Session>) -> Client {
        Client::new(self.clone(), session.cloned())
    }

    fn build(limits: BusLimits, authority: Option<Authority>, recorder: Option<Recorder>) -> Result<Bus> {
        limits.validate()?;
        let ended = Mutex::new(Ended::new(limits.max_subscriptions));
        Ok(Bus {
            inner: Arc::new(Inner {
                limits,
                index: RwLock::new(Index::new()),
                generation: AtomicU64::new(0),
                cache: MatchCache::new(),
                subscriptions: Mutex::new(HashMap::new()),
                ended,
                random: SystemRandom::new(),
                published: AtomicU64::new(0),
                closed: AtomicBool::new(false),
                retired: Arc::default(),
                authority,
                denied: AtomicU64::new(0),
                depth_exceeded: AtomicU64::new(0),
                audited: recorder.is_some(),
                recorder: Mutex::new(recorder),
            }),
        })
    }

    /// The bus's limits.
    pub fn limits(&self) -> &BusLimits {
        &self.inner.limits
    }

    /// Subscribes to `pattern` with a queue read by [`SubscriptionRef::recv`].
    pub fn subscribe(&self, pattern: &str, options: SubscribeOptions) -> Result<Subscription> {
        self.add(pattern, options, None, Who::Anyone, None)
    }

    /// Subscribes to `pattern` with a handler, run on the publisher's thread
    /// or on a thread of the subscription's own ([`Dispatch`]). A handler
    /// that fails or panics is counted and never affects the publisher.
    pub fn subscribe_with<F>(
        &self,
        pattern: &str,
        options: SubscribeOptions,
        handler: F,
    ) -> Result<Subscription>
    where
        F: Fn(&Message) -> HandlerResult + Send + Sync + 'static,
    {
        self.add(pattern, options, Some(Arc::new(handler)), Who::Anyone, None)
    }

    /// Ends subscription `id`, made without a session; see
    /// [`Client::unsubscribe`]. On a bus that enforces an authority this
    /// is refused with `DENIED`: end a subscription through the client
    /// that made it. On a closed bus it returns `false`.
    pub fn unsubscribe(&self, id: SubscriptionId) -> Result<bool> {
        self.end_for(id, Who::Anyone)
    }

    /// A receiving view of subscription `id`, made without a session; see
    /// [`Client::subscription`]. On a bus that enforces an authority this
    /// is refused with `DENIED`; on a closed bus, every id is `CLOSED`.
    pub fn subscription(&self, id: SubscriptionId) -> Result<SubscriptionRef> {
        self.reach(id, Who::Anyone).map(|shared| SubscriptionRef { shared })
    }

    /// Subscription `id` if `who` may reach it: `CLOSED` for every id once
    /// the bus is closed, `DENIED` for a caller without a session on an
    /// enforcing bus (counted in `denied`), the session's own error once it
    /// has ended, and `NOT_FOUND` for an id that is unknown, unsubscribed,
    /// or belongs to another caller (a subscription made through a client
    /// is reachable only through a client of the same session; one made
    /// without a session, only without one). A subscription that ended
    /// otherwise (a failed request, idle eviction) is still found, ended:
    /// receiving from it gives its end error (see [`ended`]).
    ///
    /// Closing forgets every id, live or ended; the bus's one flag answers
    /// for all of them, in the words of every other call on a closed bus,
    /// so a caller that goes by id (the C ABI, Go) learns why its
    /// subscription ended without the bus keeping an entry per id.
    fn reach(&self, id: SubscriptionId, who: Who<'_>) -> Result<Target> {
        self.ensure_open()?;
        self.lookup(id, who)
    }

    /// [`reach`](Self::reach) without the open check first: a subscription
    /// a close has not yet ended is still found.
    fn lookup(&self, id: SubscriptionId, who: Who<'_>) -> Result<Target> {
        self.admit(who)?;
        // Moved from the live table to the ended one under the first lock,
        // so looking in this order never misses a subscription that ends.
        let found = self.lock_subscriptions().get(&id.0).cloned();
        let found = found.or_else(|| self.lock_ended().get(id.0).cloned());
        let owned = |shared: &Target| match (&shared.session, who) {
            (None, Who::Anyone) => true,
            (Some(owner), Who::Holder(session)) => owner.same_as(session),
            _ => false,
        };
        match found {
            Some(shared) if owned(&shared) => Ok(shared),
            // A close that began after the check above sets the flag before
            // it empties the tables: a miss it caused sees the flag here.
            _ if self.is_closed() => Err(bus_closed()),
            _ => Err(Error::new(
                ErrorKind::NotFound,
                format!("no subscription {} on this bus for this caller", id.0),
            )),
        }
    }

    /// Finds subscription `id` as [`reach`](Self::reach) does, then ends it
    /// and forgets its id. Returns whether it was live: `false` for an id
    /// the caller cannot reach, and for any id the close has ended, so an
    /// unsubscribe stays idempotent. A close still under way does not stop
    /// it: it ends a subscription the close has not reached yet at once (a
    /// thread handler's worker that ends its own subscription as its bus
    /// closes must take no further message while the close works through
    /// the others).
    fn end_for(&self, id: SubscriptionId, who: Who<'_>) -> Result<bool> {
        match self.lookup(id, who) {
            Ok(shared) => Ok(self.remove(shared.id, None)),
            Err(_) if self.is_closed() => Ok(false),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Refuses `who` any call on an enforcing bus without a session of its
    /// authority, and any call once the caller's session has ended.
    /// Refusals are counted in `denied`.
    fn admit(&self, who: Who<'_>) -> Result<()> {
        let verdict = match (who, &self.inner.authority) {
            (Who::Library, _) | (Who::Anyone, None) => return Ok(()),
            (Who::Anyone, Some(_)) => {
                Err(Error::new(ErrorKind::Denied, "this bus requires a session: use a client made with one"))
            }
            (Who::Holder(session), Some(authority)) if !session.opened_by(authority) => Err(Error::new(
                ErrorKind::Denied,
                "the session was opened by another authority than this bus's",
            )),
            (Who::Holder(session), _) => session.ensure_active(),
        };
        if verdict.is_err() {
            self.inner.denied.fetch_add(1, Ordering::Relaxed);
        }
        verdict
    }

    /// Ends subscription `id` for its owner (`why` given when its session
    /// ended) and forgets its id, also when it had ended already. Returns
    /// whether it was live. Queued messages are counted as dropped and
    /// blocked receivers get `CLOSED` (or `why`); for a `Dispatch::Thread`
    /// subscription this waits for a running handler to return (unless
    /// called from that handler).
    ///
    /// A session's end forgets the id too: every later call of the
    /// session's holder fails with the session's error before any lookup
    /// ([`admit`](Self::admit)), so an entry kept for it would answer
    /// nobody and could never be unsubscribed.
    ///
    /// Its queue closes before it leaves the map (outside the lock: closing
    /// fires notifies). So a call that finds it gone, because another
    /// thread is ending it, returns with nothing left to take from it: a
    /// handler's own thread that ends its subscription while the program
    /// does takes no further message.
    pub(crate) fn remove(&self, id: SubscriptionId, why: Option<&Error>) -> bool {
        self.end(id, why, false)
    }

    /// Ends subscription `id` without its owner (idle eviction: `why` is
    /// `None`; a failed request: its error), keeping its id reachable, as
    /// ended, until its owner unsubscribes it. Returns whether it was live.
    fn end_kept(&self, id: SubscriptionId, why: Option<&Error>) -> bool {
        self.end(id, why, true)
    }

    /// [`remove`](Self::remove) or [`end_kept`](Self::end_kept). When the
    /// two race, the owner's forgetting wins, whichever moves first.
    fn end(&self, id: SubscriptionId, why: Option<&Error>, keep: bool) -> bool {
        let Some(shared) = self.lock_subscriptions().get(&id.0).cloned() else {
            if !keep {
                self.forget(id);
            }
            return false;
        };
        // Whether it was live is decided here: a receiver may see the end
        // (and its owner unsubscribe) before it leaves the map below.
        let live = shared.queue.close(why);
        let forgotten = {
            let mut subscriptions = self.lock_subscriptions();
            if !subscriptions.get(&id.0).is_some_and(|s| Arc::ptr_eq(s, &shared)) {
                // Another call took it out of the map; which of the two
                // ended it was decided by the close above.
                drop(subscriptions);
                if !keep {
                    self.forget(id);
                }
                return live;
            }
            subscriptions.remove(&id.0);
            // Moved under the first lock: `reach` never misses it.
            keep.then(|| self.lock_ended().keep(Arc::clone(&shared))).flatten()
        };
        drop(forgotten);
        self.unindex(&shared);
        shared.shut_down(why);
        live
    }

    /// Forgets the ended subscription `id`, if it was kept. Its last
    /// reference may go here, so outside every lock.
    fn forget(&self, id: SubscriptionId) {
        let gone = self.lock_ended().forget(id.0);
        drop(gone);
    }

    /// How many subscriptions are live.
    pub fn subscription_count(&self) -> usize {
        self.lock_subscriptions().len()
    }

    /// Publishes `payload` with `headers` on `topic` to every matching
    /// subscription. The payload is shared, never copied per subscriber
    /// (pass an `Arc<[u8]>` to avoid even the one copy).
    ///
    /// Fails before delivering anything on a bad topic, payload or headers,
    /// or a closed bus. A subscription whose overflow policy refuses the
    /// message (`Error`, or `Block` out of time) is counted as dropped and
    /// makes the call fail with `LIMIT_EXCEEDED`, `TIMEOUT` or
    /// `WOULD_BLOCK` after every other subscription has had the message.
    pub fn publish(&self, topic: &str, payload: impl Payload, headers: Headers<'_>) -> Result<PublishReport> {
        self.send(topic, Given(payload), headers, None, Who::Anyone)
    }

    /// [`publish`](Bus::publish) of borrowed bytes, copied once into the
    /// message: a payload of at most 1 KiB into a buffer its pooled body
    /// keeps, so a warm publish of a small copied payload allocates
    /// nothing (a longer one is copied into a buffer of its own). For
    /// callers that lend bytes they keep (the C ABI, the bindings); the
    /// message's [`Message::shared_payload`] then copies them again.
    pub fn publish_copied(&self, topic: &str, payload: &[u8], headers: Headers<'_>) -> Result<PublishReport> {
        self.send(topic, Copied(payload), headers, None, Who::Anyone)
    }

    /// Publishes a request on `topic` and waits up to `timeout` for the
    /// first reply. Fails with `NOT_FOUND` at once when nothing subscribes
    /// to the topic, and with `TIMEOUT` when no reply comes.
    pub fn request(
        &self,
        topic: &str,
        payload: impl Payload,
        headers: Headers<'_>,
        timeout: Duration,
    ) -> Result<Message> {
        self.ask(topic, payload, headers, timeout, Who::Anyone)
    }

    fn key(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    fn ask(
        &self,
        topic: &str,
        payload: impl Payload,
        headers: Headers<'_>,
        timeout: Duration,
        who: Who<'_>,
    ) -> Result<Message> {
        let replies = self.start_request(topic, payload, headers, who)?;
        replies.recv_timeout(timeout).map_err(|e| match e.kind() {
            ErrorKind::Timeout | ErrorKind::WouldBlock => no_reply(topic, timeout),
            _ => e,
        })
    }

    /// Publishes a request on `topic` and returns the subscription its reply
    /// will arrive on, without waiting. Receive from it with any of the
    /// receive calls (a wait that is cancelled consumes nothing, so a caller
    /// can wait in slices and give up when it likes); dropping it abandons
    /// the request. Fails with `NOT_FOUND` when nothing subscribes to `topic`.
    pub fn request_start(
        &self,
        topic: &str,
        payload: impl Payload,
        headers: Headers<'_>,
    ) -> Result<Subscription> {
        self.start_request(topic, payload, headers, Who::Anyone)
    }

    fn start_request(
        &self,
        topic: &str,
        payload: impl Payload,
        headers: Headers<'_>,
        who: Who<'_>,
    ) -> Result<Subscription> {
        self.authorize(who, Action::Request, topic)?;
        let inbox = self.new_inbox()?;
        let options = SubscribeOptions::new().capacity(1).overflow(Overflow::DropNewest);
        let owner = match who {
            Who::Holder(session) => Some(session),
            Who::Anyone | Who::Library => None,
        };
        let replies = self.add(&inbox, options, None, Who::Library, owner)?;
        let report =
            self.send(topic, Given(payload), headers, Some(Arc::from(inbox.as_str())), Who::Library)?;
        if report.matched == 0 {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("no subscriber for {} to answer the request", quote(topic)),
            ));
        }
        Ok(replies)
    }

    /// Answers `request` (a message received with a reply inbox). A reply
    /// needs no grant (knowing the inbox is what allows it), but on a bus
    /// that enforces an authority it needs a live session: answer through
    /// a client ([`Client::respond`]).
    pub fn respond(
        &self,
        request: &Message,
        payload: impl Payload,
        headers: Headers<'_>,
    ) -> Result<PublishReport> {
        self.answer(request.reply_to(), payload, headers, Who::Anyone)
    }

    /// Answers the request whose reply inbox is `inbox` (for callers that
    /// kept only [`Message::reply_to`]). Only reply inboxes are accepted;
    /// `""` is refused as a message that is not a request.
    pub fn reply(&self, inbox: &str, payload: impl Payload, headers: Headers<'_>) -> Result<PublishReport> {
        self.answer(Some(inbox), payload, headers, Who::Anyone)
    }

    /// Fails the request whose reply inbox is `inbox` with `error`: its
    /// requester's receive fails with `error` instead of giving a message,
    /// as a request that no local subscriber matched fails with
    /// `NOT_FOUND`. This is how a request carried elsewhere (the NATS
    /// bridge) reports that nothing answered there, or that the answer was
    /// refused. Like a reply, it needs no grant, but on a bus that enforces
    /// an authority a live session ([`Client::fail_request`]). Returns
    /// whether a request was waiting on `inbox`; a reply that comes later
    /// is dropped, counted as `session_ended` (the count of a receiver
    /// ended with an error).
    pub fn fail_request(&self, inbox: &str, error: &Error) -> Result<bool> {
        self.fail_request_for(inbox, error, Who::Anyone)
    }

    fn fail_request_for(&self, inbox: &str, error: &Error, who: Who<'_>) -> Result<bool> {
        let inbox = reply_inbox(Some(inbox))?;
        self.admit(who)?;
        // A failure path, once per request at most: a scan, not an index.
        let waiting = self.lock_subscriptions().values().find(|s| &*s.pattern == inbox).map(|s| s.id);
        Ok(waiting.is_some_and(|id| self.end_kept(id, Some(error))))
    }

    fn answer(
        &self,
        inbox: Option<&str>,
        payload: impl Payload,
        headers: Headers<'_>,
        who: Who<'_>,
    ) -> Result<PublishReport> {
        let inbox = reply_inbox(inbox)?;
        self.admit(who)?;
        self.send(inbox, Given(payload), headers, None, Who::Library)
    }

    /// The bus's accounting: live subscriptions plus every ended one.
    /// Subscriptions whose session has ended are ended first, so their
    /// queued messages show as dropped.
    pub fn stats(&self) -> BusStats {
        self.end_lapsed();
        let mut totals = *self.inner.retired.lock().unwrap_or_else(PoisonError::into_inner);
        let live: Vec<Target> = self.lock_subscriptions().values().cloned().collect();
        for shared in &live {
            totals += shared.queue.stats();
        }
        BusStats {
            published: self.inner.published.load(Ordering::Relaxed),
            subscriptions: totals,
            live_subscriptions: live.len() as u64,
            denied: self.inner.denied.load(Ordering::Relaxed),
            depth_exceeded: self.inner.depth_exceeded.load(Ordering::Relaxed),
        }
    }

    /// Ends every pull subscription that has an idle time-to-live and has
    /// not been received from for that long (and has no receiver waiting),
    /// and every subscription whose session has ended (expired by the
    /// clock, revoked, or its root distrusted: those messages count as
    /// `session_ended`, and waiting receivers wake with the session's
    /// error). Returns how many ended. Publishing also ends them as it
    /// meets them.
    pub fn evict_idle(&self) -> usize {
        let idle: Vec<SubscriptionId> = self
            .lock_subscriptions()
            .values()
            .filter(|s| s.options.idle_ttl.is_some_and(|ttl| s.queue.idle_for(ttl)))
            .map(|s| s.id)
            .collect();
        self.end_lapsed() + idle.into_iter().filter(|&id| self.end_kept(id, None)).count()
    }

    /// Ends every subscription whose session has ended, and forgets the
    /// kept ended ones whose session has (see [`remove`](Self::remove)).
    /// Returns how many live ones ended.
    fn end_lapsed(&self) -> usize {
        let bound: Vec<Target> =
            self.lock_subscriptions().values().filter(|s| s.session.is_some()).cloned().collect();
        let ended = bound.iter().filter(|s| s.end_if_lapsed()).count();
        let gone = self.lock_ended().forget_where(|s| s.session.as_ref().is_some_and(|s| !s.is_active()));
        drop(gone);
        ended
    }

    /// Closes the bus: every subscription ends (blocked receivers get
    /// `CLOSED`, queued messages are counted as dropped) and later calls
    /// fail with `CLOSED`. A publish in progress either completes for a
    /// subscription or is counted as dropped there.
    pub fn close(&self) {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.inner.shut_down();
    }

    /// Whether [`close`](Bus::close) was called.
    #[inline]
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    fn lock_subscriptions(&self) -> MutexGuard<'_, HashMap<u64, Target>> {
        self.inner.subscriptions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_ended(&self) -> MutexGuard<'_, Ended> {
        self.inner.ended.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // Inline, with the error built out of line, so that an open bus costs
    // a publish one load (callgrind: 11 -> 2 instructions).
    #[inline]
    fn ensure_open(&self) -> Result<()> {
        if self.is_closed() {
            return Err(bus_closed());
        }
        Ok(())
    }

    /// A fresh subscription id: 53 random bits (so that JavaScript numbers
    /// hold it exactly), never 0 and not the id of a live subscription or
    /// of an ended one that still answers.
    /// Ids carry no order and no bus number, so an id from another bus, an
    /// ended one or a guessed one is `NOT_FOUND` here except by a 2^-53
    /// chance per try; a handle to one subscription tells nothing about the
    /// ids of the others.
    fn fresh_id(&self) -> Result<SubscriptionId> {
        // Each draw is free with probability above 1 - 2^-20 for any
        // realistic number of live subscriptions; a few tries are plenty.
        for _ in 0..4 {
            let mut bytes = [0u8; 8];
            self.inner
                .random
                .fill(&mut bytes)
                .map_err(|_| Error::new(ErrorKind::Internal, "the system random source failed"))?;
            let id = u64::from_le_bytes(bytes) >> (64 - SubscriptionId::BITS);
            if id != 0 && !self.lock_subscriptions().contains_key(&id) && !self.lock_ended().contains(id) {
                return Ok(SubscriptionId(id));
            }
        }
        Err(Error::new(ErrorKind::Internal, "no free subscription id in four draws"))
    }

    /// A fresh reply inbox, `_charter.inbox.` then 128 random bits in hex.
    /// Knowing an inbox is what lets a responder answer (a reply needs no
    /// grant), so inbox names must not be guessable from earlier ones.
    fn new_inbox(&self) -> Result<String> {
        let mut id = [0u8; 16];
        self.inner
            .random
            .fill(&mut id)
            .map_err(|_| Error::new(ErrorKind::Internal, "the system random source failed"))?;
        Ok(format!("{}.inbox.{}", topic::RESERVED_TOKEN, crate::text::hex(&id)))
    }

    /// Refuses `who` the `action` on `topic` unless the bus allows it: an
    /// open bus allows anyone; an enforcing bus needs a session of its
    /// authority whose grants cover the topic. With a recorder, the
    /// decision is recorded here, where no lock of the bus is held.
    #[inline]
    fn authorize(&self, who: Who<'_>, action: Action, topic: &str) -> Result<()> {
        if self.open_to(who) {
            return Ok(());
        }
        self.decide(who, action, topic)
    }

    /// An open bus without a recorder allows everyone but a session's
    /// holder (whose grants still bind it) and records nothing: the common
    /// case, decided without a call (and so under a lock: see
    /// [`send_held`](Self::send_held)).
    #[inline(always)]
    fn open_to(&self, who: Who<'_>) -> bool {
        !matches!(who, Who::Holder(_)) && self.inner.authority.is_none() && !self.inner.audited
    }

    /// [`authorize`](Self::authorize) on a bus that enforces or records.
    fn decide(&self, who: Who<'_>, action: Action, topic: &str) -> Result<()> {
        let verdict = match (who, &self.inner.authority) {
            (Who::Library, _) => return Ok(()),
            (Who::Anyone, None) => Ok(()),
            (Who::Anyone, Some(_)) => Err(Error::new(
                ErrorKind::Denied,
                format!("{action} on {} refused: this bus requires a session", quote(topic)),
            )),
            (Who::Holder(session), Some(authority)) if !session.opened_by(authority) => Err(Error::new(
                ErrorKind::Denied,
                "the session was opened by another authority than this bus's",
            )),
            (Who::Holder(session), _) => session.check(action, topic),
        };
        if verdict.is_err() {
            self.inner.denied.fetch_add(1, Ordering::Relaxed);
        }
        let recorder = if self.inner.audited {
            self.inner.recorder.lock().unwrap_or_else(PoisonError::into_inner).clone()
        } else {
            None
        };
        match (&recorder, who) {
            (Some(recorder), Who::Holder(session)) => {
                recorder.decide(Some(session.principal()), action.name(), topic, verdict)
            }
            (Some(recorder), _) => recorder.decide(None, action.name(), topic, verdict),
            (None, _) => verdict,
        }
    }

    fn add(
        &self,
        pattern: &str,
        options: SubscribeOptions,
        handler: Option<dispatch::Handler>,
        who: Who<'_>,
        owner: Option<&Session>,
    ) -> Result<Subscription> {
        self.ensure_open()?;
        let limits = &self.inner.limits;
        let tokens = topic::check(pattern, Kind::Pattern, limits.max_topic_len, limits.max_topic_tokens)?;
        if !matches!(who, Who::Library) && tokens.is_reserved() {
            return Err(reserved(pattern));
        }
        self.authorize(who, Action::Subscribe, pattern)?;
        options.validate(limits, handler.is_some())?;
        let threaded = handler.is_some() && options.dispatch == Dispatch::Thread;
        let plain = handler.is_none() && owner.is_none() && options.idle_ttl.is_none();
        let shared = Arc::new(Shared {
            id: self.fresh_id()?,
            bus: Arc::downgrade(&self.inner),
            pattern: pattern.into(),
            queue: Queue::new(&options),
            options,
            handler,
            worker: Mutex::new(None),
            pid: std::process::id(),
            retired: Arc::clone(&self.inner.retired),
            retired_base: Mutex::default(),
            plain,
            session: owner.cloned(),
        });
        {
            let mut subscriptions = self.lock_subscriptions();
            if subscriptions.len() >= limits.max_subscriptions {
                return Err(Error::new(
                    ErrorKind::LimitExceeded,
                    format!("the bus already has {} subscriptions, its limit", limits.max_subscriptions),
                ));
            }
            // Two draws meeting between `fresh_id` and here is a 2^-53 event:
            // refused rather than letting one subscription replace another.
            match subscriptions.entry(shared.id.0) {
                Entry::Vacant(slot) => slot.insert(Arc::clone(&shared)),
                Entry::Occupied(_) => {
                    return Err(Error::new(ErrorKind::Internal, "two subscriptions drew the same id"));
                }
            };
        }
        if threaded {
            let worker = Arc::clone(&shared);
            let spawned =
                Background::spawn(format!("charter-sub-{}", shared.id.0), move || worker.run_worker());
            match spawned {
                Ok(handle) => *shared.worker.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle),
                Err(e) => {
                    self.lock_subscriptions().remove(&shared.id.0);
                    return Err(Error::new(
                        ErrorKind::LimitExceeded,
                        format!("cannot start the handler thread: {e}"),
                    ));
                }
            }
        }
        {
            let mut index = self.inner.index.write().unwrap_or_else(PoisonError::into_inner);
            index.insert(&tokens, Arc::clone(&shared));
            self.inner.generation.fetch_add(1, Ordering::Release);
        }
        self.inner.cache.clear();
        if self.is_closed() {
            // Closed while we were adding: make sure nothing is left behind.
            self.remove(shared.id, None);
            return Err(Error::new(ErrorKind::Closed, "the bus is closed"));
        }
        if let Some(session) = &shared.session {
            let dependent: Weak<dyn Dependent> = Arc::downgrade(&shared) as Weak<Shared>;
            if let Err(why) = session.watch(dependent) {
                // The session ended while we were adding.
                self.remove(shared.id, Some(&why));
                return Err(why);
            }
        }
        Ok(Subscription::new(shared, self.clone()))
    }

    fn unindex(&self, shared: &Shared) {
        let limits = &self.inner.limits;
        if let Ok(tokens) =
            topic::check(&shared.pattern, Kind::Pattern, limits.max_topic_len, limits.max_topic_tokens)
        {
            let mut index = self.inner.index.write().unwrap_or_else(PoisonError::into_inner);
            index.remove(&tokens, |t| t.id == shared.id);
            self.inner.generation.fetch_add(1, Ordering::Release);
        }
        // Stale entries would keep the subscription's queue alive.
        self.inner.cache.clear();
    }

    /// A publish: its route, its checks, its message and the delivery to
    /// each target. Always inlined into its callers, each of which passes
    /// a constant `who` and `reply_to` (`publish`: anyone, no inbox): the
    /// authorization and reply inbox tests then fold away, and the
    /// arguments no longer go through the stack into a call (callgrind,
    /// `budget_loop bus 1`: 446 -> 396 instructions a publish and receive,
    /// with the queue's `offer` kept inline).
    ///
    /// Only topics that passed the topic's checks are cached, and a bus's
    /// limits never change, so a cached topic is known to be valid: a warm
    /// publish skips the check (a third of its cost). A reserved topic is
    /// never cached, so a hit needs no test of it, and a closed bus's cache
    /// is empty and stays so, so a hit needs no test that the bus is open
    /// (`fresh_route` makes both). A hit whose targets are all plain
    /// queues, on a bus whose authorization is decided without a call,
    /// delivers under the cache's shard lock ([`Bus::send_held`]); any
    /// other publish takes a reference to its route and delivers without
    /// that lock ([`Bus::send_on`]).
    #[inline(always)]
    fn send<'a>(
        &self,
        topic: &str,
        payload: impl Carry<'a>,
        headers: Headers<'_>,
        reply_to: Option<Arc<str>>,
        who: Who<'_>,
    ) -> Result<PublishReport> {
        // Decided on the arguments as given, before anything is made of
        // them: constants for most publishes (no headers, no reply inbox).
        let bare = headers.is_empty() && reply_to.is_none();
        if !self.open_to(who) || payload.len() > self.inner.limits.max_payload {
            return self.send_checked(topic, payload, headers, reply_to, who, bare);
        }
        // Taken before the shard's lock, so that a payload's own conversion
        // (`Into<Arc<[u8]>>`, the caller's code for its own types) never
        // runs under it; it fits, so nothing is copied that the limit
        // would refuse.
        let payload = payload.taken();
        let hit = match self.inner.cache.get(topic) {
            Some(held) if held.plain && bare => {
                // Empty, so nothing to drop.
                std::mem::forget(reply_to);
                return self.send_held(held, payload, Bare);
            }
            Some(held) if held.plain => {
                return self.send_held_dressed(held, payload, Dressed { headers, reply_to });
            }
            Some(held) => Arc::clone(&held),
            None => self.fresh_route(topic, who)?,
        };
        self.send_on(hit, topic, Taken(payload), headers, reply_to, who, bare)
    }

    /// [`send`](Self::send) on a bus that enforces or records, or of a
    /// payload over the limit: the route as a reference of its own, then
    /// every check in order. Out of line: neither is the common publish.
    #[inline(never)]
    fn send_checked<'a>(
        &self,
        topic: &str,
        payload: impl Carry<'a>,
        headers: Headers<'_>,
        reply_to: Option<Arc<str>>,
        who: Who<'_>,
        bare: bool,
    ) -> Result<PublishReport> {
        let hit = self.shared_route(topic, who)?;
        self.send_on(hit, topic, payload, headers, reply_to, who, bare)
    }

    /// [`send_held`](Self::send_held) of a message with headers or a reply
    /// inbox: out of line, so that the bare publish inlines a delivery
    /// that has neither.
    #[inline(never)]
    fn send_held_dressed(
        &self,
        held: cache::Held<'_, Target>,
        payload: impl Bytes,
        dress: Dressed<'_>,
    ) -> Result<PublishReport> {
        self.send_held(held, payload, dress)
    }

    /// [`send`](Self::send) on a cached route of plain queues, borrowed
    /// under its shard's lock: no reference to the route is taken and
    /// dropped (two atomic read-modify-writes a publish). Under that lock
    /// each queue is offered the message by its quick push only (an open,
    /// quiet queue with room: no wake-up, no callback, no wait); the first
    /// that needs more takes the rest of the delivery to
    /// [`send_rest`](Self::send_rest), which first takes a reference to
    /// the route and lets the lock go.
    #[inline(always)]
    fn send_held(
        &self,
        held: cache::Held<'_, Target>,
        payload: impl Bytes,
        dress: impl Dress,
    ) -> Result<PublishReport> {
        // The checks `admit_publish!` makes that can still fail: the
        // caller found the bus open to everyone and the payload within the
        // limit, and a cached route's topic valid and not reserved.
        let (dress, text) = dress.checked(&self.inner.limits)?;
        // The route, found in its slot once: each look through the guard
        // tests the slot again, and the atomic operations below made the
        // compiler repeat it (callgrind, `budget_loop bus-runtime 1`).
        let route: &cache::Route<Target> = &held;
        // Whether the publish runs inside a handler of this bus is asked
        // again only on the rare way on (`send_rest`), so that the common
        // one keeps no flag in the stack (callgrind, `budget_loop
        // bus-runtime 1`).
        let (_level, _) = self.enter()?;
        let seq = self.inner.published.fetch_add(1, Ordering::Relaxed) + 1;
        let matched = route.targets.len() as u64;
        let report = PublishReport { matched, delivered: matched, dropped: 0 };
        let Some((last, others)) = route.targets.split_last() else {
            return Ok(report);
        };
        let message = dress.message(text, seq, &route.topic, payload);
        let size = message.size();
        // The first target whose quick push refused the message, and the
        // message.
        let rest = 'quick: {
            for (at, target) in others.iter().enumerate() {
                if target.queue.try_push(&message, size).is_some() {
                    break 'quick Some((at, message));
                }
            }
            last.queue.try_push(message, size).map(|message| (others.len(), message))
        };
        match rest {
            None => Ok(report),
            Some((from, message)) => {
                let hit = Arc::clone(&held);
                drop(held);
                let dropped = self.send_rest(hit, from, message, size)?;
                Ok(PublishReport { matched, delivered: matched - dropped, dropped })
            }
        }
    }

    /// [`send_held`](Self::send_held)'s delivery from the target at
    /// `from` on, once its caller took a reference to the route and let
    /// the shard's lock go: a queue offered the message the long way may
    /// wait for room (`Block`) or run a readiness callback. The targets
    /// before `from` took the message. Returns how many targets dropped
    /// it, the report being made by the caller: a report returned from
    /// here came back through memory, and the common publish that never
    /// calls this then built its own report in memory too, to meet it
    /// (callgrind, `budget_loop bus-runtime 1`).
    #[cold]
    #[inline(never)]
    fn send_rest(&self, hit: cache::Hit<Target>, from: usize, message: Message, size: usize) -> Result<u64> {
        // No wait for room from inside a handler of this bus (see
        // `dispatch::enter`): asked of the thread's levels, the caller's
        // last.
        let may_wait = !crate::depth::inside_below_last(self.key());
        let matched = hit.targets.len() as u64;
        let mut dropped = 0;
        let mut first_error = None;
        if let Some((last, others)) = hit.targets[from..].split_last() {
            for target in others {
                if let Offered::Dropped =
                    target.queue.offer(&message, size, &target.options, may_wait, &mut first_error)
                {
                    dropped += 1;
                }
            }
            if let Offered::Dropped =
                last.queue.offer(message, size, &last.options, may_wait, &mut first_error)
            {
                dropped += 1;
            }
        }
        match first_error {
            None => Ok(dropped),
            Some(e) => {
                let report = PublishReport { matched, delivered: matched - dropped, dropped };
                Err(refused_by_some(&e, &hit.topic, &report))
            }
        }
    }

    /// A publish's nesting level, counted as exceeded when it is.
    #[inline(always)]
    fn enter(&self) -> Result<(crate::depth::Level, bool)> {
        dispatch::enter(self.key()).inspect_err(|_| {
            self.inner.depth_exceeded.fetch_add(1, Ordering::Relaxed);
        })
    }

    /// [`send`](Self::send) on `hit`, a route of its own: any route on a
    /// miss, and a hit with a handler, a session or an idle time among its
    /// targets, or on a bus that enforces or records.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn send_on<'a>(
        &self,
        hit: cache::Hit<Target>,
        topic: &str,
        payload: impl Carry<'a>,
        headers: Headers<'_>,
        reply_to: Option<Arc<str>>,
        who: Who<'_>,
        bare: bool,
    ) -> Result<PublishReport> {
        admit_publish!(self, topic, payload.len(), headers, who => text);
        let (_level, inside_handler) = self.enter()?;
        let may_wait = !inside_handler;
        // The one copy of a borrowed payload, made only once it is known to
        // fit (a 64 MiB payload on a 1 MiB bus is refused without it): a
        // `Copied` one is copied into the message's body, below.
        let payload = payload.taken();
        let seq = self.inner.published.fetch_add(1, Ordering::Relaxed) + 1;
        // The report is made at the end from these, and a refusal names the
        // route's topic (the same text): neither the report nor the topic
        // as given then stays in the stack through the delivery
        // (callgrind, `budget_loop bus-runtime 1`: 327 -> 323).
        let matched = hit.targets.len() as u64;
        let mut dropped = 0;
        let mut first_error = None;
        // Only drops are counted: every target is offered the message once,
        // so the rest were delivered, and the common outcome costs nothing.
        let mut count = |offered: Offered| {
            if let Offered::Dropped = offered {
                dropped += 1;
            }
        };
        if let Some(mut claimed) = hit.spare.as_ref().and_then(Spare::claim) {
            // Only inline handlers: each borrows the route's kept message.
            let (message, handlers) = if bare {
                debug_assert!(text.is_none(), "empty headers make no text");
                std::mem::forget((text, reply_to));
                claimed.message(seq, &hit.topic, payload.into_shared(), None, None)
            } else {
                claimed.message(seq, &hit.topic, payload.into_shared(), text, reply_to)
            };
            for (target, handler) in hit.targets.iter().zip(handlers) {
                self.end_if_stale(target);
                count(target.deliver_inline(handler, message));
            }
        } else if let Some((last, others)) = hit.targets.split_last() {
            // Every subscriber but the last gets a clone; the last gets the
            // message itself.
            // `bare` was decided on the arguments as given, not on the
            // checked text (`None` when the headers are empty): the text,
            // made on one of two paths, went through the stack to be
            // tested here (callgrind, `budget_loop bus 1`: 296 -> 290).
            let message = if bare {
                // Both empty, so nothing to drop: consumed here as in the
                // other branch, so that the publish's end does not test
                // them again (through the stack) to drop them.
                debug_assert!(text.is_none(), "empty headers make no text");
                std::mem::forget((text, reply_to));
                Message::bare(seq, &hit.topic, payload)
            } else {
                Message::new(seq, &hit.topic, payload, text, reply_to)
            };
            let size = message.size();
            if hit.plain {
                // Plain queues only: each offer without a test of its target.
                for target in others {
                    count(target.queue.offer(&message, size, &target.options, may_wait, &mut first_error));
                }
                count(last.queue.offer(message, size, &last.options, may_wait, &mut first_error));
            } else {
                for target in others {
                    count(self.deliver(target, &message, size, may_wait, &mut first_error));
                }
                count(self.deliver(last, message, size, may_wait, &mut first_error));
            }
        }
        let report = PublishReport { matched, delivered: matched - dropped, dropped };
        match first_error {
            None => Ok(report),
            Some(e) => Err(refused_by_some(&e, &hit.topic, &report)),
        }
    }

    /// [`admit_publish!`], then the subscriptions, for each message of a
    /// batch. Not generic and not inlined, so that a program calling both
    /// `publish` and a batch gets one copy of the match cache's lookup,
    /// inlined into `publish` (with a second caller in the program's code,
    /// the lookup stopped being inlined: +26 instructions per publish).
    #[inline(never)]
    fn admit_and_route(
        &self,
        topic: &str,
        payload_len: usize,
        headers: Headers<'_>,
        who: Who<'_>,
    ) -> Result<(cache::Hit<Target>, Option<message::HeaderText>)> {
        let route = self.shared_route(topic, who)?;
        admit_publish!(self, topic, payload_len, headers, who => text);
        Ok((route, text))
    }

    /// The route of `topic` as a reference of its own: the cached one, or
    /// a fresh one ([`fresh_route`](Self::fresh_route)'s checks and
    /// match). For a publish that keeps its route past the cache's lock:
    /// one that is checked in full, and each message of a batch.
    #[inline(always)]
    fn shared_route(&self, topic: &str, who: Who<'_>) -> Result<cache::Hit<Target>> {
        match self.inner.cache.get_shared(topic) {
            Some(hit) => Ok(hit),
            None => self.fresh_route(topic, who),
        }
    }

    /// The subscriptions a publish on `topic` reaches when the match cache
    /// has none: those of the index, then cached, once the topic is
    /// checked and, unless the library publishes, found not reserved. A
    /// reserved topic's route (the library's replies) is not cached, so a
    /// publish that hits the cache needs no test of its topic at all
    /// (callgrind, `budget_loop bus-runtime 1`: 349 -> 344). Out of line, so that the publish inlines only the cache's
    /// lookup and carries no route to decide between the two afterwards
    /// (callgrind, `budget_loop bus-runtime 1`: 394 -> 388 instructions a
    /// publish and receive). A topic is routed before the publish's
    /// authorization, so a refused publish may leave its topic's route in
    /// the cache, which is bounded as before.
    #[inline(never)]
    fn fresh_route(&self, topic: &str, who: Who<'_>) -> Result<cache::Hit<Target>> {
        self.ensure_open()?;
        let limits = &self.inner.limits;
        let tokens = topic::check(topic, Kind::Topic, limits.max_topic_len, limits.max_topic_tokens)?;
        let reserved = tokens.is_reserved();
        if reserved && !matches!(who, Who::Library) {
            return Err(self::reserved(topic));
        }
        let index = self.inner.index.read().unwrap_or_else(PoisonError::into_inner);
        let generation = self.inner.generation.load(Ordering::Acquire);
        let mut targets = Vec::new();
        index.collect(&tokens, &mut targets);
        drop(index);
        let spare = Spare::of(&targets);
        let plain = targets.iter().all(|t| t.plain);
        if reserved {
            return Ok(cache::Hit::new(cache::Route::new(topic, targets, plain, spare)));
        }
        // Cached only if no index change and no close came since the index
        // was read: each bumps the generation before it clears the cache,
        // and a close sets `closed` before that.
        let current = || self.inner.generation.load(Ordering::Acquire) == generation && !self.is_closed();
        Ok(self.inner.cache.put(topic, current, targets, plain, spare))
    }

    /// Hands `message` to `target` ([`Shared::deliver`]), after ending it if
    /// it is stale; one test for a plain queue, whose offer is the one
    /// inlined here.
    #[inline(always)]
    fn deliver(
        &self,
        target: &Shared,
        message: impl queue::Offer,
        size: usize,
        may_wait: bool,
        failed: &mut Option<Error>,
    ) -> Offered {
        if !target.plain {
            self.end_if_stale(target);
            if target.handler.is_some() {
                return target.deliver_to_handler(message, size, may_wait, failed);
            }
        }
        target.queue.offer(message, size, &target.options, may_wait, failed)
    }

    /// Ends `target` before a publish reaches it if its session has ended
    /// or it has been idle too long; the publish then counts the message
    /// as dropped there.
    #[inline]
    fn end_if_stale(&self, target: &Shared) {
        if !target.end_if_lapsed() && target.options.idle_ttl.is_some_and(|idle| target.queue.idle_for(idle))
        {
            self.end_kept(target.id, None);
        }
    }
}

/// What a publish on a held route adds to its payload: nothing ([`Bare`],
/// the common publish) or headers and a reply inbox ([`Dressed`]). A type
/// rather than arguments, so that the bare publish's inlined delivery
/// carries no empty headers, text or inbox through the stack (callgrind,
/// `budget_loop bus-runtime 1`).
trait Dress {
    /// The headers' text, once checked.
    type Text;
    /// Checks the headers against `limits`, before anything is delivered.
    fn checked(self, limits: &BusLimits) -> Result<(Self, Self::Text)>
    where
        Self: Sized;
    /// The message of `payload` and what this adds.
    fn message(self, text: Self::Text, seq: u64, topic: &Arc<str>, payload: impl Bytes) -> Message;
}

/// No headers and no reply inbox.
struct Bare;

impl Dress for Bare {
    type Text = ();

    #[inline(always)]
    fn checked(self, _: &BusLimits) -> Result<(Bare, ())> {
        Ok((Bare, ()))
    }

    #[inline(always)]
    fn message(self, (): (), seq: u64, topic: &Arc<str>, payload: impl Bytes) -> Message {
        Message::bare(seq, topic, payload)
    }
}

/// Headers, a reply inbox, or both.
struct Dressed<'h> {
    headers: Headers<'h>,
    reply_to: Option<Arc<str>>,
}

impl Dress for Dressed<'_> {
    type Text = Option<message::HeaderText>;

    fn checked(self, limits: &BusLimits) -> Result<(Self, Self::Text)> {
        let text = message::HeaderText::build(self.headers, limits)?;
        Ok((self, text))
    }

    fn message(self, text: Self::Text, seq: u64, topic: &Arc<str>, payload: impl Bytes) -> Message {
        Message::new(seq, topic, payload, text, self.reply_to)
    }
}

impl Inner {
    /// Every queue closes before any subscription leaves the map or any
    /// worker is joined: no worker takes a message while the close waits
    /// for another's handler, and an unsubscribe racing the close returns
    /// with the queue closed (see [`Bus::remove`]).
    fn shut_down(&self) {
        let open: Vec<Target> =
            self.subscriptions.lock().unwrap_or_else(PoisonError::into_inner).values().cloned().collect();
        for shared in open {
            shared.queue.close(None);
        }
        let all: Vec<Target> = self
            .subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .map(|(_, s)| s)
            .collect();
        let forgotten = self.ended.lock().unwrap_or_else(PoisonError::into_inner).clear();
        drop(forgotten);
        {
            let mut index = self.index.write().unwrap_or_else(PoisonError::into_inner);
            *index = Index::new();
            self.generation.fetch_add(1, Ordering::Release);
        }
        self.cache.clear();
        for shared in all {
            shared.shut_down(None);
        }
        let recorder = self.recorder.lock().unwrap_or_else(PoisonError::into_inner).take();
        drop(recorder);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Worker threads hold their subscription, not the bus: end them.
        self.shut_down();
    }
}

impl fmt::Debug for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bus")
            .field("subscriptions", &self.subscription_count())
            .field("closed", &self.is_closed())
            .finish()
    }
}

#[cold]
#[inline(never)]
fn bus_closed() -> Error {
    Error::new(ErrorKind::Closed, "the bus is closed")
}

/// A publish's error when a subscription's overflow policy refused the
/// message (`e`), after every other subscription had it: the one wording,
/// for a single publish and each message of a batch.
#[cold]
#[inline(never)]
fn refused_by_some(e: &Error, topic: &str, report: &PublishReport) -> Error {
    Error::new(
        e.kind(),
        format!(
            "{} (publish to {}: {} of {} subscriptions accepted it)",
            e.message(),
            quote(topic),
            report.delivered,
            report.matched
        ),
    )
}

fn reserved(s: &str) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!(
            "{} is reserved: topics beginning \"{}.\" belong to the library",
            quote(s),
            topic::RESERVED_TOKEN
        ),
    )
}

/// `inbox` if it is a reply inbox the bus made; the one refusal otherwise.
/// An empty inbox is no inbox: callers that hold a message's parts rather
/// than the message pass "" for a missing one, and get the same refusal.
fn reply_inbox(inbox: Option<&str>) -> Result<&str> {
    let Some(inbox) = inbox.filter(|inbox| !inbox.is_empty()) else {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "the message is not a request: it has no reply inbox",
        ));
    };
    let prefix = format!("{}.inbox.", topic::RESERVED_TOKEN);
    if !inbox.starts_with(&prefix) {
        return Err(Error::new(ErrorKind::InvalidArgument, format!("{} is not a reply inbox", quote(inbox))));
    }
    Ok(inbox)
}
