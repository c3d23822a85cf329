//! Readiness: how a receiver that owns no thread learns that a
//! subscription has something for it.
//!
//! An event loop (asyncio, libuv, Go's netpoller, a C program's `epoll`)
//! cannot block in [`SubscriptionRef::recv`](super::SubscriptionRef::recv):
//! it waits on many things at once. Instead it asks the subscription for a
//! message and, when there is none, leaves a [`Notify`] behind. The
//! subscription calls it when it becomes *readable*: a message was queued,
//! or the subscription ended. The receiver then asks again. Receiving stays
//! the core's own exact, counted operation; readiness only says when to
//! try.
//!
//! Invariants:
//!
//! * **No lost wake-up.** [`SubscriptionRef::poll_recv`](super::SubscriptionRef::poll_recv)
//!   looks at the queue and arms its notify under the queue's one lock, and
//!   every publish and every ending fires what is armed after changing the
//!   queue under that same lock. A message that arrives after the look
//!   always finds the notify armed.
//! * **Outside every lock.** A notify runs after the queue's lock is
//!   released, on the thread that queued the message or ended the
//!   subscription. It must be quick and must not block: wake something
//!   (write an eventfd, signal a channel, queue a task) and return.
//! * **One-shot arms, bounded.** An armed notify fires once and is then
//!   forgotten. Arming the same `Notify` (the same `Arc`) again while it is
//!   armed does nothing, and a receiver that gives up disarms it
//!   ([`SubscriptionRef::disarm`](super::SubscriptionRef::disarm)), so the
//!   set of armed notifies never outgrows the set of live waiters.
//! * **Watches are level-edged.** A watch
//!   ([`SubscriptionRef::set_watch`](super::SubscriptionRef::set_watch)) stays
//!   installed and fires each time the queue goes from empty to non-empty,
//!   and when the subscription ends. A receiver that drains until
//!   `WOULD_BLOCK` after each fire never misses a message: the next message
//!   after the drain finds the queue empty and fires again. This is the
//!   shape of an eventfd given to `epoll`.
//! * **Sessions.** A subscription made with a session ends when the session
//!   does. Revocation ends it at once (firing what is armed); expiry is
//!   noticed when the subscription is next touched, so
//!   [`Polled::Pending`] carries the time left until the session expires:
//!   a receiver sets a timer for it and asks again.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use super::message::Message;

/// A wake-up left with a subscription: called once (armed) or on every
/// edge (watch), outside every lock, from whichever thread made the
/// subscription readable.
pub type Notify = Arc<dyn Fn() + Send + Sync>;

/// The outcome of [`SubscriptionRef::poll_recv`](super::SubscriptionRef::poll_recv).
#[derive(Debug)]
pub enum Polled {
    /// A message, taken and counted as delivered.
    Ready(Message),
    /// Nothing yet: the notify is armed and will be called when the
    /// subscription becomes readable. `recheck` is the time left until the
    /// subscription's session expires, after which the receiver asks again
    /// (and gets `EXPIRED`); `None` when nothing else can end it.
    Pending {
        /// Ask again after this long at the latest.
        recheck: Option<Duration>,
    },
}

/// Cancels a waiting receive from another thread
/// ([`SubscriptionRef::recv_cancellable`](super::SubscriptionRef::recv_cancellable)).
///
/// Cancelling is sticky: a cancelled `Cancel` cancels every receive that
/// uses it, now or later. A cancelled receive consumes nothing and fails
/// with `CANCELLED`. Cloning shares the cancellation.
#[derive(Clone, Default)]
pub struct Cancel {
    inner: Arc<Signal>,
}

#[derive(Default)]
struct Signal {
    state: Mutex<SignalState>,
    changed: Condvar,
}

#[derive(Default)]
struct SignalState {
    cancelled: bool,
    /// A notify fired since the waiter last looked.
    woken: bool,
}

impl Cancel {
    /// A cancellation that has not happened yet.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Cancels every receive waiting with this, now and later.
    pub fn cancel(&self) {
        let mut state = self.inner.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.cancelled = true;
        drop(state);
        self.inner.changed.notify_all();
    }

