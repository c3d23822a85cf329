//! `charter_bus_*`: the topic bus for C.
//!
//! Subscriptions are `uint64_t` ids scoped to their bus. Calls that wait
//! (`recv`, `request`, a publish to a `BLOCK` subscription) take a timeout
//! in milliseconds, 0 meaning "do not wait" and `CHARTER_WAIT_FOREVER` no
//! limit, and never hold the bus handle's guard while they wait.

use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use charter_core::bus::{
    Bus, BusLimits, BusStats, Client, Dispatch, Drops, Headers, Message, Overflow, PublishReport,
    SubscribeOptions, Subscription, SubscriptionId, SubscriptionStats,
};
use charter_core::capability::Session;
use charter_core::{Error, ErrorKind, HandlerError, HandlerResult};

use crate::args::{bytes_arg, charter_header_t, headers_arg, str_arg, timeout_arg};
use crate::audit::{charter_audit_recorder_t, recorder_arg};
use crate::capability::{charter_authority_t, charter_session_t, AuthorityHandle};
use crate::firewall::{call, null_argument, require_out, write_out};
use crate::handle;
use crate::message::{charter_message_t, OwnedMessage};
use crate::status::{charter_status_t, CHARTER_OK};

/// A topic bus. Opaque; create with `charter_bus_new`.
pub struct charter_bus {
    _opaque: [u8; 0],
}

/// The handle type of a bus.
pub type charter_bus_t = charter_bus;

/// A timeout meaning "wait as long as it takes".
pub const CHARTER_WAIT_FOREVER: u32 = u32::MAX;

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

/// A bus's limits. Fill with `charter_bus_limits_default`, then adjust.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_bus_limits_t {
    /// Live subscriptions at once.
    pub max_subscriptions: usize,
    /// The largest capacity, in messages, a subscription may ask for.
    pub max_queue_messages: usize,
    /// The largest capacity, in bytes, a subscription may ask for.
    pub max_queue_bytes: usize,
    /// The largest payload, in bytes.
    pub max_payload: usize,
    /// The longest topic or pattern, in bytes (at most 256).
    pub max_topic_len: usize,
    /// The most tokens in a topic or pattern (at most 16).
    pub max_topic_tokens: usize,
    /// The most headers on one message.
    pub max_headers: usize,
    /// The most bytes of header names and values on one message.
    pub max_header_bytes: usize,
}

/// How a subscription queues and delivers. Fill with
/// `charter_subscribe_options_default`, then adjust.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_subscribe_options_t {
    /// Queue capacity in messages.
    pub capacity: usize,
    /// Queue capacity in bytes (topic, payload and headers).
    pub max_bytes: usize,
    /// A `CHARTER_OVERFLOW_*` policy.
    pub overflow: i32,
    /// How long a `CHARTER_OVERFLOW_BLOCK` publisher waits for room;
    /// `CHARTER_WAIT_FOREVER` for no limit.
    pub block_timeout_ms: u32,
    /// Messages older than this when received are dropped; 0 for none.
    pub ttl_ms: u32,
    /// A pull subscription not received from for this long is ended; 0 for
    /// never.
    pub idle_ttl_ms: u32,
    /// Where a callback runs: a `CHARTER_DISPATCH_*` value.
    pub dispatch: i32,
}

/// The outcome of one publish: `matched == delivered + dropped`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct charter_publish_report_t {
    /// Subscriptions whose pattern matched the topic.
    pub matched: u64,
    /// Of those, how many accepted the message.
    pub delivered: u64,
    /// Of those, how many dropped it.
    pub dropped: u64,
}

/// Messages dropped, by reason.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct charter_drops_t {
    /// Dropped by `DROP_OLDEST` or `DROP_NEWEST` on a full queue.
    pub overflow: u64,
    /// Past their time-to-live when received.
    pub expired: u64,
    /// A `BLOCK` publisher ran out of time (or would have deadlocked).
    pub timeout: u64,
    /// Refused by an `ERROR` queue, or too large for the queue at all.
    pub rejected: u64,
    /// Still queued, or arriving, when the subscription ended.
    pub closed: u64,
}

/// One subscription's accounting: `received == delivered + dropped + queued`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct charter_subscription_stats_t {
    /// Messages offered by publishes that matched.
    pub received: u64,
    /// Messages handed to the consumer or its callback.
    pub delivered: u64,
    /// Messages waiting in the queue.
    pub queued: u64,
    /// Messages dropped, by reason.
    pub dropped: charter_drops_t,
    /// Callback calls that returned an error (each also counts as delivered).
    pub handler_failures: u64,
    /// Times the queue became full after having room.
    pub slow_episodes: u64,
}

