//! Messages: what a publish hands to every matching subscription.

use std::fmt;
use std::sync::Arc;

pub(crate) use super::header_text::HeaderText;

/// One published message. Cloning it is cheap: the topic, payload and
/// headers are shared by every subscriber, never copied per subscriber.
#[derive(Clone)]
pub struct Message {
    pub(crate) seq: u64,
    pub(crate) topic: Arc<str>,
    pub(crate) payload: Arc<[u8]>,
    pub(crate) headers: Option<HeaderText>,
    pub(crate) reply_to: Option<Arc<str>>,
}

impl Message {
    /// The bus-wide sequence number: increasing in publish order.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The topic it was published on.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The payload as a shared buffer, to keep or republish without copying.
    pub fn shared_payload(&self) -> Arc<[u8]> {
        Arc::clone(&self.payload)
    }

    /// The headers, in the order they were given.
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        HeaderText::iter(self.headers.as_ref())
    }

    /// The value of the first header called `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// The reply inbox of a request, if this message is one.
    pub fn reply_to(&self) -> Option<&str> {
        self.reply_to.as_deref()
    }

    /// The bytes this message counts against a queue's byte limit.
    #[inline]
    pub(crate) fn size(&self) -> usize {
        self.topic.len() + self.payload.len() + self.headers.as_ref().map_or(0, HeaderText::bytes)
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("seq", &self.seq)
            .field("topic", &self.topic)
            .field("payload_len", &self.payload.len())
            .field("headers", &self.headers().len())
            .field("reply_to", &self.reply_to)
            .finish()
    }
}
