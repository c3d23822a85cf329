//! `charter_waiter_*` and `charter_client_poll_recv`: waiting on a
//! subscription without a thread, one arm at a time.
//!
//! A waiter is a C callback the core calls when a subscription it is armed
//! on becomes readable (a message arrived, or the subscription ended).
//! `charter_client_poll_recv` takes the next message or arms the waiter;
//! the callback says "poll again". This is the shape a language runtime
//! wants (Go's netpoller, a Promise, a future): the callback wakes the
//! runtime, and the runtime receives. The core's rules are in
//! `charter_core::bus` (module `readiness`); the gate in [`crate::gate`]
//! makes freeing a waiter safe while the core still holds its notify.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use charter_core::bus::{Notify, Polled, SubscriptionId, SubscriptionRef};
use charter_core::{Error, ErrorKind};

use crate::args::arg_fn;
use crate::client::{charter_client_t, client_arg};
use crate::firewall::call;
use crate::gate::Gate;
use crate::handle::{clone_handle, free_handle};
use crate::message::{charter_message_t, OwnedMessage};
use crate::out::{opt_out, out};
use crate::status::charter_status_t;

/// A readiness callback: called with its `user_data` when a subscription
/// becomes readable, from whichever thread made it so (a publisher, the
/// thread that ended the subscription, closed the bus or revoked the
/// session), outside every Charter lock. It must return quickly and must
/// not block: wake your event loop (write an fd, signal a condition, queue
/// a task) and receive there. It may call any Charter function.
pub type charter_ready_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// A waiter: a readiness callback to arm on subscriptions with
/// `charter_client_poll_recv`. Opaque; create with `charter_waiter_new`.
pub struct charter_waiter {
    _opaque: [u8; 0],
}

/// The handle type of a waiter.
pub type charter_waiter_t = charter_waiter;

crate::handle::handle_type!(charter_waiter_t owns Waiter, tag b"WAI1");

/// What a waiter handle owns. Cloning shares it.
#[derive(Clone)]
pub(crate) struct Waiter {
    inner: Arc<WaiterInner>,
}

struct WaiterInner {
    gate: Arc<Gate>,
    /// The one notify this waiter arms everywhere, so arming it again
    /// where it is armed keeps one entry.
    notify: Notify,
    /// The subscriptions it may still be armed on, so freeing it can
    /// disarm them; `None` once freed.
    armed: Mutex<Option<ArmedOn>>,
}

/// The subscriptions a waiter was armed on, by id: one entry per
/// subscription however often it is armed there, and ended ones pruned
/// whenever the set has doubled since the last pruning, so arming costs
/// O(1) amortized with any number of subscriptions. (Ids of different
/// buses collide with a 2^-53 chance; the entry missed then is an arm
/// that stays, inert, until that subscription's next message.)
#[derive(Default)]
struct ArmedOn {
    subs: HashMap<u64, SubscriptionRef>,
    prune_at: usize,
}

impl ArmedOn {
    fn insert(&mut self, sub: &SubscriptionRef) {
        self.subs.entry(sub.id().get()).or_insert_with(|| sub.clone());
        if self.subs.len() >= self.prune_at {
            self.subs.retain(|_, s| !s.is_closed());
            self.prune_at = (self.subs.len() * 2).max(16);
        }
    }
}

impl Waiter {
    fn new(gate: Arc<Gate>) -> Waiter {
        let notify = gate.notify();
        Waiter { inner: Arc::new(WaiterInner { gate, notify, armed: Mutex::new(Some(ArmedOn::default())) }) }
    }

    /// Records that the notify is armed on `sub`; when the waiter was
    /// freed meanwhile, disarms it instead.
    fn armed_on(&self, sub: &SubscriptionRef) {
        let mut armed = self.inner.armed.lock().unwrap_or_else(PoisonError::into_inner);
        match armed.as_mut() {
            Some(on) => on.insert(sub),
            None => {
                drop(armed);
                sub.disarm(&self.inner.notify);
            }
        }
    }

    fn disarmed_on(&self, sub: &SubscriptionRef) {
        sub.disarm(&self.inner.notify);
        let mut armed = self.inner.armed.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(on) = armed.as_mut() {
            on.subs.remove(&sub.id().get());
        }
    }

    /// Disarms it everywhere, then closes its gate: no call starts after
    /// this, and the calls in progress on other threads have returned.
    fn close(&self) {
        let list = self.inner.armed.lock().unwrap_or_else(PoisonError::into_inner).take();
        for sub in list.into_iter().flat_map(|on| on.subs.into_values()) {
            sub.disarm(&self.inner.notify);
        }
        self.inner.gate.close();
    }
}