/// A bus's accounting over its whole life.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct charter_bus_stats_t {
    /// Successful publishes.
    pub published: u64,
    /// Totals over every subscription, ended ones included.
    pub subscriptions: charter_subscription_stats_t,
    /// Live subscriptions now.
    pub live_subscriptions: u64,
    /// Calls refused by authorization (buses made with an authority).
    pub denied: u64,
}

/// A message callback: receives its `user_data` and the message, valid only
/// during the call. Returning anything but `CHARTER_OK` is counted in the
/// subscription's `handler_failures`.
pub type charter_message_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, msg: *const charter_message_t) -> charter_status_t>;

impl From<BusLimits> for charter_bus_limits_t {
    fn from(l: BusLimits) -> Self {
        charter_bus_limits_t {
            max_subscriptions: l.max_subscriptions,
            max_queue_messages: l.max_queue_messages,
            max_queue_bytes: l.max_queue_bytes,
            max_payload: l.max_payload,
            max_topic_len: l.max_topic_len,
            max_topic_tokens: l.max_topic_tokens,
            max_headers: l.max_headers,
            max_header_bytes: l.max_header_bytes,
        }
    }
}

impl From<charter_bus_limits_t> for BusLimits {
    fn from(l: charter_bus_limits_t) -> Self {
        BusLimits {
            max_subscriptions: l.max_subscriptions,
            max_queue_messages: l.max_queue_messages,
            max_queue_bytes: l.max_queue_bytes,
            max_payload: l.max_payload,
            max_topic_len: l.max_topic_len,
            max_topic_tokens: l.max_topic_tokens,
            max_headers: l.max_headers,
            max_header_bytes: l.max_header_bytes,
        }
    }
}

impl charter_subscribe_options_t {
    fn to_core(self) -> Result<SubscribeOptions, Error> {
        let overflow = match self.overflow {
            CHARTER_OVERFLOW_DROP_OLDEST => Overflow::DropOldest,
            CHARTER_OVERFLOW_DROP_NEWEST => Overflow::DropNewest,
            CHARTER_OVERFLOW_BLOCK => {
                Overflow::Block(timeout_arg(self.block_timeout_ms).unwrap_or(Duration::MAX))
            }
            CHARTER_OVERFLOW_ERROR => Overflow::Error,
            other => {
                return Err(invalid(format!(
                    "options.overflow must be a CHARTER_OVERFLOW_* value, got {other}"
                )))
            }
        };
        let dispatch = match self.dispatch {
            CHARTER_DISPATCH_INLINE => Dispatch::Inline,
            CHARTER_DISPATCH_THREAD => Dispatch::Thread,
            other => {
                return Err(invalid(format!(
                    "options.dispatch must be a CHARTER_DISPATCH_* value, got {other}"
                )))
            }
        };
        let millis = |ms: u32| (ms > 0).then(|| Duration::from_millis(u64::from(ms)));
        Ok(SubscribeOptions {
            capacity: self.capacity,
            max_bytes: self.max_bytes,
            overflow,
            ttl: millis(self.ttl_ms),
            idle_ttl: millis(self.idle_ttl_ms),
            dispatch,
        })
    }
}

impl From<Drops> for charter_drops_t {
    fn from(d: Drops) -> Self {
        charter_drops_t {
            overflow: d.overflow,
            expired: d.expired,
            timeout: d.timeout,
            rejected: d.rejected,
            closed: d.closed,
        }
    }
}

impl From<SubscriptionStats> for charter_subscription_stats_t {
    fn from(s: SubscriptionStats) -> Self {
        charter_subscription_stats_t {
            received: s.received,
            delivered: s.delivered,
            queued: s.queued,
            dropped: s.dropped.into(),
            handler_failures: s.handler_failures,
            slow_episodes: s.slow_episodes,
        }
    }
}

impl From<BusStats> for charter_bus_stats_t {
    fn from(s: BusStats) -> Self {
        charter_bus_stats_t {
            published: s.published,
            subscriptions: s.subscriptions.into(),
            live_subscriptions: s.live_subscriptions,
            denied: s.denied,
        }
    }
}

