//! `charter_bus_*`: the topic bus for C, and the structs its clients use.
//!
//! Whoever holds the bus handle owns the bus: it closes and frees it, reads
//! its totals and evicts idle subscriptions. Publishing, subscribing,
//! receiving and requesting go through a client (`charter_client_*`),
//! made from the bus and, on a bus with an authority, a session.
//! Subscriptions are `uint64_t` ids scoped to their bus and reachable only
//! through a client of the caller that made them. Calls that wait (`recv`,
//! `request`, a publish to a `BLOCK` subscription) take a timeout in
//! milliseconds, 0 meaning "do not wait" and `CHARTER_WAIT_FOREVER` no
//! limit.

use std::ffi::c_void;
use std::time::Duration;

use charter_core::bus::{
    Bus, BusLimits, BusStats, Dispatch, Drops, Overflow, PublishReport, SubscribeOptions, SubscriptionStats,
};
use charter_core::{Error, ErrorKind};

use crate::args::arg_opt_struct;
use crate::audit::{charter_audit_recorder_t, recorder_arg};
use crate::capability::charter_authority_t;
use crate::firewall::call;
use crate::handle::{borrow, clone_handle, free_handle, opt_borrow};
use crate::message::charter_message_t;
use crate::out::{opt_out, out};
use crate::status::charter_status_t;

/// A topic bus. Opaque; create with `charter_bus_new`.
pub struct charter_bus {
    _opaque: [u8; 0],
}

/// The handle type of a bus.
pub type charter_bus_t = charter_bus;

crate::handle::handle_type!(charter_bus_t owns Bus, tag b"BUS1");

/// The most publishes of one bus that may be nested on one thread (a
/// callback that publishes, whose callback publishes, ...); past it the
/// publish fails with `CHARTER_E_LIMIT_EXCEEDED`. At most 64 publish and
/// notify calls of all buses and registries nest on one thread.
pub const CHARTER_BUS_MAX_NESTING: u32 = 16;

/// A timeout meaning "wait as long as it takes".
pub const CHARTER_WAIT_FOREVER: u32 = u32::MAX;

/// A timeout in milliseconds, where `CHARTER_WAIT_FOREVER` means none.
pub(crate) fn timeout_arg(ms: u32) -> Option<std::time::Duration> {
    (ms != CHARTER_WAIT_FOREVER).then(|| std::time::Duration::from_millis(u64::from(ms)))
}

/// Overflow policy: drop the oldest queued message to make room.
pub const CHARTER_OVERFLOW_DROP_OLDEST: i32 = 0;
/// Overflow policy: drop the new message.
pub const CHARTER_OVERFLOW_DROP_NEWEST: i32 = 1;
/// Overflow policy: the publisher waits up to `block_timeout_ms` for room,
/// then the message is dropped and the publish fails with
/// `CHARTER_E_TIMEOUT` (`CHARTER_E_WOULD_BLOCK` at once when the publisher
/// runs inside a callback of the same bus).
pub const CHARTER_OVERFLOW_BLOCK: i32 = 2;
/// Overflow policy: drop the new message and fail the publish with
/// `CHARTER_E_LIMIT_EXCEEDED`.
pub const CHARTER_OVERFLOW_ERROR: i32 = 3;

/// Callback dispatch: run on the publisher's thread, inside the publish.
pub const CHARTER_DISPATCH_INLINE: i32 = 0;
/// Callback dispatch: run on a thread of the subscription's own.
pub const CHARTER_DISPATCH_THREAD: i32 = 1;

mod mirrors;

pub use mirrors::*;

/// Fills `out` with the default bus limits.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_limits_default(out: *mut charter_bus_limits_t) -> charter_status_t {
    call(|| out!(out)?.put(charter_bus_limits_t::from(BusLimits::default())))
}

/// Fills `out` with the default subscription options: 1024 messages,
/// 16 MiB, drop the oldest on overflow, no TTL, inline dispatch.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_subscribe_options_default(
    out: *mut charter_subscribe_options_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        let defaults = SubscribeOptions::default();
        out.put(charter_subscribe_options_t {
            capacity: defaults.capacity,
            max_bytes: defaults.max_bytes,
            overflow: CHARTER_OVERFLOW_DROP_OLDEST,
            block_timeout_ms: 0,
            ttl_ms: 0,
            idle_ttl_ms: 0,
            dispatch: CHARTER_DISPATCH_INLINE,
        })
    })
}

/// The limits at `limits`, or the defaults when NULL.
///
/// # Safety
/// `limits` must be NULL or valid for reading.
unsafe fn limits_arg(limits: *const charter_bus_limits_t) -> Result<BusLimits, Error> {
    Ok(arg_opt_struct!(limits)?.map_or_else(BusLimits::default, |l| (*l).into()))
}

