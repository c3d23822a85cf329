//! `charter_client_*`: the caller of a bus, for C.
//!
//! A client is a bus as seen by one caller: the holder of a session, or a
//! caller without one (`session` NULL). Every operation on a bus's
//! messages goes through a client, so who is calling is said once, when
//! the client is made, and the core decides every rule (see
//! `charter_core::bus::Client`):
//!
//! * on a bus made with an authority, a client without a session is
//!   refused everything with `CHARTER_E_DENIED`;
//! * a subscription made through a client (a request's reply inbox
//!   included) can be received from, inspected and ended only through a
//!   client of the same session; any other client gets
//!   `CHARTER_E_NOT_FOUND`, as for an id that does not exist;
//! * a client cannot close, free or evict the bus: hand a component a
//!   client, keep the bus.
//!
//! A client keeps its bus and session alive; freeing the bus closes it,
//! after which the client's calls fail with `CHARTER_E_CLOSED`. Calls that
//! wait never hold the client handle's guard while they wait.

use std::ffi::{c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

use charter_core::bus::{Client, Headers, Message, PublishReport, SubscribeOptions, SubscriptionId};
use charter_core::{Error, HandlerError};

use crate::args::{
    arg_bytes, arg_fn, arg_opt_struct, arg_str, arg_struct, bus_headers, charter_header_t, headers_arg,
};
use crate::bus::timeout_arg;
use crate::bus::{
    charter_bus_t, charter_message_fn, charter_publish_report_t, charter_subscribe_options_t,
    charter_subscription_stats_t,
};
use crate::capability::charter_session_t;
use crate::firewall::call;
use crate::handle::{borrow, clone_handle, free_handle, opt_clone_handle};
use crate::message::{charter_message_t, OwnedMessage};
use crate::out::{opt_out, out, OptOut};
use crate::status::{charter_status_t, CHARTER_OK};
use crate::user_data::UserData;

/// A bus as seen by one caller. Opaque; create with `charter_client_new`.
pub struct charter_client {
    _opaque: [u8; 0],
}

/// The handle type of a client.
pub type charter_client_t = charter_client;

crate::handle::handle_type!(charter_client_t owns Client, tag b"CLI1");

/// Makes a client of `bus` for the holder of `session`, or for a caller
/// without a session when `session` is NULL. Free it with
/// `charter_client_free`; it keeps the bus and the session alive until
/// then (the bus's own handle may be freed first).
///
/// # Safety
/// `bus` and `session` must be NULL or pointers obtained from Charter;
/// `out` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_client_new(
    bus: *mut charter_bus_t,
    session: *mut charter_session_t,
    out: *mut *mut charter_client_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        let session = opt_clone_handle!(session)?;
        out.write_handle(borrow!(bus, |b| Ok(b.client(session.as_ref())))?)
    })
}

/// Frees a client. Its subscriptions stay (end them first, or let the
/// session or the bus end them). NULL is a no-op; a second free returns
/// `CHARTER_E_ALREADY_FREED`.
///
/// # Safety
/// `client` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_client_free(client: *mut charter_client_t) -> charter_status_t {
    call(|| free_handle!(client))
}

/// The client behind `client`, out of its handle guard.
pub(crate) fn client_arg(client: *mut charter_client_t) -> Result<Client, Error> {
    clone_handle!(client)
}

/// Subscribes to `pattern` with a queue read by `charter_client_recv`;
/// writes the new subscription's id to `out_id`. `options` may be NULL for
/// the defaults. With a session, a `subscribe` grant must contain the
/// pattern, and the subscription ends when the session does.
///
/// # Safety
/// `pattern` must be a NUL-terminated string; `options` NULL or valid for
/// reading; `out_id` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_client_subscribe(
    client: *mut charter_client_t,
    pattern: *const c_char,
    options: *const charter_subscribe_options_t,
    out_id: *mut u64,
) -> charter_status_t {
    call(|| {
        let out_id = out!(out_id)?;
        // SAFETY: the caller's contract on `pattern` and `options`.
        let (pattern, options) = unsafe { (arg_str!(pattern)?, options_arg(options)?) };
        let id = client_arg(client)?.subscribe(pattern, options)?.detach();
        out_id.put(id.get())
    })
}

