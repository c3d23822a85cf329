//! `charter_authority_*`: trusted roots, the clock, limits, revocation;
//! verification and sessions.

use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

use charter_core::audit::Recorder;
use charter_core::capability::{Authority, AuthorityOptions, LinkId, ManualClock, PublicKey};
use charter_core::{Error, ErrorKind};

use super::{charter_session_t, charter_token_t, CHARTER_CHALLENGE_LEN, CHARTER_PROOF_LEN};
use crate::args::{arg_array, arg_opt_struct, arg_str, arg_str_array};
use crate::audit::{charter_audit_recorder_t, recorder_arg};
use crate::firewall::call;
use crate::handle::{borrow, clone_handle, free_handle};
use crate::out::{opt_out, out};
use crate::status::charter_status_t;

/// The most root keys `charter_authority_new` takes at once.
pub const CHARTER_MAX_ROOTS: usize = 1024;

/// An authority. Opaque.
pub struct charter_authority {
    _opaque: [u8; 0],
}

/// The handle type of an authority.
pub type charter_authority_t = charter_authority;

crate::handle::handle_type!(charter_authority_t owns AuthorityHandle, tag b"AUT1");

/// How an authority judges time. Fill with
/// `charter_authority_options_default`, then adjust.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_authority_options_t {
    /// The longest window any link may have, in seconds.
    pub max_lifetime_s: u64,
    /// How far clocks may disagree, in seconds.
    pub clock_skew_s: u64,
    /// 0 for the system clock; otherwise the authority runs on a clock of its
    /// own that starts at this time and moves only with
    /// `charter_authority_set_time` (for tests).
    pub fixed_time: u64,
}

/// What the handle owns: the authority, and its clock when the program
/// controls it.
pub(crate) struct AuthorityHandle {
    pub(crate) authority: Authority,
    manual: Option<Arc<ManualClock>>,
}

/// Fills `out` with the defaults: 90-day maximum lifetime, 60 s of skew,
/// the system clock.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_authority_options_default(
    out: *mut charter_authority_options_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        let defaults = AuthorityOptions::default();
        out.put(charter_authority_options_t {
            max_lifetime_s: defaults.max_lifetime.as_secs(),
            clock_skew_s: defaults.clock_skew.as_secs(),
            fixed_time: 0,
        })
    })
}

/// Creates an authority trusting the `root_count` root keys (text forms) at
/// `root_keys`. `options` may be NULL for the defaults. Free the authority
/// written to `out` with `charter_authority_free`.
///
/// # Safety
/// `root_keys` must point to `root_count` NUL-terminated strings; `options`
/// NULL or valid for reading; `out` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_authority_new(
    root_keys: *const *const c_char,
    root_count: usize,
    options: *const charter_authority_options_t,
    out: *mut *mut charter_authority_t,
) -> charter_status_t {
    // SAFETY: forwarded as received.
    call(|| unsafe { new_authority(root_keys, root_count, options, None, out) })
}

/// `charter_authority_new`, recording each session opening, allowed or
/// refused as `recorder->scope` selects, in `recorder->log`: actor = the
/// token's subject as claimed, action `open_session`, resource = the
/// token's root key. An allowed opening whose record cannot be written
/// fails with the log's error. Free the authority written to `out` with
/// `charter_authority_free`.
///
/// # Safety
/// As `charter_authority_new`; `recorder` NULL or valid for reading.
#[no_mangle]
pub unsafe extern "C" fn charter_authority_new_with_recorder(
    root_keys: *const *const c_char,
    root_count: usize,
    options: *const charter_authority_options_t,
    recorder: *const charter_audit_recorder_t,
    out: *mut *mut charter_authority_t,
) -> charter_status_t {
    call(|| {
        // SAFETY: the caller's contract on `recorder`.
        let recorder = unsafe { recorder_arg(recorder)? };
        // SAFETY: forwarded as received.
        unsafe { new_authority(root_keys, root_count, options, Some(recorder), out) }
    })
}

