//! `str` arguments as UTF-8. A Python `str` may hold a lone surrogate
//! (`"x.\ud800"`), which has no UTF-8 form: pyo3's own conversion raises
//! `UnicodeEncodeError` (or, inside a container, a misleading `TypeError`),
//! which is not a `charter.Error`. These extractors raise
//! `InvalidUtf8Error` instead, as every other binding does.

use charter_core::ErrorKind;
use pyo3::exceptions::PyUnicodeEncodeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;

use crate::errors::new_err;

/// A `str` argument (for `#[pyo3(from_py_with = ...)]`).
pub(crate) fn utf8(value: &Bound<'_, PyAny>) -> PyResult<PyBackedStr> {
    value.extract::<PyBackedStr>().map_err(|e| invalid_utf8(value.py(), e))
}

/// An optional `str` argument: `None` is absent.
pub(crate) fn optional_utf8(value: &Bound<'_, PyAny>) -> PyResult<Option<PyBackedStr>> {
    if value.is_none() {
        return Ok(None);
    }
    utf8(value).map(Some)
}

/// `err` as `InvalidUtf8Error` when it is the `UnicodeEncodeError` of a
/// lone surrogate; any other error as it is.
pub(crate) fn invalid_utf8(py: Python<'_>, err: PyErr) -> PyErr {
    if !err.is_instance_of::<PyUnicodeEncodeError>(py) {
        return err;
    }
    let at = err.value(py).getattr("start").and_then(|start| start.extract::<usize>());
    let message = match at {
        Ok(at) => format!("a str with a lone surrogate at index {at} has no UTF-8 form"),
        Err(_) => "a str with a lone surrogate has no UTF-8 form".to_owned(),
    };
    new_err(py, ErrorKind::InvalidUtf8, message)
}
