//! Times given by Python callers. A point in time is an aware `datetime`, or a number
//! of seconds since the Unix epoch. A number after the year 9999 is
//! refused: it is milliseconds (`time.time_ns() // 10**6` and the like),
//! which would make a time some 55,000 years away.

use charter_core::ErrorKind;
use pyo3::prelude::*;
use pyo3::types::{PyDateTime, PyDelta, PyTzInfoAccess};

use crate::errors::new_err;

/// 9999-12-31T23:59:59Z, the last second `datetime` can represent.
const LAST_SECOND: u64 = 253_402_300_799;

/// Whole Unix seconds from an aware `datetime` (rounded down) or an `int`
/// (for `#[pyo3(from_py_with = ...)]`).
pub(crate) fn unix_seconds(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    let py = value.py();
    if let Ok(when) = value.cast::<PyDateTime>() {
        if when.get_tzinfo().is_none() {
            return Err(new_err(
                py,
                ErrorKind::InvalidArgument,
                "a naive datetime is ambiguous: give it a tzinfo (datetime.timezone.utc)",
            ));
        }
        let seconds: f64 = when.call_method0("timestamp")?.extract()?;
        if seconds < 0.0 {
            return Err(new_err(py, ErrorKind::InvalidArgument, "a time before 1970 has no Unix seconds"));
        }
        return Ok(seconds.floor() as u64);
    }
    let seconds: u64 = value.extract()?;
    if seconds > LAST_SECOND {
        return Err(new_err(
            py,
            ErrorKind::InvalidArgument,
            format!(
                "{seconds} seconds since the Unix epoch is after the year 9999: milliseconds? \
                 Give seconds or an aware datetime"
            ),
        ));
    }
    Ok(seconds)
}

/// A duration in seconds: an `int`, a `float` or a `timedelta` (for
/// `#[pyo3(from_py_with = ...)]`). The range is checked where it is used.
pub(crate) fn seconds(value: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(delta) = value.cast::<PyDelta>() {
        return delta.call_method0("total_seconds")?.extract();
    }
    value.extract()
}

/// An optional duration: `None` is absent.
pub(crate) fn optional_seconds(value: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
    if value.is_none() {
        return Ok(None);
    }
    seconds(value).map(Some)
}
