//! The core's readiness signal, for Kotlin coroutines: a [`Waker`] wraps a
//! Kotlin callback as the core's `Notify`, so a suspended receive is woken
//! by the publisher instead of holding a thread.

use std::sync::Arc;

use charter_core::bus::Notify;

/// What the core calls when a subscription becomes readable: once per arm,
/// outside every lock, on the publishing (or closing) thread. It must not
/// block: the Kotlin side only resumes a continuation.
#[uniffi::export(with_foreign)]
pub trait Wake: Send + Sync {
    /// The subscription may be readable now: poll again.
    fn wake(&self);
}

/// One Kotlin waiter as the core's `Notify`. The same `Waker` polled again
/// is the same arm (the core dedups by identity), so a coroutine that polls
/// in a loop keeps one arm, and `disarm` removes it when it gives up.
#[derive(uniffi::Object)]
pub struct Waker {
    pub(crate) notify: Notify,
}

#[uniffi::export]
impl Waker {
    /// A waker calling `wake`.
    #[uniffi::constructor]
    pub fn new(wake: Arc<dyn Wake>) -> Arc<Waker> {
        Arc::new(Waker { notify: Arc::new(move || wake.wake()) })
    }
}
