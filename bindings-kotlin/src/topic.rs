//! The bus's topic rules under the default limits, without a bus.

use charter_core::bus::topic;

use crate::error::Result;

/// Fails with `INVALID_ARGUMENT` naming the rule `topic` breaks.
#[uniffi::export]
pub fn validate_topic(topic: String) -> Result<()> {
    Ok(topic::validate_topic(&topic)?)
}

/// Fails with `INVALID_ARGUMENT` naming the rule `pattern` breaks.
#[uniffi::export]
pub fn validate_pattern(pattern: String) -> Result<()> {
    Ok(topic::validate_pattern(&pattern)?)
}

/// Whether `pattern` matches `topic`; `INVALID_ARGUMENT` when either is
/// not valid.
#[uniffi::export]
pub fn topic_matches(pattern: String, topic: String) -> Result<bool> {
    Ok(topic::matches_checked(&pattern, &topic)?)
}

/// Whether every topic `inner` matches is matched by `outer`;
/// `INVALID_ARGUMENT`, naming the argument, when either is not a valid
/// pattern.
#[uniffi::export]
pub fn pattern_contains(inner: String, outer: String) -> Result<bool> {
    Ok(topic::contains_checked(&inner, &outer)?)
}
