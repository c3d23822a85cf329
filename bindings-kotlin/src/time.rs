//! Durations cross as signed nanoseconds (Kotlin's `Duration` saturates to
//! `Long.MAX_VALUE` nanoseconds when infinite, which reads as no limit).

use std::time::Duration;

use charter_core::ErrorKind;

use crate::error::{FfiError, Result};

/// `nanos` as a duration; `what` names the argument in the refusal of a
/// negative one (Kotlin's `Duration` can be negative, a wait cannot).
pub(crate) fn duration(nanos: i64, what: &str) -> Result<Duration> {
    u64::try_from(nanos).map(Duration::from_nanos).map_err(|_| {
        FfiError::new(ErrorKind::InvalidArgument, format!("{what} must not be negative; got {nanos} ns"))
    })
}

/// As [`duration`]; `None` (and `i64::MAX`, an infinite Kotlin `Duration`)
/// means no limit.
pub(crate) fn limit(nanos: Option<i64>, what: &str) -> Result<Option<Duration>> {
    match nanos {
        None | Some(i64::MAX) => Ok(None),
        Some(n) => duration(n, what).map(Some),
    }
}

/// A duration back as nanoseconds, saturating.
pub(crate) fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}