/// Makes a waiter that calls `fn(user_data)` when a subscription it is
/// armed on becomes readable. Free it with `charter_waiter_free`;
/// `user_data` stays yours, and once `charter_waiter_free` has returned
/// `fn` is never called again.
///
/// # Safety
/// `fn` must be safe to call from any thread with `user_data` until
/// `charter_waiter_free` returns; `out` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_waiter_new(
    r#fn: charter_ready_fn,
    user_data: *mut c_void,
    out: *mut *mut charter_waiter_t,
) -> charter_status_t {
    call(|| {
        let ready = arg_fn!(r#fn)?;
        let out = out!(out)?;
        out.write_handle(Waiter::new(Gate::new(ready, user_data)))
    })
}

/// Frees a waiter: disarms it wherever it is armed, stops its callback,
/// and waits for calls of it already running on other threads to return,
/// so when this returns the callback is not running and never runs again
/// and `user_data` may be torn down. Called from inside the waiter's own
/// callback it does not wait for that call (it is the caller). Do not hold
/// a lock the callback takes while freeing. NULL is a no-op; a second free
/// returns `CHARTER_E_ALREADY_FREED`.
///
/// # Safety
/// `waiter` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_waiter_free(waiter: *mut charter_waiter_t) -> charter_status_t {
    call(|| free_handle!(waiter, then | owned | owned.close()))
}

fn waiter_arg(waiter: *mut charter_waiter_t) -> Result<Waiter, Error> {
    clone_handle!(waiter)
}

/// Milliseconds until `recheck`, rounded up so a timer set for it never
/// fires before the session has expired; `UINT64_MAX` for none.
pub(crate) fn recheck_ms(recheck: Option<Duration>) -> u64 {
    recheck.map_or(u64::MAX, |d| {
        let ms = d.as_millis() + u128::from(d.subsec_nanos() % 1_000_000 != 0);
        u64::try_from(ms).unwrap_or(u64::MAX - 1).min(u64::MAX - 1)
    })
}

/// Takes the next message of subscription `id` without waiting, or arms
/// `waiter` on it.
///
/// - `CHARTER_OK`: a message, written to `message_out` (free it with
///   `charter_message_free`) and counted as delivered.
/// - `CHARTER_E_WOULD_BLOCK`: nothing is queued, and `waiter` is armed: its
///   callback will be called once, when the subscription becomes readable
///   (a message arrives or it ends); then call this again. Arming a waiter
///   that is already armed there keeps one arm. `recheck_ms_out` (optional)
///   receives the milliseconds until the subscription's session expires,
///   after which nothing wakes the waiter: set a timer and call this
///   again, which then fails with `CHARTER_E_EXPIRED`. It is `UINT64_MAX`
///   when only a message or the end can wake it. This is the one status
///   after which `recheck_ms_out` is written.
/// - Otherwise the errors of `charter_client_recv`: `CHARTER_E_CLOSED`,
///   `CHARTER_E_EXPIRED` or `CHARTER_E_REVOKED` once the subscription has
///   ended (`CHARTER_E_CLOSED` for any id once the bus is closed),
///   `CHARTER_E_NOT_FOUND` for an id this client cannot reach (an
///   unsubscribed one included), `CHARTER_E_INVALID_ARGUMENT` for a
///   callback subscription.
///
/// The callback may run before this returns, on another thread or (when
/// the session ends during the call) on this one.
///
/// # Safety
/// `message_out` must be NULL or valid for writing; `recheck_ms_out` NULL
/// or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_client_poll_recv(
    client: *mut charter_client_t,
    subscription_id: u64,
    waiter: *mut charter_waiter_t,
    message_out: *mut *mut charter_message_t,
    recheck_ms_out: *mut u64,
) -> charter_status_t {
    call(|| {
        let recheck_ms_out = opt_out!(recheck_ms_out);
        let message_out = out!(message_out)?;
        let sub = client_arg(client)?.subscription(SubscriptionId::from_raw(subscription_id))?;
        let waiter = waiter_arg(waiter)?;
        match sub.poll_recv(&waiter.inner.notify)? {
            Polled::Ready(message) => message_out.put(OwnedMessage::new(&message).into_raw()),
            Polled::Pending { recheck } => {
                waiter.armed_on(&sub);
                recheck_ms_out.write(recheck_ms(recheck));
                Err(Error::new(ErrorKind::WouldBlock, "no message is queued; the waiter is armed"))
            }
        }
    })
}

/// Disarms `waiter` from subscription `id` (a receiver that gave up), so
/// its callback is not called for it. `CHARTER_OK` whether or not it was
/// armed there; `CHARTER_E_NOT_FOUND` for an id this client cannot reach
/// and `CHARTER_E_CLOSED` for any id once the bus is closed (an ended
/// subscription has no arms left).
///
/// # Safety
/// `client` and `waiter` must be NULL or pointers obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_client_disarm(
    client: *mut charter_client_t,
    subscription_id: u64,
    waiter: *mut charter_waiter_t,
) -> charter_status_t {
    call(|| {
        let sub = client_arg(client)?.subscription(SubscriptionId::from_raw(subscription_id))?;
        waiter_arg(waiter)?.disarmed_on(&sub);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recheck_rounds_up_and_none_is_the_maximum() {
        assert_eq!(recheck_ms(None), u64::MAX);
        assert_eq!(recheck_ms(Some(Duration::ZERO)), 0);
        assert_eq!(recheck_ms(Some(Duration::from_micros(1))), 1);
        assert_eq!(recheck_ms(Some(Duration::from_millis(5))), 5);
        assert_eq!(recheck_ms(Some(Duration::MAX)), u64::MAX - 1);
    }
}
