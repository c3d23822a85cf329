//! The error model shared by the core, the C ABI and every binding.
//!
//! Each [`ErrorKind`] has a numeric status code and a name that never change:
//! C programs see the code as `charter_status_t`, Go as `charter.Err*`
//! sentinels, Python and Node as exception classes carrying the name.

use std::ffi::CStr;
use std::fmt;

/// What went wrong, as a closed set with stable codes and names.
///
/// The codes are part of the ABI: they are pinned by tests and never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A required pointer or argument was missing.
    NullArgument,
    /// An argument was present but not acceptable.
    InvalidArgument,
    /// A string argument was not valid UTF-8.
    InvalidUtf8,
    /// A pointer that was never a Charter handle.
    InvalidHandle,
    /// A handle of another type than the call expects.
    WrongHandleType,
    /// A handle that has been freed.
    HandleFreed,
    /// A second free of the same handle.
    AlreadyFreed,
    /// A configured or built-in limit was reached.
    LimitExceeded,
    /// The thing asked for does not exist.
    NotFound,
    /// Authorization refused the operation.
    Denied,
    /// A token or link is past its validity window.
    Expired,
    /// A token or link is before its validity window.
    NotYetValid,
    /// A token or link has been revoked.
    Revoked,
    /// A signature did not verify.
    BadSignature,
    /// Bytes that do not decode.
    Malformed,
    /// A token whose root key is not trusted.
    UntrustedRoot,
    /// The operation would have to wait and was asked not to.
    WouldBlock,
    /// A wait ran out of time.
    Timeout,
    /// The object was closed.
    Closed,
    /// An operating-system I/O error.
    Io,
    /// Stored data failed an integrity check.
    Corrupt,
    /// A panic was caught at the library boundary.
    Panic,
    /// A bug in Charter itself.
    Internal,
}

impl ErrorKind {
    /// Every kind, in code order (`-1`, `-2`, ...).
    pub const ALL: [ErrorKind; 23] = [
        ErrorKind::NullArgument,
        ErrorKind::InvalidArgument,
        ErrorKind::InvalidUtf8,
        ErrorKind::InvalidHandle,
        ErrorKind::WrongHandleType,
        ErrorKind::HandleFreed,
        ErrorKind::AlreadyFreed,
        ErrorKind::LimitExceeded,
        ErrorKind::NotFound,
        ErrorKind::Denied,
        ErrorKind::Expired,
        ErrorKind::NotYetValid,
        ErrorKind::Revoked,
        ErrorKind::BadSignature,
        ErrorKind::Malformed,
        ErrorKind::UntrustedRoot,
        ErrorKind::WouldBlock,
        ErrorKind::Timeout,
        ErrorKind::Closed,
        ErrorKind::Io,
        ErrorKind::Corrupt,
        ErrorKind::Panic,
        ErrorKind::Internal,
    ];

    /// The stable status code: negative, and the same in every language.
    pub const fn code(self) -> i32 {
        match self {
            ErrorKind::NullArgument => -1,
            ErrorKind::InvalidArgument => -2,
            ErrorKind::InvalidUtf8 => -3,
            ErrorKind::InvalidHandle => -4,
            ErrorKind::WrongHandleType => -5,
            ErrorKind::HandleFreed => -6,
            ErrorKind::AlreadyFreed => -7,
            ErrorKind::LimitExceeded => -8,
            ErrorKind::NotFound => -9,
            ErrorKind::Denied => -10,
            ErrorKind::Expired => -11,
            ErrorKind::NotYetValid => -12,
            ErrorKind::Revoked => -13,
            ErrorKind::BadSignature => -14,
            ErrorKind::Malformed => -15,
            ErrorKind::UntrustedRoot => -16,
            ErrorKind::WouldBlock => -17,
            ErrorKind::Timeout => -18,
            ErrorKind::Closed => -19,
            ErrorKind::Io => -20,
            ErrorKind::Corrupt => -21,
            ErrorKind::Panic => -22,
            ErrorKind::Internal => -23,
        }
    }

    /// The stable status name, such as `"CHARTER_E_DENIED"`.
    pub fn name(self) -> &'static str {
        self.c_name().to_str().unwrap_or("CHARTER_E_UNKNOWN")
    }

    /// The stable status name as a NUL-terminated string, for the C ABI.
    pub const fn c_name(self) -> &'static CStr {
        match self {
            ErrorKind::NullArgument => c"CHARTER_E_NULL_ARGUMENT",
            ErrorKind::InvalidArgument => c"CHARTER_E_INVALID_ARGUMENT",
            ErrorKind::InvalidUtf8 => c"CHARTER_E_INVALID_UTF8",
            ErrorKind::InvalidHandle => c"CHARTER_E_INVALID_HANDLE",
            ErrorKind::WrongHandleType => c"CHARTER_E_WRONG_HANDLE_TYPE",
            ErrorKind::HandleFreed => c"CHARTER_E_HANDLE_FREED",
            ErrorKind::AlreadyFreed => c"CHARTER_E_ALREADY_FREED",
            ErrorKind::LimitExceeded => c"CHARTER_E_LIMIT_EXCEEDED",
            ErrorKind::NotFound => c"CHARTER_E_NOT_FOUND",
            ErrorKind::Denied => c"CHARTER_E_DENIED",
            ErrorKind::Expired => c"CHARTER_E_EXPIRED",
            ErrorKind::NotYetValid => c"CHARTER_E_NOT_YET_VALID",
            ErrorKind::Revoked => c"CHARTER_E_REVOKED",
            ErrorKind::BadSignature => c"CHARTER_E_BAD_SIGNATURE",
            ErrorKind::Malformed => c"CHARTER_E_MALFORMED",
            ErrorKind::UntrustedRoot => c"CHARTER_E_UNTRUSTED_ROOT",
            ErrorKind::WouldBlock => c"CHARTER_E_WOULD_BLOCK",
            ErrorKind::Timeout => c"CHARTER_E_TIMEOUT",
            ErrorKind::Closed => c"CHARTER_E_CLOSED",
            ErrorKind::Io => c"CHARTER_E_IO",
            ErrorKind::Corrupt => c"CHARTER_E_CORRUPT",
            ErrorKind::Panic => c"CHARTER_E_PANIC",
            ErrorKind::Internal => c"CHARTER_E_INTERNAL",
        }
    }

    /// The kind with this status code, if any.
    pub fn from_code(code: i32) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error: a [`ErrorKind`] plus a message that names the argument or limit
/// involved. Messages never contain secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// An error of `kind` with a human-readable `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into() }
    }

    /// The kind, which carries the stable status code and name.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message, without the status name.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)
    }
}

impl std::error::Error for Error {}

/// `Result` with Charter's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_dense_negative_and_round_trip() {
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(kind.code(), -(i as i32) - 1, "{kind}");
            assert_eq!(ErrorKind::from_code(kind.code()), Some(*kind));
            assert!(kind.name().starts_with("CHARTER_E_"));
        }
        assert_eq!(ErrorKind::from_code(0), None);
        assert_eq!(ErrorKind::from_code(-24), None);
    }

    #[test]
    fn display_names_the_kind_and_message() {
        let e = Error::new(ErrorKind::Denied, "no publish grant for orders.eu");
        assert_eq!(e.to_string(), "CHARTER_E_DENIED: no publish grant for orders.eu");
        assert_eq!(e.kind(), ErrorKind::Denied);
        assert_eq!(e.message(), "no publish grant for orders.eu");
    }
}
