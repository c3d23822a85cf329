//! `charter.KeyPair` and `charter.PublicKey`: Ed25519 keys, and the
//! principal ids they establish (as their text form, `charter-id1:...`).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use charter_core::capability;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::errors::to_pyerr;
use crate::message::bytes_like;

/// An Ed25519 public key (canonical, not of small order).
#[pyclass(frozen, module = "charter")]
#[derive(Clone, Copy)]
pub struct PublicKey(pub(crate) capability::PublicKey);

#[pymethods]
impl PublicKey {
    /// Parses the text form, `charter-pk1:` then base64url.
    #[staticmethod]
    fn from_text(py: Python<'_>, text: &str) -> PyResult<PublicKey> {
        capability::PublicKey::from_text(text).map(PublicKey).map_err(|e| to_pyerr(py, &e))
    }

    /// Parses the 32 key bytes.
    #[staticmethod]
    fn from_bytes(data: &Bound<'_, PyAny>) -> PyResult<PublicKey> {
        let bytes = bytes_like(data, "a public key")?;
        capability::PublicKey::from_bytes(&bytes).map(PublicKey).map_err(|e| to_pyerr(data.py(), &e))
    }

    /// The principal id this key establishes, `charter-id1:...`.
    #[getter]
    fn principal(&self) -> String {
        self.0.principal().to_text()
    }

    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.as_bytes())
    }

    fn __str__(&self) -> String {
        self.0.to_text()
    }

    fn __repr__(&self) -> String {
        format!("PublicKey.from_text('{}')", self.0)
    }

    fn __eq__(&self, other: PyRef<'_, PublicKey>) -> bool {
        self.0 == other.0
    }

    fn __hash__(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        self.0.hash(&mut hasher);
        hasher.finish()
    }
}

/// An Ed25519 key pair. Its private half leaves it only through
/// `to_pkcs8`; it is never printed and cannot be pickled. Shared, not
/// copied, with the audit logs that sign with it.
#[pyclass(frozen, module = "charter")]
pub struct KeyPair(pub(crate) Arc<capability::KeyPair>);

#[pymethods]
impl KeyPair {
    /// A new key pair from the operating system's random source.
    #[staticmethod]
    fn generate(py: Python<'_>) -> PyResult<KeyPair> {
        capability::KeyPair::generate().map(|key| KeyPair(Arc::new(key))).map_err(|e| to_pyerr(py, &e))
    }

    /// A key pair from a PKCS#8 (v1 or v2) document.
    #[staticmethod]
    fn from_pkcs8(data: &Bound<'_, PyAny>) -> PyResult<KeyPair> {
        let der = bytes_like(data, "a PKCS#8 document")?;
        capability::KeyPair::from_pkcs8(&der)
            .map(|key| KeyPair(Arc::new(key)))
            .map_err(|e| to_pyerr(data.py(), &e))
    }

    /// The private key as a PKCS#8 document. Treat it as a secret.
    fn to_pkcs8<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.to_pkcs8())
    }

    /// The public key.
    #[getter]
    fn public_key(&self) -> PublicKey {
        PublicKey(self.0.public_key())
    }

    /// The principal id this key pair speaks for, `charter-id1:...`.
    #[getter]
    fn principal(&self) -> String {
        self.0.principal().to_text()
    }

    fn __repr__(&self) -> String {
        format!("<charter.KeyPair public_key={}>", self.0.public_key())
    }
}

/// A public key argument: a `PublicKey`, or its text form.
pub(crate) fn public_key(value: &Bound<'_, PyAny>, what: &str) -> PyResult<capability::PublicKey> {
    if let Ok(key) = value.cast::<PublicKey>() {
        return Ok(key.get().0);
    }
    if let Ok(text) = value.cast::<PyString>() {
        return capability::PublicKey::from_text(&text.to_cow()?).map_err(|e| to_pyerr(value.py(), &e));
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be a PublicKey or its text form, not {}",
        value.get_type().name()?
    )))
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PublicKey>()?;
    m.add_class::<KeyPair>()
}
