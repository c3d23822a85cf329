//! `charter._native`: the Rust half of Charter's Python package.
//!
//! The binding calls `charter-core` directly (not through the C ABI), so a
//! Python object can travel to handlers as-is. Each core type lives in its
//! own module; errors are mapped in one place ([`errors`]) so every class
//! raises the same exceptions. The pure-Python half (`python/charter`)
//! defines the exception classes and re-exports everything.

use pyo3::prelude::*;

mod aio;
mod audit;
mod auditor;
mod authority;
mod bridge;
mod bridge_verifier;
mod bus;
mod callback;
mod calls;
mod client;
mod durable_import;
mod errors;
mod gate;
mod handler;
mod interrupt;
mod keys;
mod message;
mod options;
mod reactor;
mod registry;
mod report;
mod shutdown;
mod signals;
mod stats;
mod subscription;
mod text;
mod token;
mod topic;
mod tree;
mod when;
mod witness;

/// Module initialisation: silence panics Charter catches (library code never
/// prints), make exit safe for threads in callbacks, then add each part of
/// the API.
#[pymodule(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    charter_core::panic::silence_caught_panics();
    shutdown::install(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::add_to(m)?;
    report::add_to(m)?;
    registry::add_to(m)?;
    options::add_to(m)?;
    message::add_to(m)?;
    stats::add_to(m)?;
    bus::add_to(m)?;
    subscription::add_to(m)?;
    reactor::add_to(m)?;
    topic::add_to(m)?;
    keys::add_to(m)?;
    token::add_to(m)?;
    audit::add_to(m)?;
    tree::add_to(m)?;
    auditor::add_to(m)?;
    witness::add_to(m)?;
    authority::add_to(m)?;
    bridge::add_to(m)?;
    bridge_verifier::add_to(m)?;
    durable_import::add_to(m)?;
    client::add_to(m)
}