    /// Whether [`cancel`](Self::cancel) has been called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner).cancelled
    }

    /// A notify that wakes [`wait`](Self::wait).
    pub(crate) fn notify(&self) -> Notify {
        let signal = Arc::clone(&self.inner);
        Arc::new(move || {
            let mut state = signal.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.woken = true;
            drop(state);
            signal.changed.notify_all();
        })
    }

    /// Waits until woken, cancelled, or `timeout` passes (forever when
    /// `None`). Returns whether it was cancelled.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> bool {
        let mut state = self.inner.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !state.woken && !state.cancelled {
            state = match timeout {
                None => self
                    .inner
                    .changed
                    .wait_while(state, |s| !s.woken && !s.cancelled)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(t) => {
                    self.inner
                        .changed
                        .wait_timeout_while(state, t, |s| !s.woken && !s.cancelled)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        state.woken = false;
        state.cancelled
    }
}

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancel").field("cancelled", &self.is_cancelled()).finish()
    }
}

/// What a queue has armed: one-shot notifies and an optional watch.
#[derive(Default)]
pub(crate) struct Armed {
    once: Vec<Notify>,
    watch: Option<Notify>,
}

/// The notifies to call once the queue's lock is released.
#[derive(Default)]
pub(crate) struct Fire {
    once: Vec<Notify>,
    watch: Option<Notify>,
}

impl Armed {
    /// Arms `notify` once; arming the same `Arc` twice keeps one entry.
    pub(crate) fn arm(&mut self, notify: &Notify) {
        if !self.once.iter().any(|n| Arc::ptr_eq(n, notify)) {
            self.once.push(Arc::clone(notify));
        }
    }

    /// Removes `notify` if it is armed. Returns whether it was.
    pub(crate) fn disarm(&mut self, notify: &Notify) -> bool {
        let before = self.once.len();
        self.once.retain(|n| !Arc::ptr_eq(n, notify));
        self.once.len() != before
    }

    pub(crate) fn set_watch(&mut self, watch: Option<Notify>) {
        self.watch = watch;
    }

    /// Removes the watch if it is `watch` (the same `Arc`), leaving a watch
    /// installed since in place. Returns whether it was.
    pub(crate) fn remove_watch(&mut self, watch: &Notify) -> bool {
        let installed = self.watch.as_ref().is_some_and(|w| Arc::ptr_eq(w, watch));
        if installed {
            self.watch = None;
        }
        installed
    }

    /// Whether a receiver is waiting through a notify.
    pub(crate) fn has_waiters(&self) -> bool {
        !self.once.is_empty()
    }

    /// Whether nothing is armed and no watch is installed: a new message
    /// fires nothing.
    #[inline]
    pub(crate) fn is_quiet(&self) -> bool {
        self.once.is_empty() && self.watch.is_none()
    }

    /// What a new message fires: every armed notify, and the watch when the
    /// queue was empty before it. `None` when that is nothing, the common
    /// case, so a publish to a queue nobody waits on through a notify
    /// builds nothing and drops nothing.
    #[inline]
    pub(crate) fn on_message(&mut self, was_empty: bool) -> Option<Fire> {
        if self.once.is_empty() && (!was_empty || self.watch.is_none()) {
            return None;
        }
        Some(Fire {
            once: std::mem::take(&mut self.once),
            watch: if was_empty { self.watch.clone() } else { None },
        })
    }

    /// What the subscription's end fires: everything, the watch for the
    /// last time.
    pub(crate) fn on_end(&mut self) -> Fire {
        Fire { once: std::mem::take(&mut self.once), watch: self.watch.take() }
    }
}

impl Fire {
    /// Calls every notify. A notify that panics does not stop the others
    /// (and is not the publisher's failure).
    pub(crate) fn run(self) {
        for notify in self.once.iter().chain(self.watch.as_ref()) {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| notify()));
        }
    }
}
