//! `charter.KeyPair` and `charter.PublicKey`: Ed25519 keys, and the
//! principal ids they establish (as their text form, `charter-id1:...`).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use charter_core::capability;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyString};

use crate::errors::to_pyerr;
use crate::message::bytes_like;
use crate::shutdown;

/// An Ed25519 public key (canonical, not of small order).
#[pyclass(frozen, module = "charter")]
#[derive(Clone, Copy)]
pub struct PublicKey(pub(crate) capability::PublicKey);

#[pymethods]
impl PublicKey {
    /// Parses the text form, `charter-pk1:` then base64url.
    #[staticmethod]
    fn from_text(
        py: Python<'_>,
        #[pyo3(from_py_with = crate::text::utf8)] text: PyBackedStr,
    ) -> PyResult<PublicKey> {
        let text: &str = &text;
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

    /// Pickles as its bytes, read back by `from_bytes`.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        Ok((py.get_type::<PublicKey>().getattr("from_bytes")?, (PyBytes::new(py, self.0.as_bytes()),)))
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
/// `to_pkcs8`, `to_pem` and `write_file`; it is never printed and cannot be
/// pickled. Shared, not copied, with the audit logs that sign with it.
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

    /// The private key as a PKCS#8 v1 document (RFC 8410), which OpenSSL 3
    /// and `cryptography` load. Treat it as a secret.
    fn to_pkcs8<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.to_pkcs8())
    }

    /// A key pair from PEM text (`-----BEGIN PRIVATE KEY-----`).
    #[staticmethod]
    fn from_pem(
        py: Python<'_>,
        #[pyo3(from_py_with = crate::text::utf8)] text: PyBackedStr,
    ) -> PyResult<KeyPair> {
        let text: &str = &text;
        capability::KeyPair::from_pem(text).map(|key| KeyPair(Arc::new(key))).map_err(|e| to_pyerr(py, &e))
    }

    /// The private key as PEM text. Treat it as a secret.
    fn to_pem(&self) -> String {
        self.0.to_pem()
    }

    /// Reads a private key file (PKCS#8, DER or PEM). A file that group or
    /// others may access is refused with `InvalidArgumentError`, as ssh
    /// refuses one, unless `allow_open_permissions`.
    #[staticmethod]
    #[pyo3(signature = (path, *, allow_open_permissions = false))]
    fn read_file(py: Python<'_>, path: PathBuf, allow_open_permissions: bool) -> PyResult<KeyPair> {
        let options = capability::KeyFileOptions { allow_open_permissions };
        shutdown::detach(py, || capability::KeyPair::read_file(&path, options))
            .map(|key| KeyPair(Arc::new(key)))
            .map_err(|e| to_pyerr(py, &e))
    }

    /// Writes the private key to a new file, mode 0600, as DER or, with
    /// `pem`, PEM text. An existing file is never replaced.
    #[pyo3(signature = (path, *, pem = false))]
    fn write_file(&self, py: Python<'_>, path: PathBuf, pem: bool) -> PyResult<()> {
        let format = if pem { capability::KeyFormat::Pem } else { capability::KeyFormat::Der };
        shutdown::detach(py, || self.0.write_file(&path, format)).map_err(|e| to_pyerr(py, &e))
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
        let text = text.to_cow().map_err(|e| crate::text::invalid_utf8(value.py(), e))?;
        return capability::PublicKey::from_text(&text).map_err(|e| to_pyerr(value.py(), &e));
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
