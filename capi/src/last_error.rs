//! The per-thread "last error" message.
//!
//! Every failing call records its message on the calling thread, and every
//! successful fallible call clears it, so the message read afterwards always
//! belongs to the most recent fallible call on this thread, however many
//! other threads fail at the same time.

use std::cell::RefCell;
use std::ffi::{c_char, CString};

use charter_core::Error;

thread_local! {
    static LAST: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Records `error` as this thread's last error.
pub(crate) fn set(error: &Error) {
    let text = format!("{}: {}", error.kind().name(), error.message());
    LAST.with(|last| *last.borrow_mut() = Some(crate::strings::c_string(text)));
}

/// Forgets this thread's last error.
#[inline]
pub(crate) fn clear() {
    LAST.with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            if last.is_some() {
                *last = None;
            }
        }
    });
}

/// A copy of the message of the last failed call on this thread, such as
/// `"CHARTER_E_NULL_ARGUMENT: out_id is NULL"`, or NULL if the most recent
/// fallible call on this thread succeeded (or there was none).
///
/// The caller owns the string and frees it with `charter_string_free`.
#[no_mangle]
pub extern "C" fn charter_last_error_message() -> *mut c_char {
    crate::firewall::catch_or(std::ptr::null_mut(), || {
        LAST.with(|last| match &*last.borrow() {
            Some(message) => message.clone().into_raw(),
            None => std::ptr::null_mut(),
        })
    })
}
