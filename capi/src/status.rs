//! Status codes: `CHARTER_OK` and the negative `CHARTER_E_*` errors.
//!
//! The values are fixed forever. They are spelled out here as literals so
//! cbindgen can put them in the header; a test checks each one against the
//! core's [`ErrorKind`], which is where Python, Node and Go get theirs.

use std::ffi::c_char;

use charter_core::ErrorKind;

/// The result of every Charter function that can fail: `CHARTER_OK` (0) or
/// a negative `CHARTER_E_*` value.
pub type charter_status_t = i32;

/// Success.
pub const CHARTER_OK: charter_status_t = 0;
/// A required pointer argument was NULL.
pub const CHARTER_E_NULL_ARGUMENT: charter_status_t = -1;
/// An argument was present but not acceptable; the message says which.
pub const CHARTER_E_INVALID_ARGUMENT: charter_status_t = -2;
/// A string argument was not valid UTF-8.
pub const CHARTER_E_INVALID_UTF8: charter_status_t = -3;
/// A pointer that was never a Charter handle.
pub const CHARTER_E_INVALID_HANDLE: charter_status_t = -4;
/// A handle of another type than the function expects.
pub const CHARTER_E_WRONG_HANDLE_TYPE: charter_status_t = -5;
/// A handle that has been freed.
pub const CHARTER_E_HANDLE_FREED: charter_status_t = -6;
/// A second free of the same handle.
pub const CHARTER_E_ALREADY_FREED: charter_status_t = -7;
/// A configured or built-in limit was reached; the message names it.
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
/// A wait was cancelled by another thread before anything happened (a
/// cancelled receive consumes nothing).
pub const CHARTER_E_CANCELLED: charter_status_t = -24;

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
    fn constants_match_the_core_and_names_match() {
        let constants = [
            CHARTER_E_NULL_ARGUMENT,
            CHARTER_E_INVALID_ARGUMENT,
            CHARTER_E_INVALID_UTF8,
            CHARTER_E_INVALID_HANDLE,
            CHARTER_E_WRONG_HANDLE_TYPE,
            CHARTER_E_HANDLE_FREED,
            CHARTER_E_ALREADY_FREED,
            CHARTER_E_LIMIT_EXCEEDED,
            CHARTER_E_NOT_FOUND,
            CHARTER_E_DENIED,
            CHARTER_E_EXPIRED,
            CHARTER_E_NOT_YET_VALID,
            CHARTER_E_REVOKED,
            CHARTER_E_BAD_SIGNATURE,
            CHARTER_E_MALFORMED,
            CHARTER_E_UNTRUSTED_ROOT,
            CHARTER_E_WOULD_BLOCK,
            CHARTER_E_TIMEOUT,
            CHARTER_E_CLOSED,
            CHARTER_E_IO,
            CHARTER_E_CORRUPT,
            CHARTER_E_PANIC,
            CHARTER_E_INTERNAL,
            CHARTER_E_CANCELLED,
        ];
        assert_eq!(constants.len(), ErrorKind::ALL.len());
        for (constant, kind) in constants.into_iter().zip(ErrorKind::ALL) {
            assert_eq!(constant, kind.code(), "{kind}");
            let name = unsafe { CStr::from_ptr(charter_status_name(constant)) };
            assert_eq!(name.to_str().unwrap(), kind.name());
        }
        let ok = unsafe { CStr::from_ptr(charter_status_name(CHARTER_OK)) };
        assert_eq!(ok.to_str().unwrap(), "CHARTER_OK");
        let unknown = unsafe { CStr::from_ptr(charter_status_name(12345)) };
        assert_eq!(unknown.to_str().unwrap(), "CHARTER_E_UNKNOWN");
    }
}
