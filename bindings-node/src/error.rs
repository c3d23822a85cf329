//! Charter's error model on the native side of the addon.
//!
//! Every failure leaves the addon as a JS `Error` whose `code` is the stable
//! status name (`"CHARTER_E_DENIED"`, ...). The JS layer (`lib/errors.js`)
//! turns it into the matching `CharterError` subclass, driven by the table
//! that [`statuses`] exports, so no status number is written down twice.

use charter_core::ErrorKind;
use napi::bindgen_prelude::Env;
use napi_derive::napi;

/// The status of a failed call; napi-rs puts `as_ref()` into the thrown
/// error's `code` property.
pub struct Status(pub ErrorKind);

impl AsRef<str> for Status {
    fn as_ref(&self) -> &str {
        self.0.name()
    }
}

/// A failure on its way to JS.
pub type Error = napi::Error<Status>;

/// The result of every fallible native method.
pub type Result<T> = std::result::Result<T, Error>;

/// An error of `kind` with `message`.
pub fn error(kind: ErrorKind, message: impl ToString) -> Error {
    Error::new(Status(kind), message)
}

/// Converts a core error, keeping its kind and message.
pub fn from_core(e: charter_core::Error) -> Error {
    error(e.kind(), e.message())
}

/// Converts a napi-rs failure of the addon's own glue (never a user error).
pub fn from_napi(e: napi::Error) -> Error {
    error(ErrorKind::Internal, format!("Node-API call failed: {e}"))
}

/// Throws `e` from a function made by `Env::create_function_from_closure`,
/// whose closure can only fail with napi-rs's own status type. The status
/// returned says the exception is already pending, so napi-rs leaves it be.
pub fn throw<T>(env: &Env, e: Error) -> napi::Result<T> {
    env.throw(e)?;
    Err(napi::Error::from_status(napi::Status::PendingException))
}

/// Runs the body of an exported function so that a panic becomes a
/// `PanicError`, instead of aborting the process at the `extern "C"` edge of
/// a `#[napi]` method, or becoming a plain JS `Error` in a function made
/// from a closure.
pub fn boundary<T>(body: impl FnOnce() -> Result<T>) -> Result<T> {
    charter_core::panic::catch(body)
        .unwrap_or_else(|message| Err(error(ErrorKind::Panic, format!("panic in Charter: {message}"))))
}

/// One row of the status table.
#[napi(object)]
pub struct StatusInfo {
    /// The stable name, such as `"CHARTER_E_DENIED"`.
    pub name: String,
    /// The stable negative code, the same as the C ABI's `charter_status_t`.
    pub code: i32,
}

/// Every status the core defines, in code order. The JS layer builds one
/// error class per row.
#[napi]
pub fn statuses() -> Vec<StatusInfo> {
    ErrorKind::ALL.iter().map(|kind| StatusInfo { name: kind.name().to_owned(), code: kind.code() }).collect()
}
