//! Freeing what Charter hands back to C.
//!
//! Every string and byte buffer Charter returns is owned by the caller and
//! must be released with the matching function here, never with `free`.

use std::ffi::{c_char, CString};

use charter_core::Error;

use crate::firewall::{require_out, write_out};

/// Hands `text` to C as a caller-owned string through `out`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
pub(crate) unsafe fn string_out(out: *mut *mut c_char, name: &str, text: String) -> Result<(), Error> {
    require_out(out, name)?;
    // SAFETY: checked non-NULL; the caller guarantees validity.
    unsafe { write_out(out, name, c_string(text).into_raw()) }
}

/// `text` as a C string: Rust strings may hold NUL, C strings cannot, so
/// each NUL becomes U+FFFD.
pub(crate) fn c_string(text: String) -> CString {
    CString::new(text.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

/// Hands `bytes` to C as a caller-owned buffer through `out` and `out_len`.
///
/// # Safety
/// `out` and `out_len` must be NULL or valid for writing.
pub(crate) unsafe fn bytes_out(out: *mut *mut u8, out_len: *mut usize, bytes: Vec<u8>) -> Result<(), Error> {
    require_out(out, "out")?;
    require_out(out_len, "out_len")?;
    let len = bytes.len();
    let ptr = Box::into_raw(bytes.into_boxed_slice()).cast::<u8>();
    // SAFETY: both checked non-NULL; the caller guarantees validity.
    unsafe {
        out_len.write(len);
        out.write(ptr);
    }
    Ok(())
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
