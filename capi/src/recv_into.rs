//! `charter_client_recv_into`: a batch of messages written into the
//! caller's buffer, with no allocation handed to C and nothing to free. A
//! binding that copies each message into its own values anyway (Go) saves
//! the `charter_message_t` per message of `charter_client_recv_many` and
//! the second call that frees them.
//!
//! Which messages are taken is the core's (`try_recv_many_while`): a
//! message is taken only if it fits in what is left of the buffer, so one
//! that does not stays queued for the next receive.
//!
//! A call allocates nothing once its thread has made one: the messages it
//! takes from the core pass through a vector the thread keeps (`TAKEN`),
//! and each message's parts are copied with one `memcpy` each.

use std::cell::Cell;
use std::mem::MaybeUninit;

use charter_core::bus::{Message, SubscriptionId};
use charter_core::{Error, ErrorKind};

use crate::args::{any_length, arg_slice, at_least_one};
use crate::batch::CHARTER_BATCH_MAX;
use crate::client::{charter_client_t, client_arg};
use crate::firewall::call;
use crate::out::{opt_out, out};
use crate::status::charter_status_t;

/// One message of `charter_client_recv_into`: its sequence number, and
/// where its topic, payload, headers and reply inbox sit in the caller's
/// buffer, as byte offsets from its start.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct charter_received_t {
    /// The bus-wide sequence number, increasing in publish order.
    pub seq: u64,
    /// The topic's offset; it is NUL-terminated. Consecutive messages with
    /// the same topic share its bytes (the same offset), written once.
    pub topic_offset: usize,
    /// The topic's length, without its NUL.
    pub topic_len: usize,
    /// The payload's offset (its bytes are not NUL-terminated).
    pub payload_offset: usize,
    /// The payload's length in bytes.
    pub payload_len: usize,
    /// The headers' offset: `header_count` pairs, each a NUL-terminated
    /// name then a NUL-terminated value, in the order they were published.
    pub headers_offset: usize,
    /// The bytes the headers take, NULs included (0 when none).
    pub headers_len: usize,
    /// How many headers there are.
    pub header_count: usize,
    /// The reply inbox's offset, NUL-terminated, when the message is a
    /// request (`reply_to_len` is then not 0).
    pub reply_to_offset: usize,
    /// The reply inbox's length without its NUL; 0 when the message is
    /// not a request (an inbox is never empty).
    pub reply_to_len: usize,
}

/// Takes, without waiting, the messages queued on subscription `id`, up to
/// `max`, in order, as long as each fits in what is left of the `buf_len`
/// bytes at `buf`: each message's topic, payload, headers and reply inbox
/// are copied there and described by `out_entries[i]`. Writes how many to
/// `out_count` and, when `out_more` is not NULL, whether the batch stopped
/// at a message that did not fit (it stays queued: receive again).
///
/// A message takes its topic's length plus one (unless it shares the
/// previous message's topic), its payload's length, its headers' lengths
/// plus two per header, and its reply inbox's length plus one. Fails with
/// `CHARTER_E_WOULD_BLOCK` when nothing is queued; with
/// `CHARTER_E_LIMIT_EXCEEDED`, consuming nothing, when the next message
/// alone does not fit in `buf_len` bytes (receive it with
/// `charter_client_recv_many` or a larger buffer); as
/// `charter_client_recv` does once the subscription has ended and nothing
/// is left. `max` must be between 1 and `CHARTER_BATCH_MAX`. To wait for
/// messages first, watch the subscription (`charter_client_watch_fd`,
/// `charter_client_watch`): this call never waits.
///
/// # Safety
/// `buf` must be NULL (with `buf_len` 0) or valid for writing `buf_len`
/// bytes; `out_entries` NULL or valid for writing `max` entries;
/// `out_count` and `out_more` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_client_recv_into(
    client: *mut charter_client_t,
    id: u64,
    buf: *mut u8,
    buf_len: usize,
    out_entries: *mut charter_received_t,
    max: usize,
    out_count: *mut usize,
    out_more: *mut bool,
) -> charter_status_t {
    call(|| {
        let out_count = out!(out_count)?;
        let out_more = opt_out!(out_more);
        at_least_one("max", max)?;
        // `max` is checked against its limit first.
        let entries = arg_slice!(mut out_entries, max, max CHARTER_BATCH_MAX)?;
        let buf = arg_slice!(mut buf, buf_len, any_length)?;
        let sub = client_arg(client)?.subscription(SubscriptionId::from_raw(id))?;
        let mut messages = taken_vec();
        let mut room = Room::new(buf.len());
        let taken = sub.try_recv_many_while(&mut messages, max, |m| room.take(m));
        let mut writer = Writer { buf, at: 0, topic: None };
        for (slot, message) in entries.iter_mut().zip(&messages) {
            slot.write(writer.message(message));
        }
        // Copied out: their bodies go back to the pool together.
        Message::drop_all(&mut messages);
        keep_taken_vec(messages);
        let taken = taken?;
        if taken == 0 {
            return Err(match room.refused {
                Some(need) => too_big(need, buf.len()),
                None => Error::new(ErrorKind::WouldBlock, "no message is queued"),
            });
        }
        out_more.write(room.refused.is_some());
        out_count.put(taken)
    })
}

/// The most messages the vector `TAKEN` keeps room for between calls: a
/// batch of thousands does not keep its vector's memory on its thread.
const TAKEN_KEPT: usize = 1024;

