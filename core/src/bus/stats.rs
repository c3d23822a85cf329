//! Delivery accounting for subscriptions and buses.

use std::ops::AddAssign;

/// Messages dropped, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drops {
    /// Dropped by `DropOldest` or `DropNewest` on a full queue.
    pub overflow: u64,
    /// Past their time-to-live when received.
    pub expired: u64,
    /// A `Block` publisher ran out of time (or would have deadlocked).
    pub timeout: u64,
    /// Refused by an `Error` queue, or too large for the queue at all.
    pub rejected: u64,
    /// Still queued, or arriving, when the subscription ended.
    pub closed: u64,
    /// Still queued, or arriving, when the session the subscription was
    /// made with ended (expiry, revocation, distrust of its root).
    pub session_ended: u64,
}

impl Drops {
    /// All drops together.
    pub fn total(&self) -> u64 {
        self.overflow + self.expired + self.timeout + self.rejected + self.closed + self.session_ended
    }
}

impl Drops {
    fn since(&self, base: &Drops) -> Drops {
        Drops {
            overflow: self.overflow - base.overflow,
            expired: self.expired - base.expired,
            timeout: self.timeout - base.timeout,
            rejected: self.rejected - base.rejected,
            closed: self.closed - base.closed,
            session_ended: self.session_ended - base.session_ended,
        }
    }
}

impl AddAssign for Drops {
    fn add_assign(&mut self, o: Drops) {
        self.overflow += o.overflow;
        self.expired += o.expired;
        self.timeout += o.timeout;
        self.rejected += o.rejected;
        self.closed += o.closed;
        self.session_ended += o.session_ended;
    }
}

/// One subscription's accounting. At every instant
/// `received == delivered + dropped.total() + queued`; once the queue is
/// drained or the subscription has ended, `received == delivered + dropped`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubscriptionStats {
    /// Messages offered to the subscription by publishes that matched it.
    pub received: u64,
    /// Messages handed to the consumer (returned by a receive, or passed to
    /// the handler).
    pub delivered: u64,
    /// Messages waiting in the queue.
    pub queued: u64,
    /// Messages dropped, by reason.
    pub dropped: Drops,
    /// Handler calls that returned an error or panicked (each also counts
    /// as delivered).
    pub handler_failures: u64,
    /// Times the queue became full after having room ("slow consumer"
    /// episodes).
    pub slow_episodes: u64,
}

impl SubscriptionStats {
    /// What happened after `base`, an earlier snapshot of the same
    /// subscription (counters only grow; `queued` is taken as is).
    pub(crate) fn since(&self, base: &SubscriptionStats) -> SubscriptionStats {
        SubscriptionStats {
            received: self.received - base.received,
            delivered: self.delivered - base.delivered,
            queued: self.queued,
            dropped: self.dropped.since(&base.dropped),
            handler_failures: self.handler_failures - base.handler_failures,
            slow_episodes: self.slow_episodes - base.slow_episodes,
        }
    }
}

impl AddAssign for SubscriptionStats {
    fn add_assign(&mut self, o: SubscriptionStats) {
        self.received += o.received;
        self.delivered += o.delivered;
        self.queued += o.queued;
        self.dropped += o.dropped;
        self.handler_failures += o.handler_failures;
        self.slow_episodes += o.slow_episodes;
    }
}

/// A bus's accounting, over its whole life (ended subscriptions included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Publishes that succeeded in reaching the matching step.
    pub published: u64,
    /// Subscription-level totals (see [`SubscriptionStats`]).
    pub subscriptions: SubscriptionStats,
    /// Live subscriptions now.
    pub live_subscriptions: u64,
    /// Calls refused by authorization: publishes, subscribes and requests
    /// whose grants do not cover them, and calls without a session on a bus
    /// that enforces an authority.
    pub denied: u64,
    /// Publishes refused because they were nested too deeply on one thread
    /// (a handler publishing again; see [`MAX_NESTING`](super::MAX_NESTING)).
    pub depth_exceeded: u64,
}

/// The outcome of one publish.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// Subscriptions whose pattern matched the topic.
    pub matched: u64,
    /// Of those, how many accepted the message (queued it, or ran their
    /// handler).
    pub delivered: u64,
    /// Of those, how many dropped it (`matched == delivered + dropped`).
    pub dropped: u64,
}
