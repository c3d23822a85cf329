//! `charter.Bridge`: a bus carried onto NATS and back (docs/bridge.md).
//!
//! The bridge is the `charter-bridge` crate; this module maps its options
//! and counters to Python and decides nothing of its own. Starting,
//! flushing and closing wait on the network, so they run without the GIL.
//! A handler the bridge's import runs (on the bridge's own thread) may
//! close the bridge: the stop then finishes on a thread of its own.
//! Starting or flushing one there is refused by the crate
//! (`WouldBlockError`, its wording).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use charter_bridge::{in_async_context, BridgeOptions, Import};
use charter_core::ErrorKind;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::audit::{recorder, AuditLog};
use crate::authority::{Authority, Session};
use crate::bus::Bus;
use crate::durable_import::DurableImport;
use crate::errors::{new_err, to_pyerr};
use crate::keys::KeyPair;
use crate::shutdown;
use crate::token::Token;

/// A running bridge; see the package docs.
#[pyclass(frozen, module = "charter")]
pub struct Bridge {
    bridge: RwLock<Option<charter_bridge::Bridge>>,
    origin: String,
}

/// An import given as a pattern, or as `(pattern, queue_group)`.
#[derive(FromPyObject)]
enum ImportArg {
    Pattern(String),
    Queued((String, Option<String>)),
}

impl Bridge {
    fn with<T>(&self, py: Python<'_>, f: impl FnOnce(&charter_bridge::Bridge) -> T) -> PyResult<T> {
        let guard = self.bridge.read().unwrap_or_else(PoisonError::into_inner);
        let bridge = guard.as_ref().ok_or_else(|| new_err(py, ErrorKind::Closed, "the bridge is closed"))?;
        Ok(f(bridge))
    }
}

fn seconds(py: Python<'_>, name: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        new_err(py, ErrorKind::InvalidArgument, format!("{name} must be a non-negative number of seconds"))
    })
}

