//! Running subscription handlers: isolation, and knowing when the current
//! thread is inside a handler of a given bus.
//!
//! A publisher inside a handler of the same bus must never wait for queue
//! room (it may be the very consumer that would make room), so `Block`
//! overflow becomes `WOULD_BLOCK` there. Each thread keeps a small fixed
//! stack of the buses whose handlers it is running.

use std::cell::Cell;
use std::sync::Arc;

use super::message::Message;
use crate::HandlerResult;

/// A subscription's handler.
pub(crate) type Handler = Arc<dyn Fn(&Message) -> HandlerResult + Send + Sync>;

const DEPTH: usize = 32;

struct Stack {
    len: Cell<usize>,
    buses: [Cell<u64>; DEPTH],
}

thread_local! {
    static INSIDE: Stack = const { Stack { len: Cell::new(0), buses: [const { Cell::new(0) }; DEPTH] } };
}

/// Whether this thread is running a handler of bus `bus`. A stack too deep
/// to track answers yes, which only makes a `Block` publisher not wait.
pub(crate) fn inside_handler_of(bus: u64) -> bool {
    INSIDE.with(|s| {
        let len = s.len.get();
        len > DEPTH || s.buses[..len].iter().any(|b| b.get() == bus)
    })
}

/// Runs `handler` on `message` as a handler of bus `bus`. Returns whether
/// it failed (returned an error or panicked; a panic is caught here).
pub(crate) fn run(bus: u64, handler: &Handler, message: &Message) -> bool {
    INSIDE.with(|s| {
        let len = s.len.get();
        if len < DEPTH {
            s.buses[len].set(bus);
        }
        s.len.set(len + 1);
    });
    let outcome = crate::panic::catch(|| handler(message));
    INSIDE.with(|s| s.len.set(s.len.get() - 1));
    !matches!(outcome, Ok(Ok(())))
}
