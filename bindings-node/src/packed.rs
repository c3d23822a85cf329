//! A batch of received messages handed to JS in one call (`recvMany`).
//!
//! Making a `Message` here costs a call from Rust into JS per message
//! (`src/message.rs`), which is most of what a batch costs on the way out.
//! So the parts of a batch are written into one buffer JS owns
//! (`lib/message.js`'s `unpack`), and JS makes the `Message`s itself, in
//! JIT-compiled code, with no crossing per message.
//!
//! The buffer starts with [`HEADER`] numbers (native-endian `f64`): how
//! many messages were taken and how many payload bytes were written; then
//! [`PER_MESSAGE`] numbers for each message: its sequence number, its
//! payload's length (`-1` when its item is a ready-made `Message`) and the
//! index of its item. The payloads follow the room for the numbers of
//! `max` messages (`max` as asked for), one after another.
//!
//! The items returned are the topics, one string per run of messages with
//! the same topic, so a subscription to one topic makes one string per
//! batch; and a `Message` made the per-message way for each message with
//! headers or a reply inbox, or whose payload does not fit in what is
//! left of the buffer, all rare on a hot path.

use charter_core::bus::Message;
use napi::bindgen_prelude::{Either, Env, Unknown};

use crate::message::Converter;

/// Numbers before the first message's: the count, then the bytes used.
pub const HEADER: usize = 2;

/// Numbers per message: sequence number, payload length, item index.
pub const PER_MESSAGE: usize = 3;

/// What one batch hands JS besides the buffer: topics and ready-made messages.
pub type Items = Vec<Either<String, Unknown<'static>>>;

/// Where the payloads start in the buffer of a batch of up to `max`.
pub fn payloads_start(max: usize) -> usize {
    PER_MESSAGE.saturating_mul(max).saturating_add(HEADER).saturating_mul(8)
}

/// Writes `messages`, taken for a batch of up to `max`, into `buffer` as
/// the module docs say, and returns the items. `buffer` must have room for
/// the numbers of `max` messages (`payloads_start(max)` bytes).
pub fn pack(
    env: &Env,
    converter: &Converter,
    messages: &[Message],
    max: usize,
    buffer: &mut [u8],
) -> napi::Result<Items> {
    let (numbers, bytes) = buffer.split_at_mut(payloads_start(max));
    let mut items = Items::new();
    // The topic of the last item, while that item is a topic.
    let mut run: Option<&str> = None;
    let mut used = 0;
    for (i, m) in messages.iter().enumerate() {
        let payload = m.payload();
        let fits = payload.len() <= bytes.len() - used;
        let length = if fits && m.headers().len() == 0 && m.reply_to().is_none() {
            bytes[used..used + payload.len()].copy_from_slice(payload);
            used += payload.len();
            if run != Some(m.topic()) {
                items.push(Either::A(m.topic().to_owned()));
                run = Some(m.topic());
            }
            payload.len() as f64
        } else {
            items.push(Either::B(converter.to_js(env, m)?));
            run = None;
            -1.0
        };
        // Exact up to 2^53: about 285 years at a million publishes a second.
        let at = HEADER + PER_MESSAGE * i;
        write(numbers, at, [m.seq() as f64, length, (items.len() - 1) as f64]);
    }
    write(numbers, 0, [messages.len() as f64, used as f64]);
    Ok(items)
}

/// Writes `values` as native-endian `f64`s from the `at`th number on.
fn write<const N: usize>(numbers: &mut [u8], at: usize, values: [f64; N]) {
    for (k, value) in values.into_iter().enumerate() {
        let start = 8 * (at + k);
        numbers[start..start + 8].copy_from_slice(&value.to_ne_bytes());
    }
}
