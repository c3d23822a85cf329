//! `charter_bridge_*`: a bus carried onto NATS and back, for C.
//!
//! The bridge itself (docs/bridge.md) is the `charter-bridge` crate; this
//! module maps its options, handle and counters to C and decides nothing
//! of its own. A bridge owns a NATS connection and a small runtime of its
//! own threads; its handle is guarded like every other one.
//!
//! A bridge delivers imported messages by publishing on the local bus from
//! one of its own threads, so an inline callback may run there. Closing,
//! freeing or flushing the bridge from such a callback cannot wait on that
//! very thread: close and free then finish on a thread of their own, and
//! the crate refuses start and flush with `CHARTER_E_WOULD_BLOCK`.

use std::ffi::c_char;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use ::charter_bridge::{in_async_context, Bridge, BridgeOptions, BridgeStats, DurableImport, Import, Reason};
use charter_core::capability::KeyPair;
use charter_core::{Error, ErrorKind};

use crate::args::{
    arg_item, arg_name, arg_opt_str, arg_opt_struct, arg_slice, arg_str, arg_str_array, arg_struct, owned,
};
use crate::audit::{charter_audit_recorder_t, recorder_arg};
use crate::bus::charter_bus_t;
use crate::capability::{charter_authority_t, charter_keypair_t, charter_session_t, charter_token_t};
use crate::firewall::call;
use crate::handle::{clone_handle, free_handle, opt_borrow, opt_clone_handle};
use crate::out::out;
use crate::status::charter_status_t;

/// The most servers, exports or imports one bridge takes.
pub const CHARTER_BRIDGE_MAX_ENTRIES: usize = 1024;

/// How long, in milliseconds, to flush when the caller has no timeout of
/// its own: the bridge's `DEFAULT_FLUSH_TIMEOUT` (as long as a request
/// waits for its reply), written out for the header.
pub const CHARTER_BRIDGE_FLUSH_TIMEOUT_MS: u32 = 5_000;

const _: () = assert!(
    CHARTER_BRIDGE_FLUSH_TIMEOUT_MS as u128 == ::charter_bridge::DEFAULT_FLUSH_TIMEOUT.as_millis(),
    "the header's flush default is the bridge's"
);

/// A running bridge between a bus and NATS. Opaque; start one with
/// `charter_bridge_start`.
pub struct charter_bridge {
    _opaque: [u8; 0],
}

/// The handle type of a bridge.
pub type charter_bridge_t = charter_bridge;

crate::handle::handle_type!(charter_bridge_t owns BridgeHandle, tag b"BRG1");

/// One import: NATS subjects matching `pattern` are published on the local
/// bus (and NATS requests asked there).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_bridge_import_t {
    /// The NATS subject pattern, NUL-terminated.
    pub pattern: *const c_char,
    /// The queue group to join (NATS load balancing), or NULL for none.
    pub queue_group: *const c_char,
    /// Whether another bridge on the same bus may carry what this import
    /// delivers (a relaying sidecar; docs/bridge.md).
    pub relay: bool,
}

/// How a durable import reads its stream; NULL in a
/// `charter_bridge_durable_import_t` means the defaults
/// (`charter_bridge_durable_options_default`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_bridge_durable_options_t {
    /// How long the server waits for an acknowledgement before it delivers
    /// a message again, in ms.
    pub ack_wait_ms: u32,
    /// The most messages delivered and not yet acknowledged.
    pub max_ack_pending: usize,
    /// Whether another bridge on the same bus may carry what this import
    /// delivers (as `charter_bridge_import_t.relay`).
    pub relay: bool,
    /// The application's committed position, part one: no stream sequence
    /// at or below it is delivered. The largest `Charter-Stream-Floor` of
    /// the messages it handled; 0 for none.
    pub handled_through: u64,
    /// The application's committed position, part two: the stream
    /// sequences (`Charter-Stream-Seq`) above `handled_through` it handled,
    /// never delivered again. NULL when `handled_count` is 0.
    pub handled: *const u64,
    /// How many `handled` there are (at most 1,048,576).
    pub handled_count: usize,
    /// With verification, the committed position's part three: the largest
    /// `Charter-Seal-Floor` of the messages it handled (ms); 0 for none.
    pub sealed_through: u64,
    /// With verification, part four: the `Charter-Seal-Id` of each message
    /// it handled whose `Charter-Seal-Time` is at or after
    /// `sealed_through`. NULL when `sealed_count` is 0.
    pub sealed: *const u64,
    /// How many `sealed` there are (at most 1,048,576).
    pub sealed_count: usize,
}

