//! `charter_bridge_verifier_*`: the bridge's import checks, on their own.
//!
//! A receiving bridge checks every sealed message in the order
//! docs/formats.md gives ("NATS bridge message authentication"). This
//! handle exposes that very verifier (the `charter-bridge` crate's), so a
//! program can judge a message it got from NATS some other way, and every
//! language can check the shared vectors (vectors/bridge/messages.json)
//! against the one implementation. It decides nothing of its own: a
//! refusal's status, message and reason are the crate's.

use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

use ::charter_bridge::verify::{Expect, Inbound};
use ::charter_bridge::{Reason, Refusal, Verifier, VerifyOptions};
use charter_core::capability::PrincipalId;
use charter_core::{Error, ErrorKind};

use crate::args::{arg_bytes, arg_opt_str, arg_str, arg_struct, at_most, charter_header_t, headers_arg};
use crate::audit::{charter_audit_recorder_t, recorder_arg};
use crate::bridge::CHARTER_BRIDGE_MAX_ENTRIES;
use crate::capability::charter_authority_t;
use crate::firewall::call;
use crate::handle::{borrow, clone_handle, free_handle};
use crate::out::out;
use crate::status::charter_status_t;

/// A verifier of sealed bridge messages. Opaque; create one with
/// `charter_bridge_verifier_new`.
pub struct charter_bridge_verifier {
    _opaque: [u8; 0],
}

/// The handle type of a bridge verifier.
pub type charter_bridge_verifier_t = charter_bridge_verifier;

/// What a verifier handle owns; cloned out of the handle guard, so a check
/// (which may write an audit record) never holds the guard.
#[derive(Clone)]
pub(crate) struct VerifierHandle(Arc<Verifier>);

crate::handle::handle_type!(charter_bridge_verifier_t owns VerifierHandle, tag b"BRV1");

/// Expect a publish: it needs a `publish` grant on its subject.
pub const CHARTER_BRIDGE_EXPECT_PUBLISH: i32 = 0;
/// Expect a request: it needs a `request` grant on its subject.
pub const CHARTER_BRIDGE_EXPECT_REQUEST: i32 = 1;
/// Expect the reply to a request this program sent (the other fields of
/// `charter_bridge_expect_t` say which).
pub const CHARTER_BRIDGE_EXPECT_REPLY: i32 = 2;

/// A check's outcome: the message was accepted.
pub const CHARTER_BRIDGE_ACCEPTED: i32 = 0;
/// Refused: the message carries no envelope.
pub const CHARTER_BRIDGE_REFUSED_UNSIGNED: i32 = 1;
/// Refused: an envelope header is not in its canonical spelling.
pub const CHARTER_BRIDGE_REFUSED_MALFORMED: i32 = 2;
/// Refused: the token's chain does not verify against the trusted roots.
pub const CHARTER_BRIDGE_REFUSED_CHAIN: i32 = 3;
/// Refused: the proof does not verify (forged or altered).
pub const CHARTER_BRIDGE_REFUSED_BAD_PROOF: i32 = 4;
/// Refused: no grant covers the subject for this kind of message.
pub const CHARTER_BRIDGE_REFUSED_NOT_GRANTED: i32 = 5;
/// Refused: the message's time is outside the skew window.
pub const CHARTER_BRIDGE_REFUSED_STALE: i32 = 6;
/// Refused: the sequence number was seen before.
pub const CHARTER_BRIDGE_REFUSED_REPLAYED: i32 = 7;
/// Refused: a link of the token is revoked.
pub const CHARTER_BRIDGE_REFUSED_REVOKED: i32 = 8;
/// Refused: a reply that does not answer its request.
pub const CHARTER_BRIDGE_REFUSED_MISDIRECTED: i32 = 9;
/// Refused: the audit record of an accepted message could not be written.
pub const CHARTER_BRIDGE_REFUSED_AUDIT_FAILED: i32 = 10;

/// A refusal reason's code: its place in check order, from 1.
fn reason_code(reason: Reason) -> i32 {
    Reason::ALL.iter().position(|r| *r == reason).map_or(0, |i| i as i32 + 1)
}

/// How a verifier judges messages. Fill it with
/// `charter_bridge_verifier_options_default`, then set `authority`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_bridge_verifier_options_t {
    /// The trusted roots and revocations (its clock judges tokens).
    /// Required; the verifier keeps it alive, and it stays yours to free.
    pub authority: *mut charter_authority_t,
    /// Where refusals (and, with `CHARTER_AUDIT_SCOPE_ALL`, acceptances)
    /// are recorded, or NULL for nowhere.
    pub recorder: *const charter_audit_recorder_t,
    /// How far a message's time may be from this verifier's clock, in ms.
    pub max_skew_ms: u32,
    /// 0 for the system clock; otherwise messages' times are judged
    /// against this fixed time, in ms since the Unix epoch (tests and the
    /// vectors).
    pub fixed_time_ms: u64,
}

