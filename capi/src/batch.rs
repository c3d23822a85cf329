//! `charter_client_publish_many` and `charter_client_recv_many`: many
//! messages in one C call, which is what a batch is for (one handle check
//! and one panic boundary instead of one per message). The core decides
//! what a batch means (`charter_core::bus::BatchError`): each message is
//! published exactly as `charter_client_publish` publishes one, in order,
//! and a batch stops at the first message that fails.

use std::ffi::c_char;
use std::sync::Arc;

use charter_core::bus::{SubscriptionId, COPY_KEEP};
use charter_core::Error;

use crate::args::{
    arg_slice, arg_str, at_least_one, bus_headers, charter_header_t, headers_arg, PayloadsArg,
};
use crate::bus::charter_publish_report_t;
use crate::bus::timeout_arg;
use crate::client::{charter_client_t, client_arg};
use crate::firewall::call;
use crate::message::{charter_message_t, OwnedMessage};
use crate::out::{opt_out, out};
use crate::status::charter_status_t;

/// The most messages one batch call publishes or receives.
pub const CHARTER_BATCH_MAX: usize = 65_536;

/// One payload of a batch: `len` bytes at `data` (NULL when `len` is 0).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_payload_t {
    /// The payload's bytes.
    pub data: *const u8,
    /// How many.
    pub len: usize,
}

/// Publishes the `count` payloads at `payloads` on `topic`, each with the
/// same `headers`, in order, each exactly as `charter_client_publish`
/// would (the same checks, grants, audit record and overflow policies).
///
/// Every argument is checked before anything is published: a bad topic,
/// header or payload (NULL with a length, or longer than the bus's
/// `max_payload`), or more than `CHARTER_BATCH_MAX` payloads, fails with
/// nothing published. After that, the first message that fails stops the
/// batch with its status; `out_published` (when not NULL) then receives
/// how many messages before it were published, and `out_report` (when not
/// NULL) their reports added up. On success they receive `count` and the
/// reports of every message added up.
///
/// Charter keeps one copy of each payload: in a buffer its message keeps
/// from one publish to the next when every payload of the batch is at most
/// 1 KiB, else in one of its own, where consecutive payloads at the same
/// address with the same length (one buffer repeated) share one.
///
/// # Safety
/// `topic` must be a NUL-terminated string; `payloads` NULL (with `count`
/// 0) or valid for `count` payloads, each valid for its `len` bytes;
/// `headers` NULL (with `header_count` 0) or valid for `header_count`
/// headers; `out_published` and `out_report` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_client_publish_many(
    client: *mut charter_client_t,
    topic: *const c_char,
    payloads: *const charter_payload_t,
    count: usize,
    headers: *const charter_header_t,
    header_count: usize,
    out_published: *mut usize,
    out_report: *mut charter_publish_report_t,
) -> charter_status_t {
    call(|| {
        let out_published = opt_out!(out_published);
        let out_report = opt_out!(out_report);
        let client = client_arg(client)?;
        let topic = arg_str!(topic)?;
        // The count is checked against its limit before any is read.
        let items = arg_slice!(payloads, count, max CHARTER_BATCH_MAX)?;
        // SAFETY: the caller's contract on each payload; each length is
        // checked against the bus's limit first.
        let bodies = unsafe { PayloadsArg::new(items, |n| client.limits().check_payload(n))? };
        // SAFETY: the caller's contract on `headers`.
        let headers =
            unsafe { headers_arg(headers, header_count, bus_headers(client.limits().max_headers))? };
        // Small payloads are copied into buffers the core's pooled bodies
        // keep, without an allocation each; a batch with a longer one keeps
        // a shared copy of each payload, one for a buffer repeated.
        let outcome = if bodies.longest() <= COPY_KEEP {
            client.publish_many_copied(topic, bodies.iter(), &headers)
        } else {
            let mut last = None;
            client.publish_many(topic, bodies.iter().map(|body| shared_copy(&mut last, body)), &headers)
        };
        let (published, report, outcome) = match outcome {
            Ok(report) => (count, report, Ok(())),
            Err(e) => (e.published, e.report, Err(Error::from(e))),
        };
        out_published.write(published);
        out_report.write(report.into());
        outcome
    })
}

/// The copy of `body` the core keeps. A payload at the same address with
/// the same length as the one before it (one buffer repeated, which the
/// call's contract keeps unchanged for the call) shares that one's copy
/// instead of making another.
fn shared_copy<'a>(last: &mut Option<(&'a [u8], Arc<[u8]>)>, body: &'a [u8]) -> Arc<[u8]> {
    if let Some((previous, copy)) = last {
        if std::ptr::eq(*previous, body) {
            return Arc::clone(copy);
        }
    }
    let copy: Arc<[u8]> = Arc::from(body);
    *last = Some((body, Arc::clone(&copy)));
    copy
}

/// Waits up to `timeout_ms` for the next message of subscription `id`, as
/// `charter_client_recv` does, then takes the messages already queued
/// behind it without waiting, up to `max` in all, and writes them in order
/// to `out_msgs[0]` .. `out_msgs[*out_count - 1]`; free each with
/// `charter_message_free`. Fails as `charter_client_recv` does when no
/// message comes (`CHARTER_E_WOULD_BLOCK`, `CHARTER_E_TIMEOUT`,
/// `CHARTER_E_CLOSED`, ...), writing nothing; `max` must be between 1 and
/// `CHARTER_BATCH_MAX` (`CHARTER_E_INVALID_ARGUMENT`,
/// `CHARTER_E_LIMIT_EXCEEDED`).
///
/// # Safety
/// `out_msgs` must be NULL or valid for writing `max` pointers;
/// `out_count` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_client_recv_many(
    client: *mut charter_client_t,
    id: u64,
    timeout_ms: u32,
    out_msgs: *mut *mut charter_message_t,
    max: usize,
    out_count: *mut usize,
) -> charter_status_t {
    call(|| {
        let out_count = out!(out_count)?;
        at_least_one("max", max)?;
        // `max` is checked against its limit first.
        let slots = arg_slice!(mut out_msgs, max, max CHARTER_BATCH_MAX)?;
        let sub = client_arg(client)?.subscription(SubscriptionId::from_raw(id))?;
        let messages = sub.recv_many(max, timeout_arg(timeout_ms))?;
        for (slot, message) in slots.iter_mut().zip(&messages) {
            slot.write(OwnedMessage::new(message).into_raw());
        }
        out_count.put(messages.len())
    })
}