/// A durable import through JetStream (docs/bridge.md, "Durable import"):
/// the subjects matching `pattern` kept in `stream`, read through the
/// durable consumer `durable`, each acknowledged after the local publish.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_bridge_durable_import_t {
    /// The subject pattern the stream captures and the consumer filters,
    /// NUL-terminated.
    pub pattern: *const c_char,
    /// The JetStream stream's name (created when missing).
    pub stream: *const c_char,
    /// The durable consumer's name (created when missing).
    pub durable: *const c_char,
    /// NULL for the defaults.
    pub options: *const charter_bridge_durable_options_t,
}

/// A bridge's configuration. Fill it with `charter_bridge_options_default`,
/// then set what you need. Every pointer is read during
/// `charter_bridge_start` only; the handles it names are kept alive by the
/// bridge, and stay yours to free.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_bridge_options_t {
    /// NATS server URLs (`nats://127.0.0.1:4222`); at least one.
    pub servers: *const *const c_char,
    /// How many `servers` there are.
    pub server_count: usize,
    /// The connection's name as the server shows it, or NULL for
    /// `charter-bridge`.
    pub name: *const c_char,
    /// Local topic patterns whose publishes and requests go to NATS.
    pub exports: *const *const c_char,
    /// How many `exports` there are.
    pub export_count: usize,
    /// NATS subject patterns published and requested on the local bus.
    pub imports: *const charter_bridge_import_t,
    /// How many `imports` there are.
    pub import_count: usize,
    /// With `key`, seals every message and reply the bridge sends with
    /// this token; NULL (with `key` NULL) for none.
    pub token: *mut charter_token_t,
    /// The key pair of the token's subject; set with `token`.
    pub key: *mut charter_keypair_t,
    /// When set, everything the bridge receives must be sealed by a token
    /// of this authority's roots with a fitting grant, or it is refused,
    /// counted and (with `recorder`) audited. NULL for none.
    pub authority: *mut charter_authority_t,
    /// Where refusals are recorded (NULL for nowhere); needs `authority`.
    pub recorder: *const charter_audit_recorder_t,
    /// How far a received message's time may be from this clock, in ms.
    pub max_skew_ms: u32,
    /// The session the bridge acts as on a bus that enforces an authority
    /// (it subscribes to the exports and publishes the imports), or NULL.
    pub local_session: *mut charter_session_t,
    /// How long a request carried across the bridge waits for its reply.
    pub request_timeout_ms: u32,
    /// Each export's local queue, in messages: the oldest beyond it are
    /// dropped (counted) while NATS is slower than the publishers.
    pub export_capacity: usize,
    /// The same queue in bytes.
    pub export_max_bytes: usize,
    /// Each import's queue between the NATS client and the bus, in
    /// messages: beyond it the client drops (counted as `slow_consumer`).
    pub import_capacity: usize,
    /// The most requests waiting for a reply across the bridge at once.
    pub max_requests_in_flight: usize,
    /// The threads of the bridge's runtime (at least 1).
    pub worker_threads: usize,
    /// JetStream subjects published on the local bus at least once (or
    /// exactly once, with the application's committed position).
    pub durable_imports: *const charter_bridge_durable_import_t,
    /// How many `durable_imports` there are.
    pub durable_import_count: usize,
    /// Off by default. When set, an exported publish goes to NATS with its
    /// application headers only (none at all without any): no message id,
    /// no origin. A relay loop through two bridges is then no longer
    /// stopped by origin, and a JetStream stream capturing the subject
    /// gets no dedup id (docs/bridge.md, "Bare exports"). Requests and
    /// replies keep their headers. With `token` and `key` set,
    /// `charter_bridge_start` fails with `CHARTER_E_INVALID_ARGUMENT`.
    pub bare_exports: bool,
}

