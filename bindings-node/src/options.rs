//! Bus limits and subscription options, as `lib/options.js` passes them.
//!
//! `lib/options.js` checks every value's type and range (non-negative
//! integers, non-negative millisecond durations, the names of policies)
//! and names the option in its error; the core decides every rule on the
//! values and their combination (a capacity of zero, a queue larger than
//! the bus allows, thread dispatch without a handler, ...). This side only
//! converts, and leaves what was not given unset: the core's defaults.

use std::time::Duration;

use charter_core::bus::{BusLimits, Dispatch, Overflow, SubscribeOptions};
use napi_derive::napi;

/// `new Bus({...})`'s limits; absent ones keep the core's defaults.
#[napi(object)]
pub struct LimitsSpec {
    pub max_subscriptions: Option<f64>,
    pub max_queue_messages: Option<f64>,
    pub max_queue_bytes: Option<f64>,
    pub max_payload: Option<f64>,
    pub max_topic_len: Option<f64>,
    pub max_topic_tokens: Option<f64>,
    pub max_headers: Option<f64>,
    pub max_header_bytes: Option<f64>,
}

/// `subscribe`'s options, with `overflow` split into its policy
/// (`"dropOldest"`, `"dropNewest"`, `"error"` or `"block"`) and `blockMs`,
/// and `dispatch` `"inline"` or `"thread"`.
#[napi(object)]
pub struct SubscribeSpec {
    pub dispatch: Option<String>,
    pub capacity: Option<f64>,
    pub max_bytes: Option<f64>,
    pub overflow: Option<String>,
    pub block_ms: Option<f64>,
    pub ttl_ms: Option<f64>,
    pub idle_ttl_ms: Option<f64>,
}

/// A count from JS (a float); `as` saturates, which only matters for values
/// `lib/options.js` already refused.
fn count(n: f64) -> usize {
    n as usize
}

/// A duration in milliseconds; `Infinity` (and anything too long to
/// represent) is no limit.
pub fn millis(ms: f64) -> Duration {
    Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::MAX)
}

impl LimitsSpec {
    pub fn limits(&self) -> BusLimits {
        let d = BusLimits::default();
        let or = |value: Option<f64>, default: usize| value.map_or(default, count);
        BusLimits {
            max_subscriptions: or(self.max_subscriptions, d.max_subscriptions),
            max_queue_messages: or(self.max_queue_messages, d.max_queue_messages),
            max_queue_bytes: or(self.max_queue_bytes, d.max_queue_bytes),
            max_payload: or(self.max_payload, d.max_payload),
            max_topic_len: or(self.max_topic_len, d.max_topic_len),
            max_topic_tokens: or(self.max_topic_tokens, d.max_topic_tokens),
            max_headers: or(self.max_headers, d.max_headers),
            max_header_bytes: or(self.max_header_bytes, d.max_header_bytes),
        }
    }
}

impl SubscribeSpec {
    pub fn options(&self) -> SubscribeOptions {
        let mut options = SubscribeOptions::new();
        if let Some(n) = self.capacity {
            options = options.capacity(count(n));
        }
        if let Some(n) = self.max_bytes {
            options = options.max_bytes(count(n));
        }
        let overflow = match self.overflow.as_deref() {
            Some("dropOldest") => Some(Overflow::DropOldest),
            Some("dropNewest") => Some(Overflow::DropNewest),
            Some("error") => Some(Overflow::Error),
            Some("block") => Some(Overflow::Block(millis(self.block_ms.unwrap_or(f64::INFINITY)))),
            _ => None,
        };
        if let Some(overflow) = overflow {
            options = options.overflow(overflow);
        }
        if self.dispatch.as_deref() == Some("thread") {
            options = options.dispatch(Dispatch::Thread);
        }
        options.ttl = self.ttl_ms.map(millis);
        options.idle_ttl = self.idle_ttl_ms.map(millis);
        options
    }
}
