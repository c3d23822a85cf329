//! `charter_registry_*`: the handler registry for C.
//!
//! Events are byte strings. Handlers are C function pointers with a
//! `user_data` pointer, identified by `uint64_t` ids that are never reused
//! within a registry and include a random per-registry key: an id of
//! another registry, a stale id or a guessed one matches nothing (the call
//! reports it as not registered).
//!
//! The core registry holds the handlers as [`CHandler`]s, a C function
//! with its user data, and its round calls them directly: no boxed
//! closure stands between the round and the C function (the core, which
//! forbids `unsafe`, cannot call a C function itself; this crate can).
//! Every rule of a round (order, removal mid-round, run-once, isolation,
//! counting, nesting) is still the core's.

use std::ffi::c_void;

use charter_core::registry::Handler;
use charter_core::{HandlerError, HandlerId, HandlerResult};

use crate::args::{arg_bytes, arg_fn};
use crate::firewall::call;
use crate::handle::{borrow, free_handle};
use crate::out::{opt_out, out};
use crate::status::{charter_status_t, CHARTER_E_PANIC, CHARTER_OK};
use crate::user_data::{charter_drop_fn, UserData};

/// A registry of handlers. Opaque; create with `charter_registry_new`.
pub struct charter_registry {
    _opaque: [u8; 0],
}

/// The handle type of a registry.
pub type charter_registry_t = charter_registry;

/// The core registry of C handlers that a `charter_registry_t` owns.
pub(crate) type Registry = charter_core::Registry<[u8], CHandler>;

crate::handle::handle_type!(charter_registry_t owns Registry, tag b"REG1");

/// A handler: receives its `user_data` and the event bytes (valid only
/// during the call; `event` is NULL when `len` is 0). Returning
/// `CHARTER_E_PANIC` counts the call as panicked (for handlers written in a
/// language with panics or exceptions of its own); any other status but
/// `CHARTER_OK` counts it as failed. Handlers may be called from any thread
/// that notifies, and concurrently.
pub type charter_handler_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const u8, len: usize) -> charter_status_t>;

/// How the handlers of one notify round fared. Every handler that was
/// called counts in exactly one field.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct charter_notify_report_t {
    /// Handlers that returned `CHARTER_OK`.
    pub delivered: u64,
    /// Handlers that returned an error status.
    pub failed: u64,
    /// Handlers that panicked (Rust or binding code); the panic was caught.
    pub panicked: u64,
}

/// A C handler with its user data. Dropping it ends the registration, which
/// is when `drop_user_data` runs: exactly once, and never before the last
/// call of the handler has returned (for a run-once handler, right after
/// its one call).
pub(crate) struct CHandler {
    call: unsafe extern "C" fn(*mut c_void, *const u8, usize) -> charter_status_t,
    user_data: UserData,
}

impl Handler<[u8]> for CHandler {
    /// Calls the C function; inlined into the core's round, so a call
    /// costs the function's own call and one test of its status.
    #[inline(always)]
    fn call(&self, event: &[u8]) -> HandlerResult {
        let data = if event.is_empty() { std::ptr::null() } else { event.as_ptr() };
        // SAFETY: the caller registered `call` for exactly this use.
        let status = unsafe { (self.call)(self.user_data.get(), data, event.len()) };
        if status == CHARTER_OK {
            Ok(())
        } else {
            not_ok(status)
        }
    }

    /// Calls the C function, then releases the user data at once, on this
    /// thread, even when the function reported a panic: the registration
    /// ends with its one call.
    fn call_once(&self, event: &[u8]) -> HandlerResult {
        struct Release<'a>(&'a UserData);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.release();
            }
        }
        let _release = Release(&self.user_data);
        self.call(event)
    }
}

/// A handler's status other than `CHARTER_OK`: a failure, or a panic.
/// Out of line: it keeps the round's loop down to the common case.
#[cold]
#[inline(never)]
fn not_ok(status: charter_status_t) -> HandlerResult {
    if status == CHARTER_E_PANIC {
        // A handler written in a language with its own panics (Go, C++
        // exceptions) caught one and says so. Unwinding from here, with
        // no C frame in between, lets the registry count it as panicked
        // and report it to on_panic; resume_unwind runs no panic hook,
        // so nothing is printed.
        std::panic::resume_unwind(Box::new("the handler returned CHARTER_E_PANIC"));
    }
    Err(HandlerError)
}

/// The nesting bound of a registry made by `charter_registry_new`.
pub const CHARTER_REGISTRY_DEFAULT_MAX_DEPTH: u32 = 8;

/// The largest nesting bound `charter_registry_new_with_max_depth` accepts.
pub const CHARTER_REGISTRY_MAX_DEPTH_LIMIT: u32 = 64;

