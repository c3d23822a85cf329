//! A subscription's bounded queue, its overflow policies and accounting.
//!
//! One mutex guards the queue and its counters, so a stats snapshot is
//! always consistent: `received == delivered + dropped + queued`, where
//! `received` is that sum (see [`Queue::stats`]), never counted apart.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::fifo::Fifo;
use super::interrupt::{self, INTERRUPT_CHECK};
use super::message::Message;
use super::options::{Overflow, SubscribeOptions};
use super::readiness::{Armed, Notify};
use super::spin::spin;
use super::stats::SubscriptionStats;
use crate::{Error, ErrorKind, Result};

pub(crate) struct Queue {
    state: Mutex<State>,
    /// Mirrors `State::closed` (set under the lock, never cleared), so an
    /// inline delivery can see it without taking the lock.
    ended: AtomicBool,
    readable: Condvar,
    writable: Condvar,
}

struct State {
    /// Each entry is the message alone (one pointer): its size is in it.
    items: Fifo,
    /// For a queue with a TTL, when each queued message expires (`None`:
    /// never, past what an `Instant` can hold), in step with `items`;
    /// empty otherwise. Kept apart so that the queued entries of the
    /// common queue without a TTL stay one pointer.
    expiries: VecDeque<Option<Instant>>,
    /// The bytes the queue takes now: `max_bytes` less the size of each
    /// queued message. Counted down rather than the queued bytes up, so
    /// that a push tests and updates one field, without loading the
    /// limit. A closed queue takes nothing (`room` is 0) and leaves it as
    /// it was.
    free_bytes: usize,
    /// The most messages the queue takes now: its capacity while open, 0
    /// once closed, so that one compare decides both.
    room: usize,
    closed: bool,
    /// Why the queue was closed, when its session ended (expiry,
    /// revocation): receivers get this error instead of `CLOSED`, and
    /// drops are counted as `session_ended`.
    ended: Option<Error>,
    /// In a slow-consumer episode: the queue filled up and has not yet
    /// drained to half.
    slow: bool,
    /// Queue length at or below which a slow-consumer episode ends.
    recovered_at: usize,
    stats: SubscriptionStats,
    /// When the consumer last received; tracked only for idle eviction.
    last_receive: Option<Instant>,
    /// Neither idle tracking nor a TTL: no receive needs the clock, so
    /// `pop` decides without looking at the head's expiry (fixed at
    /// creation).
    plain: bool,
    /// `plain`, no `Block` publisher waiting and no slow-consumer episode:
    /// `pop`'s short path, one flag to test instead of three (see
    /// [`State::refresh`]).
    quick: bool,
    /// Receivers blocked right now: a waiting consumer is never idle.
    waiting: usize,
    /// `Block` publishers waiting for room right now.
    blocked: usize,
    /// Receivers waiting without a thread (see `readiness`).
    armed: Armed,
    /// The queue stamps each message with its expiry (it has a TTL).
    stamped: bool,
    /// No receiver blocked, nothing armed, no watch and no expiry to
    /// stamp: a push queues the message and is done, one flag to test
    /// instead of four (see [`State::settle`]).
    quiet: bool,
    /// `room` while `quiet`, else 0: the publisher's inline push tests
    /// this one bound and nothing else; a queue that is closed, full or
    /// not quiet takes the out-of-line path.
    quiet_room: usize,
}

/// What happened to one offered message.
pub(crate) enum Offered {
    Accepted,
    Dropped,
}

/// A message offered to a queue: borrowed (the queue keeps a clone), or
/// owned, for the publish's last subscriber, which keeps the message
/// itself and so saves the publish a clone and a drop (four reference
/// counts up and down).
pub(crate) trait Offer {
    fn message(&self) -> &Message;
    fn into_message(self) -> Message;
}

impl Offer for &Message {
    #[inline]
    fn message(&self) -> &Message {
        self
    }

    #[inline]
    fn into_message(self) -> Message {
        self.clone()
    }
}

