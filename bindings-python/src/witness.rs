//! Witnessed checkpoints (C2SP `tlog-cosignature`, `cosignature/v1`):
//! `charter.Witness`, `cosigner_key`, `cosign`, `verify_cosigned` and its
//! `Cosigned`, and the `tlog-witness` request body (`witness_request`,
//! `parse_witness_request`).
//!
//! The witness's checks (trusted origin, log signature, old size, proof)
//! and its state file are the core's; `add_checkpoint` runs with the GIL
//! released, since it locks and replaces that file.

use std::path::PathBuf;

use charter_core::audit;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::audit::{hash_list, names};
use crate::errors::to_pyerr;
use crate::keys::{self, KeyPair};
use crate::shutdown;
use crate::tree::{self, Checkpoint};

/// A checkpoint with the trusted witnesses that verifiably cosigned it.
#[pyclass(frozen, eq, module = "charter")]
#[derive(PartialEq, Eq)]
pub struct Cosigned(audit::Cosigned);

#[pymethods]
impl Cosigned {
    /// What the log's own signature vouches for.
    #[getter]
    fn checkpoint(&self) -> Checkpoint {
        Checkpoint(self.0.checkpoint.clone())
    }

    /// The names of the witnesses whose cosignatures verified, in the
    /// order of their lines, each once.
    #[getter]
    fn witnesses<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.0.witnesses)
    }

    /// When each of them cosigned (POSIX seconds), in the same order.
    #[getter]
    fn timestamps<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.0.timestamps)
    }

    fn __repr__(&self) -> String {
        format!(
            "Cosigned(origin={:?}, size={}, witnesses={}, timestamps={:?})",
            self.0.checkpoint.origin,
            self.0.checkpoint.size,
            names(&self.0.witnesses),
            self.0.timestamps
        )
    }
}

/// The cosigner verifier key (type 0x04) of a witness named `name`.
#[pyfunction]
fn cosigner_key(
    py: Python<'_>,
    #[pyo3(from_py_with = crate::text::utf8)] name: PyBackedStr,
    public_key: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let name: &str = &name;
    let key = keys::public_key(public_key, "public_key")?;
    audit::cosigner_key(name, &key).map_err(|e| to_pyerr(py, &e))
}

/// The cosignature line of witness `name` with `key` over the checkpoint
/// in `note` at `timestamp` (POSIX seconds or an aware `datetime`). The caller is the witness and
/// has checked the checkpoint; `Witness.add_checkpoint` does both.
#[pyfunction]
fn cosign(
    py: Python<'_>,
    #[pyo3(from_py_with = crate::text::utf8)] note: PyBackedStr,
    #[pyo3(from_py_with = crate::text::utf8)] name: PyBackedStr,
    key: PyRef<'_, KeyPair>,
    #[pyo3(from_py_with = crate::when::timestamp)] timestamp: u64,
) -> PyResult<String> {
    let note: &str = &note;
    let name: &str = &name;
    audit::cosign(note, name, &key.0, timestamp).map_err(|e| to_pyerr(py, &e))
}

/// Verifies that `note` is signed by `log_key` and cosigned by at least
/// `quorum` distinct witnesses among `witnesses` (cosigner keys).
#[pyfunction]
#[pyo3(signature = (note, log_key, witnesses, quorum))]
fn verify_cosigned(
    py: Python<'_>,
    #[pyo3(from_py_with = crate::text::utf8)] note: PyBackedStr,
    #[pyo3(from_py_with = crate::text::utf8)] log_key: PyBackedStr,
    witnesses: Vec<String>,
    quorum: usize,
) -> PyResult<Cosigned> {
    let note: &str = &note;
    let log_key: &str = &log_key;
    audit::verify_cosigned(note, log_key, &witnesses, quorum).map(Cosigned).map_err(|e| to_pyerr(py, &e))
}