impl From<PublishReport> for charter_publish_report_t {
    fn from(r: PublishReport) -> Self {
        charter_publish_report_t { matched: r.matched, delivered: r.delivered, dropped: r.dropped }
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

/// A C message callback with its user data. Once `armed` (the subscription
/// exists), dropping it runs `drop_user_data`; a subscription that failed to
/// start leaves `user_data` to the caller.
struct CCallback {
    call: unsafe extern "C" fn(*mut c_void, *const charter_message_t) -> charter_status_t,
    user_data: *mut c_void,
    drop_user_data: crate::registry::charter_drop_fn,
    armed: AtomicBool,
}

// SAFETY: subscribing with a callback is the caller's promise that it and
// its user data may be used from any thread (documented on the function).
unsafe impl Send for CCallback {}
// SAFETY: as above.
unsafe impl Sync for CCallback {}

impl CCallback {
    fn invoke(&self, message: &Message) -> Result<(), HandlerError> {
        let owned = OwnedMessage::new(message);
        // SAFETY: the caller registered `call` for exactly this use; the
        // message outlives the call.
        let status = unsafe { (self.call)(self.user_data, owned.public()) };
        if status == CHARTER_OK {
            Ok(())
        } else {
            Err(HandlerError)
        }
    }
}

impl Drop for CCallback {
    fn drop(&mut self) {
        if !self.armed.load(Ordering::Acquire) {
            return;
        }
        if let Some(drop_user_data) = self.drop_user_data {
            // SAFETY: registered to release `user_data`, once.
            unsafe { drop_user_data(self.user_data) };
        }
    }
}

/// Fills `out` with the default bus limits.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_limits_default(out: *mut charter_bus_limits_t) -> charter_status_t {
    // SAFETY: the caller guarantees `out` is valid when non-NULL.
    call(|| unsafe { write_out(out, "out", BusLimits::default().into()) })
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
    let defaults = SubscribeOptions::default();
    let c = charter_subscribe_options_t {
        capacity: defaults.capacity,
        max_bytes: defaults.max_bytes,
        overflow: CHARTER_OVERFLOW_DROP_OLDEST,
        block_timeout_ms: 0,
        ttl_ms: 0,
        idle_ttl_ms: 0,
        dispatch: CHARTER_DISPATCH_INLINE,
    };
    // SAFETY: the caller guarantees `out` is valid when non-NULL.
    call(|| unsafe { write_out(out, "out", c) })
}

/// Creates a bus with `limits` (NULL for the defaults).
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
        require_out(out, "out")?;
        // SAFETY: the caller guarantees `limits` is valid when non-NULL.
        let limits = if limits.is_null() { BusLimits::default() } else { unsafe { *limits }.into() };
        let bus = handle::create(Bus::new(limits)?)?;
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out, "out", bus) }
    })
}

/// Creates a bus on which every publish, subscribe and request needs a
/// session opened by `auth` whose grants cover it: use the `_as` calls.
/// Refusals fail with `CHARTER_E_DENIED` and are counted in `denied`.
/// `limits` may be NULL for the defaults.
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
        require_out(out, "out")?;
        // SAFETY: the caller guarantees `limits` is valid when non-NULL.
        let limits = if limits.is_null() { BusLimits::default() } else { unsafe { *limits }.into() };
        let authority = handle::with::<AuthorityHandle, _>(auth, "auth", |a| Ok(a.authority.clone()))?;
        let bus = handle::create(Bus::with_authority(limits, authority)?)?;
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out, "out", bus) }
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
        require_out(out, "out")?;
        // SAFETY: the caller guarantees `limits` is valid when non-NULL.
        let limits = if limits.is_null() { BusLimits::default() } else { unsafe { *limits }.into() };
        // SAFETY: the caller's contract on `recorder`.
        let recorder = unsafe { recorder_arg(recorder)? };
        let authority = if auth.is_null() {
            None
        } else {
            Some(handle::with::<AuthorityHandle, _>(auth, "auth", |a| Ok(a.authority.clone()))?)
        };
        let bus = handle::create(Bus::with_recorder(limits, authority, recorder)?)?;
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out, "out", bus) }
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
    call(|| {
        if bus.is_null() {
            return Ok(());
        }
        // Close first, so receivers blocked on another thread wake up (they
        // hold their own reference to the bus while they wait).
        let open = handle::with::<Bus, _>(bus, "bus", |b| Ok(b.clone()));
        let freed = handle::free::<Bus>(bus, "bus");
        if let (Ok(open), Ok(())) = (&open, &freed) {
            open.close();
        }
        freed
    })
}

/// Closes a bus without freeing it: every subscription ends and later
/// calls fail with `CHARTER_E_CLOSED`. Closing twice is harmless.
///
/// # Safety
/// `bus` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_close(bus: *mut charter_bus_t) -> charter_status_t {
    call(|| {
        handle::with::<Bus, _>(bus, "bus", |b| {
            b.close();
            Ok(())
        })
    })
}