/// What a bridge carried and dropped, each drop by its reason.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct charter_bridge_stats_t {
    /// Local messages published to NATS.
    pub exported: u64,
    /// NATS messages published on the local bus.
    pub imported: u64,
    /// Local requests carried to NATS whose reply came back.
    pub requests_out: u64,
    /// NATS requests answered by a local responder.
    pub requests_in: u64,
    /// Local messages not exported because they came from NATS (loops).
    pub not_reexported: u64,
    /// NATS messages dropped because they carry this bridge's own origin.
    pub own_origin: u64,
    /// Messages larger than the server's max payload.
    pub max_payload: u64,
    /// Messages the client failed to send.
    pub send_failed: u64,
    /// Headers NATS cannot carry.
    pub bad_header: u64,
    /// Messages that could not be sealed.
    pub seal_failed: u64,
    /// NATS messages the local bus refused.
    pub local_refused: u64,
    /// Requests not carried: too many were already in flight.
    pub requests_busy: u64,
    /// Requests NATS answered with no-responders.
    pub no_responders: u64,
    /// Requests whose reply did not come in time.
    pub reply_timeout: u64,
    /// NATS messages dropped on a full import queue (a lower bound).
    pub slow_consumer: u64,
    /// Local publishes dropped by the exports' own queues.
    pub export_queue_dropped: u64,
    /// Refused: no envelope.
    pub refused_unsigned: u64,
    /// Refused: an envelope header not in its canonical spelling.
    pub refused_malformed: u64,
    /// Refused: the token's chain does not verify against the roots.
    pub refused_chain: u64,
    /// Refused: the proof does not verify (forged or altered).
    pub refused_bad_proof: u64,
    /// Refused: no grant covers the subject.
    pub refused_not_granted: u64,
    /// Refused: the time is outside the skew window.
    pub refused_stale: u64,
    /// Refused: the sequence number was seen before.
    pub refused_replayed: u64,
    /// Refused: a link of the token is revoked.
    pub refused_revoked: u64,
    /// Refused: a reply that does not answer its request.
    pub refused_misdirected: u64,
    /// Refused: the audit record could not be written.
    pub refused_audit_failed: u64,
    /// Durable imports: messages a full local queue refused, handed back
    /// to JetStream to come again (delayed, not lost).
    pub redelivery_requested: u64,
    /// Durable imports: deliveries acknowledged and not published, because
    /// they were published before or the application's committed position
    /// covers them.
    pub duplicate_suppressed: u64,
    /// Durable imports: messages never to be delivered (refused for good),
    /// terminated on JetStream.
    pub durable_terminated: u64,
    /// Durable imports: failed attempts to bind the stream and consumer.
    pub durable_bind_failed: u64,
    /// Durable imports: acknowledgements the client failed to send.
    pub ack_failed: u64,
}

impl From<BridgeStats> for charter_bridge_stats_t {
    fn from(s: BridgeStats) -> Self {
        let mut c = charter_bridge_stats_t {
            exported: s.exported,
            imported: s.imported,
            requests_out: s.requests_out,
            requests_in: s.requests_in,
            not_reexported: s.not_reexported,
            own_origin: s.own_origin,
            max_payload: s.max_payload,
            send_failed: s.send_failed,
            bad_header: s.bad_header,
            seal_failed: s.seal_failed,
            local_refused: s.local_refused,
            requests_busy: s.requests_busy,
            no_responders: s.no_responders,
            reply_timeout: s.reply_timeout,
            slow_consumer: s.slow_consumer,
            export_queue_dropped: s.export_queue_dropped,
            redelivery_requested: s.redelivery_requested,
            duplicate_suppressed: s.duplicate_suppressed,
            durable_terminated: s.durable_terminated,
            durable_bind_failed: s.durable_bind_failed,
            ack_failed: s.ack_failed,
            ..Default::default()
        };
        for (reason, count) in s.refused {
            *match reason {
                Reason::Unsigned => &mut c.refused_unsigned,
                Reason::Malformed => &mut c.refused_malformed,
                Reason::Chain => &mut c.refused_chain,
                Reason::BadProof => &mut c.refused_bad_proof,
                Reason::NotGranted => &mut c.refused_not_granted,
                Reason::Stale => &mut c.refused_stale,
                Reason::Replayed => &mut c.refused_replayed,
                Reason::Revoked => &mut c.refused_revoked,
                Reason::Misdirected => &mut c.refused_misdirected,
                Reason::AuditFailed => &mut c.refused_audit_failed,
            } = count;
        }
        c
    }
}

