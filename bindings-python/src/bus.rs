//! `charter.Bus`: the core topic bus, with Python handlers.
//!
//! The bus's state lives in a [`Gate`], shared with its subscriptions and
//! clients (see `gate` for threads and the GIL); its calls are
//! [`Caller`]'s, made as the bus's own caller, with no session, as a
//! [`Client`] makes them as its session's holder.

use std::sync::Arc;

use charter_core::bus::{self, BusLimits};
use charter_core::capability;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::PyTuple;
use pyo3::PyTraverseError;

use crate::aio;
use crate::audit::{self, AuditLog};
use crate::authority::{Authority, Session};
use crate::callback::optional_callable;
use crate::calls::Caller;
use crate::client::Client;
use crate::errors::to_pyerr;
use crate::gate::Gate;
use crate::message::Message;
use crate::options::{self, optional_duration, Overflow};
use crate::shutdown::Busy;
use crate::stats::{BusStats, PublishReport};
use crate::subscription::Subscription;
use crate::when::DEFAULT_REQUEST_TIMEOUT;

/// A topic bus; see the package docs for the API.
#[pyclass(frozen, weakref, module = "charter")]
pub struct Bus {
    gate: Arc<Gate>,
    /// The caller without a session: the bus's own calls go through it.
    anyone: bus::Client,
}

impl Bus {
    pub(crate) fn core(&self) -> &bus::Bus {
        self.gate.core()
    }

    /// The bus's own calls.
    fn caller<'a, 'py>(slf: &'a Bound<'py, Bus>) -> Caller<'a, 'py> {
        let bus = slf.get();
        Caller { bus: slf.as_any(), gate: &bus.gate, client: &bus.anyone }
    }
}

