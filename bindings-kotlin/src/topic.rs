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

/// Whether `pattern` matches `topic`.
#[uniffi::export]
pub fn topic_matches(pattern: String, topic: String) -> bool {
    topic::matches(&pattern, &topic)
}

/// Whether every topic `inner` matches is matched by `outer`.
#[uniffi::export]
pub fn pattern_contains(inner: String, outer: String) -> bool {
    topic::contains(&inner, &outer)
}