/// Subscribes to `pattern` with a queue read by `charter_bus_recv`; writes
/// the new subscription's id to `out_id`. `options` may be NULL for the
/// defaults.
///
/// # Safety
/// `pattern` must be a NUL-terminated string; `options` NULL or valid for
/// reading; `out_id` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_subscribe(
    bus: *mut charter_bus_t,
    pattern: *const c_char,
    options: *const charter_subscribe_options_t,
    out_id: *mut u64,
) -> charter_status_t {
    // SAFETY: forwarded as received.
    unsafe { subscribe_for(bus, None, pattern, options, out_id) }
}

/// `charter_bus_subscribe` for the holder of `session`, checked against its grants (a
/// bus made with `charter_bus_new_with_authority` requires it; on any bus the
/// session's grants are checked, and refusals are `CHARTER_E_DENIED`,
/// counted in `denied`).
///
/// # Safety
/// As `charter_bus_subscribe`; `session` must be a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_subscribe_as(
    bus: *mut charter_bus_t,
    session: *mut charter_session_t,
    pattern: *const c_char,
    options: *const charter_subscribe_options_t,
    out_id: *mut u64,
) -> charter_status_t {
    // SAFETY: forwarded as received.
    unsafe { subscribe_for(bus, Some(session), pattern, options, out_id) }
}

/// The body of `charter_bus_subscribe` and `charter_bus_subscribe_as`.
///
/// # Safety
/// As `charter_bus_subscribe`.
unsafe fn subscribe_for(
    bus: *mut charter_bus_t,
    session: Option<*mut charter_session_t>,
    pattern: *const c_char,
    options: *const charter_subscribe_options_t,
    out_id: *mut u64,
) -> charter_status_t {
    call(|| {
        require_out(out_id, "out_id")?;
        // SAFETY: the caller's contract on `pattern` and `options`.
        let (pattern, options) = unsafe { (str_arg(pattern, "pattern")?, options_arg(options)?) };
        let id = caller(bus, session)?.subscribe(pattern, options)?.detach();
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out_id, "out_id", id.get()) }
    })
}

/// Subscribes to `pattern` with a callback, run on the publisher's thread or
/// on a thread of the subscription's own (`options->dispatch`). The
/// callback may be called from any thread, and may call any Charter
/// function, this bus included. `drop_user_data` (optional) runs exactly
/// once when the subscription ends. On failure `user_data` stays yours.
///
/// # Safety
/// As `charter_bus_subscribe`; `fn` and `drop_user_data` must be safe to call
/// from any thread with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_subscribe_callback(
    bus: *mut charter_bus_t,
    pattern: *const c_char,
    options: *const charter_subscribe_options_t,
    r#fn: charter_message_fn,
    user_data: *mut c_void,
    drop_user_data: crate::registry::charter_drop_fn,
    out_id: *mut u64,
) -> charter_status_t {
    // SAFETY: forwarded as received.
    unsafe { subscribe_callback_for(bus, None, pattern, options, r#fn, user_data, drop_user_data, out_id) }
}

/// `charter_bus_subscribe_callback` for the holder of `session`, checked against its grants (a
/// bus made with `charter_bus_new_with_authority` requires it; on any bus the
/// session's grants are checked, and refusals are `CHARTER_E_DENIED`,
/// counted in `denied`).
///
/// # Safety
/// As `charter_bus_subscribe_callback`; `session` must be a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_subscribe_callback_as(
    bus: *mut charter_bus_t,
    session: *mut charter_session_t,
    pattern: *const c_char,
    options: *const charter_subscribe_options_t,
    r#fn: charter_message_fn,
    user_data: *mut c_void,
    drop_user_data: crate::registry::charter_drop_fn,
    out_id: *mut u64,
) -> charter_status_t {
    // SAFETY: forwarded as received.
    unsafe {
        subscribe_callback_for(bus, Some(session), pattern, options, r#fn, user_data, drop_user_data, out_id)
    }
}

/// The body of `charter_bus_subscribe_callback` and `charter_bus_subscribe_callback_as`.
///
/// # Safety
/// As `charter_bus_subscribe_callback`.
unsafe fn subscribe_callback_for(
    bus: *mut charter_bus_t,
    session: Option<*mut charter_session_t>,
    pattern: *const c_char,
    options: *const charter_subscribe_options_t,
    r#fn: charter_message_fn,
    user_data: *mut c_void,
    drop_user_data: crate::registry::charter_drop_fn,
    out_id: *mut u64,
) -> charter_status_t {
    call(|| {
        let call = r#fn.ok_or_else(|| null_argument("fn"))?;
        require_out(out_id, "out_id")?;
        // SAFETY: the caller's contract on `pattern` and `options`.
        let (pattern, options) = unsafe { (str_arg(pattern, "pattern")?, options_arg(options)?) };
        let callback = Arc::new(CCallback { call, user_data, drop_user_data, armed: AtomicBool::new(false) });
        let handler = Arc::clone(&callback);
        let id = caller(bus, session)?.subscribe_with(pattern, options, move |m| handler.invoke(m))?.detach();
        callback.armed.store(true, Ordering::Release);
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out_id, "out_id", id.get()) }
    })
}

