//! `charter_client_recv_into`: a batch of messages written into the
//! caller's buffer, with no allocation handed to C and nothing to free. A
//! binding that copies each message into its own values anyway (Go) saves
//! the `charter_message_t` per message of `charter_client_recv_many` and
//! the second call that frees them.
//!
//! Which messages are taken is the core's (`try_recv_many_while`): a
//! message is taken only if it fits in what is left of the buffer, so one
//! that does not stays queued for the next receive. Each message is copied
//! into the buffer as the core offers it, in the one look at it that
//! decides whether it fits: under the subscription's lock, a copy bounded
//! by the caller's buffer, where a second pass after the take read every
//! message again (about 60 instructions a message).
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
        let mut copier = Copier { buf, entries, at: 0, count: 0, topic: None, refused: None };
        let taken = sub.try_recv_many_while(&mut messages, max, |m| copier.copy(m));
        // Copied out: their bodies go back to the pool together.
        Message::drop_all(&mut messages);
        keep_taken_vec(messages);
        let taken = taken?;
        debug_assert_eq!(taken, copier.count, "the core takes exactly the messages that fit");
        if taken == 0 {
            return Err(match copier.refused {
                Some(need) => too_big(need, copier.buf.len()),
                None => Error::new(ErrorKind::WouldBlock, "no message is queued"),
            });
        }
        out_more.write(copier.refused.is_some());
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

/// Copies the messages the core offers into the caller's buffer, one
/// after the other, each described by the next entry, while they fit.
struct Copier<'a> {
    buf: &'a mut [MaybeUninit<u8>],
    entries: &'a mut [MaybeUninit<charter_received_t>],
    /// How many bytes of `buf` are written.
    at: usize,
    /// How many entries are written.
    count: usize,
    /// The last copied message's topic: its address (the bus's shared
    /// string for a route, compared first) and where its bytes are in
    /// `buf`.
    topic: Option<(*const str, usize, usize)>,
    /// The size of the message that did not fit.
    refused: Option<usize>,
}

impl Copier<'_> {
    /// Copies `message` when it fits in what is left (the core then takes
    /// it); else records its size and refuses it.
    fn copy(&mut self, message: &Message) -> bool {
        let topic = message.topic();
        let shared = self.shared_topic(topic);
        let payload = message.payload();
        let headers = message.headers();
        let header_count = headers.len();
        // Most messages have none: their iterator is not walked.
        let headers_len: usize =
            if header_count == 0 { 0 } else { message.headers().map(|(k, v)| k.len() + v.len() + 2).sum() };
        let reply_to = message.reply_to();
        let need = shared
            .map_or(topic.len() + 1, |_| 0)
            .saturating_add(payload.len())
            .saturating_add(headers_len)
            .saturating_add(reply_to.map_or(0, |r| r.len() + 1));
        // The core offers at most `max` messages, the entries' count.
        if self.count == self.entries.len() {
            return false;
        }
        if need > self.buf.len() - self.at {
            self.refused = Some(need);
            return false;
        }
        let topic_offset = match shared {
            Some(offset) => offset,
            None => {
                let offset = self.text(topic);
                self.topic = Some((topic, offset, topic.len()));
                offset
            }
        };
        let payload_offset = self.bytes(payload);
        let headers_offset = self.at;
        if header_count > 0 {
            for (name, value) in headers {
                self.text(name);
                self.text(value);
            }
        }
        let (reply_to_offset, reply_to_len) = match reply_to {
            Some(reply) => (self.text(reply), reply.len()),
            None => (0, 0),
        };
        self.entries[self.count].write(charter_received_t {
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
        });
        self.count += 1;
        true
    }

    /// The offset of the last copied topic when `topic` is the same: the
    /// same shared string, or else the same bytes.
    fn shared_topic(&self, topic: &str) -> Option<usize> {
        let (address, offset, len) = self.topic?;
        if std::ptr::eq(address, topic) {
            return Some(offset);
        }
        let written = &self.buf[offset..offset + len];
        // SAFETY: `text` wrote these `len` bytes in this call (the
        // `MaybeUninit<u8>` slots are initialized), and `u8` has their
        // layout.
        let bytes = unsafe { std::slice::from_raw_parts(written.as_ptr().cast::<u8>(), len) };
        (bytes == topic.as_bytes()).then_some(offset)
    }

    /// Writes `bytes` at the current offset, which the caller has checked
    /// has room for them; returns it.
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
