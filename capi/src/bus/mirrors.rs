//! The C mirrors of the bus's Rust types (limits, options, reports,
//! statistics) and their conversions; the exports are in the parent.

use super::*;

/// A bus's limits. Fill with `charter_bus_limits_default`, then adjust.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_bus_limits_t {
    /// Live subscriptions at once.
    pub max_subscriptions: usize,
    /// The largest capacity, in messages, a subscription may ask for.
    pub max_queue_messages: usize,
    /// The largest capacity, in bytes, a subscription may ask for.
    pub max_queue_bytes: usize,
    /// The largest payload, in bytes.
    pub max_payload: usize,
    /// The longest topic or pattern, in bytes (at most 256).
    pub max_topic_len: usize,
    /// The most tokens in a topic or pattern (at most 16).
    pub max_topic_tokens: usize,
    /// The most headers on one message.
    pub max_headers: usize,
    /// The most bytes of header names and values on one message.
    pub max_header_bytes: usize,
}

/// How a subscription queues and delivers. Fill with
/// `charter_subscribe_options_default`, then adjust.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_subscribe_options_t {
    /// Queue capacity in messages.
    pub capacity: usize,
    /// Queue capacity in bytes (topic, payload and headers).
    pub max_bytes: usize,
    /// A `CHARTER_OVERFLOW_*` policy.
    pub overflow: i32,
    /// How long a `CHARTER_OVERFLOW_BLOCK` publisher waits for room;
    /// `CHARTER_WAIT_FOREVER` for no limit.
    pub block_timeout_ms: u32,
    /// Messages older than this when received are dropped; 0 for none.
    pub ttl_ms: u32,
    /// A pull subscription not received from for this long is ended; 0 for
    /// never.
    pub idle_ttl_ms: u32,
    /// Where a callback runs: a `CHARTER_DISPATCH_*` value.
    pub dispatch: i32,
}

/// The outcome of one publish: `matched == delivered + dropped`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct charter_publish_report_t {
    /// Subscriptions whose pattern matched the topic.
    pub matched: u64,
    /// Of those, how many accepted the message.
    pub delivered: u64,
    /// Of those, how many dropped it.
    pub dropped: u64,
}

/// Messages dropped, by reason.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct charter_drops_t {
    /// Dropped by `DROP_OLDEST` or `DROP_NEWEST` on a full queue.
    pub overflow: u64,
    /// Past their time-to-live when received.
    pub expired: u64,
    /// A `BLOCK` publisher ran out of time (or would have deadlocked).
    pub timeout: u64,
    /// Refused by an `ERROR` queue, or too large for the queue at all.
    pub rejected: u64,
    /// Still queued, or arriving, when the subscription ended.
    pub closed: u64,
    /// Still queued, or arriving, when the session the subscription was
    /// made with ended (expiry, revocation, distrust of its root).
    pub session_ended: u64,
}

/// One subscription's accounting: `received == delivered + dropped + queued`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct charter_subscription_stats_t {
    /// Messages offered by publishes that matched.
    pub received: u64,
    /// Messages handed to the consumer or its callback.
    pub delivered: u64,
    /// Messages waiting in the queue.
    pub queued: u64,
    /// Messages dropped, by reason.
    pub dropped: charter_drops_t,
    /// Callback calls that returned an error (each also counts as delivered).
    pub handler_failures: u64,
    /// Times the queue became full after having room.
    pub slow_episodes: u64,
}

/// A bus's accounting over its whole life.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct charter_bus_stats_t {
    /// Successful publishes.
    pub published: u64,
    /// Totals over every subscription, ended ones included.
    pub subscriptions: charter_subscription_stats_t,
    /// Live subscriptions now.
    pub live_subscriptions: u64,
    /// Calls refused by authorization: grants that do not cover them, and
    /// clients without a session on a bus made with an authority.
    pub denied: u64,
    /// Publishes refused for nesting deeper than `CHARTER_BUS_MAX_NESTING`.
    pub depth_exceeded: u64,
}