/// Ends subscription `id`; writes whether it existed to `out_removed` (may
/// be NULL). Queued messages are counted as dropped; blocked receivers get
/// `CHARTER_E_CLOSED`. For a thread-dispatched callback this waits for a
/// running call to return, unless called from that callback.
///
/// # Safety
/// `out_removed` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_unsubscribe(
    bus: *mut charter_bus_t,
    id: u64,
    out_removed: *mut bool,
) -> charter_status_t {
    call(|| {
        let bus = handle::with::<Bus, _>(bus, "bus", |b| Ok(b.clone()))?;
        let removed = bus.unsubscribe(SubscriptionId::from_raw(id));
        if !out_removed.is_null() {
            // SAFETY: non-NULL; the caller guarantees validity.
            unsafe { out_removed.write(removed) };
        }
        Ok(())
    })
}

/// Publishes `len` bytes at `payload` with `header_count` headers on
/// `topic`. Writes the outcome to `out_report` (may be NULL).
///
/// Fails before delivering anything on a bad topic, payload or headers
/// (`CHARTER_E_INVALID_ARGUMENT`, `CHARTER_E_INVALID_UTF8`,
/// `CHARTER_E_LIMIT_EXCEEDED`) or a closed bus. A subscription whose policy
/// refuses the message makes the call fail (`CHARTER_E_LIMIT_EXCEEDED`,
/// `CHARTER_E_TIMEOUT`, `CHARTER_E_WOULD_BLOCK`) after every other
/// subscription has had it; `out_report` is then left untouched.
///
/// # Safety
/// `topic` must be a NUL-terminated string; `payload` NULL (with `len` 0) or
/// valid for `len` bytes; `headers` NULL (with `header_count` 0) or valid
/// for `header_count` headers; `out_report` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_publish(
    bus: *mut charter_bus_t,
    topic: *const c_char,
    payload: *const u8,
    len: usize,
    headers: *const charter_header_t,
    header_count: usize,
    out_report: *mut charter_publish_report_t,
) -> charter_status_t {
    // SAFETY: forwarded as received.
    unsafe { publish_for(bus, None, topic, payload, len, headers, header_count, out_report) }
}

/// `charter_bus_publish` for the holder of `session`, checked against its grants (a
/// bus made with `charter_bus_new_with_authority` requires it; on any bus the
/// session's grants are checked, and refusals are `CHARTER_E_DENIED`,
/// counted in `denied`).
///
/// # Safety
/// As `charter_bus_publish`; `session` must be a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_publish_as(
    bus: *mut charter_bus_t,
    session: *mut charter_session_t,
    topic: *const c_char,
    payload: *const u8,
    len: usize,
    headers: *const charter_header_t,
    header_count: usize,
    out_report: *mut charter_publish_report_t,
) -> charter_status_t {
    // SAFETY: forwarded as received.
    unsafe { publish_for(bus, Some(session), topic, payload, len, headers, header_count, out_report) }
}

/// The body of `charter_bus_publish` and `charter_bus_publish_as`.
///
/// # Safety
/// As `charter_bus_publish`.
unsafe fn publish_for(
    bus: *mut charter_bus_t,
    session: Option<*mut charter_session_t>,
    topic: *const c_char,
    payload: *const u8,
    len: usize,
    headers: *const charter_header_t,
    header_count: usize,
    out_report: *mut charter_publish_report_t,
) -> charter_status_t {
    call(|| {
        // SAFETY: the caller's contract on every argument.
        let Outgoing { bus, topic, payload, headers } =
            unsafe { Outgoing::read(bus, topic, payload, len, headers, header_count)? };
        let report = caller_of(bus, session)?.publish(topic, payload, &headers)?;
        if !out_report.is_null() {
            // SAFETY: non-NULL; the caller guarantees validity.
            unsafe { out_report.write(report.into()) };
        }
        Ok(())
    })
}

