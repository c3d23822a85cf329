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
use napi::bindgen_prelude::{Env, Function, FunctionRef, JsValuesTupleIntoVec, Unknown};
use napi::{sys, JsValue};

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
    match callback.borrow_back(env) {
        Ok(f) => call_guarded(env, &f, ()),
        Err(_) => Err(HandlerError),
    }
}

/// Calls the guarded JS function `f` with `args`: `Ok` if it returned
/// `true`. A guarded function catches what its handler throws, so it only
/// throws itself when it cannot run at all: the JS stack is full (the
/// caller recursed nearly to the limit) or the thread is being terminated.
/// Either way the delivery fails, and the exception, which nothing could
/// handle at this depth anyway, is dropped.
pub fn call_guarded<A: JsValuesTupleIntoVec, R>(env: &Env, f: &Function<'_, A, R>, args: A) -> HandlerResult {
    let returned = call(env, f, args).map_err(|_| HandlerError)?;
    let mut ok = false;
    #[allow(unsafe_code)]
    // SAFETY: `returned` is a value of `env`, the environment of the native
    // call in progress on this thread; `ok` is a local.
    let status = unsafe { sys::napi_get_value_bool(env.raw(), returned.raw(), &mut ok) };
    if status == sys::Status::napi_ok && ok {
        Ok(())
    } else {
        Err(HandlerError)
    }
}

/// Calls `f` with `args` in `env`, the environment of the native call in
/// progress on this thread, and returns what it returned.
///
/// Unlike napi-rs's `Function::call`, this never renders what `f` threw:
/// napi-rs turns a pending exception into a string with `toString`, which
/// is JS code. When `f` threw because the stack is full, that call runs
/// deeper still, and V8 crashed with SIGSEGV while capturing the stack of
/// the second overflow (issue 14). Here the exception is taken and dropped
/// without running any JS, so the caller gets a plain error and the native
/// call it is part of returns normally.
pub fn call<'v, A: JsValuesTupleIntoVec, R>(
    env: &Env,
    f: &Function<'_, A, R>,
    args: A,
) -> napi::Result<Unknown<'v>> {
    let raw_env = env.raw();
    let argv = args.into_vec(raw_env)?;
    let mut this = std::ptr::null_mut();
    let mut returned = std::ptr::null_mut();
    #[allow(unsafe_code)]
    // SAFETY: `raw_env` is the environment of the native call in progress on
    // this thread, `f` and the `argv.len()` values in `argv` are values of
    // it, and the out-pointers point to locals.
    let status = unsafe {
        match sys::napi_get_undefined(raw_env, &mut this) {
            sys::Status::napi_ok => {
                sys::napi_call_function(raw_env, this, f.raw(), argv.len(), argv.as_ptr(), &mut returned)
            }
            failed => failed,
        }
    };
    match status {
        #[allow(unsafe_code)]
        // SAFETY: `returned` is the value the call just returned in `env`.
        sys::Status::napi_ok => Ok(unsafe { Unknown::from_raw_unchecked(raw_env, returned) }),
        sys::Status::napi_pending_exception => {
            let mut thrown = std::ptr::null_mut();
            #[allow(unsafe_code)]
            // SAFETY: as above; `thrown` is a local.
            unsafe {
                sys::napi_get_and_clear_last_exception(raw_env, &mut thrown);
            }
            Err(napi::Error::new(napi::Status::PendingException, "the JS function threw"))
        }
        failed => Err(napi::Error::from_status(napi::Status::from(failed))),
    }
}
