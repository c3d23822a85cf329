//! Charter's Kotlin/JVM binding: uniffi exports over `charter-core` and
//! `charter-bridge` (the NATS bridge).
//!
//! This crate only maps the core's types to ones uniffi can carry
//! (records, objects, callback interfaces). The Kotlin glue that uniffi
//! generates from it lives in package `charter.ffi` and is not the public
//! API: the hand-written package `charter` (src/main/kotlin) wraps it with
//! `AutoCloseable`, `CharterException`, `Duration`, `suspend` and `Flow`.
//! Every rule stays in the core: nothing here checks or words one, except
//! the conversions of values uniffi cannot type (negative durations) and
//! the closed state of objects the core itself never closes.

#![forbid(unsafe_code)]

mod audit;
mod bridge;
mod bus;
mod capability;
mod error;
mod proof;
mod readiness;
mod registry;
mod time;
mod topic;
mod witness;

uniffi::setup_scaffolding!();