/// What a bridge handle owns: the bridge until it is closed. Cloned out of
/// the handle guard, so a call that waits never holds the guard.
#[derive(Clone)]
pub(crate) struct BridgeHandle(Arc<BridgeCell>);

pub(crate) struct BridgeCell {
    bridge: RwLock<Option<Bridge>>,
    origin: String,
}

impl BridgeCell {
    /// Runs `f` on the bridge while it runs (a read lock, which a close
    /// waits for); `CHARTER_E_CLOSED` once it is closed.
    fn running<R>(&self, f: impl FnOnce(&Bridge) -> Result<R, Error>) -> Result<R, Error> {
        f(self.bridge.read().unwrap_or_else(PoisonError::into_inner).as_ref().ok_or_else(closed)?)
    }

    /// Stops the bridge, if it still runs. On one of the bridge's own
    /// threads (a callback), the stop finishes on a thread of its own.
    fn close(&self) {
        let bridge = self.bridge.write().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(bridge) = bridge {
            if in_async_context() {
                std::thread::spawn(move || bridge.close());
            } else {
                bridge.close();
            }
        }
    }
}

impl Drop for BridgeCell {
    fn drop(&mut self) {
        self.close();
    }
}

fn bridge_arg(bridge: *mut charter_bridge_t) -> Result<BridgeHandle, Error> {
    clone_handle!(bridge)
}

fn closed() -> Error {
    Error::new(ErrorKind::Closed, "the bridge is closed")
}

/// Fills `out` with the durable import defaults: a 30 s ack wait, 1,024
/// messages pending at most, not relayed, nothing handled yet.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bridge_durable_options_default(
    out: *mut charter_bridge_durable_options_t,
) -> charter_status_t {
    call(|| out!(out)?.put(durable_options_c(&DurableImport::new("", "", ""))))
}

fn durable_options_c(d: &DurableImport) -> charter_bridge_durable_options_t {
    charter_bridge_durable_options_t {
        ack_wait_ms: u32::try_from(d.ack_wait.as_millis()).unwrap_or(u32::MAX),
        max_ack_pending: d.max_ack_pending,
        relay: d.relay,
        handled_through: d.handled_through,
        handled: std::ptr::null(),
        handled_count: 0,
        sealed_through: d.sealed_through,
        sealed: std::ptr::null(),
        sealed_count: 0,
    }
}

/// The core durable import for `durable`, whose C name is `at`
/// (`options.durable_imports[i]`).
///
/// # Safety
/// Every pointer of `durable` must be as `charter_bridge_durable_import_t`
/// documents.
unsafe fn durable_arg(durable: &charter_bridge_durable_import_t, at: &str) -> Result<DurableImport, Error> {
    let (pattern, stream, name) =
        (arg_str!(at => durable.pattern)?, arg_str!(at => durable.stream)?, arg_str!(at => durable.durable)?);
    let mut import = DurableImport::new(pattern, stream, name);
    if let Some(options) = arg_opt_struct!(at => durable.options)? {
        let at = arg_name!(at => durable.options);
        import.ack_wait = Duration::from_millis(u64::from(options.ack_wait_ms));
        import.max_ack_pending = options.max_ack_pending;
        import.relay = options.relay;
        import.handled_through = options.handled_through;
        let handled =
            arg_slice!([at => options.handled], options.handled_count, DurableImport::check_handled)?;
        import.handled = handled.to_vec();
        import.sealed_through = options.sealed_through;
        let sealed = arg_slice!([at => options.sealed], options.sealed_count, DurableImport::check_sealed)?;
        import.sealed = sealed.to_vec();
    }
    Ok(import)
}

