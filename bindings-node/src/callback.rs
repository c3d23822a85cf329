//! JS functions kept alive by Rust and called back from Rust.
//!
//! # Thread model
//!
//! A [`JsFunction`] belongs to the JS thread (main thread or worker) that
//! created it, its *home*. Calls made on the home thread go straight through
//! `napi_call_function`, synchronously, so the caller (for example `notify`)
//! learns the outcome and can return an exact report. Nothing here creates a
//! thread-safe function on that path: it would cost a queue hop per call and
//! make the result asynchronous.
//!
//! Code running on another thread (the bus's dispatchers, later) must not
//! touch the reference; it will post work to the home thread through an
//! unref'd thread-safe function, so a pending callback never keeps the event
//! loop alive by itself. The handler type of the core requires `Send + Sync`
//! for exactly that future, which is why [`JsFunction`] carries both markers
//! and enforces the home-thread rule itself (see [`JsFunction::call`] and its
//! `Drop`).
//!
//! References are strong: a registered function stays alive until it is
//! unregistered or its owner is closed or collected. They never keep the
//! event loop alive.

use std::ptr;
use std::thread::{self, ThreadId};

use napi::sys;

/// Why a call did not complete normally.
pub enum CallError {
    /// The function threw this value; the exception has been cleared.
    Threw(sys::napi_value),
    /// The call could not be made, for example because the environment is
    /// shutting down (a worker being terminated). Nothing was thrown.
    NotRun,
}

/// A strong reference to a JS function, usable on its home thread only.
pub struct JsFunction {
    env: sys::napi_env,
    reference: sys::napi_ref,
    home: ThreadId,
}

// SAFETY: the fields are only dereferenced by `call`/`get`, which require
// the caller's current `napi_env` to be the function's own (an env is only
// ever used on its own thread), and by `Drop`, which checks the thread.
unsafe impl Send for JsFunction {}
// SAFETY: as for `Send`; no method mutates through `&self`.
unsafe impl Sync for JsFunction {}

impl JsFunction {
    /// Takes a strong reference to `func`, which must be a function value
    /// of `env`, on `env`'s thread.
    pub fn new(env: sys::napi_env, func: sys::napi_value) -> napi::Result<JsFunction> {
        let mut reference = ptr::null_mut();
        // SAFETY: called with the env and a value of the current call.
        let status = unsafe { sys::napi_create_reference(env, func, 1, &mut reference) };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::new(
                napi::Status::from(status),
                "napi_create_reference failed",
            ));
        }
        Ok(JsFunction {
            env,
            reference,
            home: thread::current().id(),
        })
    }

    /// The function as a value of `env`, or `None` when `env` is not its home
    /// environment (which would make the reference unusable).
    #[inline]
    pub fn get(&self, env: sys::napi_env) -> Option<sys::napi_value> {
        if env != self.env {
            return None;
        }
        let mut value = ptr::null_mut();
        // SAFETY: `env` is the home env and the caller is running inside it.
        let status = unsafe { sys::napi_get_reference_value(env, self.reference, &mut value) };
        (status == sys::Status::napi_ok && !value.is_null()).then_some(value)
    }

    /// Calls the function with `this` = `recv` and `args`, on `env`'s
    /// thread. Any exception it throws is cleared and returned.
    #[inline]
    pub fn call(
        &self,
        env: sys::napi_env,
        recv: sys::napi_value,
        args: &[sys::napi_value],
    ) -> Result<(), CallError> {
        let func = self.get(env).ok_or(CallError::NotRun)?;
        call_value(env, recv, func, args)
    }
}

/// Calls the function value `func` of `env` with `this` = `recv`.
#[inline]
pub fn call_value(
    env: sys::napi_env,
    recv: sys::napi_value,
    func: sys::napi_value,
    args: &[sys::napi_value],
) -> Result<(), CallError> {
    let mut result = ptr::null_mut();
    // SAFETY: `env` is the current env; `recv`, `func` and `args` are its values.
    let status =
        unsafe { sys::napi_call_function(env, recv, func, args.len(), args.as_ptr(), &mut result) };
    if status == sys::Status::napi_ok {
        return Ok(());
    }
    Err(take_exception(env).map_or(CallError::NotRun, CallError::Threw))
}

/// `undefined`, the receiver of every callback.
pub fn undefined(env: sys::napi_env) -> sys::napi_value {
    let mut value = ptr::null_mut();
    // SAFETY: `env` is the current env; cannot fail on a live env.
    unsafe { sys::napi_get_undefined(env, &mut value) };
    value
}

/// Clears and returns the pending exception, if there is one. When the
/// environment cannot run JS any more (worker termination) nothing is
/// pending and nothing is touched, so termination proceeds.
fn take_exception(env: sys::napi_env) -> Option<sys::napi_value> {
    let mut pending = false;
    let mut exception = ptr::null_mut();
    // SAFETY: `env` is the current env.
    unsafe {
        if sys::napi_is_exception_pending(env, &mut pending) != sys::Status::napi_ok || !pending {
            return None;
        }
        if sys::napi_get_and_clear_last_exception(env, &mut exception) != sys::Status::napi_ok {
            return None;
        }
    }
    Some(exception)
}

impl Drop for JsFunction {
    fn drop(&mut self) {
        // Off the home thread the reference cannot be deleted safely; it is
        // leaked rather than risk corrupting the JS heap. Nothing in the
        // registry drops a function there: handlers are only released by
        // calls made on, and finalizers run on, the home thread.
        if thread::current().id() == self.home {
            // SAFETY: home thread, and the env outlives every object that
            // holds a reference (finalizers run before the env goes away).
            unsafe { sys::napi_delete_reference(self.env, self.reference) };
        }
    }
}
