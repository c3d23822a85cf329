//! `charter.NotifyReport`: the outcome of one notify round.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// How the handlers of one notify round fared. Immutable, comparable and
/// hashable, so tests and callers can compare whole reports.
#[pyclass(frozen, eq, hash, module = "charter")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NotifyReport {
    /// Handlers that returned normally.
    #[pyo3(get)]
    delivered: u64,
    /// Handlers that raised an exception.
    #[pyo3(get)]
    failed: u64,
    /// Handlers that panicked in Rust code; the panic was caught.
    #[pyo3(get)]
    panicked: u64,
}

#[pymethods]
impl NotifyReport {
    #[new]
    #[pyo3(signature = (delivered = 0, failed = 0, panicked = 0))]
    fn new(delivered: u64, failed: u64, panicked: u64) -> NotifyReport {
        NotifyReport { delivered, failed, panicked }
    }

    /// Pickles as its constructor call.
    fn __reduce__<'py>(&self, py: Python<'py>) -> (Bound<'py, pyo3::types::PyType>, (u64, u64, u64)) {
        (py.get_type::<NotifyReport>(), (self.delivered, self.failed, self.panicked))
    }

    /// How many handlers were called: every one counts in exactly one field.
    #[getter]
    fn called(&self) -> u64 {
        self.delivered + self.failed + self.panicked
    }

    fn __repr__(&self) -> String {
        format!(
            "NotifyReport(delivered={}, failed={}, panicked={})",
            self.delivered, self.failed, self.panicked
        )
    }
}

impl From<charter_core::NotifyReport> for NotifyReport {
    fn from(r: charter_core::NotifyReport) -> NotifyReport {
        NotifyReport::new(r.delivered, r.failed, r.panicked)
    }
}

/// Reports are immutable, so the common ones (every handler delivered, up
/// to this many handlers) are made once and shared, like small ints: a
/// notify round then allocates nothing at all.
const SHARED_REPORTS: u64 = 16;

static SHARED: PyOnceLock<Vec<Py<NotifyReport>>> = PyOnceLock::new();

/// The Python object for `report`.
pub(crate) fn to_py(py: Python<'_>, report: charter_core::NotifyReport) -> PyResult<Py<NotifyReport>> {
    let report = NotifyReport::from(report);
    if report.failed == 0 && report.panicked == 0 && report.delivered < SHARED_REPORTS {
        let shared = SHARED.get_or_try_init(py, || {
            (0..SHARED_REPORTS)
                .map(|delivered| Py::new(py, NotifyReport::new(delivered, 0, 0)))
                .collect::<PyResult<Vec<_>>>()
        })?;
        return Ok(shared[report.delivered as usize].clone_ref(py));
    }
    Py::new(py, report)
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NotifyReport>()
}
