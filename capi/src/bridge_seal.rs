//! `charter_bridge_seal` and `charter_bridge_seal_batch`: messages sealed
//! as an exporting bridge seals them, with the envelope's origin, sequence
//! numbers and time given.
//!
//! Ed25519 is deterministic, so the proof of a given message is fixed:
//! this is how C, which has no Ed25519 of its own, checks that sealing
//! gives exactly the proofs of vectors/bridge/messages.json, and how a
//! program that talks to NATS itself seals what it sends, one message at a
//! time or many under one signature (docs/formats.md, "Signed batches").
//! The signing is the `charter-bridge` crate's own (`Sealer::seal_at`,
//! `Sealer::seal_batch_at`); nothing of the format is restated here.

use std::ffi::c_char;
use std::sync::Arc;

use ::charter_bridge::{batch, wire, Credentials, Sealer, Unsealed};
use charter_core::capability::KeyPair;
use charter_core::Error;

use crate::args::{
    any_length, arg_bytes, arg_item, arg_name, arg_opt_str, arg_slice, arg_str, at_least_one, at_most,
    charter_header_t, headers_arg, named_headers_arg,
};
use crate::bridge::CHARTER_BRIDGE_MAX_ENTRIES;
use crate::capability::{charter_keypair_t, charter_token_t};
use crate::firewall::call;
use crate::handle::{borrow, clone_handle};
use crate::out::out;
use crate::status::charter_status_t;
use crate::strings::c_string;

/// The most messages `charter_bridge_seal_batch` seals under one
/// signature: as many as a receiving bridge accepts in one batch (an
/// exporting bridge seals at most 64 together).
pub const CHARTER_BRIDGE_MAX_BATCH: usize = 256;

// The limit is the bridge's, spelled as a literal for the header.
const _: () = assert!(CHARTER_BRIDGE_MAX_BATCH as u64 == batch::MAX_BATCH);

/// One message of a batch to seal: the message arguments of
/// `charter_bridge_seal`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_bridge_unsealed_t {
    /// The NATS subject it is sent on.
    pub subject: *const c_char,
    /// Its reply subject, or NULL for none.
    pub reply: *const c_char,
    /// Its headers (envelope headers among them are ignored), or NULL with
    /// `header_count` 0.
    pub headers: *const charter_header_t,
    /// How many headers, at most `CHARTER_BRIDGE_MAX_ENTRIES`.
    pub header_count: usize,
    /// Its payload, or NULL with `payload_len` 0.
    pub payload: *const u8,
    /// The payload's length in bytes.
    pub payload_len: usize,
}

/// The sealer of `token`'s holder `holder` for the origin id `origin`.
fn sealer(
    token: *mut charter_token_t,
    holder: *mut charter_keypair_t,
    origin: &str,
) -> Result<Sealer, Error> {
    let origin = wire::parse_hex16(origin)?;
    let token = clone_handle!(token)?;
    let key = borrow!(holder, |k| KeyPair::from_pkcs8(k.to_pkcs8()))?;
    Sealer::new(origin, &Credentials { token, key: Arc::new(key) })
}

/// Seals one message as `token`'s holder, as a bridge with that token and
/// key seals what it exports, and writes its `Charter-Proof` value
/// (base64url, no padding) to `out_proof`; free it with
/// `charter_string_free`.
///
/// The message is its `subject`, its `reply` subject (NULL for none), its
/// headers and its payload; envelope headers among `headers`
/// (`Charter-Origin`, `-Seq`, `-Time`, `-Token`, `-Proof`) are not
/// covered, and ignored. The envelope is `origin` (the sender's origin id,
/// 32 lowercase hex digits), `seq` and `time_ms` (ms since the Unix
/// epoch); the message is sent with those as `Charter-Origin`,
/// `Charter-Seq` and `Charter-Time` (decimal), the token's text
/// (`charter_token_to_text`) as `Charter-Token`, and the proof. A receiver
/// refuses a sequence number it saw before from the same origin, and a
/// time outside its skew window (docs/formats.md, "NATS bridge message
/// authentication").
///
/// Fails with `CHARTER_E_INVALID_ARGUMENT` when `holder` is not the
/// token's subject, `CHARTER_E_MALFORMED` for a bad `origin`,
/// `CHARTER_E_LIMIT_EXCEEDED` for a string longer than 65,535 bytes or
/// more than `CHARTER_BRIDGE_MAX_ENTRIES` headers.
///
/// # Safety
/// `token` and `holder` must be NULL or pointers obtained from Charter;
/// `origin`, `subject` and `reply` NULL or NUL-terminated; `headers` NULL
/// (with `header_count` 0) or `header_count` headers with valid strings;
/// `payload` NULL (with `payload_len` 0) or valid for reading
/// `payload_len` bytes; `out_proof` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_bridge_seal(
    token: *mut charter_token_t,
    holder: *mut charter_keypair_t,
    origin: *const c_char,
    seq: u64,
    time_ms: u64,
    subject: *const c_char,
    reply: *const c_char,
    headers: *const charter_header_t,
    header_count: usize,
    payload: *const u8,
    payload_len: usize,
    out_proof: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        let out_proof = out!(out_proof)?;
        let origin = arg_str!(origin)?;
        let subject = arg_str!(subject)?;
        let reply = arg_opt_str!(reply)?;
        // SAFETY: the caller's contract on `headers`.
        let headers = unsafe {
            headers_arg(headers, header_count, |n| at_most(CHARTER_BRIDGE_MAX_ENTRIES, "headers", n))?
        };
        let payload = arg_bytes!(payload, payload_len)?;
        let sealer = sealer(token, holder, origin)?;
        out_proof.put(sealer.seal_at(seq, time_ms, subject, reply, &headers, payload)?.proof)
    })
}