thread_local! {
    /// The vector each call takes its messages into, empty between calls,
    /// kept so that a call does not allocate one. A call takes it out of
    /// the cell for its duration, so a panic inside drops it as any local.
    static TAKEN: Cell<Vec<Message>> = const { Cell::new(Vec::new()) };
}

/// The thread's kept vector, or a new one when the thread is shutting down
/// (a call from a thread-local destructor) or another call has it.
fn taken_vec() -> Vec<Message> {
    TAKEN.try_with(Cell::take).unwrap_or_default()
}

/// Gives back the empty `messages` for the thread's next call, unless it
/// grew past [`TAKEN_KEPT`] or the thread is shutting down.
fn keep_taken_vec(messages: Vec<Message>) {
    if messages.capacity() <= TAKEN_KEPT {
        // Fails only once the thread's locals are gone: then it is freed.
        let _ = TAKEN.try_with(|kept| kept.set(messages));
    }
}

/// The bytes `message` takes in the buffer; its topic's only when it does
/// not share the previous message's.
fn size_of(message: &Message, shares_topic: bool) -> usize {
    let topic = if shares_topic { 0 } else { message.topic().len() + 1 };
    let headers = message.headers();
    // Most messages have none: their iterator is not walked.
    let headers: usize =
        if headers.len() == 0 { 0 } else { headers.map(|(k, v)| k.len() + v.len() + 2).sum() };
    let reply = message.reply_to().map_or(0, |r| r.len() + 1);
    topic.saturating_add(message.payload().len()).saturating_add(headers).saturating_add(reply)
}

/// Whether two topics are the same: mostly the same shared string (the
/// bus's route for a topic), so the bytes are compared only otherwise.
fn same_topic(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// What is left of the buffer while the core offers messages, and the
/// size of the first it refused.
struct Room {
    left: usize,
    /// The last taken message's topic: where it was, compared first, and
    /// a copy, since the message itself moves on.
    last: Option<*const str>,
    topic: String,
    refused: Option<usize>,
}

impl Room {
    fn new(len: usize) -> Room {
        Room { left: len, last: None, topic: String::new(), refused: None }
    }

    /// Whether `message` fits in what is left; counts it when it does.
    fn take(&mut self, message: &Message) -> bool {
        let topic = message.topic();
        let same = self.last.is_some_and(|last| std::ptr::eq(last, topic) || self.topic == topic);
        let need = size_of(message, same);
        if need > self.left {
            self.refused = Some(need);
            return false;
        }
        self.left -= need;
        if !same {
            self.topic.clear();
            self.topic.push_str(topic);
        }
        self.last = Some(topic);
        true
    }
}

/// Writes messages one after the other into the caller's buffer, whose
/// room [`Room`] has already counted, by the same rule.
struct Writer<'a> {
    buf: &'a mut [MaybeUninit<u8>],
    at: usize,
    /// The previous message's topic, its offset and length.
    topic: Option<(&'a str, usize)>,
}

impl<'a> Writer<'a> {
    /// Writes `message`, sharing the previous message's topic when it is
    /// the same.
    fn message(&mut self, message: &'a Message) -> charter_received_t {
        let topic = message.topic();
        let topic_offset = match self.topic {
            Some((previous, offset)) if same_topic(previous, topic) => offset,
            _ => self.text(topic),
        };
        self.topic = Some((topic, topic_offset));
        let payload = message.payload();
        let payload_offset = self.bytes(payload);
        let headers_offset = self.at;
        let headers = message.headers();
        let header_count = headers.len();
        if header_count > 0 {
            for (name, value) in headers {
                self.text(name);
                self.text(value);
            }
        }
        let headers_len = self.at - headers_offset;
        let (reply_to_offset, reply_to_len) = match message.reply_to() {
            Some(reply) => (self.text(reply), reply.len()),
            None => (0, 0),
        };
        charter_received_t {
            seq: message.seq(),
            topic_offset,
            topic_len: topic.len(),
            payload_offset,
            payload_len: payload.len(),
            headers_offset,
            headers_len,
            header_count,
            reply_to_offset,
            reply_to_len,
        }
    }

    /// Writes `bytes` at the current offset; returns it.
    fn bytes(&mut self, bytes: &[u8]) -> usize {
        let at = self.at;
        let end = at + bytes.len();
        let slots = &mut self.buf[at..end];
        // SAFETY: `slots` is exactly `bytes.len()` bytes of the caller's
        // buffer, writable (a `MaybeUninit<u8>` slot takes any byte), and
        // does not overlap `bytes`, which the core's message owns. One
        // copy: a loop writing each slot was not made into one (about 40
        // instructions for a 16-byte payload); `write_copy_of_slice` is
        // past this crate's minimum Rust.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), slots.as_mut_ptr().cast::<u8>(), bytes.len())
        };
        self.at = end;
        at
    }

    /// Writes `text` and a NUL; returns its offset.
    fn text(&mut self, text: &str) -> usize {
        let at = self.bytes(text.as_bytes());
        self.bytes(&[0]);
        at
    }
}

#[cold]
#[inline(never)]
fn too_big(need: usize, len: usize) -> Error {
    Error::new(
        ErrorKind::LimitExceeded,
        format!("the next message needs {need} bytes of buf; buf_len is {len}; nothing was received"),
    )
}
