//! Signal handlers: Python runs them only on the main thread, and only
//! when that thread runs Python code, so every wait there wakes this often
//! to run them.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// How often a blocking wait on the main thread wakes to run signal
/// handlers (Python runs them nowhere else). Messages do not wait for it:
/// they wake the receive at once.
pub(crate) const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// The main thread's `threading.get_ident()`, and the function itself.
static MAIN_THREAD: PyOnceLock<(u64, Py<PyAny>)> = PyOnceLock::new();

/// Whether this is the thread Python runs signal handlers on: only there
/// must a blocking wait wake up to run them.
pub(crate) fn on_main_thread(py: Python<'_>) -> PyResult<bool> {
    let (main, get_ident) = MAIN_THREAD.get_or_try_init(py, || -> PyResult<_> {
        let threading = py.import("threading")?;
        let main: u64 = threading.call_method0("main_thread")?.getattr("ident")?.extract()?;
        Ok((main, threading.getattr("get_ident")?.unbind()))
    })?;
    Ok(get_ident.call0(py)?.extract::<u64>(py)? == *main)
}
