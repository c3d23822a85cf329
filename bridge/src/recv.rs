//! Waiting for a local message on the bridge's runtime without a thread:
//! the core's readiness API wakes a task through a tokio `Notify`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify as Wake;
use tokio::time::Instant;

use charter_core::bus::{no_reply, Message, Notify, Polled, SubscriptionRef};
use charter_core::Result;

/// A notify for the core that wakes `wake`'s waiter (or the next one: a
/// `Wake` keeps one permit, so a wake-up between a check and the wait is
/// never lost).
pub(crate) fn waker(wake: &Arc<Wake>) -> Notify {
    let wake = Arc::clone(wake);
    Arc::new(move || wake.notify_one())
}

/// The next message of `subscription` (a request's replies), waiting up to
/// `timeout`; the core's no-reply error for `topic` after that.
pub(crate) async fn recv_reply(
    subscription: &SubscriptionRef,
    topic: &str,
    timeout: Duration,
) -> Result<Message> {
    let wake = Arc::new(Wake::new());
    let notify = waker(&wake);
    let deadline = Instant::now() + timeout;
    loop {
        let recheck = match subscription.poll_recv(&notify)? {
            Polled::Ready(message) => return Ok(message),
            Polled::Pending { recheck } => recheck,
        };
        let until = recheck.map_or(deadline, |r| deadline.min(Instant::now() + r));
        if tokio::time::timeout_at(until, wake.notified()).await.is_err() && Instant::now() >= deadline {
            subscription.disarm(&notify);
            return Err(no_reply(topic, timeout));
        }
    }
}
