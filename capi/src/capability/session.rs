//! `charter_session_*`: open sessions.

use std::ffi::c_char;

use charter_core::capability::Action;
use charter_core::{Error, ErrorKind};

use super::{CHARTER_ACTION_PUBLISH, CHARTER_ACTION_REQUEST, CHARTER_ACTION_SUBSCRIBE};
use crate::args::arg_str;
use crate::firewall::call;
use crate::handle::{borrow, free_handle};
use crate::out::out;
use crate::status::charter_status_t;

/// An open session. Opaque.
pub struct charter_session {
    _opaque: [u8; 0],
}

/// The handle type of a session.
pub type charter_session_t = charter_session;

crate::handle::handle_type!(charter_session_t owns charter_core::capability::Session, tag b"SES1");

/// The core action for a `CHARTER_ACTION_*` value.
pub(crate) fn action_arg(action: i32) -> Result<Action, Error> {
    match action {
        CHARTER_ACTION_PUBLISH => Ok(Action::Publish),
        CHARTER_ACTION_SUBSCRIBE => Ok(Action::Subscribe),
        CHARTER_ACTION_REQUEST => Ok(Action::Request),
        other => Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("action must be a CHARTER_ACTION_* value, got {other}"),
        )),
    }
}

/// Whether the session may `action` (`CHARTER_ACTION_*`) on `topic` (for
/// subscribe, the pattern): `CHARTER_OK`, `CHARTER_E_DENIED` (the message
/// names the topic), `CHARTER_E_EXPIRED` or `CHARTER_E_REVOKED`. No
/// signature work: a clock read and a grant match.
///
/// # Safety
/// `topic` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn charter_session_check(
    session: *mut charter_session_t,
    action: i32,
    topic: *const c_char,
) -> charter_status_t {
    call(|| {
        let action = action_arg(action)?;
        let topic = arg_str!(topic)?;
        borrow!(session, |s| s.check(action, topic))
    })
}

/// Writes whether the session is still open (not expired, not revoked).
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_session_is_active(
    session: *mut charter_session_t,
    out: *mut bool,
) -> charter_status_t {
    call(|| out!(out)?.put(borrow!(session, |s| Ok(s.is_active()))?))
}

/// Writes the holder's principal id (text form) to `out`; free it with
/// `charter_string_free`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_session_principal(
    session: *mut charter_session_t,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| out!(out)?.put(borrow!(session, |s| Ok(s.principal().to_text()))?))
}

/// Writes the end of the session's token window, in seconds since the Unix
/// epoch. The session stays open until that time plus the authority's
/// allowed clock skew, unless revoked before.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_session_expires_at(
    session: *mut charter_session_t,
    out: *mut u64,
) -> charter_status_t {
    call(|| out!(out)?.put(borrow!(session, |s| Ok(s.expires_at()))?))
}

/// Frees a session. NULL is a no-op. Subscriptions it opened end with it
/// only when it expires or is revoked, not when the handle is freed.
///
/// # Safety
/// `session` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_session_free(session: *mut charter_session_t) -> charter_status_t {
    call(|| free_handle!(session))
}
