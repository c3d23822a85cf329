//! `charter.Client`: a bus as seen by the holder of a session, made by
//! `Bus.client(session)`. Publishing needs a `publish` grant matching the
//! topic, subscribing a `subscribe` grant containing the pattern,
//! requesting a `request` grant matching the topic; the core checks each
//! call. The calls are `Bus`'s own, made for this client.

use std::sync::Arc;

use charter_core::bus;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::PyTraverseError;

use crate::aio;
use crate::authority::Session;
use crate::calls::Caller;
use crate::gate::Gate;
use crate::message::Message;
use crate::options::{self, optional_duration, Overflow};
use crate::stats::PublishReport;
use crate::subscription::Subscription;
use crate::when::DEFAULT_REQUEST_TIMEOUT;

/// A bus plus the session every call is checked against.
#[pyclass(frozen, weakref, module = "charter")]
pub struct Client {
    /// The `Bus` (kept alive while the client is) and its shared state.
    bus: Py<PyAny>,
    gate: Arc<Gate>,
    session: Py<Session>,
    core: bus::Client,
}

impl Client {
    pub(crate) fn new(bus: &Bound<'_, PyAny>, gate: &Arc<Gate>, session: &Bound<'_, Session>) -> Client {
        Client {
            core: gate.core().with_session(&session.get().0),
            bus: bus.clone().unbind(),
            gate: Arc::clone(gate),
            session: session.clone().unbind(),
        }
    }

    /// This client's calls; `bus` is `self.bus`, bound.
    fn caller<'a, 'py>(&'a self, bus: &'a Bound<'py, PyAny>) -> Caller<'a, 'py> {
        Caller { bus, gate: &self.gate, client: &self.core }
    }
}

#[pymethods]
impl Client {
    /// The session calls are checked against.
    #[getter]
    fn session(&self, py: Python<'_>) -> Py<Session> {
        self.session.clone_ref(py)
    }

    /// `Bus.subscribe`, if a `subscribe` grant contains `pattern`. The
    /// subscription ends when the session does (at the first publish that
    /// meets it afterwards).
    #[pyo3(
        signature = (
            pattern,
            handler = None,
            *,
            capacity = None,
            max_bytes = None,
            overflow = None,
            ttl = None,
            idle_ttl = None,
            dispatch = None,
        ),
        text_signature = "($self, pattern, handler=None, *, capacity=None, max_bytes=None, \
            overflow=None, ttl=None, idle_ttl=None, dispatch=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn subscribe(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::text::utf8)] pattern: PyBackedStr,
        handler: Option<Bound<'_, PyAny>>,
        capacity: Option<usize>,
        max_bytes: Option<usize>,
        overflow: Option<Overflow>,
        #[pyo3(from_py_with = crate::when::optional_seconds)] ttl: Option<f64>,
        #[pyo3(from_py_with = crate::when::optional_seconds)] idle_ttl: Option<f64>,
        dispatch: Option<PyBackedStr>,
    ) -> PyResult<Subscription> {
        let options = options::Subscribe {
            capacity,
            max_bytes,
            overflow,
            ttl,
            idle_ttl,
            dispatch: dispatch.as_deref(),
        };
        self.caller(self.bus.bind(py)).subscribe(&pattern, handler, options)
    }

    /// `Bus.publish`, if a `publish` grant matches `topic`.
    #[pyo3(signature = (topic, payload, headers = None))]
    fn publish(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PublishReport>> {
        self.caller(self.bus.bind(py)).publish(&topic, payload, headers)
    }

    /// `Bus.publish_many`, if a `publish` grant matches `topic`.
    #[pyo3(signature = (topic, payloads, headers = None))]
    fn publish_many(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
        payloads: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PublishReport>> {
        self.caller(self.bus.bind(py)).publish_many(&topic, payloads, headers)
    }

    /// `Bus.respond` for this session's holder: needs no grant, but a live
    /// session.
    #[pyo3(signature = (request, payload, headers = None))]
    fn respond(
        &self,
        py: Python<'_>,
        request: PyRef<'_, Message>,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PublishReport>> {
        self.caller(self.bus.bind(py)).respond(&request, payload, headers)
    }

    /// `Bus.request`, if a `request` grant matches `topic`.
    #[pyo3(
        signature = (topic, payload, headers = None, timeout = Some(DEFAULT_REQUEST_TIMEOUT)),
        text_signature = "($self, topic, payload, headers=None, timeout=...)"
    )]
    fn request(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = crate::when::optional_seconds)] timeout: Option<f64>,
    ) -> PyResult<Message> {
        self.caller(self.bus.bind(py)).request(&topic, payload, headers, timeout)
    }

    /// `request` for asyncio.
    #[pyo3(
        signature = (topic, payload, headers = None, timeout = Some(DEFAULT_REQUEST_TIMEOUT)),
        text_signature = "($self, topic, payload, headers=None, timeout=...)"
    )]
    fn request_async<'py>(
        slf: &Bound<'py, Self>,
        #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
        payload: Bound<'py, PyAny>,
        headers: Option<Bound<'py, PyAny>>,
        #[pyo3(from_py_with = crate::when::optional_seconds)] timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        optional_duration(py, timeout, "timeout")?;
        aio::coroutine(py, "request", (slf, &*topic, payload, headers, timeout))
    }

    /// The synchronous half of `request_async`.
    #[pyo3(signature = (topic, payload, headers = None))]
    fn _request_start(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Subscription> {
        self.caller(self.bus.bind(py)).request_start(&topic, payload, headers)
    }

    fn __repr__(&self) -> String {
        format!("<charter.Client principal={}>", self.session.get().0.principal())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.bus)?;
        visit.call(&self.session)
    }
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Client>()
}