/// Seals the `count` messages at `messages` together as `token`'s holder,
/// as a bridge with that token and key seals what it exports at once: one
/// Ed25519 signature over the root of a Merkle tree of the messages
/// (docs/formats.md, "Signed batches"). Message `i` has the sequence
/// number `first_seq + i`; all have the time `time_ms` and the origin
/// `origin`, as for `charter_bridge_seal`.
///
/// Writes the signature, every message's `Charter-Proof` value, to
/// `out_proof`, and message `i`'s `Charter-Batch` value (its place in the
/// batch) to `out_batches[i]`; free each string with `charter_string_free`.
/// Send message `i` with `Charter-Origin`, `Charter-Seq` (`first_seq + i`),
/// `Charter-Time`, `Charter-Token` (`charter_token_to_text`),
/// `Charter-Proof` and `Charter-Batch`. A batch of one is sealed alone,
/// exactly as `charter_bridge_seal` seals it: its proof is the message's
/// own and `out_batches[0]` is NULL (send no `Charter-Batch`).
///
/// Every message is checked before anything is written: a failure writes
/// nothing and names the message (`messages[2].subject`). Fails with
/// `CHARTER_E_INVALID_ARGUMENT` for `count` 0, when `holder` is not the
/// token's subject, or when a sequence number would pass `UINT64_MAX`;
/// `CHARTER_E_LIMIT_EXCEEDED` for more than `CHARTER_BRIDGE_MAX_BATCH`
/// messages, a string longer than 65,535 bytes or more than
/// `CHARTER_BRIDGE_MAX_ENTRIES` headers in a message; `CHARTER_E_MALFORMED`
/// for a bad `origin`.
///
/// # Safety
/// `token` and `holder` must be NULL or pointers obtained from Charter;
/// `origin` NULL or NUL-terminated; `messages` NULL (with `count` 0) or
/// valid for reading `count` messages, each valid as
/// `charter_bridge_unsealed_t` documents; `out_proof` NULL or valid for
/// writing; `out_batches` NULL or valid for writing `count` pointers.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn charter_bridge_seal_batch(
    token: *mut charter_token_t,
    holder: *mut charter_keypair_t,
    origin: *const c_char,
    first_seq: u64,
    time_ms: u64,
    messages: *const charter_bridge_unsealed_t,
    count: usize,
    out_proof: *mut *mut c_char,
    out_batches: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        let out_proof = out!(out_proof)?;
        at_least_one("count", count)?;
        // Both counts are checked against the limit before anything is read.
        let items = arg_slice!(messages, count, max CHARTER_BRIDGE_MAX_BATCH)?;
        let slots = arg_slice!(mut out_batches, count, max CHARTER_BRIDGE_MAX_BATCH)?;
        let origin = arg_str!(origin)?;
        // Each message's headers, read first: the messages borrow them.
        let mut headers = Vec::with_capacity(count);
        for (i, message) in items.iter().enumerate() {
            let at = arg_item!(messages[i]);
            let name = arg_name!(at => message.headers);
            // SAFETY: the caller's contract on each message's headers.
            headers.push(unsafe {
                named_headers_arg(message.headers, message.header_count, name, |n| {
                    at_most(CHARTER_BRIDGE_MAX_ENTRIES, name, n)
                })?
            });
        }
        let mut unsealed = Vec::with_capacity(count);
        for (i, (message, headers)) in items.iter().zip(&headers).enumerate() {
            let at = arg_item!(messages[i]);
            unsealed.push(Unsealed {
                subject: arg_str!(at => message.subject)?,
                reply: arg_opt_str!(at => message.reply)?,
                headers,
                payload: arg_slice!([at => message.payload], message.payload_len, any_length)?,
            });
        }
        let sealer = sealer(token, holder, origin)?;
        let mut seals = Vec::with_capacity(count);
        for (i, sealed) in sealer.seal_batch_at(first_seq, time_ms, &unsealed).into_iter().enumerate() {
            seals.push(sealed.map_err(|e| Error::new(e.kind(), format!("messages[{i}]: {}", e.message())))?);
        }
        for (slot, seal) in slots.iter_mut().zip(&mut seals) {
            slot.write(seal.batch.take().map_or(std::ptr::null_mut(), |place| c_string(place).into_raw()));
        }
        out_proof.put(std::mem::take(&mut seals[0].proof))
    })
}
