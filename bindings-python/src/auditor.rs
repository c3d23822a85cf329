//! The auditor's path: `charter.verify_log` and `charter.LogView`.
//!
//! Both only read the log file (and its checkpoint); they take no lock, so
//! they work on a read-only file and beside a live writer, where they see
//! a consistent prefix. Every rule (what is trusted, what counts as a
//! rollback or a missing checkpoint) is decided by the core; this module
//! maps arguments and results. File work runs with the GIL released.

use std::path::PathBuf;
use std::sync::Arc;

use charter_core::audit;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::errors::to_pyerr;
use crate::shutdown;

use crate::audit::{hash_list, VerifyReport};

/// Verifies the log at `path` without writing to it or locking it, and
/// returns the findings; see the stub for what each argument trusts.
#[pyfunction]
#[pyo3(
    signature = (
        path, *, log_key = None, allow_missing_checkpoint = false, against = None, witnesses = Vec::new(),
        quorum = 0, state = None
    ),
    text_signature = "(path, *, log_key=None, allow_missing_checkpoint=False, against=None, witnesses=(), \
        quorum=0, state=None)"
)]
#[allow(clippy::too_many_arguments)]
fn verify_log(
    py: Python<'_>,
    path: PathBuf,
    log_key: Option<String>,
    allow_missing_checkpoint: bool,
    against: Option<String>,
    witnesses: Vec<String>,
    quorum: usize,
    state: Option<PathBuf>,
) -> PyResult<VerifyReport> {
    let options =
        audit::VerifyOptions { log_key, allow_missing_checkpoint, against, witnesses, quorum, state };
    shutdown::detach(py, move || audit::verify_log(path, &options))
        .map(VerifyReport)
        .map_err(|e| to_pyerr(py, &e))
}

/// A read-only snapshot of a log file, for proofs: the tree of the
/// complete records it held when opened.
#[pyclass(frozen, module = "charter")]
pub struct LogView(Arc<audit::LogView>);

#[pymethods]
impl LogView {
    /// Reads the consistent prefix of the log at `path`, without writing
    /// to it or locking it.
    #[staticmethod]
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<LogView> {
        shutdown::detach(py, move || audit::LogView::open(path))
            .map(|view| LogView(Arc::new(view)))
            .map_err(|e| to_pyerr(py, &e))
    }

    fn __len__(&self) -> usize {
        self.0.len() as usize
    }

    /// The Merkle root of the records read (32 bytes).
    #[getter]
    fn root<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.root())
    }

    /// The Merkle root of the first `size` records.
    fn root_at<'py>(&self, py: Python<'py>, size: u64) -> PyResult<Bound<'py, PyBytes>> {
        let root = self.0.root_at(size).map_err(|e| to_pyerr(py, &e))?;
        Ok(PyBytes::new(py, &root))
    }

    /// The leaf hash of record `index`.
    fn leaf_hash<'py>(&self, py: Python<'py>, index: u64) -> PyResult<Bound<'py, PyBytes>> {
        let hash = self.0.leaf_hash(index).map_err(|e| to_pyerr(py, &e))?;
        Ok(PyBytes::new(py, &hash))
    }

    /// As `AuditLog.prove_inclusion`.
    fn prove_inclusion<'py>(&self, py: Python<'py>, index: u64, size: u64) -> PyResult<Bound<'py, PyList>> {
        let proof = self.0.prove_inclusion(index, size).map_err(|e| to_pyerr(py, &e))?;
        hash_list(py, &proof)
    }

    /// As `AuditLog.prove_consistency`.
    fn prove_consistency<'py>(
        &self,
        py: Python<'py>,
        old_size: u64,
        new_size: u64,
    ) -> PyResult<Bound<'py, PyList>> {
        let proof = self.0.prove_consistency(old_size, new_size).map_err(|e| to_pyerr(py, &e))?;
        hash_list(py, &proof)
    }

    /// The persisted checkpoint note (`<path>.checkpoint`), read now.
    fn checkpoint(&self, py: Python<'_>) -> PyResult<Option<String>> {
        let view = Arc::clone(&self.0);
        shutdown::detach(py, move || view.checkpoint()).map_err(|e| to_pyerr(py, &e))
    }

    fn __repr__(&self) -> String {
        format!("<charter.LogView records={}>", self.0.len())
    }
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<LogView>()?;
    m.add_function(wrap_pyfunction!(verify_log, m)?)
}
