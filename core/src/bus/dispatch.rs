//! Running subscription handlers: isolation, nesting, and knowing when the
//! current thread is inside a handler of a given bus.
//!
//! Every publish takes a level of the thread's nesting stack
//! ([`crate::depth`]) for its bus while it delivers, and a
//! `Dispatch::Thread` worker holds one for its bus for as long as it runs.
//! So a handler that publishes again, on its own bus or another one, nests
//! at most [`MAX_NESTING`] levels per bus and
//! [`MAX_THREAD_NESTING`](crate::depth::MAX_THREAD_NESTING) in all; past
//! that the publish fails with `LIMIT_EXCEEDED` before delivering anything.
//!
//! A publisher inside a handler of the same bus must never wait for queue
//! room (it may be the very consumer that would make room), so `Block`
//! overflow becomes `WOULD_BLOCK` there.

use std::sync::Arc;

use super::message::Message;
use crate::depth::{self, Level};
use crate::{Error, ErrorKind, HandlerResult, Result};

/// A subscription's handler.
pub(crate) type Handler = Arc<dyn Fn(&Message) -> HandlerResult + Send + Sync>;

/// The most publishes of one bus that may be nested on one thread (a
/// handler that publishes, whose handler publishes, ...). Low enough that
/// the deepest nesting fits a 2 MiB thread running Python or JavaScript
/// handlers.
pub const MAX_NESTING: usize = 16;

/// Takes a nesting level for a publish on the bus whose key is `bus`;
/// also says whether this thread was already running a handler of that
/// bus (where a publisher must not wait for queue room).
#[inline]
pub(crate) fn enter(bus: usize) -> Result<(Level, bool)> {
    match depth::enter_counting(bus, MAX_NESTING) {
        Some((level, active)) => Ok((level, active > 0)),
        None => Err(too_deep()),
    }
}

/// Built out of line, so that taking a level inlines into the publish.
#[cold]
#[inline(never)]
fn too_deep() -> Error {
    Error::new(
        ErrorKind::LimitExceeded,
        format!(
            "publish nested more than {MAX_NESTING} levels deep on this bus (or more than {} \
             publish and notify calls active at once on this thread): a handler that \
             publishes again must stop somewhere; nothing was delivered",
            depth::MAX_THREAD_NESTING
        ),
    )
}

/// Runs `handler` on `message`. Returns whether it failed (returned an
/// error or panicked; a panic is caught here).
#[inline]
pub(crate) fn run(handler: &Handler, message: &Message) -> bool {
    !matches!(crate::panic::catch(|| handler(message)), Ok(Ok(())))
}
