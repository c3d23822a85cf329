//! `charter.Grant`, `charter.Token` and `charter.Link`: capability tokens,
//! minted by a root key and narrowed by delegation.
//!
//! Decoding checks structure only; signatures, the chain and the clock are
//! the authority's business (`Authority.verify`).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use charter_core::capability::{self, Action};
use charter_core::ErrorKind;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyString, PyTuple};

use crate::errors::{new_err, to_pyerr};
use crate::keys::{self, KeyPair, PublicKey};
use crate::message::bytes_like;

/// An action allowed on the topics a pattern matches, written
/// `"ACTION PATTERN"`, such as `"publish orders.*.created"`.
#[pyclass(frozen, eq, hash, module = "charter")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Grant(pub(crate) capability::Grant);

#[pymethods]
impl Grant {
    #[new]
    fn new(py: Python<'_>, #[pyo3(from_py_with = crate::text::utf8)] text: PyBackedStr) -> PyResult<Grant> {
        let text: &str = &text;
        capability::Grant::parse(text).map(Grant).map_err(|e| to_pyerr(py, &e))
    }

    /// `"publish"`, `"subscribe"` or `"request"`.
    #[getter]
    fn action(&self) -> &'static str {
        self.0.action().name()
    }

    /// The topic pattern.
    #[getter]
    fn pattern(&self) -> &str {
        self.0.pattern()
    }

    /// Whether this grant allows `action` on `topic` (for `"subscribe"`,
    /// `topic` is the pattern subscribed to, which must lie within).
    fn allows(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::text::utf8)] action: PyBackedStr,
        #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
    ) -> PyResult<bool> {
        let action: &str = &action;
        let topic: &str = &topic;
        Ok(self.0.allows(parse_action(py, action)?, topic))
    }

    /// Whether everything this grant allows, `other` allows too.
    fn within(&self, other: PyRef<'_, Grant>) -> bool {
        self.0.within(&other.0)
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    /// Pickles as its text, `Grant(text)`.
    fn __reduce__<'py>(&self, py: Python<'py>) -> (Bound<'py, pyo3::types::PyType>, (String,)) {
        (py.get_type::<Grant>(), (self.0.to_string(),))
    }

    fn __repr__(&self) -> String {
        format!("Grant('{}')", self.0)
    }
}

/// An action name: `publish`, `subscribe` or `request`.
pub(crate) fn parse_action(py: Python<'_>, name: &str) -> PyResult<Action> {
    Action::from_name(name).map_err(|e| to_pyerr(py, &e))
}

/// A grants argument: an iterable of `Grant`s or their text forms.
fn grants(value: &Bound<'_, PyAny>) -> PyResult<Vec<capability::Grant>> {
    if value.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err("grants must be an iterable of grants, not one str"));
    }
    value
        .try_iter()?
        .map(|item| {
            let item = item?;
            if let Ok(grant) = item.cast::<Grant>() {
                return Ok(grant.get().0.clone());
            }
            let text = item.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err("grants must be Grant objects or \"ACTION PATTERN\" strings")
            })?;
            let text = text.to_cow().map_err(|e| crate::text::invalid_utf8(item.py(), e))?;
            capability::Grant::parse(&text).map_err(|e| to_pyerr(item.py(), &e))
        })
        .collect()
}

/// Grants as a tuple of `Grant`s.
pub(crate) fn grant_tuple<'py>(
    py: Python<'py>,
    grants: &[capability::Grant],
) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, grants.iter().map(|g| Grant(g.clone())))
}

/// One link of a token, as decoded: who issued it to whom, what it
/// grants and when. Nothing here is verified.
#[pyclass(frozen, module = "charter")]
pub struct Link {
    /// Its position in the token, 0 for the root link.
    #[pyo3(get)]
    index: usize,
    /// Its id (64 hex digits), the name revocation uses.
    #[pyo3(get)]
    id: String,
    /// The key that signed it: the root key for link 0, else the previous
    /// link's subject.
    #[pyo3(get)]
    issuer: PublicKey,
    /// The key it grants to.
    #[pyo3(get)]
    subject: PublicKey,
    grants: Vec<capability::Grant>,
    /// Valid from this time (seconds since the epoch) ...
    #[pyo3(get)]
    not_before: u64,
    /// ... until just before this one.
    #[pyo3(get)]
    not_after: u64,
}

#[pymethods]
impl Link {
    /// What it grants.
    #[getter]
    fn grants<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        grant_tuple(py, &self.grants)
    }

    /// Whether this is the root link, signed by a root key.
    #[getter]
    fn is_root(&self) -> bool {
        self.index == 0
    }

    fn __repr__(&self) -> String {
        let kind = if self.index == 0 { "root" } else { "delegation" };
        format!("<charter.Link {} ({kind}) id={} subject={}>", self.index, self.id, self.subject.0)
    }
}

/// A capability token: a chain of signed links from a root key to the
/// holder. Immutable; equal when their bytes are.
#[pyclass(frozen, module = "charter")]
pub struct Token(pub(crate) capability::Token);

