//! The audit tree's standalone half: `charter.Checkpoint`, the proof and
//! checkpoint verifiers, `leaf_hash`, `verifier_key` and `EMPTY_ROOT`.
//! They need nothing but their arguments, so an auditor holding a
//! checkpoint checks proofs without the log.

use std::hash::{DefaultHasher, Hash as _, Hasher};

use charter_core::audit::{self, Hash};
use charter_core::ErrorKind;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::PyBytes;

use crate::errors::{new_err, to_pyerr};
use crate::keys;
use crate::message::bytes_like;

/// A signed tree head: the log's name, its size and its root.
#[pyclass(frozen, eq, module = "charter")]
#[derive(PartialEq, Eq)]
pub struct Checkpoint(pub(crate) audit::Checkpoint);

#[pymethods]
impl Checkpoint {
    #[new]
    fn new(py: Python<'_>, origin: String, size: u64, root: &Bound<'_, PyAny>) -> PyResult<Checkpoint> {
        Ok(Checkpoint(audit::Checkpoint { origin, size, root: hash(py, root, "root")? }))
    }

    /// The log's identity.
    #[getter]
    fn origin(&self) -> &str {
        &self.0.origin
    }

    /// The number of records in the tree.
    #[getter]
    fn size(&self) -> u64 {
        self.0.size
    }

    /// The tree's root (32 bytes).
    #[getter]
    fn root<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.0.root)
    }

    fn __hash__(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        (&self.0.origin, self.0.size, self.0.root).hash(&mut hasher);
        hasher.finish()
    }

    fn __repr__(&self) -> String {
        let root = charter_core::text::hex(&self.0.root);
        format!("Checkpoint({:?}, {}, bytes.fromhex('{root}'))", self.0.origin, self.0.size)
    }
}

/// A 32-byte hash argument; `InvalidArgumentError` for another length.
pub(crate) fn hash(py: Python<'_>, value: &Bound<'_, PyAny>, what: &str) -> PyResult<Hash> {
    let bytes = bytes_like(value, what)?;
    <Hash>::try_from(&*bytes).map_err(|_| {
        new_err(py, ErrorKind::InvalidArgument, format!("{what} must be 32 bytes, not {}", bytes.len()))
    })
}

/// A proof argument: an iterable of 32-byte hashes.
pub(crate) fn proof(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Vec<Hash>> {
    value.try_iter()?.map(|item| hash(py, &item?, "a proof hash")).collect()
}

/// Checks that `leaf_hash` is record `index` of the tree of `size` records
/// whose root is `root`, given the inclusion `proof`.
#[pyfunction]
fn verify_inclusion(
    py: Python<'_>,
    leaf_hash: &Bound<'_, PyAny>,
    index: u64,
    size: u64,
    proof: &Bound<'_, PyAny>,
    root: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let (leaf, proof, root) =
        (hash(py, leaf_hash, "leaf_hash")?, self::proof(py, proof)?, hash(py, root, "root")?);
    audit::verify_inclusion(&leaf, index, size, &proof, &root).map_err(|e| to_pyerr(py, &e))
}

/// Checks that the tree of `old_size` records with `old_root` is a prefix
/// of the tree of `new_size` records with `new_root`, given `proof`.
#[pyfunction]
fn verify_consistency(
    py: Python<'_>,
    old_size: u64,
    new_size: u64,
    old_root: &Bound<'_, PyAny>,
    new_root: &Bound<'_, PyAny>,
    proof: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let (old_root, new_root) = (hash(py, old_root, "old_root")?, hash(py, new_root, "new_root")?);
    let proof = self::proof(py, proof)?;
    audit::verify_consistency(old_size, new_size, &old_root, &new_root, &proof).map_err(|e| to_pyerr(py, &e))
}

/// Verifies a signed checkpoint note with one trusted verifier key and
/// returns what it says.
#[pyfunction]
fn verify_checkpoint(
    py: Python<'_>,
    #[pyo3(from_py_with = crate::text::utf8)] note: PyBackedStr,
    #[pyo3(from_py_with = crate::text::utf8)] verifier_key: PyBackedStr,
) -> PyResult<Checkpoint> {
    let note: &str = &note;
    let verifier_key: &str = &verifier_key;
    audit::verify_checkpoint(note, verifier_key).map(Checkpoint).map_err(|e| to_pyerr(py, &e))
}

/// The note verifier key for `public_key` under `name`.
#[pyfunction]
fn verifier_key(
    py: Python<'_>,
    #[pyo3(from_py_with = crate::text::utf8)] name: PyBackedStr,
    public_key: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let name: &str = &name;
    let key = keys::public_key(public_key, "public_key")?;
    audit::verifier_key(name, &key).map_err(|e| to_pyerr(py, &e))
}

/// The RFC 9162 leaf hash of `leaf`: `SHA-256(0x00 || leaf)`.
#[pyfunction]
fn leaf_hash<'py>(leaf: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = bytes_like(leaf, "a leaf")?;
    Ok(PyBytes::new(leaf.py(), &audit::leaf_hash(&bytes)))
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Checkpoint>()?;
    m.add_function(wrap_pyfunction!(verify_inclusion, m)?)?;
    m.add_function(wrap_pyfunction!(verify_consistency, m)?)?;
    m.add_function(wrap_pyfunction!(verify_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(verifier_key, m)?)?;
    m.add_function(wrap_pyfunction!(leaf_hash, m)?)?;
    m.add("EMPTY_ROOT", PyBytes::new(m.py(), &audit::EMPTY_ROOT))
}
