//! JS functions kept alive by Rust and called back from Rust.
//!
//! # Thread model
//!
//! A [`Callback`] belongs to the JS thread (main thread or worker) that
//! created it, its *home*. It is only ever called on that thread, through
//! the environment of a native call in progress there, and synchronously,
//! so the caller (for example `notify`) learns the outcome and can return an
//! exact report. Nothing here uses a thread-safe function: on this path it
//! would cost a queue hop per call and make the result asynchronous.
//!
//! The registry that holds callbacks can only be reached from its home
//! thread (its state is behind an `Rc`, which is not `Send`, owned by JS
//! objects that never leave their thread), and every call passes the
//! environment of the call in progress, so a callback is never resolved
//! against another thread's environment.
//!
//! Code running on other threads never calls a `Callback`. The bus's
//! handlers (`src/handler.rs`), which the core may call from its own
//! threads, reach their home thread through a napi-rs `ThreadsafeFunction`
//! built with `weak::<true>()` (unref'd, so a pending delivery never keeps
//! the event loop alive by itself). The core's handler type requires
//! `Send + Sync` for that; `FunctionRef` provides both, and releases its
//! reference on the home thread even when its last owner is dropped
//! elsewhere.
//!
//! References are strong: a registered function stays alive until it is
//! unregistered, or cleared, or its owner is collected. They never keep the
//! event loop alive.

use charter_core::{HandlerError, HandlerResult};
use napi::bindgen_prelude::{Env, FunctionRef};

/// A guarded handler of `lib/registry.js`: called with no argument, it
/// calls the user's handler with the event of the round in progress (which
/// the JS layer holds) and returns whether that handler returned normally.
/// It never throws: it passes what the handler threw to `onError` itself.
///
/// Why the JS side does that: napi-rs's safe API turns a thrown value into
/// an `Error` by rendering it with `toString` (user code, which may throw
/// again) and keeps the value itself only if it is an object, whereas
/// `onError` must receive exactly what was thrown, `undefined` included.
/// And with the event kept in JS, a call passes no argument: nothing to
/// convert or allocate, and no JS value held by Rust beyond a call.
pub type Callback = FunctionRef<(), bool>;

/// Calls `callback` on its home thread, `env` being the environment of the
/// native call in progress there.
#[inline]
pub fn invoke(callback: &Callback, env: &Env) -> HandlerResult {
    match callback.borrow_back(env).and_then(|f| f.call(())) {
        Ok(true) => Ok(()),
        // `false`: the handler threw. `Err`: the call could not be made, for
        // example because the worker is being terminated.
        Ok(false) | Err(_) => Err(HandlerError),
    }
}