/// Fills `out` with the defaults: no server, nothing carried, no
/// credentials or verification, 30 s of skew, a 5 s request timeout,
/// queues of 65,536 messages and 16 MiB, 1,024 requests in flight, one
/// runtime thread.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bridge_options_default(
    out: *mut charter_bridge_options_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        let d = BridgeOptions::new("");
        let c = charter_bridge_options_t {
            servers: std::ptr::null(),
            server_count: 0,
            name: std::ptr::null(),
            exports: std::ptr::null(),
            export_count: 0,
            imports: std::ptr::null(),
            import_count: 0,
            token: std::ptr::null_mut(),
            key: std::ptr::null_mut(),
            authority: std::ptr::null_mut(),
            recorder: std::ptr::null(),
            max_skew_ms: 30_000,
            local_session: std::ptr::null_mut(),
            request_timeout_ms: u32::try_from(d.request_timeout.as_millis()).unwrap_or(u32::MAX),
            export_capacity: d.export_capacity,
            export_max_bytes: d.export_max_bytes,
            import_capacity: d.import_capacity,
            max_requests_in_flight: d.max_requests_in_flight,
            worker_threads: d.worker_threads,
            durable_imports: std::ptr::null(),
            durable_import_count: 0,
            bare_exports: d.bare_exports,
        };
        out.put(c)
    })
}

/// The core options for `options`.
///
/// # Safety
/// Every pointer of `options` must be as `charter_bridge_options_t`
/// documents.
unsafe fn options_arg(options: &charter_bridge_options_t) -> Result<BridgeOptions, Error> {
    let servers = arg_str_array!(options.servers, options.server_count, CHARTER_BRIDGE_MAX_ENTRIES)?;
    let first = servers.first().ok_or_else(|| {
        Error::new(ErrorKind::InvalidArgument, "options.servers must name at least one server")
    })?;
    let mut core = BridgeOptions::new(first);
    core.servers = owned(servers);
    if let Some(name) = arg_opt_str!(options.name)? {
        core.name = name.to_owned();
    }
    core.exports = owned(arg_str_array!(options.exports, options.export_count, CHARTER_BRIDGE_MAX_ENTRIES)?);
    let imports = arg_slice!(options.imports, options.import_count, max CHARTER_BRIDGE_MAX_ENTRIES)?;
    for (i, import) in imports.iter().enumerate() {
        let at = arg_item!(options.imports[i]);
        let mut import_core = Import::new(arg_str!(at => import.pattern)?);
        import_core.queue_group = arg_opt_str!(at => import.queue_group)?.map(str::to_owned);
        import_core.relay = import.relay;
        core.imports.push(import_core);
    }
    let durables =
        arg_slice!(options.durable_imports, options.durable_import_count, max CHARTER_BRIDGE_MAX_ENTRIES)?;
    for (i, durable) in durables.iter().enumerate() {
        // SAFETY: the caller's contract.
        core.durable_imports.push(unsafe { durable_arg(durable, &arg_item!(options.durable_imports[i]))? });
    }
    let token = opt_clone_handle!(options.token)?;
    let key = opt_borrow!(options.key, |k| KeyPair::from_pkcs8(k.to_pkcs8()))?;
    core.set_credentials(token, key.map(Arc::new))?;
    let authority = opt_borrow!(options.authority, |a| Ok(a.authority.clone()))?;
    let recorder = if options.recorder.is_null() {
        None
    } else {
        // SAFETY: the caller's contract.
        Some(unsafe { recorder_arg(options.recorder)? })
    };
    if let Some(verify) = core.set_verification(authority, recorder)? {
        verify.max_skew = Duration::from_millis(u64::from(options.max_skew_ms));
    }
    core.local_session = opt_clone_handle!(options.local_session)?;
    core.request_timeout = Duration::from_millis(u64::from(options.request_timeout_ms));
    core.export_capacity = options.export_capacity;
    core.export_max_bytes = options.export_max_bytes;
    core.import_capacity = options.import_capacity;
    core.max_requests_in_flight = options.max_requests_in_flight;
    core.worker_threads = options.worker_threads;
    core.bare_exports = options.bare_exports;
    Ok(core)
}