#[pymethods]
impl Bridge {
    #[new]
    #[pyo3(signature = (
        bus, server, *, servers=Vec::new(), exports=Vec::new(), imports=Vec::new(), relay=false,
        durable_imports=Vec::new(),
        name=None, token=None, key=None, authority=None, audit=None, audit_scope="denials",
        max_skew=None, session=None, request_timeout=None, export_capacity=None,
        export_max_bytes=None, import_capacity=None, max_requests_in_flight=None, worker_threads=None,
        bare_exports=false,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        bus: PyRef<'_, Bus>,
        server: String,
        servers: Vec<String>,
        exports: Vec<String>,
        imports: Vec<ImportArg>,
        relay: bool,
        durable_imports: Vec<PyRef<'_, DurableImport>>,
        name: Option<String>,
        token: Option<PyRef<'_, Token>>,
        key: Option<PyRef<'_, KeyPair>>,
        authority: Option<PyRef<'_, Authority>>,
        audit: Option<PyRef<'_, AuditLog>>,
        audit_scope: &str,
        #[pyo3(from_py_with = crate::when::optional_seconds)] max_skew: Option<f64>,
        session: Option<PyRef<'_, Session>>,
        #[pyo3(from_py_with = crate::when::optional_seconds)] request_timeout: Option<f64>,
        export_capacity: Option<usize>,
        export_max_bytes: Option<usize>,
        import_capacity: Option<usize>,
        max_requests_in_flight: Option<usize>,
        worker_threads: Option<usize>,
        bare_exports: bool,
    ) -> PyResult<Bridge> {
        // An option left out is the bridge crate's default; it judges the rest.
        let mut options = BridgeOptions::new(&server);
        options.servers.extend(servers);
        options.exports = exports;
        options.imports = imports
            .into_iter()
            .map(|i| {
                let (pattern, group) = match i {
                    ImportArg::Pattern(p) => (p, None),
                    ImportArg::Queued(pair) => pair,
                };
                Import { pattern, queue_group: group, relay }
            })
            .collect();
        options.durable_imports = durable_imports.iter().map(|d| d.core(py)).collect::<PyResult<Vec<_>>>()?;
        if let Some(name) = name {
            options.name = name;
        }
        options
            .set_credentials(token.map(|t| t.0.clone()), key.map(|k| Arc::clone(&k.0)))
            .map_err(|e| to_pyerr(py, &e))?;
        let recorder = recorder(py, audit, audit_scope)?;
        let verify = options
            .set_verification(authority.map(|a| a.0.clone()), recorder)
            .map_err(|e| to_pyerr(py, &e))?;
        if let (Some(verify), Some(max_skew)) = (verify, max_skew) {
            verify.max_skew = seconds(py, "max_skew", max_skew)?;
        }
        options.local_session = session.map(|s| s.0.clone());
        options.bare_exports = bare_exports;
        if let Some(timeout) = request_timeout {
            options.request_timeout = seconds(py, "request_timeout", timeout)?;
        }
        for (option, given) in [
            (&mut options.export_capacity, export_capacity),
            (&mut options.export_max_bytes, export_max_bytes),
            (&mut options.import_capacity, import_capacity),
            (&mut options.max_requests_in_flight, max_requests_in_flight),
            (&mut options.worker_threads, worker_threads),
        ] {
            if let Some(value) = given {
                *option = value;
            }
        }
        let core = bus.core().clone();
        let bridge = shutdown::detach(py, move || charter_bridge::Bridge::start(&core, options))
            .map_err(|e| to_pyerr(py, &e))?;
        let origin = bridge.origin().to_owned();
        Ok(Bridge { bridge: RwLock::new(Some(bridge)), origin })
    }

    /// The bridge's origin id (32 hex digits), fresh at every start.
    #[getter]
    fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether the bridge is connected to a NATS server now.
    #[getter]
    fn connected(&self, py: Python<'_>) -> PyResult<bool> {
        self.with(py, |b| b.is_connected())
    }

    /// Whether the bridge has been closed.
    #[getter]
    fn closed(&self) -> bool {
        self.bridge.read().unwrap_or_else(PoisonError::into_inner).is_none()
    }

    /// Waits up to `timeout` seconds (omitted or `None`: the bridge's
    /// `DEFAULT_FLUSH_TIMEOUT`) until the server has seen everything sent
    /// so far; `TimeoutError` while no server answers.
    #[pyo3(signature = (timeout=None))]
    fn flush(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::when::optional_seconds)] timeout: Option<f64>,
    ) -> PyResult<()> {
        let timeout = match timeout {
            Some(timeout) => seconds(py, "timeout", timeout)?,
            None => charter_bridge::DEFAULT_FLUSH_TIMEOUT,
        };
        let guard = self.bridge.read().unwrap_or_else(PoisonError::into_inner);
        let bridge = guard.as_ref().ok_or_else(|| new_err(py, ErrorKind::Closed, "the bridge is closed"))?;
        shutdown::detach(py, || bridge.flush(timeout)).map_err(|e| to_pyerr(py, &e))
    }

    /// What the bridge carried and dropped so far, each drop by its
    /// reason (docs/bridge.md): counter name to count.
    fn stats(&self, py: Python<'_>) -> PyResult<HashMap<&'static str, u64>> {
        let s = self.with(py, |b| b.stats())?;
        Ok(HashMap::from([
            ("exported", s.exported),
            ("imported", s.imported),
            ("requests_out", s.requests_out),
            ("requests_in", s.requests_in),
            ("not_reexported", s.not_reexported),
            ("own_origin", s.own_origin),
            ("max_payload", s.max_payload),
            ("send_failed", s.send_failed),
            ("bad_header", s.bad_header),
            ("seal_failed", s.seal_failed),
            ("local_refused", s.local_refused),
            ("requests_busy", s.requests_busy),
            ("no_responders", s.no_responders),
            ("reply_timeout", s.reply_timeout),
            ("slow_consumer", s.slow_consumer),
            ("export_queue_dropped", s.export_queue_dropped),
            ("redelivery_requested", s.redelivery_requested),
            ("duplicate_suppressed", s.duplicate_suppressed),
            ("durable_terminated", s.durable_terminated),
            ("durable_bind_failed", s.durable_bind_failed),
            ("ack_failed", s.ack_failed),
        ]))
    }

    /// The messages the verifier refused, by reason (`"unsigned"`,
    /// `"bad_proof"`, `"replayed"`, ...): every reason, zeros included.
    fn refused(&self, py: Python<'_>) -> PyResult<HashMap<&'static str, u64>> {
        let s = self.with(py, |b| b.stats())?;
        let mut out: HashMap<&'static str, u64> =
            charter_bridge::Reason::ALL.iter().map(|r| (r.name(), 0)).collect();
        out.extend(s.refused.iter().map(|(r, n)| (r.name(), *n)));
        Ok(out)
    }

    /// Stops carrying, sends what the client still buffers (for up to a
    /// second) and closes the connection. Idempotent.
    /// A flush in progress finishes first.
    fn close(&self, py: Python<'_>) {
        if in_async_context() {
            let bridge = self.bridge.write().unwrap_or_else(PoisonError::into_inner).take();
            if let Some(bridge) = bridge {
                std::thread::spawn(move || bridge.close());
            }
            return;
        }
        shutdown::detach(py, || {
            let bridge = self.bridge.write().unwrap_or_else(PoisonError::into_inner).take();
            if let Some(bridge) = bridge {
                bridge.close();
            }
        });
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        if slf.get().closed() {
            return Err(new_err(slf.py(), ErrorKind::Closed, "the bridge is closed"));
        }
        Ok(slf)
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, py: Python<'_>, _exc_info: &Bound<'_, PyTuple>) {
        self.close(py);
    }

    fn __repr__(&self) -> String {
        if self.closed() {
            return "<charter.Bridge closed>".to_owned();
        }
        format!("<charter.Bridge origin={}>", self.origin)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let bridge = self.bridge.get_mut().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(bridge) = bridge {
            if in_async_context() {
                std::thread::spawn(move || bridge.close());
            } else {
                bridge.close();
            }
        }
    }
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Bridge>()
}
