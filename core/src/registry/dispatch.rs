//! What a round calls: the [`Handler`] trait.
//!
//! A registry is generic over the type of its handlers so that a caller
//! that can call its handlers more cheaply than through a boxed closure
//! (the C ABI, which holds a C function and its user data and may call it
//! with `unsafe`, which this crate forbids) stores them as they are, while
//! every rule of a round (order, isolation, removal mid-round, run-once,
//! counting, nesting) stays here, in the one round that calls them all.
//! The round calls [`Handler::call`] statically, so a handler type's call
//! is inlined into the loop.

use super::HandlerResult;

/// A handler of events of type `E`, as a [`Registry`](super::Registry)
/// stores and calls it.
///
/// The default handler type, [`BoxedHandler`], is a boxed closure; the
/// registry's `register` methods take closures and box them. A registry of
/// another handler type takes its handlers through
/// [`register_handler`](super::Registry::register_handler).
///
/// Handlers may be called from any thread that notifies, and concurrently,
/// hence `Send + Sync`. A panic in `call` or `call_once` is caught by the
/// round and counted as the handler's panic.
pub trait Handler<E: ?Sized>: Send + Sync {
    /// Handles one event.
    fn call(&self, event: &E) -> HandlerResult;

    /// The one call of a run-once registration: exactly one round calls
    /// it, once, and the registration ends right after. A handler that
    /// holds something to release when it is done may release it here
    /// rather than when the last round holding it lets go. Calls
    /// [`call`](Handler::call) unless overridden.
    fn call_once(&self, event: &E) -> HandlerResult {
        self.call(event)
    }
}

/// The default handler type: a boxed closure.
pub type BoxedHandler<E> = Box<dyn Fn(&E) -> HandlerResult + Send + Sync>;

impl<E: ?Sized> Handler<E> for BoxedHandler<E> {
    #[inline(always)]
    fn call(&self, event: &E) -> HandlerResult {
        self(event)
    }
}
