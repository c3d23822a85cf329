//! The error model shared by the core, the C ABI and every binding.
//!
//! Each [`ErrorKind`] has a numeric status code and a name that never change:
//! C programs see the code as `charter_status_t`, Go as `charter.Err*`
//! sentinels, Python and Node as exception classes carrying the name.
//!
//! # Invariant
//!
//! A message never repeats an input in full: every input it names goes
//! through [`quote`] (or [`quote_bytes`]), which keeps at most
//! [`QUOTE_BYTES`] bytes and states the full length. A hostile 4 MiB link
//! id or path therefore costs a short message, not a 4 MiB one (and not a
//! copy of it per layer that wraps the error).

use std::ffi::CStr;
use std::fmt;

/// Defines [`ErrorKind`] from one table: each kind's doc, status code and
/// C name are written once, and the enum, [`ErrorKind::ALL`],
/// [`ErrorKind::code`] and [`ErrorKind::c_name`] are generated from it. The
/// C ABI's `CHARTER_E_*` constants are generated from the same table
/// (`make header`).
macro_rules! error_kinds {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal => $c_name:literal;)*) => {
        /// What went wrong, as a closed set with stable codes and names.
        ///
        /// The codes are part of the ABI: they are pinned by tests and never reused.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorKind {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorKind {
            /// Every kind, in code order (`-1`, `-2`, ...).
            pub const ALL: [ErrorKind; 0 $(+ error_kinds!(@one $variant))*] = [$(ErrorKind::$variant),*];

            /// The stable status code: negative, and the same in every language.
            pub const fn code(self) -> i32 {
                match self {
                    $(ErrorKind::$variant => $code,)*
                }
            }

            /// The stable status name as a NUL-terminated string: plumbing
            /// for the C ABI ([`ErrorKind::name`] is the same text).
            #[doc(hidden)]
            pub const fn c_name(self) -> &'static CStr {
                match self {
                    $(ErrorKind::$variant => $c_name,)*
                }
            }

            /// The kind's documentation, one line an element: the C ABI's
            /// generated constants carry it.
            #[doc(hidden)]
            pub const fn doc_lines(self) -> &'static [&'static str] {
                match self {
                    $(ErrorKind::$variant => &[$($doc),*],)*
                }
            }
        }
    };
    (@one $variant:ident) => { 1 };
}

error_kinds! {
    /// A required pointer or argument was missing.
    NullArgument = -1 => c"CHARTER_E_NULL_ARGUMENT";
    /// An argument was present but not acceptable.
    InvalidArgument = -2 => c"CHARTER_E_INVALID_ARGUMENT";
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = -3 => c"CHARTER_E_INVALID_UTF8";
    /// A pointer that was never a Charter handle.
    InvalidHandle = -4 => c"CHARTER_E_INVALID_HANDLE";
    /// A handle of another type than the call expects.
    WrongHandleType = -5 => c"CHARTER_E_WRONG_HANDLE_TYPE";
    /// A handle that has been freed.
    HandleFreed = -6 => c"CHARTER_E_HANDLE_FREED";
    /// A second free of the same handle.
    AlreadyFreed = -7 => c"CHARTER_E_ALREADY_FREED";
    /// A configured or built-in limit was reached.
    LimitExceeded = -8 => c"CHARTER_E_LIMIT_EXCEEDED";
    /// The thing asked for does not exist.
    NotFound = -9 => c"CHARTER_E_NOT_FOUND";
    /// Authorization refused the operation.
    Denied = -10 => c"CHARTER_E_DENIED";
    /// A token or link is past its validity window.
    Expired = -11 => c"CHARTER_E_EXPIRED";
    /// A token or link is before its validity window.
    NotYetValid = -12 => c"CHARTER_E_NOT_YET_VALID";
    /// A token or link has been revoked.
    Revoked = -13 => c"CHARTER_E_REVOKED";
    /// A signature did not verify.
    BadSignature = -14 => c"CHARTER_E_BAD_SIGNATURE";
    /// Bytes that do not decode.
    Malformed = -15 => c"CHARTER_E_MALFORMED";
    /// A token whose root key is not trusted.
    UntrustedRoot = -16 => c"CHARTER_E_UNTRUSTED_ROOT";
    /// The operation would have to wait and was asked not to.
    WouldBlock = -17 => c"CHARTER_E_WOULD_BLOCK";
    /// A wait ran out of time.
    Timeout = -18 => c"CHARTER_E_TIMEOUT";
    /// The object was closed.
    Closed = -19 => c"CHARTER_E_CLOSED";
    /// An operating-system I/O error.
    Io = -20 => c"CHARTER_E_IO";
    /// Stored data failed an integrity check.
    Corrupt = -21 => c"CHARTER_E_CORRUPT";
    /// A panic was caught at the library boundary.
    Panic = -22 => c"CHARTER_E_PANIC";
    /// A bug in Charter itself.
    Internal = -23 => c"CHARTER_E_INTERNAL";
    /// A wait was cancelled by another thread before anything happened
    /// (a cancelled receive consumes nothing).
    Cancelled = -24 => c"CHARTER_E_CANCELLED";
}

