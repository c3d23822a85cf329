//! Subscriptions: the shared state behind an id, and the handles programs
//! hold.

use std::cell::Cell;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::dispatch::{self, Handler};
use super::message::Message;
use super::options::{Dispatch, SubscribeOptions};
use super::queue::{self, Offer, Offered, Queue};
use super::readiness::{Cancel, Notify, Polled};
use super::stats::SubscriptionStats;
use super::{Bus, Inner};
use crate::background::{self, Background};
use crate::capability::{Dependent, Session};
use crate::{Error, ErrorKind, Result};

thread_local! {
    /// On a subscription's worker thread, that subscription's key. Checked
    /// through a thread-local rather than `std::thread::current()`, which
    /// would allocate a handle for threads Charter did not start.
    static WORKER_OF: Cell<usize> = const { Cell::new(0) };
}

/// Identifies a subscription within its bus: a random number of
/// [`SubscriptionId::BITS`] bits, distinct from every live id of its bus.
/// Ids are unpredictable and carry no order, so an id from another bus, an
/// ended one or a guessed one finds nothing (but by a 2^-53 chance).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubscriptionId(pub(crate) u64);

impl SubscriptionId {
    /// How many random bits an id has: every id is below 2^53, so that a
    /// JavaScript number holds it exactly.
    pub const BITS: u32 = 53;

    /// The id as a number, for the C ABI and the bindings.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The id with this number; an id never issued matches nothing.
    /// Plumbing for the C ABI and the bindings, which carry ids as numbers.
    #[doc(hidden)]
    pub fn from_raw(raw: u64) -> SubscriptionId {
        SubscriptionId(raw)
    }
}

/// Everything about one subscription, shared by the bus's index, the
/// match cache, publishers in flight and the program's handles.
pub(crate) struct Shared {
    pub(crate) id: SubscriptionId,
    /// The bus, to leave it when the session ends; its address is the
    /// bus's key in the thread's nesting stack.
    pub(crate) bus: Weak<Inner>,
    pub(crate) pattern: Box<str>,
    pub(crate) options: SubscribeOptions,
    pub(crate) queue: Queue,
    pub(crate) handler: Option<Handler>,
    pub(crate) worker: Mutex<Option<Background>>,
    /// The process that made the subscription: in a forked child, a
    /// `Dispatch::Thread` subscription has no worker and refuses messages.
    pub(crate) pid: u32,
    /// The bus's totals of ended subscriptions. An ending subscription
    /// adds its counts here at once (see [`Shared::shut_down`]) and, when
    /// its last reference goes, whatever happened after that (messages from
    /// publishes that were already in flight).
    pub(crate) retired: Arc<Mutex<SubscriptionStats>>,
    /// The counts already added to `retired`.
    pub(crate) retired_base: Mutex<SubscriptionStats>,
    /// The session of the client it was made through (for a reply inbox,
    /// the requester's): only that client may reach it by id, and when the
    /// session ends (expiry, revocation, distrust), so does the
    /// subscription.
    pub(crate) session: Option<Session>,
    /// No handler, no session and no idle eviction: a publish hands the
    /// message straight to the queue, and `try_recv` takes it straight from
    /// there, each after one test instead of two or three.
    pub(crate) plain: bool,
}

impl Shared {
    /// Hands `message` (borrowed, or owned by the publish's last
    /// subscriber), of `size` bytes ([`Message::size`], measured once per
    /// publish), to this subscription: to its inline handler, or to its
    /// queue. Inline in the publisher's loop for the common subscription
    /// without a handler.
    /// A refusal that fails the publish leaves its error in `failed` (see
    /// [`Queue::offer`]).
    #[inline]
    pub(crate) fn deliver(
        &self,
        message: impl Offer,
        size: usize,
        may_wait: bool,
        failed: &mut Option<Error>,
    ) -> Offered {
        if self.handler.is_none() {
            return self.queue.offer(message, size, &self.options, may_wait, failed);
        }
        self.deliver_to_handler(message, size, may_wait, failed)
    }

    /// [`deliver`](Self::deliver) to a subscription with a handler.
    #[inline(never)]
    pub(crate) fn deliver_to_handler(
        &self,
        message: impl Offer,
        size: usize,
        may_wait: bool,
        failed: &mut Option<Error>,
    ) -> Offered {
        match (&self.handler, self.options.dispatch) {
            (Some(handler), Dispatch::Inline) => self.deliver_inline(handler, message.message()),
            (Some(_), Dispatch::Thread) if !background::in_owner(self.pid) => {
                self.queue.count_closed();
                queue::refused(
                    background::forked(&format!("the handler of subscription {}", self.id.0)),
                    failed,
                )
            }
            _ => self.queue.offer(message, size, &self.options, may_wait, failed),
        }
    }

