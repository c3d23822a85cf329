//! Hostile strings through topic and pattern validation, matching and
//! containment. Besides never panicking, the results must agree with each
//! other: a valid topic is a valid pattern that matches itself, and every
//! pattern contains itself.
#![no_main]

use charter_core::bus::topic::{contains, matches, validate_pattern, validate_topic};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (left, right) = text.split_once('\u{1}').unwrap_or((text, text));
    for s in [left, right] {
        if validate_topic(s).is_ok() {
            assert!(validate_pattern(s).is_ok(), "a topic is a pattern: {s:?}");
            assert!(matches(s, s), "a topic matches itself: {s:?}");
        }
    }
    if validate_pattern(left).is_ok() {
        assert!(contains(left, left), "a pattern contains itself: {left:?}");
        if validate_pattern(right).is_ok() {
            let _ = contains(left, right);
        }
        if validate_topic(right).is_ok() && contains(left, "x.y") {
            let _ = matches(left, right);
        }
    }
});