/// What a message must be.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_bridge_expect_t {
    /// A `CHARTER_BRIDGE_EXPECT_*` value.
    pub kind: i32,
    /// For a reply: the subject of the request it answers; else NULL.
    pub subject: *const c_char,
    /// For a reply: the request's reply subject (its inbox); else NULL.
    pub inbox: *const c_char,
    /// For a reply: the request's `Charter-Nonce`; else NULL.
    pub nonce: *const c_char,
    /// For a reply: when the request was sealed, in ms since the epoch.
    pub sent_ms: u64,
}

/// Fills `out` with the defaults: no authority (set one), no recorder,
/// 30 s of skew, the system clock.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bridge_verifier_options_default(
    out: *mut charter_bridge_verifier_options_t,
) -> charter_status_t {
    call(|| {
        let c = charter_bridge_verifier_options_t {
            authority: std::ptr::null_mut(),
            recorder: std::ptr::null(),
            max_skew_ms: 30_000,
            fixed_time_ms: 0,
        };
        out!(out)?.put(c)
    })
}

/// Creates a verifier with `options` and writes it to `out`; free it with
/// `charter_bridge_verifier_free`. Its replay window starts now: it
/// refuses, as replayed, a first message from a sender sealed before this
/// moment (no skew is allowed here: a new verifier has no record of what
/// it accepted before, so it cannot tell an older message from a replay).
/// Fails with `CHARTER_E_NULL_ARGUMENT` without an authority.
///
/// # Safety
/// `options` must be NULL or valid for reading, with its pointers as
/// `charter_bridge_verifier_options_t` documents; `out` NULL or valid for
/// writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bridge_verifier_new(
    options: *const charter_bridge_verifier_options_t,
    out: *mut *mut charter_bridge_verifier_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        let options = arg_struct!(options)?;
        let authority = borrow!(options.authority, |a| Ok(a.authority.clone()))?;
        let mut verify = VerifyOptions::new(authority);
        verify.max_skew = Duration::from_millis(u64::from(options.max_skew_ms));
        if !options.recorder.is_null() {
            // SAFETY: the caller's contract.
            verify.recorder = Some(unsafe { recorder_arg(options.recorder)? });
        }
        if options.fixed_time_ms != 0 {
            let now = options.fixed_time_ms;
            verify.clock = Some(Arc::new(move || now));
        }
        out.write_handle(VerifierHandle(Arc::new(Verifier::new(verify))))
    })
}

/// The expectation `e` describes.
///
/// # Safety
/// `e` must be NULL or valid for reading, its strings as documented.
unsafe fn expect_arg<'a>(expect: *const charter_bridge_expect_t) -> Result<Expect<'a>, Error> {
    let expect = arg_struct!(expect)?;
    match expect.kind {
        CHARTER_BRIDGE_EXPECT_PUBLISH => Ok(Expect::Publish),
        CHARTER_BRIDGE_EXPECT_REQUEST => Ok(Expect::Request),
        CHARTER_BRIDGE_EXPECT_REPLY => Ok(Expect::Reply {
            subject: arg_str!(expect.subject)?,
            inbox: arg_str!(expect.inbox)?,
            nonce: arg_str!(expect.nonce)?,
            sent_ms: expect.sent_ms,
        }),
        other => Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("expect.kind must be a CHARTER_BRIDGE_EXPECT_* value, got {other}"),
        )),
    }
}

