//! Bus messages crossing the boundary: payloads and headers coming from JS,
//! messages going to JS.
//!
//! `lib/` checks the types of what it passes here (a string topic, a string
//! or `Uint8Array` payload, headers flattened to `[name, value, ...]`), so a
//! failed conversion is a bug of the binding and surfaces as `InternalError`.

use std::sync::{Arc, Mutex, PoisonError};

use charter_core::bus::{Message, PublishReport};
use charter_core::ErrorKind;
use napi::bindgen_prelude::{
    Buffer, BufferSlice, Either, Env, FnArgs, Function, FunctionCallContext, FunctionRef, Unknown,
};
use napi::{JsValue, ValueType};
use napi_derive::napi;

use crate::error::{error, from_napi, Result};

/// A message as JS functions receive it, as positional arguments:
/// `(seq, topic, payload, headers, replyTo)`, with `headers` flat
/// (`[name, value, name, value, ...]`) and `null` when there are none, like
/// `replyTo`. The payload is a `Buffer`, or the length of the bytes written
/// to the scratch buffer ([`Converter`]); `null` stands for a message that
/// could not be handed over (see `src/handler.rs`).
///
/// Arguments rather than an object: one call into JS builds the `Message`
/// there, in JIT-compiled code, where setting five named properties from
/// here would cost five runtime calls, each looking its key up again.
pub type Args =
    FnArgs<(f64, String, Option<Either<u32, Unknown<'static>>>, Option<Vec<String>>, Option<String>)>;

/// `lib/message.js`'s `message(...Args)`, which makes a `Message`.
pub type Factory<'env> = Function<'env, Args, Unknown<'static>>;

/// Payloads up to this size go through the scratch buffer.
const SCRATCH_MAX: usize = 4095;

/// Turns the core's messages into JS `Message`s, on the JS thread.
///
/// Payloads are where the cost is: a `Buffer` made here (`napi_create_buffer_copy`)
/// gets an `ArrayBuffer` of its own and its prototype set, about 650 ns for
/// 16 bytes. So a payload of up to [`SCRATCH_MAX`] bytes is written to a
/// scratch buffer that JS gave, and `lib/message.js` copies it out into a
/// `Buffer.allocUnsafe` slice of Node's pool, at once, before anything else
/// can write the scratch buffer again (see `docs/BENCHMARKS.md`).
pub struct Converter {
    factory: FunctionRef<Args, Unknown<'static>>,
    /// Only ever written on the home thread; the lock is what lets every
    /// subscription of the bus share it.
    scratch: Mutex<Buffer>,
}

impl Converter {
    pub fn new(factory: &Factory<'_>, scratch: Buffer) -> napi::Result<Converter> {
        Ok(Converter { factory: factory.create_ref()?, scratch: Mutex::new(scratch) })
    }

    /// `message` as arguments.
    pub fn args(&self, env: &Env, message: &Message) -> napi::Result<Args> {
        let bytes = message.payload();
        let mut scratch = self.scratch.lock().unwrap_or_else(PoisonError::into_inner);
        let payload = if bytes.len() <= SCRATCH_MAX.min(scratch.len()) {
            scratch[..bytes.len()].copy_from_slice(bytes);
            Either::A(bytes.len() as u32)
        } else {
            Either::B(BufferSlice::copy_from(env, bytes)?.to_unknown())
        };
        let headers = (message.headers().len() > 0).then(|| {
            message.headers().flat_map(|(name, value)| [name.to_owned(), value.to_owned()]).collect()
        });
        Ok(FnArgs::from((
            // Exact up to 2^53: about 285 years at a million publishes a second.
            message.seq() as f64,
            message.topic().to_owned(),
            Some(payload),
            headers,
            message.reply_to().map(str::to_owned),
        )))
    }

    /// The `Message` for `message`.
    pub fn to_js(&self, env: &Env, message: &Message) -> napi::Result<Unknown<'static>> {
        let factory = self.factory.borrow_back(env)?;
        crate::callback::call(env, &factory, self.args(env, message)?)
    }
}

