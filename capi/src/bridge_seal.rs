//! `charter_bridge_seal`: one message sealed as an exporting bridge seals
//! it, with the envelope's origin, sequence number and time given.
//!
//! Ed25519 is deterministic, so the proof of a given message is fixed:
//! this is how C, which has no Ed25519 of its own, checks that sealing
//! gives exactly the proofs of vectors/bridge/messages.json, and how a
//! program that talks to NATS itself seals what it sends. The signing is
//! the `charter-bridge` crate's own (`Sealer::seal_at`); nothing of the
//! format is restated here.

use std::ffi::c_char;
use std::sync::Arc;

use ::charter_bridge::{wire, Credentials, Sealer};
use charter_core::capability::KeyPair;

use crate::args::{arg_bytes, arg_opt_str, arg_str, at_most, charter_header_t, headers_arg};
use crate::bridge::CHARTER_BRIDGE_MAX_ENTRIES;
use crate::capability::{charter_keypair_t, charter_token_t};
use crate::firewall::call;
use crate::handle::{borrow, clone_handle};
use crate::out::out;
use crate::status::charter_status_t;

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
        let origin = wire::parse_hex16(arg_str!(origin)?)?;
        let subject = arg_str!(subject)?;
        let reply = arg_opt_str!(reply)?;
        // SAFETY: the caller's contract on `headers`.
        let headers = unsafe {
            headers_arg(headers, header_count, |n| at_most(CHARTER_BRIDGE_MAX_ENTRIES, "headers", n))?
        };
        let payload = arg_bytes!(payload, payload_len)?;
        let token = clone_handle!(token)?;
        let key = borrow!(holder, |k| KeyPair::from_pkcs8(k.to_pkcs8()))?;
        let sealer = Sealer::new(origin, &Credentials { token, key: Arc::new(key) })?;
        out_proof.put(sealer.seal_at(seq, time_ms, subject, reply, &headers, payload)?.proof)
    })
}