#[pymethods]
impl Bus {
    #[new]
    #[pyo3(
        signature = (
            *,
            authority = None,
            max_subscriptions = None,
            max_queue_messages = None,
            max_queue_bytes = None,
            max_payload = None,
            max_topic_len = None,
            max_topic_tokens = None,
            max_headers = None,
            max_header_bytes = None,
            on_error = None,
            audit = None,
            audit_scope = "denials",
        ),
        text_signature = "(*, authority=None, max_subscriptions=None, max_queue_messages=None, \
            max_queue_bytes=None, max_payload=None, max_topic_len=None, max_topic_tokens=None, \
            max_headers=None, max_header_bytes=None, on_error=None, audit=None, audit_scope='denials')"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        authority: Option<PyRef<'_, Authority>>,
        max_subscriptions: Option<usize>,
        max_queue_messages: Option<usize>,
        max_queue_bytes: Option<usize>,
        max_payload: Option<usize>,
        max_topic_len: Option<usize>,
        max_topic_tokens: Option<usize>,
        max_headers: Option<usize>,
        max_header_bytes: Option<usize>,
        on_error: Option<Bound<'_, PyAny>>,
        audit: Option<PyRef<'_, AuditLog>>,
        audit_scope: &str,
    ) -> PyResult<Bus> {
        // A limit left out is the core's default; the core checks the rest.
        let d = BusLimits::default();
        let limits = BusLimits {
            max_subscriptions: max_subscriptions.unwrap_or(d.max_subscriptions),
            max_queue_messages: max_queue_messages.unwrap_or(d.max_queue_messages),
            max_queue_bytes: max_queue_bytes.unwrap_or(d.max_queue_bytes),
            max_payload: max_payload.unwrap_or(d.max_payload),
            max_topic_len: max_topic_len.unwrap_or(d.max_topic_len),
            max_topic_tokens: max_topic_tokens.unwrap_or(d.max_topic_tokens),
            max_headers: max_headers.unwrap_or(d.max_headers),
            max_header_bytes: max_header_bytes.unwrap_or(d.max_header_bytes),
        };
        let hook = optional_callable(on_error, "on_error")?;
        let authority = authority.map(|a| capability::Authority::clone(&a.0));
        let recorder = audit::recorder(py, audit, audit_scope)?;
        let recording = recorder.is_some();
        let core = match (authority, recorder) {
            (authority, Some(recorder)) => bus::Bus::with_recorder(limits, authority, recorder),
            (Some(authority), None) => bus::Bus::with_authority(limits, authority),
            (None, None) => bus::Bus::new(limits),
        };
        let core = core.map_err(|e| to_pyerr(py, &e))?;
        Ok(Bus { anyone: core.client(None), gate: Arc::new(Gate::new(core, recording, hook)) })
    }

    /// The bus as seen by the holder of `session`: the same calls, each
    /// checked against the session's grants.
    fn client(slf: &Bound<'_, Self>, session: &Bound<'_, Session>) -> Client {
        Client::new(slf.as_any(), &slf.get().gate, session)
    }

    /// Subscribes to `pattern`. Without `handler`, messages queue for
    /// `recv` and friends; with one, `handler(message)` runs for each, on
    /// the publishing thread or on a thread of the subscription's own.
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
        slf: &Bound<'_, Self>,
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
        Bus::caller(slf).subscribe(&pattern, handler, options)
    }

    /// Publishes `payload` (bytes-like) on `topic` to every matching
    /// subscription, with optional `headers`.
    #[pyo3(signature = (topic, payload, headers = None))]
    fn publish(
        slf: &Bound<'_, Self>,
        #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PublishReport>> {
        Bus::caller(slf).publish(&topic, payload, headers)
    }

    /// Publishes each of `payloads` (an iterable of bytes-like objects) on
    /// `topic`, in order, with the same `headers`, each exactly as `publish`
    /// would; returns their reports added up. Stops at the first message
    /// that fails; its exception's `published` says how many went out.
    #[pyo3(signature = (topic, payloads, headers = None))]
    fn publish_many(
        slf: &Bound<'_, Self>,
        #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
        payloads: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PublishReport>> {
        Bus::caller(slf).publish_many(&topic, payloads, headers)
    }

    /// Publishes a request and waits up to `timeout` seconds (`None`: no
    /// limit; omitted: the core's `DEFAULT_REQUEST_TIMEOUT`) for the first
    /// reply.
    #[pyo3(
        signature = (topic, payload, headers = None, timeout = Some(DEFAULT_REQUEST_TIMEOUT)),
        text_signature = "($self, topic, payload, headers=None, timeout=...)"
    )]
    fn request(
        slf: &Bound<'_, Self>,
        #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        #[pyo3(from_py_with = crate::when::optional_seconds)] timeout: Option<f64>,
    ) -> PyResult<Message> {
        Bus::caller(slf).request(&topic, payload, headers, timeout)
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

    /// Publishes a request and returns the subscription its reply comes to:
    /// the synchronous half of `request_async`.
    #[pyo3(signature = (topic, payload, headers = None))]
    fn _request_start(
        slf: &Bound<'_, Self>,
        #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Subscription> {
        Bus::caller(slf).request_start(&topic, payload, headers)
    }

    /// Answers `request`, a message received with a reply inbox.
    #[pyo3(signature = (request, payload, headers = None))]
    fn respond(
        slf: &Bound<'_, Self>,
        request: PyRef<'_, Message>,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PublishReport>> {
        Bus::caller(slf).respond(&request, payload, headers)
    }

    /// The bus's accounting over its whole life.
    fn stats(&self) -> BusStats {
        self.gate.core().stats().into()
    }

    /// Ends every subscription with an `idle_ttl` not received from for
    /// that long; returns how many ended.
    fn evict_idle(&self, py: Python<'_>) -> PyResult<usize> {
        // Only queue subscriptions have an idle_ttl: no thread to join.
        Ok(self.gate.open(py)?.evict_idle())
    }

    /// The hook `(subscription_id, exception)` that receives every
    /// exception a handler raises, or `None`.
    #[getter]
    fn get_on_error(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.gate.open(py)?;
        Ok(self.gate.on_error.get(py))
    }

    #[setter]
    fn set_on_error(&self, py: Python<'_>, hook: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        self.gate.open(py)?;
        let _busy = Busy::enter(py);
        let old = self.gate.on_error.replace(optional_callable(hook, "on_error")?);
        drop(old);
        Ok(())
    }

    /// Whether `close` has been called.
    #[getter]
    fn closed(&self) -> bool {
        self.gate.closed()
    }

    /// Closes the bus: every subscription ends (blocked receivers get
    /// `ClosedError`), handler threads are joined, handlers and the hook are
    /// released. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let _busy = Busy::enter(py);
        self.gate.release(py, true)
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().gate.open(slf.py())?;
        Ok(slf)
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, py: Python<'_>, _exc_info: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.close(py)
    }

    fn __repr__(&self) -> String {
        if self.closed() {
            return "<charter.Bus closed>".to_owned();
        }
        format!("<charter.Bus subscriptions={}>", self.gate.core().subscription_count())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.gate.traverse(&visit)
    }

    fn __clear__(&self) {
        Python::attach(|py| {
            let _ = self.gate.release(py, false);
        });
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        // The core's own drop would join handler threads with the GIL held.
        if !self.closed() {
            Python::attach(|py| {
                let _ = self.gate.release(py, false);
            });
        }
    }
}

/// The error a request that got no reply within `timeout` seconds raises:
/// the core's wording, for `request_async`.
#[pyfunction]
fn _no_reply(py: Python<'_>, topic: &str, timeout: f64) -> PyResult<Py<PyAny>> {
    let timeout = optional_duration(py, Some(timeout), "timeout")?.unwrap_or_default();
    Ok(to_pyerr(py, &bus::no_reply(topic, timeout)).into_value(py).into_any())
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_no_reply, m)?)?;
    m.add_class::<Bus>()
}
