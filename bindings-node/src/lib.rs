//! The native half of Charter's Node.js binding (napi-rs), over the Rust
//! core directly. The JS layer in `lib/` is the public API; this addon is
//! its private implementation.
//!
//! The addon is context-aware: all state lives in the objects it creates,
//! so it loads in any number of worker threads at once.

// napi-derive registers the exports only outside `cfg(test)`, so in a test
// build (such as `cargo clippy --all-targets`) they look unused.
#![cfg_attr(test, allow(dead_code))]

mod bound;
mod callback;
mod error;
mod registry;

/// Runs once when the library is loaded: caught handler panics must not
/// print anything, since a library never writes to the host's stderr.
#[napi_derive::module_init]
fn init() {
    charter_core::panic::silence_caught_panics();
}
