//! Status codes: `CHARTER_OK` and the negative `CHARTER_E_*` errors.
//!
//! The values are fixed forever and defined once, in the core's
//! [`ErrorKind`] table, which is where Python, Node and Go get theirs.
//! cbindgen reads source text and cannot expand a macro, so the constants
//! below are generated into this file from that table by `make header`;
//! `capi/tests/header.rs` fails when they are stale.

use std::ffi::c_char;

use charter_core::ErrorKind;

/// The result of every Charter function that can fail: `CHARTER_OK` (0) or
/// a negative `CHARTER_E_*` value.
pub type charter_status_t = i32;

/// Success.
pub const CHARTER_OK: charter_status_t = 0;
// BEGIN CHARTER_E_*: generated from charter_core::ErrorKind by `make header`
// (capi/tests/header.rs checks it); do not edit by hand.
/// A required pointer or argument was missing.
pub const CHARTER_E_NULL_ARGUMENT: charter_status_t = -1;
/// An argument was present but not acceptable.
pub const CHARTER_E_INVALID_ARGUMENT: charter_status_t = -2;
/// A string argument was not valid UTF-8.
pub const CHARTER_E_INVALID_UTF8: charter_status_t = -3;
/// A pointer that was never a Charter handle.
pub const CHARTER_E_INVALID_HANDLE: charter_status_t = -4;
/// A handle of another type than the call expects.
pub const CHARTER_E_WRONG_HANDLE_TYPE: charter_status_t = -5;
/// A handle that has been freed.
pub const CHARTER_E_HANDLE_FREED: charter_status_t = -6;
/// A second free of the same handle.
pub const CHARTER_E_ALREADY_FREED: charter_status_t = -7;
/// A configured or built-in limit was reached.
pub const CHARTER_E_LIMIT_EXCEEDED: charter_status_t = -8;
/// The thing asked for does not exist.
pub const CHARTER_E_NOT_FOUND: charter_status_t = -9;
/// Authorization refused the operation.
pub const CHARTER_E_DENIED: charter_status_t = -10;
/// A token or link is past its validity window.
pub const CHARTER_E_EXPIRED: charter_status_t = -11;
/// A token or link is before its validity window.
pub const CHARTER_E_NOT_YET_VALID: charter_status_t = -12;
/// A token or link has been revoked.
pub const CHARTER_E_REVOKED: charter_status_t = -13;
/// A signature did not verify.
pub const CHARTER_E_BAD_SIGNATURE: charter_status_t = -14;
/// Bytes that do not decode.
pub const CHARTER_E_MALFORMED: charter_status_t = -15;
/// A token whose root key is not trusted.
pub const CHARTER_E_UNTRUSTED_ROOT: charter_status_t = -16;
/// The operation would have to wait and was asked not to.
pub const CHARTER_E_WOULD_BLOCK: charter_status_t = -17;
/// A wait ran out of time.
pub const CHARTER_E_TIMEOUT: charter_status_t = -18;
/// The object was closed.
pub const CHARTER_E_CLOSED: charter_status_t = -19;
/// An operating-system I/O error.
pub const CHARTER_E_IO: charter_status_t = -20;
/// Stored data failed an integrity check.
pub const CHARTER_E_CORRUPT: charter_status_t = -21;
/// A panic was caught at the library boundary.
pub const CHARTER_E_PANIC: charter_status_t = -22;
/// A bug in Charter itself.
pub const CHARTER_E_INTERNAL: charter_status_t = -23;
/// A wait was cancelled by another thread before anything happened
/// (a cancelled receive consumes nothing).
pub const CHARTER_E_CANCELLED: charter_status_t = -24;
// END CHARTER_E_*

/// The name of `status`, such as `"CHARTER_E_DENIED"`, or
/// `"CHARTER_E_UNKNOWN"` for a value that is not a status.
///
/// The returned string is static: never free it.
#[no_mangle]
pub extern "C" fn charter_status_name(status: charter_status_t) -> *const c_char {
    let name = match ErrorKind::from_code(status) {
        _ if status == CHARTER_OK => c"CHARTER_OK",
        Some(kind) => kind.c_name(),
        None => c"CHARTER_E_UNKNOWN",
    };
    name.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn every_status_has_its_core_name() {
        for kind in ErrorKind::ALL {
            let name = unsafe { CStr::from_ptr(charter_status_name(kind.code())) };
            assert_eq!(name.to_str().unwrap(), kind.name());
        }
        let ok = unsafe { CStr::from_ptr(charter_status_name(CHARTER_OK)) };
        assert_eq!(ok.to_str().unwrap(), "CHARTER_OK");
        let unknown = unsafe { CStr::from_ptr(charter_status_name(12345)) };
        assert_eq!(unknown.to_str().unwrap(), "CHARTER_E_UNKNOWN");
    }
}
