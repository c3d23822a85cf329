//! What a registry's panic hook is shown.

use std::any::Any;
use std::fmt;

use super::HandlerId;

/// A handler panic, as the [`on_panic`](super::Registry::on_panic) hook sees
/// it: which handler, and the payload itself, so a custom payload type can
/// be downcast.
///
/// The payload is borrowed for the length of the hook call and dropped
/// after it (a panic in its destructor is contained).
pub struct PanicInfo<'a> {
    id: HandlerId,
    payload: &'a (dyn Any + Send),
}

impl<'a> PanicInfo<'a> {
    pub(crate) fn new(id: HandlerId, payload: &'a (dyn Any + Send)) -> PanicInfo<'a> {
        PanicInfo { id, payload }
    }

    /// The registration whose handler panicked.
    pub fn handler_id(&self) -> HandlerId {
        self.id
    }

    /// The value the handler panicked with (`panic_any` sends any type).
    pub fn payload(&self) -> &'a (dyn Any + Send) {
        self.payload
    }

    /// The panic's message when the payload is a `&str` or a `String` (as
    /// with `panic!`), else `None`.
    pub fn message(&self) -> Option<&'a str> {
        crate::panic::payload_message(self.payload)
    }
}

impl fmt::Debug for PanicInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanicInfo").field("handler_id", &self.id).field("message", &self.message()).finish()
    }
}

impl fmt::Display for PanicInfo<'_> {
    /// `handler#N panicked: message`, with the text of
    /// [`message_of`](crate::panic::message_of) for a non-string payload.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = self.message().unwrap_or(crate::panic::NON_STRING_PAYLOAD);
        write!(f, "{} panicked: {}", self.id, message)
    }
}
