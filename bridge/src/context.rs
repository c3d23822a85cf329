//! Whether the caller runs on a bridge's own thread, and the one rule for
//! the calls that cannot run there.
//!
//! A bridge publishes imported messages on the local bus from its runtime,
//! so an inline bus callback may run there. Starting or flushing a bridge
//! waits on a runtime, which cannot be done from inside one: the bridge
//! refuses those itself ([`outside_runtime`]), and every binding maps that
//! error. Closing is never refused: a binding asks [`in_async_context`]
//! and finishes the close on a thread of its own.

use charter_core::{Error, ErrorKind, Result};

/// Whether the current thread is inside an async runtime (a bridge's
/// callback, for instance), where a bridge must not be started, flushed or
/// closed in place.
pub fn in_async_context() -> bool {
    tokio::runtime::Handle::try_current().is_ok()
}

/// Refuses a call that blocks (`action`: "started", "flushed") on a thread
/// inside an async runtime, where blocking on the bridge's own runtime
/// would panic or stall that runtime. `WOULD_BLOCK`, not
/// `INVALID_ARGUMENT`: nothing in the call is wrong, the same call succeeds
/// from a plain thread; it would have to wait where waiting is not allowed,
/// as a blocking publish inside a handler of the same bus does.
pub(crate) fn outside_runtime(action: &str) -> Result<()> {
    if in_async_context() {
        return Err(Error::new(
            ErrorKind::WouldBlock,
            format!(
                "a bridge cannot be {action} inside an async runtime (a handler a bridge runs is in one): \
                 it would block the runtime's thread; call it from a plain thread"
            ),
        ));
    }
    Ok(())
}
