//! Bus limits and subscription options.

use std::time::Duration;

use super::topic::{MAX_TOPIC_LEN, MAX_TOPIC_TOKENS};
use crate::{Error, ErrorKind, Result};

/// The limits of one bus. Every resource has one; exceeding it fails with
/// `LIMIT_EXCEEDED` (or `INVALID_ARGUMENT` for topics) and a message naming
/// the limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusLimits {
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

impl Default for BusLimits {
    fn default() -> BusLimits {
        BusLimits {
            max_subscriptions: 65_536,
            max_queue_messages: 1 << 20,
            max_queue_bytes: 256 << 20,
            max_payload: 1 << 20,
            max_topic_len: MAX_TOPIC_LEN,
            max_topic_tokens: MAX_TOPIC_TOKENS,
            max_headers: 64,
            max_header_bytes: 16 << 10,
        }
    }
}

impl BusLimits {
    /// Refuses a payload of `len` bytes when it is over `max_payload`.
    /// The bus calls it before it copies a payload, and the C ABI before it
    /// even forms a slice of one, so an oversized payload costs nothing.
    #[inline]
    pub fn check_payload(&self, len: usize) -> Result<()> {
        if len > self.max_payload {
            return Err(self.payload_too_big(len));
        }
        Ok(())
    }

    /// Built out of line, so that the check above inlines to a compare.
    #[cold]
    #[inline(never)]
    fn payload_too_big(&self, len: usize) -> Error {
        Error::new(
            ErrorKind::LimitExceeded,
            format!("payload is {len} bytes; the bus limit is {}", self.max_payload),
        )
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(Error::new(ErrorKind::InvalidArgument, why));
        if !(1..=MAX_TOPIC_LEN).contains(&self.max_topic_len) {
            return bad(format!(
                "the topic length limit must be 1 to {MAX_TOPIC_LEN} bytes, got {}",
                self.max_topic_len
            ));
        }
        if !(1..=MAX_TOPIC_TOKENS).contains(&self.max_topic_tokens) {
            return bad(format!(
                "the topic token limit must be 1 to {MAX_TOPIC_TOKENS}, got {}",
                self.max_topic_tokens
            ));
        }
        for (name, value) in [
            ("the subscription limit", self.max_subscriptions),
            ("the queue's message limit", self.max_queue_messages),
            ("the queue's byte limit", self.max_queue_bytes),
        ] {
            if value == 0 {
                return bad(format!("{name} must be at least 1"));
            }
        }
        Ok(())
    }
}

/// What a full subscription queue does with one more message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Drop the oldest queued message to make room.
    DropOldest,
    /// Drop the new message.
    DropNewest,
    /// Make the publisher wait for room, up to the given time; then drop
    /// the new message and fail the publish with `TIMEOUT`. A publisher
    /// inside a callback of the same bus gets `WOULD_BLOCK` at once instead
    /// of waiting (it could be the consumer it waits for).
    Block(Duration),
    /// Drop the new message and fail the publish with `LIMIT_EXCEEDED`.
    Error,
}

/// Where a callback subscription's handler runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dispatch {
    /// On the publisher's thread, inside `publish`.
    #[default]
    Inline,
    /// On a thread of the subscription's own, fed by its queue, so a slow
    /// handler never slows the publisher.
    Thread,
}

/// How a subscription queues and delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscribeOptions {
    /// Queue capacity in messages.
    pub capacity: usize,
    /// Queue capacity in bytes (topic, payload and headers).
    pub max_bytes: usize,
    /// What a full queue does.
    pub overflow: Overflow,
    /// A message older than this when it is received is dropped instead.
    pub ttl: Option<Duration>,
    /// A pull subscription not received from for this long is ended.
    pub idle_ttl: Option<Duration>,
    /// Where a callback handler runs. `Thread` on a pull subscription is
    /// refused: it has no handler to run.
    pub dispatch: Dispatch,
}

impl Default for SubscribeOptions {
    fn default() -> SubscribeOptions {
        SubscribeOptions {
            capacity: 1024,
            max_bytes: 16 << 20,
            overflow: Overflow::DropOldest,
            ttl: None,
            idle_ttl: None,
            dispatch: Dispatch::Inline,
        }
    }
}

impl SubscribeOptions {
    /// Default options: 1024 messages, 16 MiB, drop the oldest on overflow.
    pub fn new() -> SubscribeOptions {
        SubscribeOptions::default()
    }

    /// Sets the capacity in messages.
    pub fn capacity(mut self, messages: usize) -> SubscribeOptions {
        self.capacity = messages;
        self
    }

    /// Sets the capacity in bytes.
    pub fn max_bytes(mut self, bytes: usize) -> SubscribeOptions {
        self.max_bytes = bytes;
        self
    }

    /// Sets the overflow policy.
    pub fn overflow(mut self, overflow: Overflow) -> SubscribeOptions {
        self.overflow = overflow;
        self
    }

    /// Sets the message time-to-live.
    pub fn ttl(mut self, ttl: Duration) -> SubscribeOptions {
        self.ttl = Some(ttl);
        self
    }

    /// Sets the idle time after which a pull subscription is ended.
    pub fn idle_ttl(mut self, idle: Duration) -> SubscribeOptions {
        self.idle_ttl = Some(idle);
        self
    }

    /// Sets where a callback handler runs.
    pub fn dispatch(mut self, dispatch: Dispatch) -> SubscribeOptions {
        self.dispatch = dispatch;
        self
    }

    /// Every rule on a subscription's options, for a subscription with a
    /// handler (`has_handler`) or a pull one. The one place these are
    /// decided: the C ABI and the bindings pass options through unchecked,
    /// and `vectors/rules/subscribe.json` records each refusal with its
    /// message for their tests.
    pub(crate) fn validate(&self, limits: &BusLimits, has_handler: bool) -> Result<()> {
        let bad = |kind, why: String| Err(Error::new(kind, why));
        if self.capacity == 0 || self.max_bytes == 0 {
            return bad(ErrorKind::InvalidArgument, "capacity and max_bytes must be at least 1".into());
        }
        if self.capacity > limits.max_queue_messages {
            let max = limits.max_queue_messages;
            return bad(
                ErrorKind::LimitExceeded,
                format!("capacity {} exceeds the bus limit of {max} messages", self.capacity),
            );
        }
        if self.max_bytes > limits.max_queue_bytes {
            let max = limits.max_queue_bytes;
            return bad(
                ErrorKind::LimitExceeded,
                format!("max_bytes {} exceeds the bus limit of {max} bytes", self.max_bytes),
            );
        }
        if matches!(self.ttl, Some(d) if d.is_zero()) || matches!(self.idle_ttl, Some(d) if d.is_zero()) {
            return bad(ErrorKind::InvalidArgument, "ttl and idle_ttl must be longer than zero".into());
        }
        if has_handler && self.idle_ttl.is_some() {
            // Evicting happens inside publish, which would then have to wait
            // for the handler's thread.
            return bad(ErrorKind::InvalidArgument, "idle_ttl applies to pull subscriptions only".into());
        }
        if !has_handler && self.dispatch == Dispatch::Thread {
            return bad(
                ErrorKind::InvalidArgument,
                "thread dispatch applies to subscriptions with a handler only".into(),
            );
        }
        Ok(())
    }
}