/// A message callback: receives its `user_data` and the message, valid only
/// during the call. Returning anything but `CHARTER_OK` is counted in the
/// subscription's `handler_failures`.
pub type charter_message_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, msg: *const charter_message_t) -> charter_status_t>;

/// `From` both ways between a C mirror and the core struct it copies,
/// field by field, for mirrors whose fields have the core's names and
/// types: the field list is written once, so the two directions cannot
/// drift apart.
macro_rules! mirror_both_ways {
    ($c:ident <=> $core:ident { $($field:ident),+ $(,)? }) => {
        impl From<$core> for $c {
            fn from(v: $core) -> Self {
                $c { $($field: v.$field),+ }
            }
        }

        impl From<$c> for $core {
            fn from(v: $c) -> Self {
                $core { $($field: v.$field),+ }
            }
        }
    };
}

mirror_both_ways!(charter_bus_limits_t <=> BusLimits {
    max_subscriptions,
    max_queue_messages,
    max_queue_bytes,
    max_payload,
    max_topic_len,
    max_topic_tokens,
    max_headers,
    max_header_bytes,
});

impl charter_subscribe_options_t {
    pub(crate) fn to_core(self) -> Result<SubscribeOptions, Error> {
        let overflow = match self.overflow {
            CHARTER_OVERFLOW_DROP_OLDEST => Overflow::DropOldest,
            CHARTER_OVERFLOW_DROP_NEWEST => Overflow::DropNewest,
            CHARTER_OVERFLOW_BLOCK => {
                Overflow::Block(timeout_arg(self.block_timeout_ms).unwrap_or(Duration::MAX))
            }
            CHARTER_OVERFLOW_ERROR => Overflow::Error,
            other => {
                return Err(invalid(format!(
                    "options.overflow must be a CHARTER_OVERFLOW_* value, got {other}"
                )))
            }
        };
        let dispatch = match self.dispatch {
            CHARTER_DISPATCH_INLINE => Dispatch::Inline,
            CHARTER_DISPATCH_THREAD => Dispatch::Thread,
            other => {
                return Err(invalid(format!(
                    "options.dispatch must be a CHARTER_DISPATCH_* value, got {other}"
                )))
            }
        };
        let millis = |ms: u32| (ms > 0).then(|| Duration::from_millis(u64::from(ms)));
        Ok(SubscribeOptions {
            capacity: self.capacity,
            max_bytes: self.max_bytes,
            overflow,
            ttl: millis(self.ttl_ms),
            idle_ttl: millis(self.idle_ttl_ms),
            dispatch,
        })
    }
}

impl From<Drops> for charter_drops_t {
    fn from(d: Drops) -> Self {
        charter_drops_t {
            overflow: d.overflow,
            expired: d.expired,
            timeout: d.timeout,
            rejected: d.rejected,
            closed: d.closed,
            session_ended: d.session_ended,
        }
    }
}

impl From<SubscriptionStats> for charter_subscription_stats_t {
    fn from(s: SubscriptionStats) -> Self {
        charter_subscription_stats_t {
            received: s.received,
            delivered: s.delivered,
            queued: s.queued,
            dropped: s.dropped.into(),
            handler_failures: s.handler_failures,
            slow_episodes: s.slow_episodes,
        }
    }
}

impl From<BusStats> for charter_bus_stats_t {
    fn from(s: BusStats) -> Self {
        charter_bus_stats_t {
            published: s.published,
            subscriptions: s.subscriptions.into(),
            live_subscriptions: s.live_subscriptions,
            denied: s.denied,
            depth_exceeded: s.depth_exceeded,
        }
    }
}

impl From<PublishReport> for charter_publish_report_t {
    fn from(r: PublishReport) -> Self {
        charter_publish_report_t { matched: r.matched, delivered: r.delivered, dropped: r.dropped }
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}