impl ErrorKind {
    /// The stable status name, such as `"CHARTER_E_DENIED"`.
    pub fn name(self) -> &'static str {
        self.c_name().to_str().unwrap_or("CHARTER_E_UNKNOWN")
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

/// The most bytes of one input an error message quotes.
pub const QUOTE_BYTES: usize = 48;

/// `input` as an error message names it: quoted and escaped (`{:?}`), in
/// full when it is at most [`QUOTE_BYTES`] bytes, otherwise its first
/// bytes (cut at a character boundary), `...` and its length, such as
/// `"aaaa..." (4194304 bytes)`. Only the prefix is copied.
pub fn quote(input: &str) -> String {
    if input.len() <= QUOTE_BYTES {
        return format!("{input:?}");
    }
    let mut cut = QUOTE_BYTES;
    while !input.is_char_boundary(cut) {
        cut -= 1;
    }
    let prefix = &input[..cut];
    format!("{prefix:?}... ({} bytes)", input.len())
}

/// [`quote`] for bytes that may not be UTF-8 (paths, for one): invalid
/// sequences in the quoted prefix show as U+FFFD.
pub fn quote_bytes(input: &[u8]) -> String {
    let cut = input.len().min(QUOTE_BYTES);
    let prefix = String::from_utf8_lossy(&input[..cut]);
    if cut == input.len() {
        format!("{prefix:?}")
    } else {
        format!("{prefix:?}... ({} bytes)", input.len())
    }
}

/// [`quote_bytes`] for a path, as the operating system spells it.
pub fn quote_path(path: impl AsRef<std::path::Path>) -> String {
    quote_bytes(path.as_ref().as_os_str().as_encoded_bytes())
}

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
        assert_eq!(ErrorKind::from_code(-(ErrorKind::ALL.len() as i32) - 1), None);
    }

    #[test]
    fn quote_keeps_a_short_prefix_and_the_length() {
        assert_eq!(quote("orders.eu"), "\"orders.eu\"");
        assert_eq!(quote("a\nb"), "\"a\\nb\"");
        let long = "x".repeat(4 << 20);
        let quoted = quote(&long);
        assert!(quoted.len() < 2 * QUOTE_BYTES, "{quoted}");
        assert!(quoted.ends_with("... (4194304 bytes)"), "{quoted}");
        // A cut inside a multi-byte character moves back to its start.
        let wide = "\u{e9}".repeat(QUOTE_BYTES);
        assert!(quote(&wide).starts_with(&format!("\"{}\"...", "\u{e9}".repeat(QUOTE_BYTES / 2))));
        assert_eq!(quote_bytes(b"a\xffb"), "\"a\u{fffd}b\"");
        assert!(quote_bytes(&vec![b'/'; 1 << 20]).ends_with("... (1048576 bytes)"));
        assert_eq!(quote(&"y".repeat(QUOTE_BYTES)), format!("{:?}", "y".repeat(QUOTE_BYTES)));
    }

    #[test]
    fn display_names_the_kind_and_message() {
        let e = Error::new(ErrorKind::Denied, "no publish grant for orders.eu");
        assert_eq!(e.to_string(), "CHARTER_E_DENIED: no publish grant for orders.eu");
        assert_eq!(e.kind(), ErrorKind::Denied);
        assert_eq!(e.message(), "no publish grant for orders.eu");
    }
}
