//! Carries a Charter bus onto NATS and back (docs/bridge.md).
//!
//! * **Export** a local topic pattern: local publishes that match go to
//!   NATS on the same subject, headers mapped to NATS headers; a local
//!   request is asked on NATS and its reply handed back.
//! * **Import** a NATS subject pattern, optionally in a queue group: NATS
//!   messages are published on the local bus; a NATS request is asked
//!   locally and the local reply sent back.
//! * **Durable import** a JetStream stream through a durable consumer:
//!   each message is acknowledged only after the local publish took it, so
//!   nothing is lost, and redeliveries to a running bridge are suppressed.
//! * Every message carries its origin bridge's id, so nothing loops.
//! * With **credentials**, every message and reply is sealed: an Ed25519
//!   proof by the token holder's key over the origin, a per-origin
//!   sequence number, the time, the subject, the headers and the payload's
//!   hash. With **verify options**, everything received is checked in
//!   order (chain, proof, grant, freshness and replay, revocation) and a
//!   refusal is counted by reason and audited. The protocol is specified in
//!   docs/formats.md, "NATS bridge message authentication".
//!
//! The core has no networking and no async runtime: the bridge owns a
//! tokio runtime, uses the maintained `async-nats` client, and waits for
//! local messages through the core's readiness API (an edge watch that
//! wakes a task), never by polling.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod batch;
mod bridge;
mod context;
mod dedup;
mod durable;
mod headers;
mod import;
mod options;
mod recv;
pub mod refusal;
mod replay;
pub mod seal;
mod sealed;
pub mod signal;
mod stats;
mod subject;
pub mod verify;
pub mod wire;

pub use bridge::Bridge;
pub use context::in_async_context;
pub use options::{BridgeOptions, DurableImport, Import, DEFAULT_FLUSH_TIMEOUT, MAX_HANDLED};
pub use refusal::{Reason, Refusal};
pub use seal::{Credentials, Sealer, Unsealed};
pub use sealed::{seal_id, MAX_SEALED};
pub use stats::BridgeStats;
pub use verify::{Verifier, VerifyOptions};

/// docs/bridge.md's examples compile as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/bridge.md")]
struct BridgeGuide;
