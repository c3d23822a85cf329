//! Times given by Python callers. A point in time is an aware `datetime`,
//! or a number: seconds since the Unix epoch for tokens and clocks (a
//! number after the year 9999 is refused: it is milliseconds,
//! `time.time_ns() // 10**6` and the like, which would make a time some
//! 55,000 years away), milliseconds for the audit log, whose records keep
//! them. A duration is a `timedelta` or a number of seconds. A naive
//! `datetime` is refused: its zone is a guess.

use charter_core::ErrorKind;
use pyo3::prelude::*;
use pyo3::types::{PyDateTime, PyDelta, PyTzInfoAccess};

use crate::errors::new_err;

/// The seconds a request waits when its caller names no `timeout`: the
/// core's default, never restated here.
pub(crate) const DEFAULT_REQUEST_TIMEOUT: f64 = charter_core::bus::DEFAULT_REQUEST_TIMEOUT.as_secs_f64();

/// 9999-12-31T23:59:59Z, the last second `datetime` can represent.
const LAST_SECOND: u64 = 253_402_300_799;

/// Whole Unix seconds from an aware `datetime` (rounded down) or an `int`;
/// errors name the argument, `what`.
pub(crate) fn unix_seconds(value: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    let py = value.py();
    if let Some(seconds) = datetime_seconds(value, what)? {
        return Ok(seconds.floor() as u64);
    }
    let seconds: u64 = value.extract()?;
    if seconds > LAST_SECOND {
        return Err(new_err(
            py,
            ErrorKind::InvalidArgument,
            format!(
                "{what}: {seconds} seconds since the Unix epoch is after the year 9999: milliseconds? \
                 Give seconds or an aware datetime"
            ),
        ));
    }
    Ok(seconds)
}

/// Unix milliseconds (the audit log's unit) from an aware `datetime`
/// (rounded down) or an `int`; errors name the argument, `what`.
pub(crate) fn unix_millis(value: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    match datetime_seconds(value, what)? {
        Some(seconds) => Ok((seconds * 1000.0).floor() as u64),
        None => value.extract(),
    }
}

/// The Unix seconds of `value` if it is a `datetime`: refused when naive
/// (which zone?) or before 1970.
fn datetime_seconds(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Option<f64>> {
    let py = value.py();
    let Ok(when) = value.cast::<PyDateTime>() else {
        return Ok(None);
    };
    if when.get_tzinfo().is_none() {
        return Err(new_err(
            py,
            ErrorKind::InvalidArgument,
            format!("{what}: a naive datetime is ambiguous: give it a tzinfo (datetime.timezone.utc)"),
        ));
    }
    let seconds: f64 = when.call_method0("timestamp")?.extract()?;
    if seconds < 0.0 {
        return Err(new_err(
            py,
            ErrorKind::InvalidArgument,
            format!("{what}: a time before 1970 has no Unix seconds"),
        ));
    }
    Ok(Some(seconds))
}

/// Whole seconds of a duration: an `int` or a `timedelta` (rounded down);
/// a negative `timedelta` is refused, naming the argument `what`.
pub(crate) fn whole_seconds(value: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    if value.cast::<PyDelta>().is_ok() {
        let seconds = self::seconds(value)?;
        if seconds < 0.0 {
            return Err(new_err(
                value.py(),
                ErrorKind::InvalidArgument,
                format!("{what} must be at least 0 seconds; got {seconds}"),
            ));
        }
        return Ok(seconds.floor() as u64);
    }
    value.extract()
}

// The arguments, named for their errors (for `#[pyo3(from_py_with = ...)]`).

pub(crate) fn not_before(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    unix_seconds(value, "not_before")
}

pub(crate) fn not_after(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    unix_seconds(value, "not_after")
}

pub(crate) fn now(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    unix_seconds(value, "now")
}

pub(crate) fn timestamp(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    unix_seconds(value, "timestamp")
}

pub(crate) fn optional_timestamp(value: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
    if value.is_none() {
        return Ok(None);
    }
    timestamp(value).map(Some)
}

pub(crate) fn advance(value: &Bound<'_, PyAny>) -> PyResult<u64> {
    whole_seconds(value, "seconds")
}

/// `None` leaves the authority's option unset: the core's default.
pub(crate) fn max_lifetime(value: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
    if value.is_none() {
        return Ok(None);
    }
    whole_seconds(value, "max_lifetime").map(Some)
}

/// As `max_lifetime`.
pub(crate) fn clock_skew(value: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
    if value.is_none() {
        return Ok(None);
    }
    whole_seconds(value, "clock_skew").map(Some)
}

/// An optional point in time, in Unix milliseconds (for `time=`, `since=`
/// and `until=` of the audit log); `None` is absent.
fn optional_millis(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Option<u64>> {
    if value.is_none() {
        return Ok(None);
    }
    unix_millis(value, what).map(Some)
}

pub(crate) fn time(value: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
    optional_millis(value, "time")
}

pub(crate) fn since(value: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
    optional_millis(value, "since")
}

pub(crate) fn until(value: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
    optional_millis(value, "until")
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