/// Starts a bridge for `bus` with `options` (which must name a server) and
/// writes it to `out`; free it with `charter_bridge_free`. A server that
/// does not answer yet is not an error: the bridge connects in the
/// background and keeps retrying. Fails on bad options (a bad pattern, a
/// key that is not the token's subject: `CHARTER_E_INVALID_ARGUMENT`), a
/// local subscription the bus refuses, or more than
/// `CHARTER_BRIDGE_MAX_ENTRIES` servers, exports or imports
/// (`CHARTER_E_LIMIT_EXCEEDED`), and with `CHARTER_E_WOULD_BLOCK` on one
/// of a bridge's own threads (a callback it runs), where it cannot wait.
///
/// # Safety
/// `bus` must be NULL or a pointer obtained from Charter; `options` NULL
/// or valid for reading, with every pointer in it as documented there;
/// `out` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bridge_start(
    bus: *mut charter_bus_t,
    options: *const charter_bridge_options_t,
    out: *mut *mut charter_bridge_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        // SAFETY: the caller's contract on the pointers in `options`.
        let options = unsafe { options_arg(arg_struct!(options)?)? };
        let bus = clone_handle!(bus)?;
        let bridge = Bridge::start(&bus, options)?;
        let origin = bridge.origin().to_owned();
        let cell = BridgeCell { bridge: RwLock::new(Some(bridge)), origin };
        out.write_handle(BridgeHandle(Arc::new(cell)))
    })
}

/// Writes the bridge's origin id (32 hex digits, fresh at every start) to
/// `out`; free it with `charter_string_free`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bridge_origin(
    bridge: *mut charter_bridge_t,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| out!(out)?.put(bridge_arg(bridge)?.0.origin.clone()))
}

/// Waits up to `timeout_ms` (`CHARTER_BRIDGE_FLUSH_TIMEOUT_MS` when the
/// caller has no timeout of its own) until the server has seen everything
/// sent so far (the imports' subscriptions included): `CHARTER_E_TIMEOUT`
/// while no server answers, `CHARTER_E_CLOSED` once the bridge is closed,
/// `CHARTER_E_WOULD_BLOCK` on one of the bridge's own threads. A close
/// waits for a flush in progress.
///
/// # Safety
/// `bridge` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_bridge_flush(
    bridge: *mut charter_bridge_t,
    timeout_ms: u32,
) -> charter_status_t {
    call(|| {
        let handle = bridge_arg(bridge)?;
        handle.0.running(|b| b.flush(Duration::from_millis(u64::from(timeout_ms))))
    })
}

/// Writes whether the bridge is connected to a NATS server now to
/// `out_connected`.
///
/// # Safety
/// `out_connected` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bridge_is_connected(
    bridge: *mut charter_bridge_t,
    out_connected: *mut bool,
) -> charter_status_t {
    call(|| out!(out_connected)?.put(bridge_arg(bridge)?.0.running(|b| Ok(b.is_connected()))?))
}

/// Writes what the bridge carried and dropped so far to `out`.
/// `CHARTER_E_CLOSED` once the bridge is closed.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bridge_stats(
    bridge: *mut charter_bridge_t,
    out: *mut charter_bridge_stats_t,
) -> charter_status_t {
    call(|| out!(out)?.put(bridge_arg(bridge)?.0.running(|b| Ok(charter_bridge_stats_t::from(b.stats())))?))
}

/// Stops carrying, sends what the client still buffers (for up to a
/// second) and closes the connection; later calls on the bridge fail with
/// `CHARTER_E_CLOSED`, and a second close does nothing. The handle stays
/// yours to free.
///
/// # Safety
/// `bridge` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_bridge_close(bridge: *mut charter_bridge_t) -> charter_status_t {
    call(|| {
        bridge_arg(bridge)?.0.close();
        Ok(())
    })
}

/// Frees a bridge, closing it first if it still runs. NULL is a no-op; a
/// second free returns `CHARTER_E_ALREADY_FREED`.
///
/// # Safety
/// `bridge` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_bridge_free(bridge: *mut charter_bridge_t) -> charter_status_t {
    call(|| free_handle!(bridge))
}
