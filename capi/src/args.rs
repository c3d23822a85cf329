//! Reading C arguments: strings, byte buffers and header arrays.
//!
//! Each function names the argument in its error, and none keeps a pointer
//! beyond the call (everything Charter keeps is copied by the core).

use std::ffi::{c_char, CStr};

use charter_core::{Error, ErrorKind};

use crate::firewall::null_argument;

/// One message header: a NUL-terminated UTF-8 name and value.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_header_t {
    /// The header's name.
    pub name: *const c_char,
    /// The header's value.
    pub value: *const c_char,
}

/// The string at `ptr`, the argument called `name`.
///
/// # Safety
/// `ptr` must be NULL or a NUL-terminated string valid for the call.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(null_argument(name));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|e| Error::new(ErrorKind::InvalidUtf8, format!("{name} is not UTF-8: {e}")))
}

/// The `len` bytes at `ptr`, the argument called `name` (NULL is allowed
/// when `len` is 0).
///
/// # Safety
/// `ptr` must be NULL or valid for reading `len` bytes during the call.
pub(crate) unsafe fn bytes_arg<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a [u8], Error> {
    match (ptr.is_null(), len) {
        (true, 0) => Ok(&[]),
        (true, _) => Err(null_argument(name)),
        // SAFETY: the caller guarantees `len` readable bytes at `ptr`.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(ptr, len) }),
    }
}

/// The `count` headers at `ptr`, refusing more than `max` before reading
/// any, so a hostile count cannot make Charter allocate.
///
/// # Safety
/// `ptr` must be NULL (with `count` 0) or point to `count` headers whose
/// strings are valid for the call.
pub(crate) unsafe fn headers_arg<'a>(
    ptr: *const charter_header_t,
    count: usize,
    max: usize,
) -> Result<Vec<(&'a str, &'a str)>, Error> {
    if count > max {
        return Err(Error::new(ErrorKind::LimitExceeded, format!("{count} headers; the bus limit is {max}")));
    }
    if count == 0 {
        return Ok(Vec::new());
    }
    if ptr.is_null() {
        return Err(null_argument("headers"));
    }
    // SAFETY: the caller guarantees `count` headers at `ptr`.
    let headers = unsafe { std::slice::from_raw_parts(ptr, count) };
    headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            // SAFETY: the caller guarantees valid strings in each header.
            let name = unsafe { str_arg(h.name, &format!("headers[{i}].name")) }?;
            // SAFETY: as above.
            let value = unsafe { str_arg(h.value, &format!("headers[{i}].value")) }?;
            Ok((name, value))
        })
        .collect()
}

/// A timeout in milliseconds, where `CHARTER_WAIT_FOREVER` means none.
pub(crate) fn timeout_arg(ms: u32) -> Option<std::time::Duration> {
    (ms != crate::bus::CHARTER_WAIT_FOREVER).then(|| std::time::Duration::from_millis(u64::from(ms)))
}

/// The `count` strings at `ptr`, the argument called `name`, refusing more
/// than `max` before reading any.
///
/// # Safety
/// `ptr` must be NULL (with `count` 0) or point to `count` NUL-terminated
/// strings valid for the call.
pub(crate) unsafe fn str_array_arg<'a>(
    ptr: *const *const c_char,
    count: usize,
    max: usize,
    name: &str,
) -> Result<Vec<&'a str>, Error> {
    if count > max {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!("{name}: {count} entries; the limit is {max}"),
        ));
    }
    if count == 0 {
        return Ok(Vec::new());
    }
    if ptr.is_null() {
        return Err(null_argument(name));
    }
    // SAFETY: the caller guarantees `count` pointers at `ptr`.
    let items = unsafe { std::slice::from_raw_parts(ptr, count) };
    items
        .iter()
        .enumerate()
        // SAFETY: the caller guarantees each is a valid string.
        .map(|(i, &p)| unsafe { str_arg(p, &format!("{name}[{i}]")) })
        .collect()
}

/// The `N` bytes at `ptr`, the argument called `name`.
///
/// # Safety
/// `ptr` must be NULL or valid for reading `N` bytes.
pub(crate) unsafe fn array_arg<const N: usize>(ptr: *const u8, name: &str) -> Result<[u8; N], Error> {
    if ptr.is_null() {
        return Err(null_argument(name));
    }
    let mut out = [0u8; N];
    // SAFETY: the caller guarantees `N` readable bytes.
    out.copy_from_slice(unsafe { std::slice::from_raw_parts(ptr, N) });
    Ok(out)
}