/// The body of `charter_authority_new` and
/// `charter_authority_new_with_recorder`.
///
/// # Safety
/// As `charter_authority_new`.
unsafe fn new_authority(
    root_keys: *const *const c_char,
    root_count: usize,
    options: *const charter_authority_options_t,
    recorder: Option<Recorder>,
    out: *mut *mut charter_authority_t,
) -> Result<(), Error> {
    let out = out!(out)?;
    let roots = arg_str_array!(root_keys, root_count, CHARTER_MAX_ROOTS)?;
    let roots = roots.into_iter().map(PublicKey::from_text).collect::<Result<Vec<_>, _>>()?;
    let mut core_options = AuthorityOptions { recorder, ..AuthorityOptions::default() };
    let mut manual = None;
    if let Some(o) = arg_opt_struct!(options)? {
        core_options.max_lifetime = Duration::from_secs(o.max_lifetime_s);
        core_options.clock_skew = Duration::from_secs(o.clock_skew_s);
        if o.fixed_time != 0 {
            let clock = Arc::new(ManualClock::new(o.fixed_time));
            core_options.clock = clock.clone();
            manual = Some(clock);
        }
    }
    let authority = Authority::new(roots, core_options);
    out.write_handle(AuthorityHandle { authority, manual })
}

/// Sets the time of an authority made with `fixed_time`, then ends every
/// session that has expired by the new time, with its subscriptions
/// (receivers waiting on them wake with `CHARTER_E_EXPIRED`);
/// `CHARTER_E_INVALID_ARGUMENT` for one on the system clock.
///
/// # Safety
/// `auth` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_authority_set_time(
    auth: *mut charter_authority_t,
    now: u64,
) -> charter_status_t {
    call(|| {
        let authority = borrow!(auth, |a| match &a.manual {
            Some(clock) => {
                clock.set(now);
                Ok(a.authority.clone())
            }
            None => Err(Error::new(ErrorKind::InvalidArgument, "this authority runs on the system clock")),
        })?;
        // Outside the handle's guard: ending subscriptions may wait for a
        // callback thread that uses this authority.
        authority.sweep();
        Ok(())
    })
}

/// Trusts one more root key (text form).
///
/// # Safety
/// `root_key` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn charter_authority_trust(
    auth: *mut charter_authority_t,
    root_key: *const c_char,
) -> charter_status_t {
    call(|| {
        let key = PublicKey::from_text(arg_str!(root_key)?)?;
        borrow!(auth, |a| {
            a.authority.trust(key);
            Ok(())
        })
    })
}

/// Stops trusting a root key; writes whether it was trusted to
/// `out_removed` (may be NULL).
///
/// # Safety
/// `root_key` must be a NUL-terminated string; `out_removed` NULL or valid
/// for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_authority_distrust(
    auth: *mut charter_authority_t,
    root_key: *const c_char,
    out_removed: *mut bool,
) -> charter_status_t {
    call(|| {
        let out_removed = opt_out!(out_removed);
        let key = PublicKey::from_text(arg_str!(root_key)?)?;
        out_removed.put(borrow!(auth, |a| Ok(a.authority.clone()))?.distrust(&key))
    })
}

/// Verifies `token`: `CHARTER_OK`, or the precise reason it fails
/// (`REVOKED`, `UNTRUSTED_ROOT`, `MALFORMED`, `BAD_SIGNATURE`, `DENIED`,
/// `NOT_YET_VALID`, `EXPIRED`). On success writes the holder's principal
/// id (text form) to `out_principal`, which may be NULL; free that string
/// with `charter_string_free`.
///
/// # Safety
/// `out_principal` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_authority_verify(
    auth: *mut charter_authority_t,
    token: *mut charter_token_t,
    out_principal: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        let token = clone_handle!(token)?;
        let authority = borrow!(auth, |a| Ok(a.authority.clone()))?;
        let verified = authority.verify(&token)?;
        opt_out!(out_principal).put(verified.principal.to_text())
    })
}

