//! The C ABI of Charter: `libcharter.so`, `libcharter.a` and `charter.h`.
//!
//! This crate is the only place in Charter with `unsafe` code. It follows
//! the contract in `docs/c-api.md`:
//!
//! * every exported function runs behind a panic firewall ([`firewall`])
//!   and returns a `charter_status_t`;
//! * failures record a thread-local message ([`last_error`]);
//! * long-lived objects (registries, buses, capabilities, audit logs) are
//!   HandleGuard handles ([`handle`]); high-churn ones (handler
//!   registrations) are `uint64_t` ids;
//! * out-parameters are typed, checked on entry and written only on
//!   success ([`out`]); arguments are read by macros that name them after
//!   the parameter ([`args`]);
//! * a callback's `user_data` has one owner for every callback kind
//!   ([`user_data`]);
//! * strings returned to C are caller-owned ([`strings`]);
//! * readiness callbacks sit behind a gate ([`gate`]) that their handle's
//!   free closes, so none runs after the free returns.
//!
//! The header `include/charter.h` is generated from this crate by cbindgen
//! (`make header`); `tests/header.rs` fails when it is stale. docs/c-api.md
//! lists the steps of adding an export.
#![deny(unsafe_op_in_unsafe_fn)]
#![allow(non_camel_case_types)]
// C signatures carry their arguments flat; the helpers that share their
// bodies take the same lists.
#![allow(clippy::too_many_arguments)]

mod args;
pub mod audit;
pub mod audit_auditor;
pub mod audit_view;
pub mod batch;
pub mod bridge;
pub mod bridge_seal;
pub mod bridge_verifier;
pub mod bus;
pub mod cancel;
pub mod capability;
pub mod client;
mod firewall;
mod gate;
pub mod handle;
pub mod last_error;
pub mod message;
mod out;
pub mod recv_into;
pub mod registry;
pub mod status;
pub mod strings;
#[cfg(feature = "test-hooks")]
pub mod testing;
pub mod topic;
pub mod user_data;
pub mod version;
pub mod waiter;
pub mod watch;
