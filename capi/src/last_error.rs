//! The per-thread "last error" message.
//!
//! Every failing call records its message on the calling thread, and every
//! successful fallible call clears it, so the message read afterwards always
//! belongs to the most recent fallible call on this thread, however many
//! other threads fail at the same time.
//!
//! # Invariant
//!
//! The slot is only ever reached through `try_with`: a thread that is
//! shutting down (its thread-locals already destroyed, as in an `atexit`
//! handler, a C++ static destructor or a `pthread_key` destructor) still
//! gets its status from every call, only without a message.
//!
//! `HELD` is true whenever the slot may hold a message. It has no
//! destructor, so reading it is a plain thread-local load: a successful
//! call, which must clear the message, pays that load and nothing more
//! when there is none (the common case), instead of the slot's
//! destructor-registration check and borrow flag.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, CString};

use charter_core::Error;

thread_local! {
    static LAST: RefCell<Option<CString>> = const { RefCell::new(None) };
    static HELD: Cell<bool> = const { Cell::new(false) };
}

/// Records `error` as this thread's last error.
pub(crate) fn set(error: &Error) {
    let text = format!("{}: {}", error.kind().name(), error.message());
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = Some(crate::strings::c_string(text));
            HELD.set(true);
        }
    });
}

/// Forgets this thread's last error.
#[inline]
pub(crate) fn clear() {
    if HELD.get() {
        forget();
    }
}

/// [`clear`]'s work when there is a message to forget.
#[cold]
#[inline(never)]
fn forget() {
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = None;
            HELD.set(false);
        }
    });
}

/// A copy of the message of the last failed call on this thread, such as
/// `"CHARTER_E_NULL_ARGUMENT: out_id is NULL"`, or NULL if the most recent
/// fallible call on this thread succeeded (or there was none). NULL too
/// when the thread is shutting down and its message slot is gone.
///
/// The caller owns the string and frees it with `charter_string_free`.
#[no_mangle]
pub extern "C" fn charter_last_error_message() -> *mut c_char {
    crate::firewall::catch_or(std::ptr::null_mut(), || {
        LAST.try_with(|last| match last.try_borrow().as_deref() {
            Ok(Some(message)) => message.clone().into_raw(),
            _ => std::ptr::null_mut(),
        })
        .unwrap_or(std::ptr::null_mut())
    })
}
