//! The native half of Charter's Node.js binding (napi-rs), over the Rust
//! core directly. The JS layer in `lib/` is the public API; this addon is
//! its private implementation.
//!
//! The addon is context-aware: all state lives in the objects it creates,
//! so it loads in any number of worker threads at once.
//!
//! The code here uses napi-rs's safe APIs, with one exception:
//! `callback::call`, the one place that calls a JS function from native
//! code, uses raw Node-API calls, because napi-rs's `Function::call` runs
//! JS (`toString`) on what the function threw, which crashed V8 when the
//! stack was full (see that function). Each `unsafe` block in `callback.rs`
//! says why it is sound. The lint below is `deny` rather than `forbid` because of
//! those blocks and because the export registration that napi-derive
//! generates (through the `ctor` crate) allows the lint for itself.

#![deny(unsafe_code)]
// napi-derive registers the exports only outside `cfg(test)`, so in a test
// build (such as `cargo clippy --all-targets`) they look unused.
#![cfg_attr(test, allow(dead_code))]

mod audit;
mod auditor;
mod authority;
mod bridge;
mod bus;
mod callback;
mod error;
mod handler;
mod keys;
mod message;
mod notify;
mod options;
mod packed;
mod pool;
mod promise;
mod ready;
mod registry;
mod release;
mod stats;
mod subscription;
mod token;
mod topic;
mod version;
mod witness;

/// Runs once when the library is loaded: caught handler panics must not
/// print anything, since a library never writes to the host's stderr.
#[napi_derive::module_init]
fn init() {
    charter_core::panic::silence_caught_panics();
}
