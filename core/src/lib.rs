//! Charter's core: everything the C ABI and the language bindings expose.
//!
//! This crate holds all of Charter's logic and contains no `unsafe` code.
//! The C ABI (`charter-capi`) and the Python and Node bindings are thin
//! layers over it, so one operation means the same thing in every language.
//!
//! * [`Registry`]: register handlers and notify them, with panic isolation
//!   and lock-free, allocation-free dispatch.
//! * [`bus::Bus`]: a topic bus with NATS-style wildcards, bounded queues,
//!   explicit overflow policies and exact accounting.
//! * [`capability`]: Ed25519-signed, attenuable tokens, the authority that
//!   verifies them, and sessions.
//! * [`audit`]: RFC 9162 Merkle trees, inclusion and consistency proofs,
//!   and signed C2SP checkpoints for the tamper-evident audit log.
//! * [`Error`] and [`ErrorKind`]: the error model every layer shares; each
//!   kind has a stable status code and name (see [`ErrorKind::code`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
mod background;
mod base64_problem;
pub mod bus;
pub mod capability;
mod depth;
mod error;
// Plumbing for the C ABI and the bindings (catching and silencing panics
// at their boundaries), not API for applications.
#[doc(hidden)]
pub mod panic;
pub mod registry;
pub mod text;

pub use error::{quote, quote_bytes, quote_path, Error, ErrorKind, Result, QUOTE_BYTES};
pub use registry::{
    AsyncRegistry, HandlerError, HandlerGuard, HandlerId, HandlerResult, NotifyReport, PanicInfo, Registry,
};

/// This crate's version, as in its Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
