//! The core's topic and pattern rules without a bus: `validate_topic`,
//! `validate_pattern`, `topic_matches` and `pattern_contains`, under the
//! default limits (256 bytes, 16 tokens) every bus starts from.

use charter_core::bus::topic as rules;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;

use crate::errors::to_pyerr;

/// Checks that `topic` is a topic to publish on; `InvalidArgumentError`
/// names the broken rule otherwise.
#[pyfunction]
fn validate_topic(
    py: Python<'_>,
    #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
) -> PyResult<()> {
    let topic: &str = &topic;
    rules::validate_topic(topic).map_err(|e| to_pyerr(py, &e))
}

/// Checks that `pattern` is a pattern to subscribe with or grant (`*` one
/// token, `>` one or more, last only); `InvalidArgumentError` otherwise.
#[pyfunction]
fn validate_pattern(
    py: Python<'_>,
    #[pyo3(from_py_with = crate::text::utf8)] pattern: PyBackedStr,
) -> PyResult<()> {
    let pattern: &str = &pattern;
    rules::validate_pattern(pattern).map_err(|e| to_pyerr(py, &e))
}

/// Whether `pattern` matches `topic`, as a bus delivers: a pattern starting
/// with a wildcard never matches a reserved topic. Both are checked first.
#[pyfunction]
fn topic_matches(
    py: Python<'_>,
    #[pyo3(from_py_with = crate::text::utf8)] pattern: PyBackedStr,
    #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
) -> PyResult<bool> {
    let pattern: &str = &pattern;
    let topic: &str = &topic;
    rules::matches_checked(pattern, topic).map_err(|e| to_pyerr(py, &e))
}

/// Whether every topic the pattern `inner` matches, the pattern `outer`
/// matches too: the rule a delegated grant follows. Both are checked
/// first; the error names the argument, as both are patterns.
#[pyfunction]
fn pattern_contains(
    py: Python<'_>,
    #[pyo3(from_py_with = crate::text::utf8)] inner: PyBackedStr,
    #[pyo3(from_py_with = crate::text::utf8)] outer: PyBackedStr,
) -> PyResult<bool> {
    let inner: &str = &inner;
    let outer: &str = &outer;
    rules::contains_checked(inner, outer).map_err(|e| to_pyerr(py, &e))
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(validate_topic, m)?)?;
    m.add_function(wrap_pyfunction!(validate_pattern, m)?)?;
    m.add_function(wrap_pyfunction!(topic_matches, m)?)?;
    m.add_function(wrap_pyfunction!(pattern_contains, m)?)
}
