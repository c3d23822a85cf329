//! Catching panics at Charter's boundaries without printing anything.
//!
//! Charter runs code it does not control (handlers, callbacks) and promises
//! that a panic there never reaches the caller. `catch_unwind` stops the
//! unwind, but Rust's default panic hook still prints a message to stderr,
//! and library code must never print. [`silence_caught_panics`] installs a
//! hook that stays quiet for panics raised inside a [`CatchScope`] and hands
//! every other panic to the hook that was installed before it.
//!
//! The C ABI and the language bindings call [`silence_caught_panics`] once;
//! a Rust program using the core directly keeps whatever hook it chose.

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static CATCHING: Cell<u32> = const { Cell::new(0) };
}

/// Marks the current thread as inside a region whose panics Charter catches.
///
/// Scopes nest; the mark is removed when the outermost scope is dropped.
/// `Registry::notify` does not need one: its nesting stack already tells
/// the hook that a round, and so a catching region, is in progress.
pub struct CatchScope(());

impl CatchScope {
    /// Enters a catching region on this thread.
    #[inline]
    pub fn enter() -> CatchScope {
        CATCHING.with(|c| c.set(c.get() + 1));
        CatchScope(())
    }
}

impl Drop for CatchScope {
    #[inline]
    fn drop(&mut self) {
        CATCHING.with(|c| c.set(c.get() - 1));
    }
}

/// Runs `f`, turning a panic into `Err` with the panic's message.
pub fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    let _scope = CatchScope::enter();
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(message_of)
}

/// What a panic carried that reads as text: the `&str` or `String` given to
/// `panic!`, or `None` for any other payload type.
pub fn payload_message(payload: &(dyn Any + Send)) -> Option<&str> {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        Some(s)
    } else {
        payload.downcast_ref::<String>().map(String::as_str)
    }
}

/// The text [`message_of`] gives a payload that is not a string.
pub const NON_STRING_PAYLOAD: &str = "panic with a non-string payload";

/// Extracts a readable message from a panic payload and drops the payload.
///
/// Dropping a payload can itself panic (a payload type with a panicking
/// `Drop`); that second panic is contained here too.
pub fn message_of(payload: Box<dyn Any + Send>) -> String {
    let text = payload_message(&*payload).unwrap_or(NON_STRING_PAYLOAD).to_owned();
    drop_contained(payload);
    text
}

/// Drops `value`, containing a panic raised by its destructor.
pub fn drop_contained<T>(value: T) {
    let _scope = CatchScope::enter();
    if let Err(second) = panic::catch_unwind(AssertUnwindSafe(move || drop(value))) {
        // The second payload is leaked rather than dropped: dropping it could
        // panic again, and nothing useful can be done with it.
        std::mem::forget(second);
    }
}

/// Installs, once per process, a panic hook that is silent for panics that
/// Charter catches and defers to the previous hook for all others.
pub fn silence_caught_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CATCHING.with(Cell::get) == 0 && !crate::depth::active() {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_returns_value_or_message() {
        silence_caught_panics();
        assert_eq!(catch(|| 7), Ok(7));
        assert_eq!(catch(|| panic!("boom {}", 1)), Err::<(), _>("boom 1".to_owned()));
        assert_eq!(
            catch(|| std::panic::panic_any(5u8)),
            Err::<(), _>("panic with a non-string payload".to_owned())
        );
        assert_eq!(CATCHING.with(Cell::get), 0);
    }

    #[test]
    fn a_payload_whose_drop_panics_is_contained() {
        struct Nasty;
        impl Drop for Nasty {
            fn drop(&mut self) {
                panic!("drop panics");
            }
        }
        silence_caught_panics();
        let r = catch(|| std::panic::panic_any(Nasty));
        assert_eq!(r, Err::<(), _>("panic with a non-string payload".to_owned()));
    }
}