    /// [`deliver`](Self::deliver) to a subscription whose `handler` runs
    /// inline: also called directly by a publish that knows it is one.
    #[inline]
    pub(crate) fn deliver_inline(&self, handler: &Handler, message: &Message) -> Offered {
        if self.queue.is_closed() {
            self.queue.count_closed();
            return Offered::Dropped;
        }
        let failed = dispatch::run(handler, message);
        self.queue.count_inline(failed);
        Offered::Accepted
    }

    /// The loop of a `Dispatch::Thread` subscription's own thread.
    pub(crate) fn run_worker(&self) {
        let Some(handler) = &self.handler else { return };
        WORKER_OF.with(|w| w.set(self.key()));
        // The worker runs handlers of its bus for as long as it lives: a
        // publish from one nests below this level.
        let Ok((_level, _)) = dispatch::enter(self.bus_key()) else { return };
        while let Ok(message) = self.receive(None) {
            if dispatch::run(handler, &message) {
                self.queue.count_failure();
            }
        }
    }

    /// Takes the next message, waiting up to `wait` (forever when `None`).
    /// For a subscription made with a session, the wait ends at the
    /// session's expiry instant at the latest, and a receive after the
    /// session ended fails with `EXPIRED` or `REVOKED`.
    pub(crate) fn receive(&self, wait: Option<Duration>) -> Result<Message> {
        let Some(session) = &self.session else { return self.queue.receive(wait) };
        let started = Instant::now();
        loop {
            self.end_if_lapsed();
            let remaining = match wait {
                Some(w) if !w.is_zero() => {
                    let left = w.saturating_sub(started.elapsed());
                    if left.is_zero() {
                        return Err(Error::new(ErrorKind::Timeout, "no message arrived in time"));
                    }
                    Some(left)
                }
                other => other,
            };
            let until_expiry = session.time_left();
            let capped = wait != Some(Duration::ZERO) && remaining.is_none_or(|r| until_expiry < r);
            if !capped {
                return self.queue.receive(remaining);
            }
            // A wait that ends without a message consumes nothing: wake at
            // the expiry instant, then end the subscription above.
            match self.queue.receive(Some(until_expiry.max(Duration::from_millis(1)))) {
                Err(e) if e.kind() == ErrorKind::Timeout => continue,
                other => return other,
            }
        }
    }

    /// Ends the subscription if its session has ended. Returns whether it
    /// had.
    /// Inline for the common subscription without a session: one load.
    #[inline]
    pub(crate) fn end_if_lapsed(&self) -> bool {
        self.session.is_some() && self.end_if_session_lapsed()
    }

    #[inline(never)]
    fn end_if_session_lapsed(&self) -> bool {
        match self.session.as_ref().map(Session::ensure_active) {
            Some(Err(why)) => {
                self.end_for_session(&why);
                true
            }
            _ => false,
        }
    }

    /// Leaves the bus and ends the queue because the session ended.
    fn end_for_session(&self, why: &Error) {
        if let Some(inner) = self.bus.upgrade() {
            Bus { inner }.remove(self.id, Some(why));
        }
        self.shut_down(Some(why));
    }

    /// Closes the queue and waits for the worker thread to finish its
    /// current call, unless called from a worker thread: a handler may end
    /// its own subscription, and two handlers ending each other's would
    /// otherwise wait for each other forever. Nor does it wait when the
    /// subscription ends because its session did (`why`): that happens on
    /// whatever thread revokes, which may be the one the worker's handler
    /// waits for (a binding's main thread, or the GIL's holder). A worker
    /// that is not joined starts no new call once its queue is closed.
    pub(crate) fn shut_down(&self, why: Option<&Error>) {
        self.queue.close(why);
        self.retire();
        let worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(worker) = worker {
            if why.is_none() && WORKER_OF.with(Cell::get) == 0 {
                worker.join();
            }
        }
    }

    /// Identifies this subscription among live ones on this thread.
    fn key(&self) -> usize {
        self as *const Shared as usize
    }

    /// Identifies the bus in the thread's nesting stack.
    pub(crate) fn bus_key(&self) -> usize {
        self.bus.as_ptr() as usize
    }
}

