//! `charter_cancel_*` and `charter_client_recv_cancellable`: a blocking
//! receive that another thread can cancel at once.
//!
//! A cancellation is sticky (`charter_core::bus::Cancel`): once cancelled
//! it cancels every receive that uses it, now or later, so make one per
//! operation you may want to cancel. A cancelled receive consumes nothing.

use charter_core::bus::{Cancel, SubscriptionId};

use crate::bus::timeout_arg;
use crate::client::{charter_client_t, client_arg};
use crate::firewall::call;
use crate::handle::{borrow, clone_handle, free_handle};
use crate::message::{charter_message_t, OwnedMessage};
use crate::out::out;
use crate::status::charter_status_t;

/// A cancellation for `charter_client_recv_cancellable`. Opaque; create
/// with `charter_cancel_new`.
pub struct charter_cancel {
    _opaque: [u8; 0],
}

/// The handle type of a cancellation.
pub type charter_cancel_t = charter_cancel;

crate::handle::handle_type!(charter_cancel_t owns Cancel, tag b"CAN1");

/// Makes a cancellation that has not happened yet. Free it with
/// `charter_cancel_free`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_cancel_new(out: *mut *mut charter_cancel_t) -> charter_status_t {
    call(|| out!(out)?.write_handle(Cancel::new()))
}

/// Cancels: every `charter_client_recv_cancellable` waiting with `cancel`
/// returns `CHARTER_E_CANCELLED` at once, and every later one does so
/// without waiting. Callable from any thread, any number of times (not
/// from a signal handler: it takes a lock).
///
/// # Safety
/// `cancel` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_cancel_cancel(cancel: *mut charter_cancel_t) -> charter_status_t {
    call(|| {
        borrow!(cancel, |c| {
            c.cancel();
            Ok(())
        })
    })
}

/// Frees a cancellation. A receive waiting with it on another thread keeps
/// it alive and still sees a cancel made before the free. NULL is a no-op;
/// a second free returns `CHARTER_E_ALREADY_FREED`.
///
/// # Safety
/// `cancel` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_cancel_free(cancel: *mut charter_cancel_t) -> charter_status_t {
    call(|| free_handle!(cancel))
}

/// Waits up to `timeout_ms` for the next message of subscription `id`, as
/// `charter_client_recv`, unless `cancel` is cancelled first (before or
/// during the wait, from any thread): then `CHARTER_E_CANCELLED`, and
/// nothing was consumed. On `CHARTER_OK` the message is written to
/// `out_msg`; free it with `charter_message_free`. The other statuses are
/// those of `charter_client_recv`.
///
/// # Safety
/// `out_msg` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_client_recv_cancellable(
    client: *mut charter_client_t,
    id: u64,
    timeout_ms: u32,
    cancel: *mut charter_cancel_t,
    out_msg: *mut *mut charter_message_t,
) -> charter_status_t {
    call(|| {
        let out_msg = out!(out_msg)?;
        let sub = client_arg(client)?.subscription(SubscriptionId::from_raw(id))?;
        // Out of its handle guard: the wait never holds the guard.
        let cancel = clone_handle!(cancel)?;
        let message = sub.recv_cancellable(timeout_arg(timeout_ms), &cancel)?;
        out_msg.put(OwnedMessage::new(&message).into_raw())
    })
}
