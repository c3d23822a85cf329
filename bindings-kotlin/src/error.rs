//! The one error type the exports return: the core's status, carried by
//! code and name, which the Kotlin side turns into a `CharterException`
//! subclass.

use std::fmt;

use charter_core::{Error, ErrorKind};

/// A core error: its stable status code and name and the core's message.
#[derive(Debug, uniffi::Error)]
pub enum FfiError {
    /// Every failure but a bridge's refusal: a core status.
    Status {
        /// The negative status code, such as -10.
        code: i32,
        /// The status name, such as `CHARTER_E_DENIED`.
        name: String,
        /// The core's explanation.
        detail: String,
    },
    /// A message a bridge verifier refused: the status, and which check
    /// refused it (the bridge crate's reason name, such as `bad_proof`).
    Refused {
        /// The negative status code.
        code: i32,
        /// The status name.
        name: String,
        /// The bridge's explanation.
        detail: String,
        /// The refusal's reason.
        reason: String,
    },
}

impl FfiError {
    pub(crate) fn new(kind: ErrorKind, detail: impl Into<String>) -> FfiError {
        FfiError::Status { code: kind.code(), name: kind.name().to_owned(), detail: detail.into() }
    }
}

impl fmt::Display for FfiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FfiError::Status { name, detail, .. } => write!(f, "{name}: {detail}"),
            FfiError::Refused { name, detail, reason, .. } => write!(f, "{name} ({reason}): {detail}"),
        }
    }
}

impl std::error::Error for FfiError {}

impl From<Error> for FfiError {
    fn from(e: Error) -> FfiError {
        FfiError::new(e.kind(), e.message())
    }
}

impl From<charter_bridge::Refusal> for FfiError {
    fn from(r: charter_bridge::Refusal) -> FfiError {
        let kind = r.error.kind();
        FfiError::Refused {
            code: kind.code(),
            name: kind.name().to_owned(),
            detail: r.error.message().to_owned(),
            reason: r.reason.name().to_owned(),
        }
    }
}

impl From<&Error> for FfiError {
    fn from(e: &Error) -> FfiError {
        FfiError::new(e.kind(), e.message())
    }
}

pub(crate) type Result<T> = std::result::Result<T, FfiError>;

/// The error of an object that was closed through this binding.
pub(crate) fn closed(what: &str) -> FfiError {
    FfiError::new(ErrorKind::Closed, format!("the {what} is closed"))
}

/// One status of the core: what `CharterException` is built from.
#[derive(uniffi::Record)]
pub struct Status {
    /// The negative code.
    pub code: i32,
    /// The stable name.
    pub name: String,
}

/// Every status of the core, in code order.
#[uniffi::export]
pub fn statuses() -> Vec<Status> {
    ErrorKind::ALL.iter().map(|k| Status { code: k.code(), name: k.name().to_owned() }).collect()
}