impl Offer for Message {
    #[inline]
    fn message(&self) -> &Message {
        self
    }

    #[inline]
    fn into_message(self) -> Message {
        self
    }
}

impl Queue {
    pub(crate) fn new(options: &SubscribeOptions) -> Queue {
        Queue {
            state: Mutex::new(State {
                items: Fifo::new(),
                expiries: VecDeque::new(),
                free_bytes: options.max_bytes,
                room: options.capacity,
                closed: false,
                ended: None,
                slow: false,
                recovered_at: options.capacity / 2,
                stats: SubscriptionStats::default(),
                last_receive: options.idle_ttl.map(|_| Instant::now()),
                plain: options.idle_ttl.is_none() && options.ttl.is_none(),
                quick: options.idle_ttl.is_none() && options.ttl.is_none(),
                waiting: 0,
                blocked: 0,
                armed: Armed::default(),
                stamped: options.ttl.is_some(),
                quiet: options.ttl.is_none(),
                // No slots yet: the first push grows the ring, out of line.
                quiet_room: 0,
            }),
            ended: AtomicBool::new(false),
            readable: Condvar::new(),
            writable: Condvar::new(),
        }
    }

    #[inline]
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Offers `message`, which counts `size` bytes against the queue's
    /// limit (the publisher measures it once for every subscriber).
    /// `may_wait` is false when the publisher runs inside a callback of the
    /// same bus, where waiting could deadlock. A refusal that fails the
    /// publish puts its error in `failed` (unless an earlier subscriber's
    /// is there) and counts as dropped: the publisher's loop then handles a
    /// one-byte outcome, not a `Result` as wide as an error.
    ///
    /// The common case, an open and quiet queue with room, is decided here
    /// inline in the publisher's loop (always: with `Bus::send` inlined
    /// into its callers, the compiler's own choice took it out of line, a
    /// call per subscriber), by one bound (`quiet_room`) and the bytes;
    /// every other case goes out of line.
    #[inline(always)]
    pub(crate) fn offer(
        &self,
        message: impl Offer,
        size: usize,
        options: &SubscribeOptions,
        may_wait: bool,
        failed: &mut Option<Error>,
    ) -> Offered {
        let mut state = self.lock();
        if state.items.len() < state.quiet_room && size <= state.free_bytes {
            state.free_bytes -= size;
            state.items.push_free(message.into_message());
            return Offered::Accepted;
        }
        match self.offer_slow(state, message, size, options, may_wait) {
            Ok(offered) => offered,
            Err(e) => refused(e, failed),
        }
    }

    /// Queues `message` if the queue is open and quiet and has room for it
    /// ([`offer`](Self::offer)'s inline case), else gives it back, having
    /// counted nothing: the publisher's push under the match cache's shard
    /// lock, which must wake, call and wait for nothing, so it leaves any
    /// other case to `offer` once that lock is let go.
    #[inline(always)]
    pub(crate) fn try_push<M: Offer>(&self, message: M, size: usize) -> Option<M> {
        let mut state = self.lock();
        if state.items.len() < state.quiet_room && size <= state.free_bytes {
            state.free_bytes -= size;
            state.items.push_free(message.into_message());
            return None;
        }
        Some(message)
    }

    /// Queues `message` into a queue known to have room, then wakes and
    /// fires, outside the lock, whatever waits for it.
    #[inline]
    fn accept(
        &self,
        mut state: MutexGuard<'_, State>,
        message: impl Offer,
        size: usize,
        options: &SubscribeOptions,
    ) {
        state.free_bytes -= size;
        if state.quiet {
            state.items.push_back(message.into_message());
            // The ring may have grown: the inline bound follows it.
            state.settle();
            return;
        }
        self.accept_loud(state, message.into_message(), options);
    }