/// Creates an empty registry whose nested notify depth is bounded at
/// `CHARTER_REGISTRY_DEFAULT_MAX_DEPTH`.
///
/// Free the registry written to `out` with `charter_registry_free`.
///
/// # Safety
/// `out` must be NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn charter_registry_new(out: *mut *mut charter_registry_t) -> charter_status_t {
    call(|| out!(out)?.write_handle(Registry::empty()))
}

/// Creates an empty registry whose notify may nest at most `max_depth`
/// levels on one thread (1 to `CHARTER_REGISTRY_MAX_DEPTH_LIMIT`).
///
/// Free the registry written to `out` with `charter_registry_free`.
///
/// # Safety
/// `out` must be NULL or valid for writing a pointer.
#[no_mangle]
pub unsafe extern "C" fn charter_registry_new_with_max_depth(
    max_depth: u32,
    out: *mut *mut charter_registry_t,
) -> charter_status_t {
    call(|| out!(out)?.write_handle(Registry::empty_with_max_depth(max_depth as usize)?))
}

/// Frees a registry. Every registration ends: each `drop_user_data` runs
/// once, after any notify still in progress on another thread returns.
/// NULL is a no-op. A second free returns `CHARTER_E_ALREADY_FREED`.
///
/// # Safety
/// `reg` must be NULL or a pointer obtained from Charter (a stale or foreign
/// pointer is detected, not dereferenced).
#[no_mangle]
pub unsafe extern "C" fn charter_registry_free(reg: *mut charter_registry_t) -> charter_status_t {
    call(|| free_handle!(reg))
}

/// Registers `fn`; higher `priority` fires first, equal priorities in
/// registration order. On success writes the new handler's id to `out_id`.
///
/// `fn` may be called from any thread that notifies this registry, and
/// concurrently. `drop_user_data` (optional) runs exactly once when the
/// registration ends: on unregister, clear, or when the registry is freed.
/// On failure the registration never began and `user_data` stays yours.
///
/// # Safety
/// `out_id` must be NULL or valid for writing; `fn` and `drop_user_data`
/// must be safe to call from any thread with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn charter_registry_register(
    reg: *mut charter_registry_t,
    priority: i32,
    r#fn: charter_handler_fn,
    user_data: *mut c_void,
    drop_user_data: charter_drop_fn,
    out_id: *mut u64,
) -> charter_status_t {
    // SAFETY: the caller's contract.
    unsafe {
        register(reg, r#fn, user_data, drop_user_data, out_id, |registry, handler| {
            registry.register_handler(priority, handler)
        })
    }
}

/// Registers `fn` to run once, like `charter_registry_register`: the first
/// notify round that reaches it calls it and ends the registration, even
/// when rounds race on several threads and even if it returns
/// `CHARTER_E_PANIC`. `drop_user_data` runs once, right after that call
/// returns (on the notifying thread), or when the registration is ended
/// without a call. It holds no reference to the registry.
///
/// # Safety
/// As for `charter_registry_register`.
#[no_mangle]
pub unsafe extern "C" fn charter_registry_register_once(
    reg: *mut charter_registry_t,
    priority: i32,
    r#fn: charter_handler_fn,
    user_data: *mut c_void,
    drop_user_data: charter_drop_fn,
    out_id: *mut u64,
) -> charter_status_t {
    // SAFETY: the caller's contract.
    unsafe {
        register(reg, r#fn, user_data, drop_user_data, out_id, |registry, handler| {
            registry.register_handler_once(priority, handler)
        })
    }
}

/// The body of the register exports: `how` registers the handler made of
/// `fn` and `user_data` (which it then owns) and returns its id.
///
/// # Safety
/// As for `charter_registry_register`.
unsafe fn register(
    reg: *mut charter_registry_t,
    r#fn: charter_handler_fn,
    user_data: *mut c_void,
    drop_user_data: charter_drop_fn,
    out_id: *mut u64,
    how: impl FnOnce(&Registry, CHandler) -> HandlerId,
) -> charter_status_t {
    call(|| {
        let call = arg_fn!(r#fn)?;
        let out_id = out!(out_id)?;
        borrow!(reg, |registry| {
            let handler = CHandler { call, user_data: UserData::owned(user_data, drop_user_data) };
            out_id.put(how(registry, handler).get())
        })
    })
}

/// Ends the registration `id`. Writes whether it was registered to
/// `out_removed` (which may be NULL); an id this registry did not issue,
/// or one already ended, writes `false`.
///
/// After this returns no notify that starts calls the handler, and a round
/// in progress on this thread skips it. A round already running on another
/// thread may still be calling it, or call it once more; `drop_user_data`
/// runs when that round ends. Use `charter_registry_unregister_and_wait`
/// to wait for those calls.
///
/// # Safety
/// `out_removed` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_registry_unregister(
    reg: *mut charter_registry_t,
    id: u64,
    out_removed: *mut bool,
) -> charter_status_t {
    call(|| opt_out!(out_removed).put(borrow!(reg, |r| Ok(r.unregister(HandlerId::from_raw(id))))?))
}