/// Subscribes to `pattern` with a callback, run on the publisher's thread or
/// on a thread of the subscription's own (`options->dispatch`). The
/// callback may be called from any thread, and may call any Charter
/// function, this bus included; a callback that publishes again nests at
/// most `CHARTER_BUS_MAX_NESTING` levels, past which the publish fails with
/// `CHARTER_E_LIMIT_EXCEEDED`. `drop_user_data` (optional) runs exactly
/// once when the subscription ends. On failure `user_data` stays yours.
///
/// # Safety
/// As `charter_client_subscribe`; `fn` and `drop_user_data` must be safe to
/// call from any thread with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn charter_client_subscribe_callback(
    client: *mut charter_client_t,
    pattern: *const c_char,
    options: *const charter_subscribe_options_t,
    r#fn: charter_message_fn,
    user_data: *mut c_void,
    drop_user_data: crate::user_data::charter_drop_fn,
    out_id: *mut u64,
) -> charter_status_t {
    call(|| {
        let call = arg_fn!(r#fn)?;
        let out_id = out!(out_id)?;
        // SAFETY: the caller's contract on `pattern` and `options`.
        let (pattern, options) = unsafe { (arg_str!(pattern)?, options_arg(options)?) };
        let client = client_arg(client)?;
        let callback = Arc::new(CCallback { call, user_data: UserData::pending(user_data, drop_user_data) });
        let handler = Arc::clone(&callback);
        let id = client.subscribe_with(pattern, options, move |m| handler.invoke(m))?.detach();
        callback.user_data.arm();
        out_id.put(id.get())
    })
}

/// Ends subscription `id`; writes whether it was live (and reachable by
/// this client) to `out_removed` (may be NULL). Queued messages are
/// counted as dropped; blocked receivers get `CHARTER_E_CLOSED`. For a
/// thread-dispatched callback this waits for a running call to return,
/// unless called from that callback.
///
/// # Safety
/// `out_removed` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_client_unsubscribe(
    client: *mut charter_client_t,
    id: u64,
    out_removed: *mut bool,
) -> charter_status_t {
    call(|| opt_out!(out_removed).put(client_arg(client)?.unsubscribe(SubscriptionId::from_raw(id))?))
}

/// Publishes `len` bytes at `payload` with `header_count` headers on
/// `topic`. Writes the outcome to `out_report` (may be NULL). With a
/// session, a `publish` grant must match the topic.
///
/// Fails before delivering anything on a bad topic, payload or headers
/// (`CHARTER_E_INVALID_ARGUMENT`, `CHARTER_E_INVALID_UTF8`,
/// `CHARTER_E_LIMIT_EXCEEDED`), a closed bus, or a publish nested more than
/// `CHARTER_BUS_MAX_NESTING` levels deep inside callbacks
/// (`CHARTER_E_LIMIT_EXCEEDED`, counted in the bus's `depth_exceeded`). A
/// subscription whose policy refuses the message makes the call fail
/// (`CHARTER_E_LIMIT_EXCEEDED`, `CHARTER_E_TIMEOUT`,
/// `CHARTER_E_WOULD_BLOCK`) after every other subscription has had it;
/// `out_report` is then left untouched.
///
/// # Safety
/// `topic` must be a NUL-terminated string; `payload` NULL (with `len` 0) or
/// valid for `len` bytes; `headers` NULL (with `header_count` 0) or valid
/// for `header_count` headers; `out_report` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_client_publish(
    client: *mut charter_client_t,
    topic: *const c_char,
    payload: *const u8,
    len: usize,
    headers: *const charter_header_t,
    header_count: usize,
    out_report: *mut charter_publish_report_t,
) -> charter_status_t {
    call(|| {
        let out_report = opt_out!(out_report);
        // SAFETY: the caller's contract on every argument.
        let message = unsafe { Outgoing::read(client, topic, payload, len, headers, header_count)? };
        message.send(out_report, |c, topic, payload, headers| c.publish_copied(topic, payload, headers))
    })
}

/// Waits up to `timeout_ms` for the next message of subscription `id` and
/// writes it to `out_msg`; free it with `charter_message_free`.
/// `CHARTER_E_WOULD_BLOCK` when `timeout_ms` is 0 and nothing is queued,
/// `CHARTER_E_TIMEOUT` when the time ran out, `CHARTER_E_CLOSED` once the
/// subscription has ended or the bus is closed (for any id then),
/// `CHARTER_E_REVOKED` or
/// `CHARTER_E_EXPIRED` once the session it was made with has ended (a
/// waiting receive wakes at once on revocation, and at the expiry
/// instant), `CHARTER_E_NOT_FOUND` for an id this client cannot reach. A
/// wait that ends without a message consumes nothing.
///
/// # Safety
/// `out_msg` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_client_recv(
    client: *mut charter_client_t,
    id: u64,
    timeout_ms: u32,
    out_msg: *mut *mut charter_message_t,
) -> charter_status_t {
    call(|| {
        let out_msg = out!(out_msg)?;
        let sub = client_arg(client)?.subscription(SubscriptionId::from_raw(id))?;
        let message = match timeout_arg(timeout_ms) {
            None => sub.recv()?,
            Some(timeout) => sub.recv_timeout(timeout)?,
        };
        out_msg.put(OwnedMessage::new(&message).into_raw())
    })
}

