//! The bus's values as uniffi records: messages, options, reports, stats.
//! Counts cross as `i64` (Kotlin `Long`), durations as nanoseconds.

use charter_core::bus::{self, BusLimits, Dispatch, SubscribeOptions};
use charter_core::ErrorKind;

use crate::error::{FfiError, Result};
use crate::time;

/// A message header: a name and a value.
#[derive(uniffi::Record, Clone)]
pub struct Header {
    /// The header's name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// A received message, copied out of the core.
#[derive(uniffi::Record)]
pub struct MessageData {
    /// Bus-wide sequence number, increasing in publish order.
    pub seq: i64,
    /// The topic it was published on.
    pub topic: String,
    /// The payload.
    pub payload: Vec<u8>,
    /// The headers, in the order given.
    pub headers: Vec<Header>,
    /// The reply inbox, on requests.
    pub reply_to: Option<String>,
}

impl From<&bus::Message> for MessageData {
    fn from(m: &bus::Message) -> MessageData {
        MessageData {
            seq: m.seq() as i64,
            topic: m.topic().to_owned(),
            payload: m.payload().to_vec(),
            headers: m.headers().map(|(n, v)| Header { name: n.to_owned(), value: v.to_owned() }).collect(),
            reply_to: m.reply_to().map(str::to_owned),
        }
    }
}

/// Headers as the core takes them.
pub(crate) fn header_refs(headers: &[Header]) -> Vec<(&str, &str)> {
    headers.iter().map(|h| (h.name.as_str(), h.value.as_str())).collect()
}

/// A bus's limits; `None` keeps the core's default.
#[derive(uniffi::Record, Default)]
pub struct Limits {
    /// Live subscriptions at once.
    #[uniffi(default = None)]
    pub max_subscriptions: Option<i64>,
    /// Queued messages over every subscription.
    #[uniffi(default = None)]
    pub max_queue_messages: Option<i64>,
    /// Queued bytes over every subscription.
    #[uniffi(default = None)]
    pub max_queue_bytes: Option<i64>,
    /// Bytes in one payload.
    #[uniffi(default = None)]
    pub max_payload: Option<i64>,
    /// Bytes in a topic or pattern.
    #[uniffi(default = None)]
    pub max_topic_len: Option<i64>,
    /// Tokens in a topic or pattern.
    #[uniffi(default = None)]
    pub max_topic_tokens: Option<i64>,
    /// Headers on one message.
    #[uniffi(default = None)]
    pub max_headers: Option<i64>,
    /// Bytes of headers on one message.
    #[uniffi(default = None)]
    pub max_header_bytes: Option<i64>,
}

/// A count given by Kotlin as a core size; negative is refused.
pub(crate) fn size(value: i64, what: &str) -> Result<usize> {
    usize::try_from(value).map_err(|_| {
        FfiError::new(ErrorKind::InvalidArgument, format!("{what} must not be negative; got {value}"))
    })
}

impl Limits {
    pub(crate) fn to_core(&self) -> Result<BusLimits> {
        let mut limits = BusLimits::default();
        let set = |slot: &mut usize, value: Option<i64>, what: &str| -> Result<()> {
            if let Some(v) = value {
                *slot = size(v, what)?;
            }
            Ok(())
        };
        set(&mut limits.max_subscriptions, self.max_subscriptions, "maxSubscriptions")?;
        set(&mut limits.max_queue_messages, self.max_queue_messages, "maxQueueMessages")?;
        set(&mut limits.max_queue_bytes, self.max_queue_bytes, "maxQueueBytes")?;
        set(&mut limits.max_payload, self.max_payload, "maxPayload")?;
        set(&mut limits.max_topic_len, self.max_topic_len, "maxTopicLen")?;
        set(&mut limits.max_topic_tokens, self.max_topic_tokens, "maxTopicTokens")?;
        set(&mut limits.max_headers, self.max_headers, "maxHeaders")?;
        set(&mut limits.max_header_bytes, self.max_header_bytes, "maxHeaderBytes")?;
        Ok(limits)
    }
}

/// What a full subscription queue does with one more message.
#[derive(uniffi::Enum, Clone, Copy)]
pub enum OverflowPolicy {
    /// Drop the oldest queued message.
    DropOldest,
    /// Drop the new message.
    DropNewest,
    /// Make the publisher wait up to `timeout_nanos` for room.
    Block {
        /// The longest wait.
        timeout_nanos: i64,
    },
    /// Drop the new message and fail the publish with `LIMIT_EXCEEDED`.
    Error,
}

/// How a subscription queues and delivers; `None` keeps the core's default.
#[derive(uniffi::Record)]
pub struct SubscribeSettings {
    /// Queue capacity in messages.
    pub capacity: Option<i64>,
    /// Queue capacity in bytes.
    pub max_bytes: Option<i64>,
    /// What a full queue does.
    pub overflow: Option<OverflowPolicy>,
    /// Messages older than this when received are dropped.
    pub ttl_nanos: Option<i64>,
    /// A pull subscription idle this long is ended.
    pub idle_ttl_nanos: Option<i64>,
    /// A handler runs on a thread of its own rather than the publisher's.
    pub thread: bool,
}

impl SubscribeSettings {
    pub(crate) fn to_core(&self) -> Result<SubscribeOptions> {
        let mut options = SubscribeOptions::new();
        if let Some(c) = self.capacity {
            options = options.capacity(size(c, "capacity")?);
        }
        if let Some(b) = self.max_bytes {
            options = options.max_bytes(size(b, "maxBytes")?);
        }
        if let Some(o) = self.overflow {
            options = options.overflow(match o {
                OverflowPolicy::DropOldest => bus::Overflow::DropOldest,
                OverflowPolicy::DropNewest => bus::Overflow::DropNewest,
                OverflowPolicy::Block { timeout_nanos } => {
                    bus::Overflow::Block(time::duration(timeout_nanos, "Block timeout")?)
                }
                OverflowPolicy::Error => bus::Overflow::Error,
            });
        }
        if let Some(ttl) = time::limit(self.ttl_nanos, "ttl")? {
            options = options.ttl(ttl);
        }
        if let Some(idle) = time::limit(self.idle_ttl_nanos, "idleTtl")? {
            options = options.idle_ttl(idle);
        }
        if self.thread {
            options = options.dispatch(Dispatch::Thread);
        }
        Ok(options)
    }
}

/// What one publish did.
#[derive(uniffi::Record)]
pub struct PublishReport {
    /// Subscriptions whose pattern matched.
    pub matched: i64,
    /// Of those, the ones that took the message.
    pub delivered: i64,
    /// Of those, the ones that dropped it (or another, to make room).
    pub dropped: i64,
}

impl From<bus::PublishReport> for PublishReport {
    fn from(r: bus::PublishReport) -> PublishReport {
        PublishReport { matched: r.matched as i64, delivered: r.delivered as i64, dropped: r.dropped as i64 }
    }
}

/// Dropped messages, by cause.
#[derive(uniffi::Record)]
pub struct Drops {
    /// A full queue.
    pub overflow: i64,
    /// Older than the subscription's ttl when received.
    pub expired: i64,
    /// A `Block` publisher ran out of time.
    pub timeout: i64,
    /// An `Error` queue refused it.
    pub rejected: i64,
    /// Queued when the subscription closed.
    pub closed: i64,
    /// Queued when the subscription's session ended.
    pub session_ended: i64,
    /// The sum of every cause.
    pub total: i64,
}

impl From<bus::Drops> for Drops {
    fn from(d: bus::Drops) -> Drops {
        Drops {
            overflow: d.overflow as i64,
            expired: d.expired as i64,
            timeout: d.timeout as i64,
            rejected: d.rejected as i64,
            closed: d.closed as i64,
            session_ended: d.session_ended as i64,
            total: d.total() as i64,
        }
    }
}

/// A subscription's accounting: `received == delivered + dropped.total + queued`.
#[derive(uniffi::Record)]
pub struct SubscriptionStats {
    /// Messages that reached it.
    pub received: i64,
    /// Messages handed to the receiver or handler.
    pub delivered: i64,
    /// Messages waiting.
    pub queued: i64,
    /// Messages dropped, by cause.
    pub dropped: Drops,
    /// Handler calls that threw.
    pub handler_failures: i64,
    /// Times the queue became full.
    pub slow_episodes: i64,
}

impl From<bus::SubscriptionStats> for SubscriptionStats {
    fn from(s: bus::SubscriptionStats) -> SubscriptionStats {
        SubscriptionStats {
            received: s.received as i64,
            delivered: s.delivered as i64,
            queued: s.queued as i64,
            dropped: s.dropped.into(),
            handler_failures: s.handler_failures as i64,
            slow_episodes: s.slow_episodes as i64,
        }
    }
}

/// A bus's accounting over its life.
#[derive(uniffi::Record)]
pub struct BusStats {
    /// Publishes that were accepted.
    pub published: i64,
    /// The sums over every subscription, live or ended.
    pub subscriptions: SubscriptionStats,
    /// Subscriptions alive now.
    pub live_subscriptions: i64,
    /// Calls refused for want of a grant or session.
    pub denied: i64,
    /// Publishes refused past the nesting bound.
    pub depth_exceeded: i64,
}

impl From<bus::BusStats> for BusStats {
    fn from(s: bus::BusStats) -> BusStats {
        BusStats {
            published: s.published as i64,
            subscriptions: s.subscriptions.into(),
            live_subscriptions: s.live_subscriptions as i64,
            denied: s.denied as i64,
            depth_exceeded: s.depth_exceeded as i64,
        }
    }
}
