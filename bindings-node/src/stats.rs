//! The bus's accounting as JS objects. Counts are exact up to 2^53.

use charter_core::bus;
use napi_derive::napi;

/// Messages dropped, by reason.
#[napi(object)]
pub struct Drops {
    /// By `dropOldest` or `dropNewest` on a full queue.
    pub overflow: f64,
    /// Past their time-to-live when received.
    pub expired: f64,
    /// A `block` publisher ran out of time (or would have deadlocked).
    pub timeout: f64,
    /// Refused by an `error` queue, or too large for the queue at all.
    pub rejected: f64,
    /// Still queued, or arriving, when the subscription ended.
    pub closed: f64,
    /// Still queued, or arriving, when the subscription's session ended
    /// (expiry, revocation, distrust of its root).
    pub session_ended: f64,
    /// All of the above.
    pub total: f64,
}

/// One subscription's accounting: `received == delivered + dropped.total +
/// queued` at every instant.
#[napi(object)]
pub struct SubscriptionStats {
    pub received: f64,
    pub delivered: f64,
    pub queued: f64,
    pub dropped: Drops,
    pub handler_failures: f64,
    pub slow_episodes: f64,
}

/// A bus's accounting over its whole life.
#[napi(object)]
pub struct BusStats {
    pub published: f64,
    /// Totals over every subscription, ended ones included.
    pub subscriptions: SubscriptionStats,
    pub live_subscriptions: f64,
    /// Calls refused for want of a session or a grant.
    pub denied: f64,
    /// Publishes refused for nesting more than 16 levels deep in handlers.
    pub depth_exceeded: f64,
}

impl From<bus::SubscriptionStats> for SubscriptionStats {
    fn from(s: bus::SubscriptionStats) -> SubscriptionStats {
        let d = s.dropped;
        SubscriptionStats {
            received: s.received as f64,
            delivered: s.delivered as f64,
            queued: s.queued as f64,
            dropped: Drops {
                overflow: d.overflow as f64,
                expired: d.expired as f64,
                timeout: d.timeout as f64,
                rejected: d.rejected as f64,
                closed: d.closed as f64,
                session_ended: d.session_ended as f64,
                total: d.total() as f64,
            },
            handler_failures: s.handler_failures as f64,
            slow_episodes: s.slow_episodes as f64,
        }
    }
}

impl From<bus::BusStats> for BusStats {
    fn from(s: bus::BusStats) -> BusStats {
        BusStats {
            published: s.published as f64,
            subscriptions: s.subscriptions.into(),
            live_subscriptions: s.live_subscriptions as f64,
            denied: s.denied as f64,
            depth_exceeded: s.depth_exceeded as f64,
        }
    }
}
