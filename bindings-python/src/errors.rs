//! Status codes, and the one mapping from core errors to Python exceptions.
//!
//! The exception classes are plain Python classes (`charter/errors.py`), so
//! they are ordinary to subclass, pickle and type-check. This module exports
//! the core's status table for them to be built from, and turns any
//! [`charter_core::Error`] into an instance of the class registered for its
//! status name.

use charter_core::{Error, ErrorKind};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

/// Adds `STATUS_CODES`: every status name mapped to its code, straight from
/// [`ErrorKind::ALL`], so Python never holds a copy that could drift.
pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let codes = PyDict::new(m.py());
    for kind in ErrorKind::ALL {
        codes.set_item(kind.name(), kind.code())?;
    }
    m.add("STATUS_CODES", codes)
}

/// `charter.errors.ERROR_CLASSES` (status name to class), looked up on first use:
/// `charter.errors` imports this module, so it cannot be imported at init.
static ERROR_CLASSES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The Python exception for `err`: an instance of the class registered for
/// its status name, constructed with the core's message.
pub(crate) fn to_pyerr(py: Python<'_>, err: &Error) -> PyErr {
    match class_of(py, err.kind()) {
        Ok(class) => PyErr::from_type(class, (err.message().to_owned(),)),
        Err(lookup_failed) => lookup_failed,
    }
}

/// Shorthand for raising a fresh error of `kind`.
pub(crate) fn new_err(py: Python<'_>, kind: ErrorKind, message: impl Into<String>) -> PyErr {
    to_pyerr(py, &Error::new(kind, message))
}

fn class_of(py: Python<'_>, kind: ErrorKind) -> PyResult<Bound<'_, PyType>> {
    let errors = ERROR_CLASSES.get_or_try_init(py, || {
        PyResult::Ok(py.import("charter.errors")?.getattr("ERROR_CLASSES")?.unbind())
    })?;
    Ok(errors.bind(py).get_item(kind.name())?.cast_into::<PyType>()?)
}