/// A payload as JS passes it: a string (sent as its UTF-8 bytes) or bytes.
pub type Payload<'a> = Either<String, BufferSlice<'a>>;

/// The payload as the core takes it: copied once, then shared by every
/// subscriber.
pub fn payload(payload: &Payload<'_>) -> Arc<[u8]> {
    match payload {
        Either::A(text) => Arc::from(text.as_bytes()),
        Either::B(bytes) => Arc::from(&bytes[..]),
    }
}

/// Headers as the JS layer passes them, flattened: `[name, value, ...]`.
pub struct Headers(Vec<String>);

impl Headers {
    pub fn new(flat: Option<Vec<String>>) -> Headers {
        Headers(flat.unwrap_or_default())
    }

    /// The `(name, value)` pairs the core takes.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.0.chunks_exact(2).map(|pair| (pair[0].as_str(), pair[1].as_str())).collect()
    }
}

/// The arguments of every call that sends a message, `(topic, payload,
/// headers)`, read from a function made from a closure.
pub fn send_args(call: &FunctionCallContext<'_>) -> Result<(String, Arc<[u8]>, Headers)> {
    let topic = call.get::<String>(0).map_err(from_napi)?;
    // Dispatched on the type here: converting to `Payload` would first try
    // a string and format an error message for every `Buffer`.
    let payload = match call.get::<Unknown>(1).and_then(|v| v.get_type()).map_err(from_napi)? {
        ValueType::String => Arc::from(call.get::<String>(1).map_err(from_napi)?.as_bytes()),
        _ => Arc::from(&call.get::<BufferSlice>(1).map_err(from_napi)?[..]),
    };
    let headers = Headers::new(call.get::<Option<Vec<String>>>(2).map_err(from_napi)?);
    Ok((topic, payload, headers))
}

/// The `count` payloads of a batch (`publishMany`), packed by `lib/pack.js`:
/// their lengths first, as native-endian `u32`s, then the payloads one after
/// another (what follows them is unused room). Each length is checked with
/// `check` (the bus's payload limit) before anything is published.
pub fn batch_payloads(
    packed: &[u8],
    count: u32,
    check: impl Fn(usize) -> charter_core::Result<()>,
) -> Result<Vec<&[u8]>> {
    let too_short = || error(ErrorKind::InvalidArgument, "payloads: the lengths exceed the bytes");
    let (lengths, mut rest) = packed.split_at_checked(4 * count as usize).ok_or_else(too_short)?;
    lengths
        .chunks_exact(4)
        .enumerate()
        .map(|(i, len)| {
            let len = u32::from_ne_bytes([len[0], len[1], len[2], len[3]]) as usize;
            check(len).map_err(|e| error(e.kind(), format!("payloads[{i}]: {}", e.message())))?;
            let (body, after) = rest.split_at_checked(len).ok_or_else(too_short)?;
            rest = after;
            Ok(body)
        })
        .collect()
}

/// How one publish went. `matched == delivered + dropped`; counts are
/// exact up to 2^53.
#[napi(object)]
pub struct Report {
    /// Subscriptions whose pattern matched the topic.
    pub matched: f64,
    /// Of those, how many accepted the message.
    pub delivered: f64,
    /// Of those, how many dropped it.
    pub dropped: f64,
}

impl From<PublishReport> for Report {
    fn from(r: PublishReport) -> Report {
        Report { matched: r.matched as f64, delivered: r.delivered as f64, dropped: r.dropped as f64 }
    }
}

/// The count of subscriptions when every matching one accepted the
/// message, otherwise the full report: the common case creates no JS object
/// here (the JS layer builds it, where it is cheapest).
pub type Outcome = Either<f64, Report>;

pub fn outcome(report: PublishReport) -> Outcome {
    if report.dropped == 0 {
        Either::A(report.delivered as f64)
    } else {
        Either::B(report.into())
    }
}
