//! The core's topic and pattern rules, wrapped by `lib/topic.js`: the same
//! checks and matching every bus applies, under the default limits.

use charter_core::bus::topic as rules;
use napi_derive::napi;

use crate::error::{boundary, from_core, Result};

/// Checks that `text` is a valid topic.
#[napi]
pub fn validate_topic(text: String) -> Result<()> {
    boundary(|| rules::validate_topic(&text).map_err(from_core))
}

/// Checks that `text` is a valid pattern.
#[napi]
pub fn validate_pattern(text: String) -> Result<()> {
    boundary(|| rules::validate_pattern(&text).map_err(from_core))
}

/// Whether the pattern `pattern` matches the topic `topic`; both are checked first.
#[napi]
pub fn topic_matches(pattern: String, topic: String) -> Result<bool> {
    boundary(|| rules::matches_checked(&pattern, &topic).map_err(from_core))
}

/// Whether every topic the pattern `inner` matches, the pattern `outer`
/// matches too; both are checked first, and the error names which.
#[napi]
pub fn pattern_contains(inner: String, outer: String) -> Result<bool> {
    boundary(|| rules::contains_checked(&inner, &outer).map_err(from_core))
}
