//! The asyncio half of the bus and the registry is Python
//! (`charter/_aio.py`): coroutines are far simpler to write there. The
//! awaitable methods of `Bus`, `Subscription` and `Registry` check their
//! arguments here and return its coroutines; async bus handlers start
//! through it too.

use pyo3::call::PyCallArgs;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// `charter._aio`, imported on first use: it imports this module.
static AIO: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// `charter._aio.<function>(*args)`: a coroutine, or what else it returns.
pub(crate) fn coroutine<'py>(
    py: Python<'py>,
    function: &str,
    args: impl PyCallArgs<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let aio = AIO.get_or_try_init(py, || py.import("charter._aio").map(Bound::unbind))?;
    aio.bind(py).getattr(function)?.call1(args)
}