    /// [`accept`](Self::accept)'s queueing when it is not quiet: the
    /// message's expiry stamped, then the wake-ups.
    #[inline(never)]
    fn accept_loud(&self, mut state: MutexGuard<'_, State>, message: Message, options: &SubscribeOptions) {
        if let Some(ttl) = options.ttl {
            state.expiries.push_back(Instant::now().checked_add(ttl));
        }
        let was_empty = state.items.is_empty();
        state.items.push_back(message);
        self.wake(state, was_empty);
    }

    /// Offers a batch's messages (each with its size), in order: those
    /// that fit queued under one lock and woken for once, as many blocked
    /// receivers as messages and each armed notify (or the watch, on the
    /// edge) once per run; one that does not fit goes through `offer`'s
    /// overflow policies, after the wake-up for those queued before it
    /// (their consumer may be what makes room). `outcome` gets each
    /// message's position and what happened to it, in order.
    pub(crate) fn offer_many<M: Offer>(
        &self,
        messages: impl IntoIterator<Item = (M, usize)>,
        options: &SubscribeOptions,
        may_wait: bool,
        outcome: &mut impl FnMut(usize, Result<Offered>),
    ) {
        let mut state = self.lock();
        let mut was_empty = state.items.is_empty();
        let mut added = 0;
        for (i, (message, size)) in messages.into_iter().enumerate() {
            if state.items.len() < state.room && size <= state.free_bytes {
                state.push(message.into_message(), size, options);
                added += 1;
                outcome(i, Ok(Offered::Accepted));
                continue;
            }
            if added > 0 {
                self.wake_for(state, was_empty, added);
            } else {
                drop(state);
            }
            outcome(i, self.offer_slow(self.lock(), message, size, options, may_wait));
            state = self.lock();
            was_empty = state.items.is_empty();
            added = 0;
        }
        if added > 0 {
            self.wake_for(state, was_empty, added);
        }
    }

    /// [`wake`](Self::wake) for `added` messages queued at once.
    #[inline(never)]
    fn wake_for(&self, mut state: MutexGuard<'_, State>, was_empty: bool, added: usize) {
        if state.quiet {
            return;
        }
        let receivers = state.waiting.min(added);
        let fire = state.armed.on_message(was_empty);
        state.settle();
        drop(state);
        for _ in 0..receivers {
            self.readable.notify_one();
        }
        if let Some(fire) = fire {
            fire.run();
        }
    }

    /// Wakes, outside the lock, the receivers that wait for a message just
    /// queued: blocked ones, armed notifies and the watch (on an edge).
    #[inline]
    fn wake(&self, mut state: MutexGuard<'_, State>, was_empty: bool) {
        // Waking a condition variable costs a call even when nobody
        // waits: only pay for it when somebody does.
        let wake = state.waiting > 0;
        let fire = state.armed.on_message(was_empty);
        state.settle();
        drop(state);
        if wake {
            self.readable.notify_one();
        }
        if let Some(fire) = fire {
            fire.run();
        }
    }

