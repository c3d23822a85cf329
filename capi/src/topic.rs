//! `charter_topic_*` and `charter_pattern_*`: the topic rules without a bus.
//!
//! The same checks a bus makes, under the default limits (at most 256
//! bytes and 16 tokens), so a program can check a topic or a grant before
//! it is used, and match and compare patterns as an authority does.

use std::ffi::c_char;

use charter_core::bus::topic::{contains_checked, matches_checked, validate_pattern, validate_topic};

use crate::args::arg_str;
use crate::firewall::call;
use crate::out::out;
use crate::status::charter_status_t;

/// Checks `topic` as a topic to publish on: `CHARTER_OK`, or
/// `CHARTER_E_INVALID_ARGUMENT` with a message naming the broken rule
/// (empty, too long, too many tokens, an empty token, a wildcard,
/// whitespace or a control character).
///
/// # Safety
/// `topic` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn charter_topic_validate(topic: *const c_char) -> charter_status_t {
    call(|| {
        let topic = arg_str!(topic)?;
        validate_topic(topic)
    })
}

/// Checks `pattern` as a pattern to subscribe with or grant: topics plus
/// the wildcards `*` (one token) and `>` (one or more, last only).
/// `CHARTER_OK`, or `CHARTER_E_INVALID_ARGUMENT` with a message naming the
/// broken rule.
///
/// # Safety
/// `pattern` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn charter_pattern_validate(pattern: *const c_char) -> charter_status_t {
    call(|| {
        let pattern = arg_str!(pattern)?;
        validate_pattern(pattern)
    })
}

/// Writes to `out` whether `pattern` matches `topic`, as a bus delivers:
/// a pattern starting with a wildcard never matches a reserved topic
/// (`_charter...`). Both are checked first: `CHARTER_E_INVALID_ARGUMENT`
/// when `pattern` is not a valid pattern or `topic` not a valid topic.
///
/// # Safety
/// `pattern` and `topic` must be NULL or NUL-terminated strings; `out` NULL
/// or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_topic_matches(
    pattern: *const c_char,
    topic: *const c_char,
    out: *mut bool,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        let (pattern, topic) = (arg_str!(pattern)?, arg_str!(topic)?);
        out.put(matches_checked(pattern, topic)?)
    })
}

/// Writes to `out` whether the pattern `inner` is contained in the pattern
/// `outer`: every topic `inner` matches, `outer` matches too (the rule a
/// delegated grant must follow). Both are checked first:
/// `CHARTER_E_INVALID_ARGUMENT` when either is not a valid pattern.
///
/// # Safety
/// `inner` and `outer` must be NULL or NUL-terminated strings; `out` NULL
/// or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_pattern_contains(
    inner: *const c_char,
    outer: *const c_char,
    out: *mut bool,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        let (inner, outer) = (arg_str!(inner)?, arg_str!(outer)?);
        out.put(contains_checked(inner, outer)?)
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;
    use crate::status::{
        CHARTER_E_INVALID_ARGUMENT, CHARTER_E_INVALID_UTF8, CHARTER_E_NULL_ARGUMENT, CHARTER_OK,
    };

    fn last_message() -> String {
        let ptr = crate::last_error::charter_last_error_message();
        assert!(!ptr.is_null());
        // SAFETY: a string Charter just returned.
        let text = unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned();
        // SAFETY: returned by Charter, freed once.
        unsafe { crate::strings::charter_string_free(ptr) };
        text
    }

    #[test]
    fn validation_names_the_argument_and_the_rule() {
        // SAFETY: literals are NUL-terminated.
        unsafe {
            assert_eq!(charter_topic_validate(c"orders.eu.created".as_ptr()), CHARTER_OK);
            assert_eq!(charter_pattern_validate(c"orders.*.>".as_ptr()), CHARTER_OK);
            assert_eq!(charter_topic_validate(c"orders.*".as_ptr()), CHARTER_E_INVALID_ARGUMENT);
            assert!(last_message().contains("topic \"orders.*\""));
            assert_eq!(charter_pattern_validate(c"a..b".as_ptr()), CHARTER_E_INVALID_ARGUMENT);
            assert!(last_message().contains("pattern \"a..b\" has an empty token"));
            assert_eq!(charter_topic_validate(std::ptr::null()), CHARTER_E_NULL_ARGUMENT);
            assert_eq!(charter_pattern_validate(c"a\xff".as_ptr()), CHARTER_E_INVALID_UTF8);
        }
    }

    #[test]
    fn matching_and_containment_check_their_inputs_and_write_only_on_success() {
        let mut out = false;
        // SAFETY: literals are NUL-terminated; `out` is a live bool.
        unsafe {
            assert_eq!(
                charter_topic_matches(c"orders.>".as_ptr(), c"orders.eu".as_ptr(), &mut out),
                CHARTER_OK
            );
            assert!(out);
            assert_eq!(charter_topic_matches(c"*".as_ptr(), c"_charter".as_ptr(), &mut out), CHARTER_OK);
            assert!(!out);
            assert_eq!(
                charter_topic_matches(c"orders.>".as_ptr(), c"orders.*".as_ptr(), &mut out),
                CHARTER_E_INVALID_ARGUMENT
            );
            assert!(last_message().contains("topic \"orders.*\""));
            assert_eq!(charter_pattern_contains(c"a.*".as_ptr(), c"a.>".as_ptr(), &mut out), CHARTER_OK);
            assert!(out);
            assert_eq!(
                charter_pattern_contains(c"a.>".as_ptr(), c">.a".as_ptr(), &mut out),
                CHARTER_E_INVALID_ARGUMENT
            );
            assert!(last_message().contains("outer: pattern \">.a\""));
            assert!(out, "left untouched on failure");
            assert_eq!(
                charter_pattern_contains(c"a".as_ptr(), c"a".as_ptr(), std::ptr::null_mut()),
                CHARTER_E_NULL_ARGUMENT
            );
            assert_eq!(
                charter_topic_matches(std::ptr::null(), c"a".as_ptr(), &mut out),
                CHARTER_E_NULL_ARGUMENT
            );
        }
    }
}