impl Dependent for Shared {
    fn session_ended(&self, why: &Error) {
        self.end_for_session(why);
    }
}

impl Shared {
    /// Moves the counts not yet added to the bus's totals there.
    fn retire(&self) {
        let mut base = self.retired_base.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.queue.stats();
        *self.retired.lock().unwrap_or_else(PoisonError::into_inner) += now.since(&base);
        *base = now;
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.retire();
    }
}

/// A view of a subscription that can receive but does not own it: dropping
/// it leaves the subscription in place. Get one from
/// [`Bus::subscription`](super::Bus::subscription).
#[derive(Clone)]
pub struct SubscriptionRef {
    pub(crate) shared: Arc<Shared>,
}

impl SubscriptionRef {
    /// The subscription's id.
    pub fn id(&self) -> SubscriptionId {
        self.shared.id
    }

    /// The pattern it was made with.
    pub fn pattern(&self) -> &str {
        &self.shared.pattern
    }

    /// Waits for the next message. Fails with `CLOSED` once the
    /// subscription or its bus has ended and nothing is left to receive.
    pub fn recv(&self) -> Result<Message> {
        self.pull()?;
        self.shared.receive(None)
    }

    /// Waits up to `timeout` for the next message; `TIMEOUT` when none
    /// came (a zero timeout gives `WOULD_BLOCK` on an empty queue). A wait
    /// that ends without a message consumes nothing.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Message> {
        self.pull()?;
        self.shared.receive(Some(timeout))
    }

    /// The next message if one is queued, without waiting. Inline, so
    /// that a caller draining a queue pays no call per message.
    #[inline]
    pub fn try_recv(&self) -> Result<Option<Message>> {
        if !self.shared.plain {
            self.pull()?;
            if self.shared.session.is_some() {
                return self.try_recv_in_session();
            }
        }
        // Nothing else can end it: the queue alone answers, and an empty
        // one builds no error.
        self.shared.queue.try_take()
    }

    /// [`try_recv`](Self::try_recv) of a subscription made with a session,
    /// which ends when the session does.
    #[inline(never)]
    fn try_recv_in_session(&self) -> Result<Option<Message>> {
        match self.shared.receive(Some(Duration::ZERO)) {
            Ok(message) => Ok(Some(message)),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Takes the next message if one is queued; otherwise arms `notify`, to
    /// be called once when the subscription becomes readable (a message
    /// arrives, or it ends), and returns [`Polled::Pending`]. This is how an
    /// event loop waits without a thread: see the `readiness` invariants
    /// in the module docs of [`Notify`]. Fails like [`recv`](Self::recv)
    /// once the subscription has ended and nothing is left.
    pub fn poll_recv(&self, notify: &Notify) -> Result<Polled> {
        self.pull()?;
        self.shared.end_if_lapsed();
        Ok(match self.shared.queue.poll(notify)? {
            Some(message) => Polled::Ready(message),
            None => Polled::Pending { recheck: self.recheck() },
        })
    }

    /// How long until the subscription's session expires: the end that
    /// fires no notify and no watch (it is noticed when the subscription is
    /// next touched), so a receiver waiting through readiness sets a timer
    /// for it and looks again. `None` when the subscription has no session.
    pub fn recheck(&self) -> Option<Duration> {
        self.shared.session.as_ref().map(Session::time_left)
    }

    /// Forgets an armed `notify` (a receiver that gave up). Returns whether
    /// it was armed.
    pub fn disarm(&self, notify: &Notify) -> bool {
        self.shared.queue.disarm(notify)
    }

    /// Installs a watch: `watch` is called, outside every lock, each time
    /// the queue goes from empty to non-empty and once when the
    /// subscription ends (at once, if it is readable already). `None`
    /// removes it. Drain with [`try_recv`](Self::try_recv) until it gives
    /// `None` after each call, and no message is missed. This is the form
    /// an eventfd handed to `epoll` takes.
    pub fn set_watch(&self, watch: Option<Notify>) -> Result<()> {
        self.pull()?;
        self.shared.queue.set_watch(watch);
        Ok(())
    }

    /// Removes the watch if it is `watch` (the same `Arc`), leaving alone a
    /// watch that replaced it. Returns whether it was installed. An owner
    /// of a watch removes its own this way without racing another's
    /// [`set_watch`](Self::set_watch).
    pub fn remove_watch(&self, watch: &Notify) -> bool {
        self.shared.queue.remove_watch(watch)
    }

    /// Waits up to `timeout` (forever when `None`) for the next message,
    /// unless `cancel` is cancelled first, from any thread: then it fails
    /// with `CANCELLED` and has consumed nothing. A zero timeout gives
    /// `WOULD_BLOCK` on an empty queue, as [`recv_timeout`](Self::recv_timeout).
    pub fn recv_cancellable(&self, timeout: Option<Duration>, cancel: &Cancel) -> Result<Message> {
        self.pull()?;
        let notify = cancel.notify();
        // `None` inside: no limit, also for a wait too long to represent.
        let deadline = timeout.map(|t| Instant::now().checked_add(t));
        let result = loop {
            if cancel.is_cancelled() {
                break Err(cancelled());
            }
            let recheck = match self.poll_recv(&notify) {
                Ok(Polled::Ready(message)) => break Ok(message),
                Ok(Polled::Pending { recheck }) => recheck,
                Err(e) => break Err(e),
            };
            if timeout == Some(Duration::ZERO) {
                break Err(Error::new(ErrorKind::WouldBlock, "no message is queued"));
            }
            let remaining = match deadline {
                Some(Some(until)) => {
                    let now = Instant::now();
                    if now >= until {
                        break Err(Error::new(ErrorKind::Timeout, "no message arrived in time"));
                    }
                    Some(until - now)
                }
                _ => None,
            };
            let wait = match (remaining, recheck) {
                (Some(a), Some(b)) => Some(a.min(b.max(Duration::from_millis(1)))),
                (a, b) => a.or(b.map(|b| b.max(Duration::from_millis(1)))),
            };
            if cancel.wait(wait) {
                break Err(cancelled());
            }
        };
        self.shared.queue.disarm(&notify);
        result
    }

    /// Counts a failure that the subscription's handler reports after it
    /// returned: an async handler, whose work (a future, a Promise, a
    /// coroutine) fails after the publish already counted the message as
    /// delivered. It adds to `handler_failures`; `delivered` stays.
    pub fn record_handler_failure(&self) {
        self.shared.queue.count_failure();
    }

    /// Whether the subscription has ended: closed, its bus closed, evicted
    /// as idle, or its session ended.
    pub fn is_closed(&self) -> bool {
        self.shared.queue.is_closed() || self.shared.session.as_ref().is_some_and(|s| !s.is_active())
    }

    /// The subscription's accounting. A subscription whose session has
    /// ended is ended first, so its queued messages show as dropped.
    pub fn stats(&self) -> SubscriptionStats {
        self.shared.end_if_lapsed();
        self.shared.queue.stats()
    }

    #[inline]
    pub(super) fn pull(&self) -> Result<()> {
        if self.shared.handler.is_some() {
            return Err(self.nothing_to_pull());
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn nothing_to_pull(&self) -> Error {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("subscription {} delivers to its handler; there is nothing to receive", self.shared.id.0),
        )
    }
}

fn cancelled() -> Error {
    Error::new(ErrorKind::Cancelled, "the receive was cancelled; nothing was consumed")
}

impl fmt::Debug for SubscriptionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.shared.id.0)
            .field("pattern", &self.shared.pattern)
            .finish()
    }
}

/// A subscription that ends when dropped (or [`close`d](Subscription::close)).
/// It dereferences to [`SubscriptionRef`] for receiving.
pub struct Subscription {
    view: SubscriptionRef,
    bus: Option<Bus>,
}

impl Subscription {
    pub(crate) fn new(shared: Arc<Shared>, bus: Bus) -> Subscription {
        Subscription { view: SubscriptionRef { shared }, bus: Some(bus) }
    }

    /// Ends the subscription now: queued messages are dropped (and
    /// counted), blocked receivers get `CLOSED`.
    pub fn close(mut self) {
        self.end();
    }

    /// Gives up ownership: the subscription stays until it is ended by id
    /// through the client that made it ([`Client::unsubscribe`](super::Client::unsubscribe)),
    /// its session ends, or the bus closes.
    pub fn detach(mut self) -> SubscriptionId {
        self.bus = None;
        self.view.shared.id
    }

    fn end(&mut self) {
        if let Some(bus) = self.bus.take() {
            bus.remove(self.view.shared.id, None);
        }
    }
}

impl Deref for Subscription {
    type Target = SubscriptionRef;

    fn deref(&self) -> &SubscriptionRef {
        &self.view
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.end();
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.view.fmt(f)
    }
}
