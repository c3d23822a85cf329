//! What a registration is: its id, its place in the firing order, and the
//! handler itself.

use std::fmt;
use std::sync::atomic::AtomicBool;

/// Identifies one registration within one [`Registry`](super::Registry).
///
/// Ids start at 1 and are never reused within a registry, so a stale id can
/// never remove somebody else's handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HandlerId(pub(crate) u64);

impl HandlerId {
    /// The id as a number, for the C ABI and the bindings.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The id with this number. An id that was never issued simply matches
    /// no registration.
    pub fn from_raw(raw: u64) -> HandlerId {
        HandlerId(raw)
    }
}

impl fmt::Display for HandlerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "handler#{}", self.0)
    }
}

/// Returned by a handler to report that it failed. The failure is counted in
/// [`NotifyReport::failed`](super::NotifyReport::failed); it never stops
/// the handlers after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HandlerError;

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("handler reported a failure")
    }
}

impl std::error::Error for HandlerError {}

/// What a handler returns.
pub type HandlerResult = Result<(), HandlerError>;

/// One registration.
///
/// The handler is boxed rather than stored inline: an unsized last field
/// would make every dispatch compute the field's offset from the vtable's
/// alignment, which costs more than the extra pointer load (measured with
/// callgrind, see docs/BENCHMARKS.md).
pub(crate) struct Entry<F: ?Sized> {
    pub(crate) id: HandlerId,
    pub(crate) priority: i32,
    /// Cleared by `unregister` and `clear` before the new snapshot is
    /// published, so a round already in progress skips the handler.
    pub(crate) live: AtomicBool,
    pub(crate) handler: Box<F>,
}

impl<F: ?Sized> Entry<F> {
    /// Firing order: higher priority first, then registration order.
    pub(crate) fn fires_before(&self, priority: i32, id: HandlerId) -> bool {
        (self.priority, std::cmp::Reverse(self.id)) > (priority, std::cmp::Reverse(id))
    }
}
