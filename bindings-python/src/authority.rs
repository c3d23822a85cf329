//! `charter.Authority`, `charter.Session`, `charter.Verified` and
//! `charter.ManualClock`: verifying tokens and enforcing them.
//!
//! Verifying a token (`verify`, `open_session`) checks signatures, so it
//! releases the GIL. The clock is the system's or a `ManualClock`, both in
//! Rust: no Python code runs while the core judges time, so sessions can be
//! checked from any thread, by the bus too, without the GIL.

use std::sync::Arc;
use std::time::Duration;

use charter_core::capability::{self, AuthorityOptions, LinkId};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyTuple};

use crate::audit::{self, AuditLog};
use crate::errors::to_pyerr;
use crate::keys::{self, PublicKey};
use crate::message::bytes_like;
use crate::shutdown;
use crate::token::{challenge_bytes, grant_tuple, parse_action, Token};

/// A clock that moves only when told to, for tests: pass it to
/// `Authority(clock=...)`.
#[pyclass(frozen, module = "charter")]
pub struct ManualClock(Arc<capability::ManualClock>);

#[pymethods]
impl ManualClock {
    #[new]
    fn new(#[pyo3(from_py_with = crate::when::now)] now: u64) -> ManualClock {
        ManualClock(Arc::new(capability::ManualClock::new(now)))
    }

    /// The time, in seconds since the epoch.
    fn now(&self) -> u64 {
        capability::Clock::now(&*self.0)
    }

    /// Sets the time: an aware `datetime` or seconds since the epoch.
    fn set(&self, #[pyo3(from_py_with = crate::when::now)] now: u64) {
        self.0.set(now);
    }

    /// Moves the time forward by `seconds` (whole seconds, or a `timedelta`).
    fn advance(&self, #[pyo3(from_py_with = crate::when::advance)] seconds: u64) {
        self.0.advance(seconds);
    }

    fn __repr__(&self) -> String {
        format!("ManualClock({})", self.now())
    }
}

/// What a verified token establishes: who holds it and what it may do.
#[pyclass(frozen, module = "charter")]
pub struct Verified(capability::Verified);

#[pymethods]
impl Verified {
    /// The holder's public key (the last link's subject).
    #[getter]
    fn subject(&self) -> PublicKey {
        PublicKey(self.0.subject)
    }

    /// The holder's principal id, `charter-id1:...`.
    #[getter]
    fn principal(&self) -> String {
        self.0.principal.to_text()
    }

    /// The last link's grants.
    #[getter]
    fn grants<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        grant_tuple(py, &self.0.grants)
    }

    /// The last link's window, `[not_before, not_after)`.
    #[getter]
    fn not_before(&self) -> u64 {
        self.0.not_before
    }

    /// See `not_before`.
    #[getter]
    fn not_after(&self) -> u64 {
        self.0.not_after
    }

    /// Every link's id, root first.
    #[getter]
    fn links<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.0.links.iter().map(LinkId::to_hex))
    }

    fn __repr__(&self) -> String {
        format!("<charter.Verified principal={} grants={}>", self.0.principal, self.0.grants.len())
    }
}

/// Trusts root keys, judges time, verifies tokens, opens sessions and keeps
/// the revocation list. With `audit=log`, session openings are recorded
/// (refused ones only, or all with `audit_scope="all"`).
#[pyclass(frozen, module = "charter")]
pub struct Authority(pub(crate) capability::Authority);

