//! The panic firewall: no panic ever unwinds into C.
//!
//! Every exported function runs its body through [`call`] (for functions
//! that return a status) or [`catch_or`] (for the few that return something
//! else). A panic becomes `CHARTER_E_PANIC` with a message, and Charter's
//! quiet panic hook keeps it from being printed.

use std::any::Any;
use std::panic::AssertUnwindSafe;

use charter_core::{panic, Error, ErrorKind};

use crate::last_error;
use crate::status::{charter_status_t, CHARTER_OK};

/// Runs `body`; maps its outcome to a status and records or clears the
/// thread's last error.
///
/// The success path pays for one catch: clearing the last error cannot
/// panic (a thread-local reached with `try_with`, a `try_borrow_mut`, and
/// at most a string's deallocation), so it runs after the catch. Recording
/// an error runs inside a second catch, on the failure path only: a call
/// made while the thread is shutting down (from an `atexit` handler, a C++
/// static destructor or a `pthread_key` destructor) may find the
/// last-error slot already destroyed, and [`last_error`] then skips it;
/// should anything there still panic, the status is returned without a
/// message.
///
/// Always inlined, with the catch written out here rather than through
/// `panic::catch`: that generic function was compiled out of line, so
/// every export paid a second frame, its arguments spilled to build the
/// body's closure, and the panic's message built before the outcome was
/// even looked at. Here the body runs in the export's own frame and a
/// panic's payload goes to the cold path as it is.
#[inline(always)]
pub(crate) fn call(body: impl FnOnce() -> Result<(), Error>) -> charter_status_t {
    panic::silence_caught_panics();
    let outcome = {
        let _scope = panic::CatchScope::enter();
        std::panic::catch_unwind(AssertUnwindSafe(body))
    };
    match outcome {
        Ok(Ok(())) => {
            last_error::clear();
            CHARTER_OK
        }
        Ok(Err(error)) => record_error(error),
        Err(payload) => record_panic(payload),
    }
}

/// The failure path of [`call`]: records the error and returns its status.
#[cold]
#[inline(never)]
fn record_error(error: Error) -> charter_status_t {
    record_failure(Ok(error))
}

/// The panic path of [`call`]: records the panic's message (the payload is
/// dropped with any panic of its own contained) and returns
/// `CHARTER_E_PANIC`.
#[cold]
#[inline(never)]
fn record_panic(payload: Box<dyn Any + Send>) -> charter_status_t {
    record_failure(Err(payload))
}

/// Records an error, or a panic's message, as the thread's last error
/// inside a catch of its own; returns the status.
fn record_failure(outcome: Result<Error, Box<dyn Any + Send>>) -> charter_status_t {
    let recorded = panic::catch(move || {
        let error = match outcome {
            Ok(error) => error,
            Err(payload) => {
                let message = panic::message_of(payload);
                Error::new(ErrorKind::Panic, format!("panic inside Charter: {message}"))
            }
        };
        last_error::set(&error);
        error.kind().code()
    });
    recorded.unwrap_or(ErrorKind::Panic.code())
}

/// Runs `body`, which cannot fail; returns `fallback` if it panics.
pub(crate) fn catch_or<R>(fallback: R, body: impl FnOnce() -> R) -> R {
    panic::silence_caught_panics();
    panic::catch(body).unwrap_or(fallback)
}

/// The error for a NULL pointer argument called `name`.
pub(crate) fn null_argument(name: &str) -> Error {
    Error::new(ErrorKind::NullArgument, format!("{name} is NULL"))
}