/// Waits up to `timeout_ms` for the next message of subscription `id` and
/// writes it to `out_msg`; free it with `charter_message_free`.
/// `CHARTER_E_WOULD_BLOCK` when `timeout_ms` is 0 and nothing is queued,
/// `CHARTER_E_TIMEOUT` when the time ran out, `CHARTER_E_CLOSED` once the
/// subscription or bus has ended, `CHARTER_E_NOT_FOUND` for an unknown id.
/// A wait that ends without a message consumes nothing.
///
/// # Safety
/// `out_msg` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_recv(
    bus: *mut charter_bus_t,
    id: u64,
    timeout_ms: u32,
    out_msg: *mut *mut charter_message_t,
) -> charter_status_t {
    call(|| {
        require_out(out_msg, "out_msg")?;
        let sub = handle::with::<Bus, _>(bus, "bus", |b| b.subscription(SubscriptionId::from_raw(id)))?;
        let message = match timeout_arg(timeout_ms) {
            None => sub.recv()?,
            Some(timeout) => sub.recv_timeout(timeout)?,
        };
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out_msg, "out_msg", OwnedMessage::new(&message).into_raw()) }
    })
}

/// Publishes a request on `topic` and waits up to `timeout_ms` for the first
/// reply, written to `out_reply` (free it with `charter_message_free`).
/// `CHARTER_E_NOT_FOUND` at once when nothing subscribes to the topic;
/// `CHARTER_E_TIMEOUT` when no reply came.
///
/// # Safety
/// As `charter_bus_publish`; `out_reply` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_request(
    bus: *mut charter_bus_t,
    topic: *const c_char,
    payload: *const u8,
    len: usize,
    headers: *const charter_header_t,
    header_count: usize,
    timeout_ms: u32,
    out_reply: *mut *mut charter_message_t,
) -> charter_status_t {
    // SAFETY: forwarded as received.
    unsafe { request_for(bus, None, topic, payload, len, headers, header_count, timeout_ms, out_reply) }
}

/// `charter_bus_request` for the holder of `session`, checked against its grants (a
/// bus made with `charter_bus_new_with_authority` requires it; on any bus the
/// session's grants are checked, and refusals are `CHARTER_E_DENIED`,
/// counted in `denied`).
///
/// # Safety
/// As `charter_bus_request`; `session` must be a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_request_as(
    bus: *mut charter_bus_t,
    session: *mut charter_session_t,
    topic: *const c_char,
    payload: *const u8,
    len: usize,
    headers: *const charter_header_t,
    header_count: usize,
    timeout_ms: u32,
    out_reply: *mut *mut charter_message_t,
) -> charter_status_t {
    // SAFETY: forwarded as received.
    unsafe {
        request_for(bus, Some(session), topic, payload, len, headers, header_count, timeout_ms, out_reply)
    }
}

/// The body of `charter_bus_request` and `charter_bus_request_as`.
///
/// # Safety
/// As `charter_bus_request`.
unsafe fn request_for(
    bus: *mut charter_bus_t,
    session: Option<*mut charter_session_t>,
    topic: *const c_char,
    payload: *const u8,
    len: usize,
    headers: *const charter_header_t,
    header_count: usize,
    timeout_ms: u32,
    out_reply: *mut *mut charter_message_t,
) -> charter_status_t {
    call(|| {
        require_out(out_reply, "out_reply")?;
        // SAFETY: the caller's contract on every argument.
        let Outgoing { bus, topic, payload, headers } =
            unsafe { Outgoing::read(bus, topic, payload, len, headers, header_count)? };
        let timeout = timeout_arg(timeout_ms).unwrap_or(Duration::MAX);
        let reply = caller_of(bus, session)?.request(topic, payload, &headers, timeout)?;
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out_reply, "out_reply", OwnedMessage::new(&reply).into_raw()) }
    })
}

/// Publishes a request on `topic` without waiting for the reply: writes to
/// `out_reply_id` the subscription the reply will arrive on. Wait for it
/// with `charter_bus_recv` (in slices if you like: a wait that times out
/// consumes nothing), then end it with `charter_bus_unsubscribe`.
/// `CHARTER_E_NOT_FOUND` at once when nothing subscribes to the topic.
///
/// # Safety
/// As `charter_bus_publish`; `out_reply_id` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_request_start(
    bus: *mut charter_bus_t,
    topic: *const c_char,
    payload: *const u8,
    len: usize,
    headers: *const charter_header_t,
    header_count: usize,
    out_reply_id: *mut u64,
) -> charter_status_t {
    // SAFETY: forwarded as received.
    unsafe { request_start_for(bus, None, topic, payload, len, headers, header_count, out_reply_id) }
}

/// `charter_bus_request_start` for the holder of `session`, checked against its grants (a
/// bus made with `charter_bus_new_with_authority` requires it; on any bus the
/// session's grants are checked, and refusals are `CHARTER_E_DENIED`,
/// counted in `denied`).
///
/// # Safety
/// As `charter_bus_request_start`; `session` must be a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_request_start_as(
    bus: *mut charter_bus_t,
    session: *mut charter_session_t,
    topic: *const c_char,
    payload: *const u8,
    len: usize,
    headers: *const charter_header_t,
    header_count: usize,
    out_reply_id: *mut u64,
) -> charter_status_t {
    // SAFETY: forwarded as received.
    unsafe { request_start_for(bus, Some(session), topic, payload, len, headers, header_count, out_reply_id) }
}