#[pymethods]
impl Authority {
    #[new]
    #[pyo3(
        signature = (
            roots = None, *, clock = None, max_lifetime = None, clock_skew = None, audit = None,
            audit_scope = "denials"
        ),
        text_signature = "(roots=(), *, clock=None, max_lifetime=None, clock_skew=None, audit=None, \
            audit_scope='denials')"
    )]
    fn new(
        py: Python<'_>,
        roots: Option<&Bound<'_, PyAny>>,
        clock: Option<PyRef<'_, ManualClock>>,
        #[pyo3(from_py_with = crate::when::max_lifetime)] max_lifetime: Option<u64>,
        #[pyo3(from_py_with = crate::when::clock_skew)] clock_skew: Option<u64>,
        audit: Option<PyRef<'_, AuditLog>>,
        audit_scope: &str,
    ) -> PyResult<Authority> {
        let roots = match roots {
            Some(roots) => roots
                .try_iter()?
                .map(|root| keys::public_key(&root?, "a root"))
                .collect::<PyResult<Vec<_>>>()?,
            None => Vec::new(),
        };
        // What was left out keeps the core's default.
        let mut options = AuthorityOptions {
            recorder: audit::recorder(py, audit, audit_scope)?,
            ..AuthorityOptions::default()
        };
        if let Some(seconds) = max_lifetime {
            options.max_lifetime = Duration::from_secs(seconds);
        }
        if let Some(seconds) = clock_skew {
            options.clock_skew = Duration::from_secs(seconds);
        }
        if let Some(clock) = clock {
            options.clock = clock.0.clone();
        }
        Ok(Authority(capability::Authority::new(roots, options)))
    }

    /// Trusts `root` (a `PublicKey` or its text) from now on.
    fn trust(&self, root: &Bound<'_, PyAny>) -> PyResult<()> {
        self.0.trust(keys::public_key(root, "root")?);
        Ok(())
    }

    /// Ends every session that has expired by the clock (or lost its token
    /// to revocation or distrust) and its bus subscriptions: receivers
    /// waiting on them wake. Returns how many sessions ended. Revoking and
    /// distrusting do this themselves; call it after moving a
    /// `ManualClock`, or from a timer.
    fn sweep(&self, py: Python<'_>) -> usize {
        shutdown::detach(py, || self.0.sweep())
    }

    /// Stops trusting `root` and ends every session opened under it;
    /// returns whether it was trusted.
    fn distrust(&self, root: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.0.distrust(&keys::public_key(root, "root")?))
    }

    /// The time by this authority's clock, in seconds since the epoch.
    fn now(&self) -> u64 {
        self.0.now()
    }

    /// Verifies `token`: revocation, root, chain, signatures, narrowing,
    /// lifetime and clock. Raises the matching `charter.Error` otherwise.
    fn verify(&self, py: Python<'_>, token: PyRef<'_, Token>) -> PyResult<Verified> {
        let token = &token.0;
        shutdown::detach(py, || self.0.verify(token)).map(Verified).map_err(|e| to_pyerr(py, &e))
    }

    /// A fresh 32-byte challenge, usable once within two minutes, for a
    /// holder to answer with `Token.prove`.
    fn challenge<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let challenge = self.0.challenge().map_err(|e| to_pyerr(py, &e))?;
        Ok(PyBytes::new(py, &challenge))
    }

    /// Verifies `token` and the holder's `proof` for `challenge`, then opens
    /// a session. The challenge is spent either way.
    fn open_session(
        &self,
        token: PyRef<'_, Token>,
        challenge: &Bound<'_, PyAny>,
        proof: &Bound<'_, PyAny>,
    ) -> PyResult<Session> {
        let py = token.py();
        let challenge = challenge_bytes(challenge)?;
        let proof = bytes_like(proof, "a proof")?;
        let token = &token.0;
        shutdown::detach(py, || self.0.open_session(token, &challenge, &proof))
            .map(Session)
            .map_err(|e| to_pyerr(py, &e))
    }

    /// Revokes link `link_id` (64 hex digits, as in `Link.id`), ending every
    /// token that contains it and every session opened with one. Returns
    /// whether it was new.
    fn revoke(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::text::utf8)] link_id: PyBackedStr,
    ) -> PyResult<bool> {
        let link_id: &str = &link_id;
        self.0.revoke(link_id_of(py, link_id)?).map_err(|e| to_pyerr(py, &e))
    }

    /// Lifts the revocation of `link_id`; returns whether it was revoked.
    fn unrevoke(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::text::utf8)] link_id: PyBackedStr,
    ) -> PyResult<bool> {
        let link_id: &str = &link_id;
        Ok(self.0.unrevoke(&link_id_of(py, link_id)?))
    }

    /// The revoked link ids, sorted.
    fn revocations(&self) -> Vec<String> {
        self.0.revocations().iter().map(LinkId::to_hex).collect()
    }

    /// The revocations as text: one link id per line, sorted.
    fn export_revocations(&self) -> String {
        self.0.export_revocations()
    }

    /// Adds every link id in `text` (as `export_revocations` writes it;
    /// blank lines and `#` comments are skipped). All or nothing: a bad
    /// line adds none and raises `MalformedError`. Returns how many were new.
    fn import_revocations(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::text::utf8)] text: PyBackedStr,
    ) -> PyResult<usize> {
        let text: &str = &text;
        self.0.import_revocations(text).map_err(|e| to_pyerr(py, &e))
    }

    fn __repr__(&self) -> String {
        format!("<charter.Authority revocations={}>", self.0.revocations().len())
    }
}

fn link_id_of(py: Python<'_>, hex: &str) -> PyResult<LinkId> {
    LinkId::from_hex(hex).map_err(|e| to_pyerr(py, &e))
}

/// An open session: a verified token whose holder proved possession. It
/// lasts until the token expires or a link of it is revoked.
#[pyclass(frozen, module = "charter")]
pub struct Session(pub(crate) capability::Session);

#[pymethods]
impl Session {
    /// Raises unless the session may `action` (`"publish"`, `"subscribe"`
    /// or `"request"`) on `topic` (for `"subscribe"`, the pattern):
    /// `DeniedError` naming the topic and the missing grant, or
    /// `ExpiredError` / `RevokedError` once the session has ended.
    fn check(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::text::utf8)] action: PyBackedStr,
        #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
    ) -> PyResult<()> {
        let action: &str = &action;
        let topic: &str = &topic;
        self.0.check(parse_action(py, action)?, topic).map_err(|e| to_pyerr(py, &e))
    }

    /// Whether the session is still open: not expired, nothing revoked.
    #[getter]
    fn active(&self) -> bool {
        self.0.is_active()
    }

    /// The holder's principal id, `charter-id1:...`.
    #[getter]
    fn principal(&self) -> String {
        self.0.principal().to_text()
    }

    /// The holder's public key.
    #[getter]
    fn subject(&self) -> PublicKey {
        PublicKey(self.0.subject())
    }

    /// What the session may do.
    #[getter]
    fn grants<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        grant_tuple(py, self.0.grants())
    }

    /// When the session ends (seconds since the epoch), unless revoked
    /// before.
    #[getter]
    fn expires_at(&self) -> u64 {
        self.0.expires_at()
    }

    fn __repr__(&self) -> String {
        let state = if self.0.is_active() { "" } else { " ended" };
        format!(
            "<charter.Session principal={} expires_at={}{state}>",
            self.0.principal(),
            self.0.expires_at()
        )
    }
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ManualClock>()?;
    m.add_class::<Verified>()?;
    m.add_class::<Authority>()?;
    m.add_class::<Session>()
}