/// Publishes a request on `topic` and waits up to `timeout_ms` for the first
/// reply, written to `out_reply` (free it with `charter_message_free`).
/// With a session, a `request` grant must match the topic.
/// `CHARTER_E_NOT_FOUND` at once when nothing subscribes to the topic;
/// `CHARTER_E_TIMEOUT` when no reply came.
///
/// # Safety
/// As `charter_client_publish`; `out_reply` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_client_request(
    client: *mut charter_client_t,
    topic: *const c_char,
    payload: *const u8,
    len: usize,
    headers: *const charter_header_t,
    header_count: usize,
    timeout_ms: u32,
    out_reply: *mut *mut charter_message_t,
) -> charter_status_t {
    call(|| {
        let out_reply = out!(out_reply)?;
        // SAFETY: the caller's contract on every argument.
        let Outgoing { client, topic, payload, headers } =
            unsafe { Outgoing::read(client, topic, payload, len, headers, header_count)? };
        let timeout = timeout_arg(timeout_ms).unwrap_or(Duration::MAX);
        let reply = client.request(topic, payload, &headers, timeout)?;
        out_reply.put(OwnedMessage::new(&reply).into_raw())
    })
}

/// Publishes a request on `topic` without waiting for the reply: writes to
/// `out_reply_id` the subscription the reply will arrive on, which belongs
/// to this client. Wait for it like any subscription: `charter_client_recv`,
/// `charter_client_recv_cancellable`, or without a thread
/// (`charter_client_watch_fd`, `charter_client_watch`,
/// `charter_client_poll_recv`); then end it with
/// `charter_client_unsubscribe`. `CHARTER_E_NOT_FOUND` at once when nothing
/// subscribes to the topic.
///
/// # Safety
/// As `charter_client_publish`; `out_reply_id` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_client_request_start(
    client: *mut charter_client_t,
    topic: *const c_char,
    payload: *const u8,
    len: usize,
    headers: *const charter_header_t,
    header_count: usize,
    out_reply_id: *mut u64,
) -> charter_status_t {
    call(|| {
        let out_reply_id = out!(out_reply_id)?;
        // SAFETY: the caller's contract on every argument.
        let Outgoing { client, topic, payload, headers } =
            unsafe { Outgoing::read(client, topic, payload, len, headers, header_count)? };
        let replies = client.request_start(topic, payload, &headers)?.detach();
        out_reply_id.put(replies.get())
    })
}

/// Answers `request`, a message with a `reply_to` inbox (received or passed
/// to a callback). A reply needs no grant, but on a bus made with an
/// authority it needs a client with a live session. Writes the outcome to
/// `out_report` (may be NULL).
///
/// # Safety
/// `request` must be a message from Charter; the rest as
/// `charter_client_publish`.
#[no_mangle]
pub unsafe extern "C" fn charter_client_respond(
    client: *mut charter_client_t,
    request: *const charter_message_t,
    payload: *const u8,
    len: usize,
    headers: *const charter_header_t,
    header_count: usize,
    out_report: *mut charter_publish_report_t,
) -> charter_status_t {
    call(|| {
        let out_report = opt_out!(out_report);
        // A message from Charter: its reply_to is NULL or a string.
        let reply_to = arg_struct!(request)?.reply_to;
        // No inbox is the empty one, which the core refuses as a message
        // that is not a request: that rule and its words are the core's.
        let reply_to = if reply_to.is_null() { c"".as_ptr() } else { reply_to };
        // SAFETY: `reply_to` is a string of a message from Charter; the rest
        // is the caller's contract.
        let message = unsafe { Outgoing::read(client, reply_to, payload, len, headers, header_count)? };
        message.send(out_report, reply)
    })
}