/// Creates a bus with `limits` (NULL for the defaults).
///
/// Free the bus written to `out` with `charter_bus_free`.
///
/// # Safety
/// `limits` must be NULL or valid for reading; `out` NULL or valid for
/// writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_new(
    limits: *const charter_bus_limits_t,
    out: *mut *mut charter_bus_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        // SAFETY: the caller's contract on `limits`.
        let limits = unsafe { limits_arg(limits)? };
        out.write_handle(Bus::new(limits)?)
    })
}

/// Creates a bus on which every call needs a client made with a session
/// opened by `auth` (`charter_client_new`), whose grants cover it. Clients
/// without a session are refused every call. Refusals fail with
/// `CHARTER_E_DENIED` and are counted in `denied`.
/// `limits` may be NULL for the defaults.
///
/// Free the bus written to `out` with `charter_bus_free`.
///
/// # Safety
/// `limits` must be NULL or valid for reading; `out` NULL or valid for
/// writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_new_with_authority(
    limits: *const charter_bus_limits_t,
    auth: *mut charter_authority_t,
    out: *mut *mut charter_bus_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        // SAFETY: the caller's contract on `limits`.
        let limits = unsafe { limits_arg(limits)? };
        let authority = borrow!(auth, |a| Ok(a.authority.clone()))?;
        out.write_handle(Bus::with_authority(limits, authority)?)
    })
}

/// Creates a bus that records its authorization decisions (publish,
/// subscribe and request; reply inboxes and replies are not decisions) in
/// `recorder->log`, those `recorder->scope` selects: actor = the session's
/// principal (none without a session), action, resource = the topic or
/// pattern, reason and detail = the refusal's status and message. With
/// `auth` (may be NULL) it enforces grants as
/// `charter_bus_new_with_authority` does. Recording fails closed: an
/// allowed operation whose record cannot be written fails with the log's
/// error. `limits` may be NULL for the defaults.
///
/// Free the bus written to `out` with `charter_bus_free`.
///
/// # Safety
/// `limits` and `recorder` must be NULL or valid for reading; `out` NULL or
/// valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_new_with_recorder(
    limits: *const charter_bus_limits_t,
    auth: *mut charter_authority_t,
    recorder: *const charter_audit_recorder_t,
    out: *mut *mut charter_bus_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        // SAFETY: the caller's contract on `limits`.
        let limits = unsafe { limits_arg(limits)? };
        // SAFETY: the caller's contract on `recorder`.
        let recorder = unsafe { recorder_arg(recorder)? };
        let authority = opt_borrow!(auth, |a| Ok(a.authority.clone()))?;
        out.write_handle(Bus::with_recorder(limits, authority, recorder)?)
    })
}

/// Closes and frees a bus. Every subscription ends: blocked receivers wake
/// with `CHARTER_E_CLOSED`, each callback's `drop_user_data` runs once.
/// NULL is a no-op; a second free returns `CHARTER_E_ALREADY_FREED`.
///
/// # Safety
/// `bus` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_free(bus: *mut charter_bus_t) -> charter_status_t {
    // Closing wakes receivers blocked on another thread (they hold their
    // own reference to the bus while they wait).
    call(|| free_handle!(bus, then | open | open.close()))
}

/// Closes a bus without freeing it: every subscription ends and later
/// calls fail with `CHARTER_E_CLOSED`. Closing twice is harmless.
///
/// # Safety
/// `bus` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_close(bus: *mut charter_bus_t) -> charter_status_t {
    call(|| {
        borrow!(bus, |b| {
            b.close();
            Ok(())
        })
    })
}

/// Writes the bus's accounting to `out`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_stats(
    bus: *mut charter_bus_t,
    out: *mut charter_bus_stats_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        let stats = borrow!(bus, |b| Ok(b.stats()))?;
        out.put(charter_bus_stats_t::from(stats))
    })
}

/// Ends every pull subscription idle past its `idle_ttl_ms`, and every
/// subscription whose session has ended (expired by the authority's clock,
/// revoked, root distrusted; their receivers wake with the session's
/// error); writes how many ended to `out_count` (may be NULL).
///
/// # Safety
/// `out_count` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_evict_idle(
    bus: *mut charter_bus_t,
    out_count: *mut usize,
) -> charter_status_t {
    call(|| {
        let out_count = opt_out!(out_count);
        let bus = clone_handle!(bus)?;
        out_count.put(bus.evict_idle())
    })
}
