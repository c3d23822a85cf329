//! JS functions implemented in Rust and bound to one Rust value, for hot
//! paths.
//!
//! napi-rs class methods track every borrow of `self` in a process-wide
//! table, which costs several hundred nanoseconds per call and serializes
//! worker threads on one mutex. A bound function instead carries its target
//! as the function's own data pointer: a call is one `napi_get_cb_info`
//! away from the target, with no lookup and no validation to do, because
//! only this module can create such a function.

use std::ffi::{c_void, CStr};
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::JsError;
use napi::sys;

use crate::error::{boundary, Result};

/// The Rust side of a call: the target, the JS environment and the first
/// argument (`undefined` when none was passed).
pub type Body<T> = fn(&T, sys::napi_env, sys::napi_value) -> Result<sys::napi_value>;

struct Bound<T> {
    target: Rc<T>,
    body: Body<T>,
}

/// Creates a JS function named `name` that runs `body` on `target`. The
/// function keeps `target` alive until it is garbage-collected.
pub fn function<T: 'static>(
    env: sys::napi_env,
    name: &CStr,
    target: Rc<T>,
    body: Body<T>,
) -> napi::Result<sys::napi_value> {
    let data = Box::into_raw(Box::new(Bound { target, body })).cast::<c_void>();
    let mut func = ptr::null_mut();
    // SAFETY: `env` is the current env; `data` stays valid until `release`
    // runs, which the finalizer guarantees happens exactly once.
    unsafe {
        let status = sys::napi_create_function(
            env,
            name.as_ptr(),
            name.to_bytes().len() as isize,
            Some(trampoline::<T>),
            data,
            &mut func,
        );
        if status == sys::Status::napi_ok {
            let status = sys::napi_add_finalizer(
                env,
                func,
                data,
                Some(release::<T>),
                ptr::null_mut(),
                ptr::null_mut(),
            );
            if status == sys::Status::napi_ok {
                return Ok(func);
            }
        }
        // Not attached to a live function: reclaim it here.
        drop(Box::from_raw(data.cast::<Bound<T>>()));
        Err(napi::Error::new(
            napi::Status::GenericFailure,
            "could not create a native function",
        ))
    }
}

unsafe extern "C" fn trampoline<T>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let mut argc = 1;
    // `napi_get_cb_info` fills missing arguments with `undefined`.
    let mut argv = [ptr::null_mut(); 1];
    let mut data = ptr::null_mut();
    // SAFETY: called by Node-API with a valid `env` and `info`.
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            &mut data,
        )
    };
    if status != sys::Status::napi_ok || data.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: `data` is the `Bound<T>` this function was created with; it
    // lives until the function is collected, which cannot happen mid-call.
    let bound = unsafe { &*data.cast::<Bound<T>>() };
    match boundary(|| (bound.body)(&bound.target, env, argv[0])) {
        Ok(value) => value,
        Err(e) => {
            // SAFETY: on the JS thread of `env`, inside a callback.
            unsafe { JsError::from(e).throw_into(env) };
            ptr::null_mut()
        }
    }
}

unsafe extern "C" fn release<T>(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` came from `Box::into_raw` in `function`, and Node-API
    // calls this finalizer once.
    let bound = unsafe { Box::from_raw(data.cast::<Bound<T>>()) };
    // A panic must not cross this `extern "C"` edge; there is nobody to
    // report it to, and the memory is released either way.
    let _ = charter_core::panic::catch(move || drop(bound));
}
