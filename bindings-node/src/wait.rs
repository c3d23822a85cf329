//! Receives that wait: the Promise of `recv` (and `request`) when nothing
//! was queued yet.
//!
//! A pool thread (`src/pool.rs`) waits with the core's timed receive in
//! slices of [`SLICE`], checking a cancel flag between slices; the
//! Promise is settled on the JS thread. A wait that ends without a message
//! (timeout, cancel) consumes nothing: the core's timed receive takes a
//! message only when it returns one.
//!
//! Cancelling (an `AbortSignal`) cannot interrupt a slice in progress, so
//! it takes effect within one slice, and a message that arrives during that
//! slice is still taken: the Promise then resolves with it rather than
//! losing it. The JS layer documents this and keeps later receives of the
//! same subscription from overtaking such a wait (`lib/receive.js`).
//!
//! A pending wait holds the Promise's thread-safe function, which is ref'd:
//! it keeps the process alive while it waits, like a timer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use charter_core::bus::{Message, SubscriptionRef};
use charter_core::{Error as CoreError, ErrorKind};
use napi::bindgen_prelude::{Either, Env, Null, Object, Unknown};
use napi_derive::napi;

use crate::error::{error, Error, Result};
use crate::message::Converter;
use crate::pool;
use crate::promise::Settle;

/// The longest a cancelled wait keeps waiting.
const SLICE: Duration = Duration::from_millis(50);

/// Cancels one wait: made by the JS layer when a receive has an
/// `AbortSignal`, and passed to `NativeSubscription.wait`.
#[napi]
#[derive(Default)]
pub struct Canceller {
    flag: Arc<AtomicBool>,
}

#[napi]
impl Canceller {
    #[napi(constructor)]
    pub fn new() -> Canceller {
        Canceller::default()
    }

    /// The wait stops at the end of its current slice.
    #[napi]
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Release);
    }
}

/// How a wait ended.
enum Outcome {
    Message(Message),
    Cancelled,
    Failed(CoreError),
}

/// Starts waiting for the next message of `view`, up to `timeout` (`None`:
/// no limit). Returns the Promise: it resolves with the `Message`, or
/// with `null` when cancelled, and rejects with the Charter error of a
/// failed wait (`TimeoutError`, `ClosedError`, ...).
pub fn start<'env>(
    env: &'env Env,
    view: SubscriptionRef,
    converter: Arc<Converter>,
    timeout: Option<Duration>,
    cancel: Option<&Canceller>,
) -> Result<Object<'env>> {
    let (settle, promise) = Settle::<Either<Unknown<'static>, Null>>::new(env)?;
    let cancelled = cancel.map(|c| Arc::clone(&c.flag)).unwrap_or_default();
    let job = move || match receive(&view, timeout, &cancelled) {
        Outcome::Message(m) => settle.resolve(move |env| converter.to_js(env, &m).map(Either::A)),
        Outcome::Cancelled => settle.resolve(|_| Ok(Either::B(Null))),
        Outcome::Failed(e) => settle.reject(e),
    };
    pool::run(Box::new(job)).map_err(cannot_start)?;
    Ok(promise)
}

/// The error when no pool thread could be started.
pub fn cannot_start(e: std::io::Error) -> Error {
    error(ErrorKind::LimitExceeded, format!("cannot start a thread to wait on: {e}"))
}

fn receive(view: &SubscriptionRef, timeout: Option<Duration>, cancelled: &AtomicBool) -> Outcome {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        if cancelled.load(Ordering::Acquire) {
            return Outcome::Cancelled;
        }
        let slice = match deadline {
            None => SLICE,
            Some(deadline) => deadline.saturating_duration_since(Instant::now()).min(SLICE),
        };
        if slice.is_zero() {
            let waited = timeout.unwrap_or_default().as_millis();
            return Outcome::Failed(CoreError::new(
                ErrorKind::Timeout,
                format!("no message arrived within {waited} ms"),
            ));
        }
        match view.recv_timeout(slice) {
            Ok(message) => return Outcome::Message(message),
            Err(e) if e.kind() == ErrorKind::Timeout => continue,
            Err(e) => return Outcome::Failed(e),
        }
    }
}