#[pymethods]
impl Token {
    /// Mints a root token: `root` gives `grants` to `subject` for
    /// `[not_before, not_after)`: aware datetimes, or seconds since the
    /// epoch.
    #[staticmethod]
    fn mint(
        root: PyRef<'_, KeyPair>,
        subject: &Bound<'_, PyAny>,
        grants: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = crate::when::not_before)] not_before: u64,
        #[pyo3(from_py_with = crate::when::not_after)] not_after: u64,
    ) -> PyResult<Token> {
        let py = root.py();
        let subject = keys::public_key(subject, "subject")?;
        capability::Token::mint(&root.0, &subject, &self::grants(grants)?, not_before, not_after)
            .map(Token)
            .map_err(|e| to_pyerr(py, &e))
    }

    /// A narrower token for `subject`, signed by `holder`, this token's
    /// subject. Widening a grant or the window raises `DeniedError`.
    fn delegate(
        &self,
        holder: PyRef<'_, KeyPair>,
        subject: &Bound<'_, PyAny>,
        grants: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = crate::when::not_before)] not_before: u64,
        #[pyo3(from_py_with = crate::when::not_after)] not_after: u64,
    ) -> PyResult<Token> {
        let py = holder.py();
        let subject = keys::public_key(subject, "subject")?;
        self.0
            .delegate(&holder.0, &subject, &self::grants(grants)?, not_before, not_after)
            .map(Token)
            .map_err(|e| to_pyerr(py, &e))
    }

    /// Decodes the binary form. Checks structure only; hostile bytes raise
    /// `MalformedError`.
    #[staticmethod]
    fn from_bytes(data: &Bound<'_, PyAny>) -> PyResult<Token> {
        let bytes = bytes_like(data, "a token")?;
        capability::Token::decode(&bytes).map(Token).map_err(|e| to_pyerr(data.py(), &e))
    }

    /// Decodes the text form, `charter-tok1:` then base64url.
    #[staticmethod]
    fn from_text(
        py: Python<'_>,
        #[pyo3(from_py_with = crate::text::utf8)] text: PyBackedStr,
    ) -> PyResult<Token> {
        let text: &str = &text;
        capability::Token::from_text(text).map(Token).map_err(|e| to_pyerr(py, &e))
    }

    /// The links, root first.
    #[getter]
    fn links<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let token = &self.0;
        let links = token.links().iter().enumerate().map(|(index, link)| Link {
            index,
            id: token.link_id(index).to_hex(),
            issuer: PublicKey(if index == 0 { token.root_key() } else { token.links()[index - 1].subject() }),
            subject: PublicKey(link.subject()),
            grants: link.grants().to_vec(),
            not_before: link.not_before(),
            not_after: link.not_after(),
        });
        PyTuple::new(py, links)
    }

    /// The holder: the last link's subject.
    #[getter]
    fn subject(&self) -> PublicKey {
        PublicKey(self.0.subject())
    }

    /// The root key the chain starts from.
    #[getter]
    fn root_key(&self) -> PublicKey {
        PublicKey(self.0.root_key())
    }

    /// The holder's proof of possession for `challenge` (from
    /// `Authority.challenge`): 64 bytes only `holder`, the subject, can make.
    fn prove<'py>(
        &self,
        holder: PyRef<'py, KeyPair>,
        challenge: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let py = holder.py();
        let challenge = challenge_bytes(challenge)?;
        let proof = self.0.prove(&holder.0, &challenge).map_err(|e| to_pyerr(py, &e))?;
        Ok(PyBytes::new(py, &proof))
    }

    /// A readable account of every link: issuer, subject, grants, window
    /// and id.
    fn inspect(&self) -> String {
        self.0.inspect()
    }

    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.as_bytes())
    }

    /// Pickles as its bytes, read back (and checked) by `from_bytes`.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        Ok((py.get_type::<Token>().getattr("from_bytes")?, (PyBytes::new(py, self.0.as_bytes()),)))
    }

    fn __str__(&self) -> String {
        self.0.to_text()
    }

    fn __repr__(&self) -> String {
        format!("<charter.Token links={} subject={}>", self.0.links().len(), self.0.subject())
    }

    fn __eq__(&self, other: PyRef<'_, Token>) -> bool {
        self.0.as_bytes() == other.0.as_bytes()
    }

    fn __hash__(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        self.0.as_bytes().hash(&mut hasher);
        hasher.finish()
    }
}

/// A challenge argument: 32 bytes.
pub(crate) fn challenge_bytes(value: &Bound<'_, PyAny>) -> PyResult<[u8; 32]> {
    let bytes = bytes_like(value, "a challenge")?;
    (*bytes).try_into().map_err(|_| {
        new_err(
            value.py(),
            ErrorKind::InvalidArgument,
            format!("a challenge is 32 bytes, got {}", bytes.len()),
        )
    })
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Grant>()?;
    m.add_class::<Link>()?;
    m.add_class::<Token>()
}