/// The body of `charter_bus_request_start` and `charter_bus_request_start_as`.
///
/// # Safety
/// As `charter_bus_request_start`.
unsafe fn request_start_for(
    bus: *mut charter_bus_t,
    session: Option<*mut charter_session_t>,
    topic: *const c_char,
    payload: *const u8,
    len: usize,
    headers: *const charter_header_t,
    header_count: usize,
    out_reply_id: *mut u64,
) -> charter_status_t {
    call(|| {
        require_out(out_reply_id, "out_reply_id")?;
        // SAFETY: the caller's contract on every argument.
        let Outgoing { bus, topic, payload, headers } =
            unsafe { Outgoing::read(bus, topic, payload, len, headers, header_count)? };
        let replies = caller_of(bus, session)?.request_start(topic, payload, &headers)?.detach();
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out_reply_id, "out_reply_id", replies.get()) }
    })
}

/// Answers `request`, a message with a `reply_to` inbox (received or passed
/// to a callback). Writes the outcome to `out_report` (may be NULL).
///
/// # Safety
/// `request` must be a message from Charter; the rest as
/// `charter_bus_publish`.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_respond(
    bus: *mut charter_bus_t,
    request: *const charter_message_t,
    payload: *const u8,
    len: usize,
    headers: *const charter_header_t,
    header_count: usize,
    out_report: *mut charter_publish_report_t,
) -> charter_status_t {
    call(|| {
        if request.is_null() {
            return Err(null_argument("request"));
        }
        // SAFETY: a message from Charter: its reply_to is NULL or a string.
        let reply_to = unsafe { (*request).reply_to };
        if reply_to.is_null() {
            return Err(invalid("the message is not a request: it has no reply_to inbox".into()));
        }
        // SAFETY: `reply_to` is a string of a message from Charter; the rest
        // is the caller's contract.
        let Outgoing { bus, topic: inbox, payload, headers } =
            unsafe { Outgoing::read(bus, reply_to, payload, len, headers, header_count)? };
        let report = bus.reply(inbox, payload, &headers)?;
        if !out_report.is_null() {
            // SAFETY: non-NULL; the caller guarantees validity.
            unsafe { out_report.write(report.into()) };
        }
        Ok(())
    })
}

/// Answers the request whose reply inbox is `inbox` (a message's
/// `reply_to`), for callers that kept only that string. Only reply inboxes
/// are accepted. Writes the outcome to `out_report` (may be NULL).
///
/// # Safety
/// `inbox` must be a NUL-terminated string; the rest as `charter_bus_publish`.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_reply(
    bus: *mut charter_bus_t,
    inbox: *const c_char,
    payload: *const u8,
    len: usize,
    headers: *const charter_header_t,
    header_count: usize,
    out_report: *mut charter_publish_report_t,
) -> charter_status_t {
    call(|| {
        // SAFETY: the caller's contract on every argument.
        let Outgoing { bus, topic: inbox, payload, headers } =
            unsafe { Outgoing::read(bus, inbox, payload, len, headers, header_count)? };
        let report = bus.reply(inbox, payload, &headers)?;
        if !out_report.is_null() {
            // SAFETY: non-NULL; the caller guarantees validity.
            unsafe { out_report.write(report.into()) };
        }
        Ok(())
    })
}

/// Writes subscription `id`'s accounting to `out`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_subscription_stats(
    bus: *mut charter_bus_t,
    id: u64,
    out: *mut charter_subscription_stats_t,
) -> charter_status_t {
    call(|| {
        require_out(out, "out")?;
        let stats = handle::with::<Bus, _>(bus, "bus", |b| {
            Ok(b.subscription(SubscriptionId::from_raw(id))?.stats())
        })?;
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out, "out", stats.into()) }
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
        require_out(out, "out")?;
        let stats = handle::with::<Bus, _>(bus, "bus", |b| Ok(b.stats()))?;
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out, "out", stats.into()) }
    })
}

/// Ends every pull subscription idle past its `idle_ttl_ms`; writes how many
/// ended to `out_count` (may be NULL).
///
/// # Safety
/// `out_count` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bus_evict_idle(
    bus: *mut charter_bus_t,
    out_count: *mut usize,
) -> charter_status_t {
    call(|| {
        let bus = handle::with::<Bus, _>(bus, "bus", |b| Ok(b.clone()))?;
        let count = bus.evict_idle();
        if !out_count.is_null() {
            // SAFETY: non-NULL; the caller guarantees validity.
            unsafe { out_count.write(count) };
        }
        Ok(())
    })
}

