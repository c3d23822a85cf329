//! Freeing what Charter hands back to C.
//!
//! Every string and byte buffer Charter returns is owned by the caller and
//! must be released with the matching function here, never with `free`.

use std::ffi::{c_char, CString};

/// `text` as a C string: the one way this crate builds one.
///
/// Rust strings may hold NUL, C strings cannot, and C would read a string
/// with one as cut short there. So each interior NUL becomes U+FFFD (the
/// replacement character): the rest of the text is kept, and the change
/// shows. A string is never silently emptied or cut (docs/c-api.md,
/// "Strings").
pub(crate) fn c_string(text: impl Into<String>) -> CString {
    CString::new(text.into()).unwrap_or_else(|nul| {
        let text = String::from_utf8_lossy(&nul.into_vec()).replace('\0', "\u{FFFD}");
        let mut bytes = text.into_bytes();
        bytes.push(0);
        CString::from_vec_with_nul(bytes).unwrap_or_else(|_| unreachable!("every NUL was replaced"))
    })
}

/// The body of every export that frees a value Charter handed out that is
/// not a handle (a string, a buffer, a message, a record): NULL does
/// nothing, and `free` runs behind the panic firewall.
pub(crate) fn free_value<T>(ptr: *mut T, free: impl FnOnce(*mut T)) {
    if !ptr.is_null() {
        crate::firewall::catch_or((), || free(ptr));
    }
}

/// Frees a string returned by Charter. NULL is allowed and does nothing.
///
/// # Safety
/// `s` must be NULL or a string returned by a Charter function that has not
/// been freed yet.
#[no_mangle]
pub unsafe extern "C" fn charter_string_free(s: *mut c_char) {
    // SAFETY: `s` came from `CString::into_raw` in this library.
    free_value(s, |s| drop(unsafe { CString::from_raw(s) }));
}

/// Frees a byte buffer of `len` bytes returned by Charter. NULL is allowed
/// and does nothing.
///
/// # Safety
/// `ptr` must be NULL or a buffer returned by a Charter function together
/// with `len`, not freed yet.
#[no_mangle]
pub unsafe extern "C" fn charter_bytes_free(ptr: *mut u8, len: usize) {
    // SAFETY: `ptr` and `len` came from `Box<[u8]>::into_raw` in this
    // library.
    free_value(ptr, |ptr| drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) }));
}

#[cfg(test)]
mod tests {
    use super::c_string;

    #[test]
    fn text_without_nul_is_kept() {
        assert_eq!(c_string("topic.a").to_str().unwrap(), "topic.a");
        assert_eq!(c_string(String::new()).to_bytes(), b"");
    }

    #[test]
    fn each_interior_nul_becomes_the_replacement_character() {
        assert_eq!(c_string("a\0b\0").to_str().unwrap(), "a\u{FFFD}b\u{FFFD}");
        assert_eq!(c_string(String::from("\0")).to_str().unwrap(), "\u{FFFD}");
    }
}