/// Ends the registration `id` like `charter_registry_unregister`, then
/// waits until no notify on any thread can still be running its handler.
/// When it returns, the handler's `drop_user_data` has run, so `user_data`
/// may be freed. Writes whether it was registered to `out_removed` (which
/// may be NULL); `false` returns at once.
///
/// Called from inside a handler of this same registry (on the thread of a
/// notify of it), waiting could never end, since the caller's own round
/// holds the handler: it then ends the registration without waiting, as
/// `charter_registry_unregister` does, and `drop_user_data` runs when the
/// last round holding the handler ends. Do not call it while holding a
/// lock that a handler of this registry takes.
///
/// # Safety
/// `out_removed` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_registry_unregister_and_wait(
    reg: *mut charter_registry_t,
    id: u64,
    out_removed: *mut bool,
) -> charter_status_t {
    call(|| opt_out!(out_removed).put(borrow!(reg, |r| Ok(r.unregister_and_wait(HandlerId::from_raw(id))))?))
}

/// Writes whether `id` is registered to `out`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_registry_contains(
    reg: *mut charter_registry_t,
    id: u64,
    out: *mut bool,
) -> charter_status_t {
    call(|| out!(out)?.put(borrow!(reg, |r| Ok(r.contains(HandlerId::from_raw(id))))?))
}

/// Writes the number of registered handlers to `out_len`.
///
/// # Safety
/// `out_len` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_registry_len(
    reg: *mut charter_registry_t,
    out_len: *mut usize,
) -> charter_status_t {
    call(|| out!(out_len)?.put(borrow!(reg, |r| Ok(r.len()))?))
}

/// Ends every registration. A notify round in progress skips the handlers
/// it has not reached yet; one running a handler on another thread may
/// still be in it when this returns.
///
/// # Safety
/// `reg` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_registry_clear(reg: *mut charter_registry_t) -> charter_status_t {
    call(|| {
        borrow!(reg, |r| {
            r.clear();
            Ok(())
        })
    })
}

/// Ends every registration like `charter_registry_clear`, then waits until
/// no notify on any thread can still be running any of the handlers; when
/// it returns, every `drop_user_data` has run. From inside a handler of
/// this registry it does not wait (see
/// `charter_registry_unregister_and_wait`).
///
/// # Safety
/// `reg` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_registry_clear_and_wait(reg: *mut charter_registry_t) -> charter_status_t {
    call(|| {
        borrow!(reg, |r| {
            r.clear_and_wait();
            Ok(())
        })
    })
}

/// Calls every handler with the `len` bytes at `event`, in priority order,
/// on this thread, with no Charter lock held. Handlers may call any Charter
/// function, including on this registry. Writes the outcome to `out_report`
/// (which may be NULL).
///
/// Returns `CHARTER_E_LIMIT_EXCEEDED`, calling nothing, when notify is
/// already nested `max_depth` levels deep on this thread.
///
/// # Safety
/// `event` must be NULL (with `len` 0) or valid for reading `len` bytes;
/// `out_report` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_registry_notify(
    reg: *mut charter_registry_t,
    event: *const u8,
    len: usize,
    out_report: *mut charter_notify_report_t,
) -> charter_status_t {
    call(|| {
        let out_report = opt_out!(out_report);
        let event = arg_bytes!(event, len)?;
        // The report is written from inside the borrow, so that it is not
        // carried out of it inside a `Result` (a dozen moves, callgrind).
        borrow!(reg, |r| {
            let report = r.try_notify(event)?;
            out_report.write(charter_notify_report_t {
                delivered: report.delivered,
                failed: report.failed,
                panicked: report.panicked,
            });
            Ok(())
        })
    })
}

#[cfg(test)]
mod tests {
    use charter_core::registry::{DEFAULT_MAX_DEPTH, MAX_THREAD_NESTING};

    #[test]
    fn depth_constants_match_the_core() {
        assert_eq!(super::CHARTER_REGISTRY_DEFAULT_MAX_DEPTH as usize, DEFAULT_MAX_DEPTH);
        assert_eq!(super::CHARTER_REGISTRY_MAX_DEPTH_LIMIT as usize, MAX_THREAD_NESTING);
    }
}