/// The arguments shared by every call that sends a message.
struct Outgoing<'a> {
    bus: Bus,
    topic: &'a str,
    payload: &'a [u8],
    headers: Vec<(&'a str, &'a str)>,
}

impl<'a> Outgoing<'a> {
    /// Reads and checks them; the bus comes out of its handle guard, so a
    /// call that then waits does not hold the guard.
    ///
    /// # Safety
    /// `topic` must be a NUL-terminated string, `payload` NULL (with `len`
    /// 0) or valid for `len` bytes, `headers` NULL (with `header_count` 0)
    /// or valid for `header_count` headers, all for the duration of the call.
    unsafe fn read(
        bus: *mut charter_bus_t,
        topic: *const c_char,
        payload: *const u8,
        len: usize,
        headers: *const charter_header_t,
        header_count: usize,
    ) -> Result<Outgoing<'a>, Error> {
        let bus = handle::with::<Bus, _>(bus, "bus", |b| Ok(b.clone()))?;
        // SAFETY: the caller's contract on `topic` and `payload`; the
        // payload's length is checked against the bus's limit first.
        let (topic, payload) = unsafe {
            (str_arg(topic, "topic")?, bytes_arg(payload, len, "payload", |n| bus.limits().check_payload(n))?)
        };
        // SAFETY: the caller's contract on `headers`.
        let headers = unsafe { headers_arg(headers, header_count, bus.limits().max_headers)? };
        Ok(Outgoing { bus, topic, payload, headers })
    }
}

/// Who a bus call is made for: anyone (allowed on an open bus only) or the
/// holder of a session.
enum Caller {
    Open(Bus),
    Holder(Client),
}

/// `bus` as seen by the holder of `session`, if there is one.
fn caller_of(bus: Bus, session: Option<*mut charter_session_t>) -> Result<Caller, Error> {
    match session {
        None => Ok(Caller::Open(bus)),
        Some(session) => {
            let session = handle::with::<Session, _>(session, "session", |s| Ok(s.clone()))?;
            Ok(Caller::Holder(bus.with_session(&session)))
        }
    }
}

/// The bus behind `bus` as seen by the holder of `session`, if any.
fn caller(bus: *mut charter_bus_t, session: Option<*mut charter_session_t>) -> Result<Caller, Error> {
    caller_of(handle::with::<Bus, _>(bus, "bus", |b| Ok(b.clone()))?, session)
}

impl Caller {
    fn publish(&self, topic: &str, payload: &[u8], headers: Headers<'_>) -> Result<PublishReport, Error> {
        match self {
            Caller::Open(bus) => bus.publish(topic, payload, headers),
            Caller::Holder(client) => client.publish(topic, payload, headers),
        }
    }

    fn subscribe(&self, pattern: &str, options: SubscribeOptions) -> Result<Subscription, Error> {
        match self {
            Caller::Open(bus) => bus.subscribe(pattern, options),
            Caller::Holder(client) => client.subscribe(pattern, options),
        }
    }

    fn subscribe_with<F>(
        &self,
        pattern: &str,
        options: SubscribeOptions,
        handler: F,
    ) -> Result<Subscription, Error>
    where
        F: Fn(&Message) -> HandlerResult + Send + Sync + 'static,
    {
        match self {
            Caller::Open(bus) => bus.subscribe_with(pattern, options, handler),
            Caller::Holder(client) => client.subscribe_with(pattern, options, handler),
        }
    }

    fn request(
        &self,
        topic: &str,
        payload: &[u8],
        headers: Headers<'_>,
        timeout: Duration,
    ) -> Result<Message, Error> {
        match self {
            Caller::Open(bus) => bus.request(topic, payload, headers, timeout),
            Caller::Holder(client) => client.request(topic, payload, headers, timeout),
        }
    }

    fn request_start(
        &self,
        topic: &str,
        payload: &[u8],
        headers: Headers<'_>,
    ) -> Result<Subscription, Error> {
        match self {
            Caller::Open(bus) => bus.request_start(topic, payload, headers),
            Caller::Holder(client) => client.request_start(topic, payload, headers),
        }
    }
}

/// The options at `ptr`, or the defaults when NULL.
///
/// # Safety
/// `ptr` must be NULL or valid for reading.
unsafe fn options_arg(ptr: *const charter_subscribe_options_t) -> Result<SubscribeOptions, Error> {
    if ptr.is_null() {
        return Ok(SubscribeOptions::default());
    }
    // SAFETY: the caller guarantees `ptr` is valid when non-NULL.
    unsafe { *ptr }.to_core()
}