    /// [`offer`](Self::offer) to a queue that is closed, has no room for
    /// `message` (the overflow policies), is not quiet (a push that
    /// stamps an expiry or wakes a receiver) or whose ring must grow
    /// first (its slots are full: `quiet_room` never exceeds them).
    #[inline(never)]
    fn offer_slow<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        message: impl Offer,
        size: usize,
        options: &SubscribeOptions,
        may_wait: bool,
    ) -> Result<Offered> {
        // A message counts as received once its outcome is decided (it is
        // queued, or counted as dropped), never before a wait: a `Block`
        // publisher releases the lock while it waits.
        if state.closed {
            state.count_closed();
            return Ok(Offered::Dropped);
        }
        if size > options.max_bytes {
            state.stats.dropped.rejected += 1;
            return match options.overflow {
                Overflow::DropOldest | Overflow::DropNewest => Ok(Offered::Dropped),
                Overflow::Block(_) | Overflow::Error => Err(Error::new(
                    ErrorKind::LimitExceeded,
                    format!("a {size}-byte message can never fit a queue of {} bytes", options.max_bytes),
                )),
            };
        }
        // For `Block`: when the wait ends; `None` when it cannot be
        // represented, which means no limit.
        let mut block_deadline: Option<Option<Instant>> = None;
        loop {
            if state.items.len() < options.capacity && size <= state.free_bytes {
                self.accept(state, message, size, options);
                return Ok(Offered::Accepted);
            }
            if !state.slow {
                state.slow = true;
                state.quick = false;
                state.stats.slow_episodes += 1;
            }
            match options.overflow {
                Overflow::DropOldest => {
                    let oldest = state.items.pop_front().map_or(0, |m| m.size());
                    state.expiries.pop_front();
                    state.free_bytes += oldest;
                    state.stats.dropped.overflow += 1;
                }
                Overflow::DropNewest => {
                    state.stats.dropped.overflow += 1;
                    return Ok(Offered::Dropped);
                }
                Overflow::Error => {
                    state.stats.dropped.rejected += 1;
                    return Err(full(options, "the subscription's overflow policy is ERROR"));
                }
                Overflow::Block(_) if !may_wait => {
                    state.stats.dropped.timeout += 1;
                    return Err(Error::new(
                        ErrorKind::WouldBlock,
                        "a BLOCK subscription is full and the publisher is inside a callback of the same bus",
                    ));
                }
                Overflow::Block(wait) => {
                    let now = Instant::now();
                    let deadline = *block_deadline.get_or_insert_with(|| now.checked_add(wait));
                    if deadline.is_some_and(|deadline| now >= deadline) {
                        state.stats.dropped.timeout += 1;
                        return Err(Error::new(
                            ErrorKind::Timeout,
                            format!(
                                "subscription queue stayed full ({} messages, {} bytes) for {} ms",
                                options.capacity,
                                options.max_bytes,
                                wait.as_millis()
                            ),
                        ));
                    }
                    // Until the deadline (`None`: for good), in slices
                    // while an interrupt check wants to run.
                    let check = interrupt::installed();
                    let slice = match (deadline.map(|deadline| deadline - now), &check) {
                        (left, None) => left,
                        (left, Some(_)) => {
                            Some(left.map_or(INTERRUPT_CHECK, |left| left.min(INTERRUPT_CHECK)))
                        }
                    };
                    state.blocked += 1;
                    state.quick = false;
                    match slice {
                        None => self.writable.wait(&mut state),
                        Some(slice) => {
                            self.writable.wait_for(&mut state, slice);
                        }
                    }
                    state.blocked -= 1;
                    state.refresh();
                    if state.closed {
                        state.count_closed();
                        return Ok(Offered::Dropped);
                    }
                    if let Some(check) = &check {
                        state = self.run_check(state, &**check)?;
                        if state.closed {
                            state.count_closed();
                            return Ok(Offered::Dropped);
                        }
                    }
                }
            }
        }
    }

    /// Runs an interrupt check for a waiting `BLOCK` publisher, with the
    /// lock released (the check may run a language's signal handlers, which
    /// may publish). When it fails, the message counts as dropped for
    /// `timeout` and the publish fails with the check's error. The queue may
    /// have been closed (and emptied) meanwhile: the caller checks again, so
    /// a message never lands in a closed queue.
    fn run_check<'a>(
        &'a self,
        state: MutexGuard<'a, State>,
        check: &dyn Fn() -> Result<()>,
    ) -> Result<MutexGuard<'a, State>> {
        drop(state);
        let checked = check();
        let mut state = self.lock();
        if let Err(e) = checked {
            state.stats.dropped.timeout += 1;
            return Err(e);
        }
        Ok(state)
    }

    /// Counts a message handed straight to an inline handler.
    pub(crate) fn count_inline(&self, handler_failed: bool) {
        let mut state = self.lock();
        state.stats.delivered += 1;
        state.stats.handler_failures += u64::from(handler_failed);
    }

    /// Counts a message that reached an inline subscription after it ended.
    pub(crate) fn count_closed(&self) {
        self.lock().count_closed();
    }

    /// Counts a failed call of a worker thread's handler.
    pub(crate) fn count_failure(&self) {
        self.lock().stats.handler_failures += 1;
    }

    /// Whether the queue has been closed.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Takes the next unexpired message, waiting up to `wait` (forever when
    /// `None`). A wait that ends without a message consumes nothing.
    pub(crate) fn receive(&self, wait: Option<Duration>) -> Result<Message> {
        let mut state = self.lock();
        // Computed at the first wait, so a receive that finds a message
        // never reads the clock. `None` inside waits forever, also for a
        // wait too long to represent.
        let mut deadline: Option<Option<Instant>> = None;
        // Whether this receive has spun already: once, before its first
        // park.
        let mut spun = false;
        loop {
            if let Some(message) = self.pop(&mut state) {
                return Ok(message);
            }
            if state.closed {
                return Err(state.end_error());
            }
            if wait == Some(Duration::ZERO) {
                return Err(Error::new(ErrorKind::WouldBlock, "no message is queued"));
            }
            let until = *deadline.get_or_insert_with(|| wait.and_then(|w| Instant::now().checked_add(w)));
            let timeout = match until {
                None => None,
                Some(until) => {
                    let now = Instant::now();
                    if now >= until {
                        return Err(Error::new(ErrorKind::Timeout, "no message arrived in time"));
                    }
                    Some(until - now)
                }
            };
            if !spun {
                // Before its first park, a look at the queue for a few
                // microseconds more (`spin`), the lock let go in between.
                spun = true;
                drop(state);
                let ready = |state: &State| !state.items.is_empty() || state.closed;
                state = spin(until, || Some(self.lock()).filter(|s| ready(s))).unwrap_or_else(|| self.lock());
                continue;
            }
            state.waiting += 1;
            state.disturb();
            match timeout {
                None => self.readable.wait(&mut state),
                Some(t) => {
                    self.readable.wait_for(&mut state, t);
                }
            }
            state.waiting -= 1;
            state.settle();
        }
    }

    /// Takes the next unexpired message if one is queued, without waiting;
    /// `None` when none is. Fails once the queue is closed and empty.
    #[inline]
    pub(crate) fn try_take(&self) -> Result<Option<Message>> {
        let mut state = self.lock();
        let popped = self.pop(&mut state);
        if popped.is_some() || !state.closed {
            // Unlocked before the result is built: the message then stays
            // in a register instead of going through the stack around the
            // unlock (about 5 instructions a receive).
            drop(state);
            return Ok(popped);
        }
        Err(state.end_error())
    }

    /// Appends to `out` up to `max` unexpired messages that are queued
    /// now, under one lock, without waiting. Returns how many.
    pub(crate) fn take_queued(&self, out: &mut Vec<Message>, max: usize) -> usize {
        self.take_queued_while(out, max, |_| true).unwrap_or(0)
    }

    /// [`take_queued`](Self::take_queued), stopping before the first
    /// message `fits` refuses, which stays queued: a receiver that copies
    /// a batch into a buffer of its own takes only what fits in it. Fails,
    /// as [`try_take`](Self::try_take) does, only when it takes nothing
    /// from a queue that is closed and empty. `fits` runs under the
    /// queue's lock, so it must be quick and must not reach the bus.
    pub(crate) fn take_queued_while(
        &self,
        out: &mut Vec<Message>,
        max: usize,
        mut fits: impl FnMut(&Message) -> bool,
    ) -> Result<usize> {
        let mut state = self.lock();
        let mut taken = 0;
        if state.quick {
            // `pop_if`'s short path for the whole run at once: the ring's
            // positions stay in registers and the counts are written once.
            let bytes;
            (taken, bytes) = state.items.take_into(out, max, &mut fits);
            state.free_bytes += bytes;
            state.stats.delivered += taken as u64;
        }
        while taken < max {
            let Some(message) = self.pop_if(&mut state, &mut fits) else { break };
            out.push(message);
            taken += 1;
        }
        if taken == 0 && state.closed && state.items.is_empty() {
            return Err(state.end_error());
        }
        Ok(taken)
    }

    /// Takes the next unexpired message, or arms `notify` to be called when
    /// the queue becomes readable (see `readiness`): both under the one
    /// lock, so no message slips between the look and the arm.
    pub(crate) fn poll(&self, notify: &Notify) -> Result<Option<Message>> {
        let mut state = self.lock();
        if let Some(message) = self.pop(&mut state) {
            return Ok(Some(message));
        }
        if state.closed {
            return Err(state.end_error());
        }
        state.armed.arm(notify);
        state.disturb();
        Ok(None)
    }

    /// Forgets `notify` if it is armed. Returns whether it was.
    pub(crate) fn disarm(&self, notify: &Notify) -> bool {
        let mut state = self.lock();
        let armed = state.armed.disarm(notify);
        state.settle();
        armed
    }

    /// Installs (or, with `None`, removes) the watch. A watch installed on
    /// a queue that is already readable fires at once.
    pub(crate) fn set_watch(&self, watch: Option<Notify>) {
        let mut state = self.lock();
        let readable = state.closed || !state.items.is_empty();
        let now = watch.clone().filter(|_| readable);
        if !state.closed {
            state.armed.set_watch(watch);
            state.settle();
        }
        drop(state);
        if let Some(now) = now {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| now()));
        }
    }

    /// Removes the watch if it is `watch`. Returns whether it was.
    pub(crate) fn remove_watch(&self, watch: &Notify) -> bool {
        let mut state = self.lock();
        let installed = state.armed.remove_watch(watch);
        state.settle();
        installed
    }

    /// Takes the next unexpired message. The common case (no idle
    /// tracking and no TTL, no waiting publisher, no slow-consumer
    /// episode) is decided inline; the rest goes out of line.
    #[inline]
    fn pop(&self, state: &mut State) -> Option<Message> {
        self.pop_if(state, &mut |_| true)
    }

    /// [`pop`](Self::pop), leaving the next unexpired message queued when
    /// `fits` refuses it (`pop` is this with a `fits` that takes all, so
    /// both are one piece of code).
    #[inline]
    fn pop_if(&self, state: &mut State, fits: &mut impl FnMut(&Message) -> bool) -> Option<Message> {
        if state.quick {
            let message = state.items.pop_front_if(|m| fits(m))?;
            state.free_bytes += message.size();
            state.stats.delivered += 1;
            return Some(message);
        }
        self.pop_any(state, fits)
    }

    /// [`pop_if`](Self::pop_if) in every case. An expired head is dropped
    /// before `fits` sees the message behind it.
    #[inline(never)]
    fn pop_any(&self, state: &mut State, fits: &mut impl FnMut(&Message) -> bool) -> Option<Message> {
        if state.last_receive.is_some() {
            state.last_receive = Some(Instant::now());
        }
        let mut now = None;
        while let Some(head) = state.items.front() {
            let expired = match state.expiries.front().copied().flatten() {
                Some(expires) => *now.get_or_insert_with(Instant::now) >= expires,
                None => false,
            };
            if !expired && !fits(head) {
                return None;
            }
            let message = state.items.pop_front()?;
            state.expiries.pop_front();
            state.free_bytes += message.size();
            if state.blocked > 0 {
                self.writable.notify_one();
            }
            if expired {
                state.stats.dropped.expired += 1;
                continue;
            }
            state.stats.delivered += 1;
            if state.slow && state.items.len() <= state.recovered_at {
                state.slow = false;
                state.refresh();
            }
            return Some(message);
        }
        state.slow = false;
        state.refresh();
        None
    }

    /// Whether no receive has happened for `idle` (only for queues made
    /// with `tracks_idle`).
    pub(crate) fn idle_for(&self, idle: Duration) -> bool {
        let state = self.lock();
        state.waiting == 0
            && !state.armed.has_waiters()
            && matches!(state.last_receive, Some(at) if at.elapsed() >= idle)
    }

    /// Ends the queue: queued messages are counted as dropped, waiting
    /// receivers get `CLOSED` (or `why`, when the queue ends because its
    /// session did), waiting publishers give up. Returns whether this call
    /// ended it (`false` when it had ended already).
    pub(crate) fn close(&self, why: Option<&Error>) -> bool {
        let mut state = self.lock();
        let open = !state.closed;
        if open {
            state.closed = true;
            state.room = 0;
            self.ended.store(true, Ordering::Release);
            state.ended = why.cloned();
            let dropped = state.items.len() as u64;
            match state.ended {
                Some(_) => state.stats.dropped.session_ended += dropped,
                None => state.stats.dropped.closed += dropped,
            }
            // Their buffers go too: an ended subscription may stay
            // reachable by id (the bus's `ended` table) long after.
            state.items = Fifo::new();
            state.expiries = VecDeque::new();
        }
        let fire = state.armed.on_end();
        state.settle();
        drop(state);
        self.readable.notify_all();
        self.writable.notify_all();
        fire.run();
        open
    }

    /// The queue's accounting. `received` is not counted but derived,
    /// as `delivered + dropped + queued`, so the identity holds by
    /// construction and a push or an inline delivery updates one counter
    /// fewer.
    pub(crate) fn stats(&self) -> SubscriptionStats {
        let state = self.lock();
        let queued = state.items.len() as u64;
        let received = state.stats.delivered + state.stats.dropped.total() + queued;
        SubscriptionStats { received, queued, ..state.stats }
    }
}

