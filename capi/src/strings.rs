//! Freeing what Charter hands back to C.
//!
//! Every string and byte buffer Charter returns is owned by the caller and
//! must be released with the matching function here, never with `free`.

use std::ffi::{c_char, CString};

/// `text` as a C string: Rust strings may hold NUL, C strings cannot, so
/// each NUL becomes U+FFFD.
pub(crate) fn c_string(text: String) -> CString {
    CString::new(text.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

/// Frees a string returned by Charter. NULL is allowed and does nothing.
///
/// # Safety
/// `s` must be NULL or a string returned by a Charter function that has not
/// been freed yet.
#[no_mangle]
pub unsafe extern "C" fn charter_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    crate::firewall::catch_or((), || {
        // SAFETY: `s` came from `CString::into_raw` in this library.
        drop(unsafe { CString::from_raw(s) });
    });
}

/// Frees a byte buffer of `len` bytes returned by Charter. NULL is allowed
/// and does nothing.
///
/// # Safety
/// `ptr` must be NULL or a buffer returned by a Charter function together
/// with `len`, not freed yet.
#[no_mangle]
pub unsafe extern "C" fn charter_bytes_free(ptr: *mut u8, len: usize) {
    if ptr.is_null() {
        return;
    }
    crate::firewall::catch_or((), || {
        // SAFETY: `ptr` and `len` came from `Box<[u8]>::into_raw` in this
        // library.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
    });
}
