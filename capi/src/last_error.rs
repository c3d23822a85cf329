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

use std::cell::RefCell;
use std::ffi::{c_char, CString};

use charter_core::Error;

thread_local! {
    static LAST: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Records `error` as this thread's last error.
pub(crate) fn set(error: &Error) {
    let text = format!("{}: {}", error.kind().name(), error.message());
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = Some(crate::strings::c_string(text));
        }
    });
}

/// Forgets this thread's last error.
#[inline]
pub(crate) fn clear() {
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            if last.is_some() {
                *last = None;
            }
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