/// Answers the request whose reply inbox is `inbox` (a message's
/// `reply_to`), for callers that kept only that string. Only reply inboxes
/// are accepted. Writes the outcome to `out_report` (may be NULL).
///
/// # Safety
/// `inbox` must be a NUL-terminated string; the rest as
/// `charter_client_publish`.
#[no_mangle]
pub unsafe extern "C" fn charter_client_reply(
    client: *mut charter_client_t,
    inbox: *const c_char,
    payload: *const u8,
    len: usize,
    headers: *const charter_header_t,
    header_count: usize,
    out_report: *mut charter_publish_report_t,
) -> charter_status_t {
    call(|| {
        let out_report = opt_out!(out_report);
        // SAFETY: the caller's contract on every argument.
        let message = unsafe { Outgoing::read(client, inbox, payload, len, headers, header_count)? };
        message.send(out_report, reply)
    })
}

/// Writes subscription `id`'s accounting to `out`, if this client can reach
/// it (`CHARTER_E_NOT_FOUND` otherwise; `CHARTER_E_CLOSED` for any id once
/// the bus is closed: `charter_bus_stats` keeps the totals).
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_client_subscription_stats(
    client: *mut charter_client_t,
    id: u64,
    out: *mut charter_subscription_stats_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        let stats = client_arg(client)?.subscription(SubscriptionId::from_raw(id))?.stats();
        out.put(charter_subscription_stats_t::from(stats))
    })
}

/// A C message callback with its user data. Once the subscription exists,
/// dropping it runs `drop_user_data`; a subscription that failed to start
/// leaves `user_data` to the caller.
struct CCallback {
    call: unsafe extern "C" fn(*mut c_void, *const charter_message_t) -> charter_status_t,
    user_data: UserData,
}

impl CCallback {
    fn invoke(&self, message: &Message) -> Result<(), HandlerError> {
        let owned = OwnedMessage::new(message);
        // SAFETY: the caller registered `call` for exactly this use; the
        // message outlives the call.
        let status = unsafe { (self.call)(self.user_data.get(), owned.public()) };
        if status == CHARTER_OK {
            Ok(())
        } else {
            Err(HandlerError)
        }
    }
}

/// The arguments shared by every call that sends a message.
struct Outgoing<'a> {
    client: Client,
    topic: &'a str,
    payload: &'a [u8],
    headers: Vec<(&'a str, &'a str)>,
}

impl<'a> Outgoing<'a> {
    /// Reads and checks them; the client comes out of its handle guard, so
    /// a call that then waits does not hold the guard.
    ///
    /// # Safety
    /// `topic` must be a NUL-terminated string, `payload` NULL (with `len`
    /// 0) or valid for `len` bytes, `headers` NULL (with `header_count` 0)
    /// or valid for `header_count` headers, all for the duration of the call.
    unsafe fn read(
        client: *mut charter_client_t,
        topic: *const c_char,
        payload: *const u8,
        len: usize,
        headers: *const charter_header_t,
        header_count: usize,
    ) -> Result<Outgoing<'a>, Error> {
        let client = client_arg(client)?;
        // The payload's length is checked against the bus's limit first.
        let (topic, payload) =
            (arg_str!(topic)?, arg_bytes!(payload, len, |n| client.limits().check_payload(n))?);
        // SAFETY: the caller's contract on `headers`.
        let headers =
            unsafe { headers_arg(headers, header_count, bus_headers(client.limits().max_headers))? };
        Ok(Outgoing { client, topic, payload, headers })
    }

    /// Sends the message with `how` (a publish or a reply) and writes the
    /// report to `out_report` when asked: the end of every export that
    /// sends one message and reports on it.
    fn send(
        self,
        out_report: OptOut<charter_publish_report_t>,
        how: impl FnOnce(&Client, &str, &[u8], Headers<'_>) -> Result<PublishReport, Error>,
    ) -> Result<(), Error> {
        out_report.put(charter_publish_report_t::from(how(
            &self.client,
            self.topic,
            self.payload,
            &self.headers,
        )?))
    }
}

/// For [`Outgoing::send`]: an answer to a request, on its reply inbox.
fn reply(client: &Client, inbox: &str, payload: &[u8], headers: Headers<'_>) -> Result<PublishReport, Error> {
    client.reply(inbox, payload, headers)
}

/// The options at `ptr`, or the defaults when NULL.
///
/// # Safety
/// `ptr` must be NULL or valid for reading.
unsafe fn options_arg(options: *const charter_subscribe_options_t) -> Result<SubscribeOptions, Error> {
    arg_opt_struct!(options)?.map_or_else(|| Ok(SubscribeOptions::default()), |o| o.to_core())
}