/// Writes a fresh, single-use challenge (`CHARTER_CHALLENGE_LEN` bytes) to
/// `out_challenge`, for the holder to sign with `charter_token_prove`.
///
/// # Safety
/// `out_challenge` must be valid for writing 32 bytes.
#[no_mangle]
pub unsafe extern "C" fn charter_authority_challenge(
    auth: *mut charter_authority_t,
    out_challenge: *mut u8,
) -> charter_status_t {
    call(|| {
        let out_challenge = out!(out_challenge as [u8; CHARTER_CHALLENGE_LEN])?;
        out_challenge.put(borrow!(auth, |a| a.authority.challenge())?)
    })
}

/// Opens a session for `token`'s holder, who signed `challenge` into
/// `proof` (`CHARTER_PROOF_LEN` bytes). Fails as `charter_authority_verify`
/// does, with `CHARTER_E_DENIED` for an unknown, used or expired challenge,
/// and `CHARTER_E_BAD_SIGNATURE` for a proof the subject's key did not make.
/// Free the session written to `out` with `charter_session_free`.
///
/// # Safety
/// `challenge` must be valid for 32 bytes, `proof` for 64; `out` NULL or
/// valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_authority_open_session(
    auth: *mut charter_authority_t,
    token: *mut charter_token_t,
    challenge: *const u8,
    proof: *const u8,
    out: *mut *mut charter_session_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        let (challenge, proof): ([u8; 32], [u8; CHARTER_PROOF_LEN]) =
            (arg_array!(challenge)?, arg_array!(proof)?);
        let token = clone_handle!(token)?;
        let authority = borrow!(auth, |a| Ok(a.authority.clone()))?;
        out.write_handle(authority.open_session(&token, &challenge, &proof)?)
    })
}

/// Revokes the link `link_id` (64 hex digits): every token containing it
/// fails to verify and every session opened with one ends. Writes whether
/// it was newly revoked to `out_new` (may be NULL).
///
/// # Safety
/// `link_id` must be a NUL-terminated string; `out_new` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn charter_authority_revoke(
    auth: *mut charter_authority_t,
    link_id: *const c_char,
    out_new: *mut bool,
) -> charter_status_t {
    call(|| {
        let out_new = opt_out!(out_new);
        let id = LinkId::from_hex(arg_str!(link_id)?)?;
        out_new.put(borrow!(auth, |a| Ok(a.authority.clone()))?.revoke(id)?)
    })
}

/// Lifts the revocation of `link_id`; writes whether it was revoked to
/// `out_removed` (may be NULL). Sessions already ended stay ended.
///
/// # Safety
/// As `charter_authority_revoke`.
#[no_mangle]
pub unsafe extern "C" fn charter_authority_unrevoke(
    auth: *mut charter_authority_t,
    link_id: *const c_char,
    out_removed: *mut bool,
) -> charter_status_t {
    call(|| {
        let out_removed = opt_out!(out_removed);
        let id = LinkId::from_hex(arg_str!(link_id)?)?;
        out_removed.put(borrow!(auth, |a| Ok(a.authority.unrevoke(&id)))?)
    })
}

/// Writes the revocation set (one hex link id per line, sorted) to `out`;
/// free it with `charter_string_free`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_authority_export_revocations(
    auth: *mut charter_authority_t,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| out!(out)?.put(borrow!(auth, |a| Ok(a.authority.export_revocations()))?))
}

/// Adds every link id in `text` (as exported; blank lines and `#` comments
/// ignored), all or nothing; writes how many were new to `out_count` (may
/// be NULL).
///
/// # Safety
/// `text` must be a NUL-terminated string; `out_count` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn charter_authority_import_revocations(
    auth: *mut charter_authority_t,
    text: *const c_char,
    out_count: *mut usize,
) -> charter_status_t {
    call(|| {
        let out_count = opt_out!(out_count);
        let text = arg_str!(text)?;
        out_count.put(borrow!(auth, |a| Ok(a.authority.clone()))?.import_revocations(text)?)
    })
}

/// Frees an authority. Sessions it opened keep working until they end.
/// NULL is a no-op.
///
/// # Safety
/// `auth` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_authority_free(auth: *mut charter_authority_t) -> charter_status_t {
    call(|| free_handle!(auth))
}