/// The body of a `tlog-witness` `add-checkpoint` request.
#[pyfunction]
fn witness_request(
    py: Python<'_>,
    old_size: u64,
    proof: &Bound<'_, PyAny>,
    #[pyo3(from_py_with = crate::text::utf8)] note: PyBackedStr,
) -> PyResult<String> {
    let note: &str = &note;
    Ok(audit::witness_request(old_size, &tree::proof(py, proof)?, note))
}

/// An `add-checkpoint` request body as `(old_size, proof, note)`.
#[pyfunction]
fn parse_witness_request<'py>(
    py: Python<'py>,
    #[pyo3(from_py_with = crate::text::utf8)] body: PyBackedStr,
) -> PyResult<(u64, Bound<'py, PyList>, String)> {
    let body: &str = &body;
    let (old_size, proof, note) = audit::parse_witness_request(body).map_err(|e| to_pyerr(py, &e))?;
    Ok((old_size, hash_list(py, &proof)?, note))
}

/// A witness: cosigns a log's checkpoint only when it extends the last one
/// it cosigned for that log, kept in its state file.
#[pyclass(frozen, module = "charter")]
pub struct Witness(audit::Witness);

#[pymethods]
impl Witness {
    /// A witness named `name` signing with `key`, keeping its state in the
    /// file `state`, trusting the logs whose note verifier keys are `logs`.
    #[staticmethod]
    #[pyo3(signature = (state, *, name, key, logs))]
    fn open(
        py: Python<'_>,
        state: PathBuf,
        #[pyo3(from_py_with = crate::text::utf8)] name: PyBackedStr,
        key: PyRef<'_, KeyPair>,
        logs: Vec<String>,
    ) -> PyResult<Witness> {
        let name: &str = &name;
        audit::Witness::open(state, name, key.0.clone(), &logs).map(Witness).map_err(|e| to_pyerr(py, &e))
    }

    /// The witness's cosigner verifier key, for verifiers.
    #[getter]
    fn verifier_key(&self) -> &str {
        self.0.verifier_key()
    }

    /// The witness's name.
    #[getter]
    fn name(&self) -> &str {
        self.0.name()
    }

    /// Checks `note` against the last checkpoint cosigned for its log with
    /// the consistency `proof` from `old_size`, records it, and returns the
    /// cosignature line (timestamped now, or at `timestamp`).
    #[pyo3(signature = (old_size, proof, note, *, timestamp = None))]
    fn add_checkpoint(
        &self,
        py: Python<'_>,
        old_size: u64,
        proof: &Bound<'_, PyAny>,
        note: String,
        #[pyo3(from_py_with = crate::when::optional_timestamp)] timestamp: Option<u64>,
    ) -> PyResult<String> {
        let proof = tree::proof(py, proof)?;
        let witness = self.0.clone();
        shutdown::detach(py, move || match timestamp {
            Some(at) => witness.add_checkpoint_at(old_size, &proof, &note, at),
            None => witness.add_checkpoint(old_size, &proof, &note),
        })
        .map_err(|e| to_pyerr(py, &e))
    }

    /// `(size, root)` of the last checkpoint cosigned for `origin`, if any.
    fn latest<'py>(&self, py: Python<'py>, origin: String) -> PyResult<Option<(u64, Bound<'py, PyBytes>)>> {
        let witness = self.0.clone();
        let latest = shutdown::detach(py, move || witness.latest(&origin)).map_err(|e| to_pyerr(py, &e))?;
        Ok(latest.map(|(size, root)| (size, PyBytes::new(py, &root))))
    }

    fn __repr__(&self) -> String {
        format!("<charter.Witness {:?}>", self.0.name())
    }
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Witness>()?;
    m.add_class::<Cosigned>()?;
    m.add_function(wrap_pyfunction!(cosigner_key, m)?)?;
    m.add_function(wrap_pyfunction!(cosign, m)?)?;
    m.add_function(wrap_pyfunction!(verify_cosigned, m)?)?;
    m.add_function(wrap_pyfunction!(witness_request, m)?)?;
    m.add_function(wrap_pyfunction!(parse_witness_request, m)?)
}