impl State {
    /// Queues `message`, of `size` bytes, known to fit.
    #[inline(always)]
    fn push(&mut self, message: Message, size: usize, options: &SubscribeOptions) {
        if let Some(ttl) = options.ttl {
            self.expiries.push_back(Instant::now().checked_add(ttl));
        }
        self.free_bytes -= size;
        self.items.push_back(message);
    }

    /// Sets `quiet` and `quiet_room` again after `waiting`, `armed` or
    /// `room` changed.
    fn settle(&mut self) {
        self.quiet = !self.stamped && self.waiting == 0 && self.armed.is_quiet();
        self.quiet_room = if self.quiet { self.room.min(self.items.slots()) } else { 0 };
    }

    /// Clears `quiet` (and `quiet_room`) as a receiver starts to wait.
    fn disturb(&mut self) {
        self.quiet = false;
        self.quiet_room = 0;
    }

    /// Sets `quick` again after `blocked` or `slow` changed.
    fn refresh(&mut self) {
        self.quick = self.plain && self.blocked == 0 && !self.slow;
    }

    /// What a receive from the ended queue fails with.
    fn end_error(&self) -> Error {
        match &self.ended {
            Some(why) => why.clone(),
            None => Error::new(ErrorKind::Closed, "the subscription has ended"),
        }
    }

    /// Counts a message offered after the queue was closed, under the
    /// reason it was closed for.
    fn count_closed(&mut self) {
        match self.ended {
            Some(_) => self.stats.dropped.session_ended += 1,
            None => self.stats.dropped.closed += 1,
        }
    }
}

/// Keeps the first refusal of a publish for its error; the message counts
/// as dropped.
#[cold]
#[inline(never)]
pub(crate) fn refused(e: Error, failed: &mut Option<Error>) -> Offered {
    failed.get_or_insert(e);
    Offered::Dropped
}

fn full(options: &SubscribeOptions, why: &str) -> Error {
    Error::new(
        ErrorKind::LimitExceeded,
        format!(
            "subscription queue is full ({} messages, {} bytes): {why}",
            options.capacity, options.max_bytes
        ),
    )
}
