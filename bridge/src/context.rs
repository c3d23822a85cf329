//! Whether the caller runs on a bridge's own thread.
//!
//! A bridge publishes imported messages on the local bus from its runtime,
//! so an inline bus callback may run there. Starting, flushing or closing a
//! bridge waits on a runtime, which cannot be done from inside one: the
//! bindings ask this first, and refuse the call or finish it elsewhere.

/// Whether the current thread is inside an async runtime (a bridge's
/// callback, for instance), where a bridge must not be started, flushed or
/// closed in place.
pub fn in_async_context() -> bool {
    tokio::runtime::Handle::try_current().is_ok()
}