/// Checks one message as it arrived from NATS: its `subject`, its
/// `reply` subject (NULL for none), every header (the envelope's
/// included) and its payload, as `expect` says it must be.
///
/// Accepted: `CHARTER_OK`, `*out_reason` is `CHARTER_BRIDGE_ACCEPTED` and
/// `*out_principal` the proven sender's principal id (free it with
/// `charter_string_free`). Refused: the refusal's status (such as
/// `CHARTER_E_BAD_SIGNATURE`, `CHARTER_E_DENIED` or `CHARTER_E_EXPIRED`,
/// with its message in `charter_last_error_message`), `*out_reason` a
/// `CHARTER_BRIDGE_REFUSED_*` code and `*out_principal` NULL. The refusal
/// is counted and recorded as a bridge's would be. Any other failure
/// (a bad argument) leaves `*out_reason` at `CHARTER_BRIDGE_ACCEPTED` and
/// `*out_principal` NULL.
///
/// The verifier keeps a replay window: the same message checked twice is
/// refused the second time.
///
/// # Safety
/// `verifier` must be NULL or a pointer obtained from Charter; `subject`
/// and `reply` NULL or NUL-terminated; `headers` NULL (with
/// `header_count` 0) or `header_count` headers with valid strings;
/// `payload` NULL (with `payload_len` 0) or valid for reading
/// `payload_len` bytes; `expect` NULL or valid as
/// `charter_bridge_expect_t` documents; the outputs NULL or valid for
/// writing.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn charter_bridge_verifier_check(
    verifier: *mut charter_bridge_verifier_t,
    subject: *const c_char,
    reply: *const c_char,
    headers: *const charter_header_t,
    header_count: usize,
    payload: *const u8,
    payload_len: usize,
    expect: *const charter_bridge_expect_t,
    out_reason: *mut i32,
    out_principal: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        let out_reason = out!(out_reason)?;
        let out_principal = out!(out_principal)?;
        let judged = || -> Result<Result<PrincipalId, Refusal>, Error> {
            let handle = clone_handle!(verifier)?;
            let subject = arg_str!(subject)?;
            let reply = arg_opt_str!(reply)?;
            // SAFETY: the caller's contract on `headers`.
            let headers = unsafe {
                headers_arg(headers, header_count, |n| at_most(CHARTER_BRIDGE_MAX_ENTRIES, "headers", n))?
            };
            let payload = arg_bytes!(payload, payload_len)?;
            // SAFETY: the caller's contract on `expect`.
            let expect = unsafe { expect_arg(expect)? };
            let inbound = Inbound { subject, reply, headers: &headers, payload };
            Ok(handle.0.check(&inbound, expect))
        };
        // Both outputs are written whatever happens past their own checks,
        // as documented: a refusal's reason, or none.
        let (reason, principal, outcome) = match judged() {
            Ok(Ok(principal)) => (CHARTER_BRIDGE_ACCEPTED, Some(principal.to_text()), Ok(())),
            Ok(Err(refusal)) => (reason_code(refusal.reason), None, Err(refusal.error)),
            Err(error) => (CHARTER_BRIDGE_ACCEPTED, None, Err(error)),
        };
        out_reason.write(reason);
        match principal {
            Some(principal) => out_principal.write_string(principal),
            None => out_principal.write(std::ptr::null_mut()),
        }
        outcome
    })
}

/// The name of a `CHARTER_BRIDGE_ACCEPTED` or `CHARTER_BRIDGE_REFUSED_*`
/// code, as the bridge's counters and audit details spell it
/// (`"accepted"`, `"bad_proof"`, ...), or NULL for any other value.
///
/// The returned string is static: never free it.
#[no_mangle]
pub extern "C" fn charter_bridge_reason_name(reason: i32) -> *const c_char {
    // Static C strings, so nothing is allocated (the test below holds them
    // to `Reason::name`).
    let name = match reason {
        CHARTER_BRIDGE_ACCEPTED => c"accepted",
        CHARTER_BRIDGE_REFUSED_UNSIGNED => c"unsigned",
        CHARTER_BRIDGE_REFUSED_MALFORMED => c"malformed",
        CHARTER_BRIDGE_REFUSED_CHAIN => c"chain",
        CHARTER_BRIDGE_REFUSED_BAD_PROOF => c"bad_proof",
        CHARTER_BRIDGE_REFUSED_NOT_GRANTED => c"not_granted",
        CHARTER_BRIDGE_REFUSED_STALE => c"stale",
        CHARTER_BRIDGE_REFUSED_REPLAYED => c"replayed",
        CHARTER_BRIDGE_REFUSED_REVOKED => c"revoked",
        CHARTER_BRIDGE_REFUSED_MISDIRECTED => c"misdirected",
        CHARTER_BRIDGE_REFUSED_AUDIT_FAILED => c"audit_failed",
        _ => return std::ptr::null(),
    };
    name.as_ptr()
}

/// Frees a verifier. NULL is a no-op; a second free returns
/// `CHARTER_E_ALREADY_FREED`.
///
/// # Safety
/// `verifier` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_bridge_verifier_free(
    verifier: *mut charter_bridge_verifier_t,
) -> charter_status_t {
    call(|| free_handle!(verifier))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_follow_check_order() {
        let codes = [
            CHARTER_BRIDGE_REFUSED_UNSIGNED,
            CHARTER_BRIDGE_REFUSED_MALFORMED,
            CHARTER_BRIDGE_REFUSED_CHAIN,
            CHARTER_BRIDGE_REFUSED_BAD_PROOF,
            CHARTER_BRIDGE_REFUSED_NOT_GRANTED,
            CHARTER_BRIDGE_REFUSED_STALE,
            CHARTER_BRIDGE_REFUSED_REPLAYED,
            CHARTER_BRIDGE_REFUSED_REVOKED,
            CHARTER_BRIDGE_REFUSED_MISDIRECTED,
            CHARTER_BRIDGE_REFUSED_AUDIT_FAILED,
        ];
        for (reason, code) in Reason::ALL.iter().zip(codes) {
            assert_eq!(reason_code(*reason), code);
            // SAFETY: a static NUL-terminated string.
            let name = unsafe { std::ffi::CStr::from_ptr(charter_bridge_reason_name(code)) };
            assert_eq!(name.to_str().unwrap(), reason.name());
        }
        assert!(charter_bridge_reason_name(11).is_null());
        assert!(charter_bridge_reason_name(-1).is_null());
    }
}
