//! `charter.DurableImport`: a JetStream stream carried onto the bus by a
//! `charter.Bridge`, at least once, or exactly once for an application
//! that hands back the position it committed (docs/bridge.md, "Durable
//! import"). A value: it maps its fields to the bridge's own and checks
//! nothing of its own (the bridge does, at start).

use std::time::Duration;

use charter_core::ErrorKind;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::new_err;

/// A durable import; see the package docs.
#[pyclass(frozen, module = "charter")]
pub struct DurableImport {
    /// The subject pattern the stream captures and the consumer filters.
    #[pyo3(get)]
    pattern: String,
    /// The JetStream stream's name.
    #[pyo3(get)]
    stream: String,
    /// The durable consumer's name.
    #[pyo3(get)]
    durable: String,
    /// Seconds the server waits for an acknowledgement before it delivers
    /// a message again.
    #[pyo3(get)]
    ack_wait: f64,
    /// The most messages delivered and not yet acknowledged.
    #[pyo3(get)]
    max_ack_pending: usize,
    /// Whether another bridge on the same bus may carry what it delivers.
    #[pyo3(get)]
    relay: bool,
    /// The committed position: no stream sequence at or below it is
    /// delivered.
    #[pyo3(get)]
    handled_through: u64,
    handled: Vec<u64>,
    /// With verification, the committed seal floor: nothing sealed before
    /// it (ms) is delivered.
    #[pyo3(get)]
    sealed_through: u64,
    sealed: Vec<u64>,
}

impl DurableImport {
    /// The bridge's durable import for this value.
    pub(crate) fn core(&self, py: Python<'_>) -> PyResult<charter_bridge::DurableImport> {
        let mut import = charter_bridge::DurableImport::new(&self.pattern, &self.stream, &self.durable);
        import.ack_wait = Duration::try_from_secs_f64(self.ack_wait).map_err(|_| {
            new_err(py, ErrorKind::InvalidArgument, "ack_wait must be a non-negative number of seconds")
        })?;
        import.max_ack_pending = self.max_ack_pending;
        import.relay = self.relay;
        import.handled_through = self.handled_through;
        import.handled.clone_from(&self.handled);
        import.sealed_through = self.sealed_through;
        import.sealed.clone_from(&self.sealed);
        Ok(import)
    }
}

#[pymethods]
impl DurableImport {
    #[new]
    #[pyo3(signature = (
        pattern, stream, durable, *, ack_wait=30.0, max_ack_pending=1024, relay=false,
        handled_through=0, handled=Vec::new(), sealed_through=0, sealed=Vec::new(),
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        pattern: String,
        stream: String,
        durable: String,
        #[pyo3(from_py_with = crate::when::seconds)] ack_wait: f64,
        max_ack_pending: usize,
        relay: bool,
        handled_through: u64,
        handled: Vec<u64>,
        sealed_through: u64,
        sealed: Vec<u64>,
    ) -> DurableImport {
        DurableImport {
            pattern,
            stream,
            durable,
            ack_wait,
            max_ack_pending,
            relay,
            handled_through,
            handled,
            sealed_through,
            sealed,
        }
    }

    /// The committed position's stream sequences above `handled_through`,
    /// never delivered again.
    #[getter]
    fn handled<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.handled)
    }

    /// With verification, the committed seal ids, refused as copies.
    #[getter]
    fn sealed<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.sealed)
    }

    fn __repr__(&self) -> String {
        format!(
            "DurableImport({:?}, {:?}, {:?}, handled_through={}, handled={})",
            self.pattern,
            self.stream,
            self.durable,
            self.handled_through,
            self.handled.len()
        )
    }
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<DurableImport>()
}
