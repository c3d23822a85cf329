//! Running subscription handlers: isolation, nesting, and knowing when the
//! current thread is inside a handler of a given bus.
//!
//! Every publish takes a level of the thread's nesting stack
//! ([`crate::depth`]) for its bus while it delivers, and a
//! `Dispatch::Thread` worker holds one for its bus for as long as it runs.
//! So a handler that publishes again, on its own bus or another one, nests
//! at most [`MAX_NESTING`] levels per bus and
//! [`MAX_THREAD_NESTING`](crate::depth::MAX_THREAD_NESTING) in all; past
//! that the publish fails with `LIMIT_EXCEEDED` before delivering anything.
//!
//! A publisher inside a handler of the same bus must never wait for queue
//! room (it may be the very consumer that would make room), so `Block`
//! overflow becomes `WOULD_BLOCK` there.

use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use super::message::{HeaderText, Message};
use super::options::Dispatch;
use super::subscription::Shared;
use crate::depth::{self, Level};
use crate::{Error, ErrorKind, HandlerResult, Result};

/// A subscription's handler.
pub(crate) type Handler = Arc<dyn Fn(&Message) -> HandlerResult + Send + Sync>;

/// The most publishes of one bus that may be nested on one thread (a
/// handler that publishes, whose handler publishes, ...). Low enough that
/// the deepest nesting fits a 2 MiB thread running Python or JavaScript
/// handlers.
pub const MAX_NESTING: usize = 16;

/// Takes a nesting level for a publish on the bus whose key is `bus`;
/// also says whether this thread was already running a handler of that
/// bus (where a publisher must not wait for queue room).
#[inline]
pub(crate) fn enter(bus: usize) -> Result<(Level, bool)> {
    match depth::enter_counting(bus, MAX_NESTING) {
        Some(entered) => Ok(entered),
        None => Err(too_deep()),
    }
}

/// Built out of line, so that taking a level inlines into the publish.
#[cold]
#[inline(never)]
fn too_deep() -> Error {
    Error::new(
        ErrorKind::LimitExceeded,
        format!(
            "publish nested more than {MAX_NESTING} levels deep on this bus (or more than {} \
             publish and notify calls active at once on this thread): a handler that \
             publishes again must stop somewhere; nothing was delivered",
            depth::MAX_THREAD_NESTING
        ),
    )
}

/// Runs `handler` on `message`. Returns whether it failed (returned an
/// error or panicked; a panic is caught here).
#[inline]
pub(crate) fn run(handler: &Handler, message: &Message) -> bool {
    !matches!(crate::panic::catch(|| handler(message)), Ok(Ok(())))
}

/// The message of a route whose every subscription runs its handler
/// inline: the publish hands each handler a borrowed message and nothing
/// queues it, so the same body can serve the route's next publish, skipping
/// the pool's round trip (its two locks and reference counts; about a
/// quarter of a publish to one handler).
///
/// Claimed with `try_lock` only, never waited for: a publish that finds it
/// claimed (by another thread, or by a handler publishing on the same
/// topic from inside this publish) takes a body from the pool as any other
/// publish does. So no publish waits on it, though the claim lasts while
/// the handlers run. A handler that keeps a clone of the message keeps it
/// intact: the next publish finds the body shared and takes another.
pub(crate) struct Spare {
    message: Mutex<Option<Message>>,
    /// The handler of each of the route's subscriptions, in their order.
    handlers: Box<[Handler]>,
}

/// A claimed [`Spare`]; releases the message's payload, headers and reply
/// inbox when dropped, so a route never holds on to a payload between
/// publishes.
pub(crate) struct Claimed<'a> {
    message: MutexGuard<'a, Option<Message>>,
    handlers: &'a [Handler],
}

impl Spare {
    /// A spare for the route of `targets` if each of them runs its handler
    /// inline (none for a route without targets).
    pub(crate) fn of(targets: &[Arc<Shared>]) -> Option<Spare> {
        let inline = |t: &Arc<Shared>| t.options.dispatch == Dispatch::Inline;
        let handlers: Option<Box<[Handler]>> =
            targets.iter().map(|t| t.handler.clone().filter(|_| inline(t))).collect();
        handlers.filter(|h| !h.is_empty()).map(|handlers| Spare { message: Mutex::default(), handlers })
    }

    #[inline]
    pub(crate) fn claim(&self) -> Option<Claimed<'_>> {
        Some(Claimed { message: self.message.try_lock()?, handlers: &self.handlers })
    }
}

impl Claimed<'_> {
    /// The claimed message, renewed for a publish, and the handlers of the
    /// route's subscriptions.
    #[inline]
    pub(crate) fn message(
        &mut self,
        seq: u64,
        topic: &Arc<str>,
        payload: Arc<[u8]>,
        headers: Option<HeaderText>,
        reply_to: Option<Arc<str>>,
    ) -> (&Message, &[Handler]) {
        let message = match &mut *self.message {
            Some(message) => {
                message.renew(seq, topic, payload, headers, reply_to);
                message
            }
            slot @ None => first(slot, seq, topic, payload, headers, reply_to),
        };
        (message, self.handlers)
    }
}

/// The first message of a spare, out of line so that the publish keeps
/// `Message::new` inlined on its common path.
#[cold]
#[inline(never)]
fn first<'a>(
    slot: &'a mut Option<Message>,
    seq: u64,
    topic: &Arc<str>,
    payload: Arc<[u8]>,
    headers: Option<HeaderText>,
    reply_to: Option<Arc<str>>,
) -> &'a Message {
    slot.insert(Message::new(seq, topic, payload, headers, reply_to))
}

impl Drop for Claimed<'_> {
    #[inline]
    fn drop(&mut self) {
        // A message a handler kept a clone of is left to that clone.
        if self.message.as_mut().is_some_and(|message| !message.release()) {
            *self.message = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread;

    use crate::bus::{Bus, BusLimits, Message, SubscribeOptions};

    fn bus() -> Bus {
        Bus::new(BusLimits::default()).unwrap()
    }

    /// A message a handler kept a clone of is left uncleared at the end of
    /// its publish; once the clone is gone, the route reuses it in place,
    /// and the next publish must not see its headers or reply inbox.
    #[test]
    fn a_reused_message_carries_nothing_of_the_last() {
        let bus = bus();
        let kept = Arc::new(Mutex::new(None::<Message>));
        let seen = Arc::new(Mutex::new(Vec::<(usize, Option<String>)>::new()));
        let (into, log) = (Arc::clone(&kept), Arc::clone(&seen));
        let _sub = bus
            .subscribe_with("t", SubscribeOptions::new(), move |m| {
                log.lock().unwrap().push((m.headers().len(), m.reply_to().map(str::to_owned)));
                if m.headers().len() > 0 {
                    *into.lock().unwrap() = Some(m.clone());
                }
                Ok(())
            })
            .unwrap();
        for _ in 0..3 {
            bus.publish("t", &b"with"[..], &[("a", "1"), ("b", "2")]).unwrap();
            kept.lock().unwrap().take();
            bus.publish("t", &b"bare"[..], &[]).unwrap();
        }
        let _inbox = bus.request_start("t", &b"ask"[..], &[]).unwrap();
        bus.publish("t", &b"bare"[..], &[]).unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 8);
        for (i, (headers, reply)) in seen.iter().enumerate() {
            let expected = if i < 6 && i % 2 == 0 { 2 } else { 0 };
            assert_eq!(*headers, expected, "message {i}");
            assert_eq!(reply.is_some(), i == 6, "message {i}");
        }
    }

    /// Clones kept by a handler stay as they were while later publishes
    /// reuse the route's message.
    #[test]
    fn a_kept_clone_never_changes() {
        let bus = bus();
        let kept = Arc::new(Mutex::new(Vec::<Message>::new()));
        let into = Arc::clone(&kept);
        let _sub = bus
            .subscribe_with("t.*", SubscribeOptions::new(), move |m| {
                if m.seq() % 3 == 0 {
                    into.lock().unwrap().push(m.clone());
                }
                Ok(())
            })
            .unwrap();
        for i in 1..=300u64 {
            let header = i.to_string();
            bus.publish(&format!("t.{}", i % 2), &i.to_le_bytes()[..], &[("n", &header)]).unwrap();
        }
        let kept = kept.lock().unwrap();
        assert_eq!(kept.len(), 100);
        for m in kept.iter() {
            assert_eq!(m.payload(), m.seq().to_le_bytes());
            assert_eq!(m.header("n"), Some(m.seq().to_string().as_str()));
            assert_eq!(m.topic(), format!("t.{}", m.seq() % 2));
        }
    }

    /// A handler publishing on its own topic finds the route's message
    /// claimed by the publish it runs in: the nested publish takes another,
    /// and the outer message is intact when the handler looks again.
    #[test]
    fn a_nested_publish_on_the_same_topic_leaves_the_outer_message_intact() {
        let bus = bus();
        let inner = bus.clone();
        let seen = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&seen);
        let _sub = bus
            .subscribe_with("t.x", SubscribeOptions::new(), move |m| {
                let depth = m.payload()[0];
                if depth < 5 {
                    inner.publish("t.x", &[depth + 1][..], &[]).unwrap();
                }
                assert_eq!(m.payload(), [depth], "the message changed under its handler");
                count.fetch_add(1, Ordering::Relaxed);
                Ok(())
            })
            .unwrap();
        for _ in 0..10 {
            let report = bus.publish("t.x", &[0u8][..], &[]).unwrap();
            assert_eq!(report.delivered, 1);
        }
        assert_eq!(seen.load(Ordering::Relaxed), 60);
        let stats = bus.stats().subscriptions;
        assert_eq!((stats.received, stats.delivered, stats.handler_failures), (60, 60, 0));
    }

    /// The route keeps its message between publishes but never the
    /// payload: the caller's is released when the publish returns.
    #[test]
    fn the_route_keeps_no_payload() {
        let bus = bus();
        let _sub = bus.subscribe_with("t.x", SubscribeOptions::new(), |_| Ok(())).unwrap();
        let payload: Arc<[u8]> = Arc::from(&b"large"[..]);
        for _ in 0..3 {
            bus.publish("t.x", Arc::clone(&payload), &[("k", "v")]).unwrap();
            assert_eq!(Arc::strong_count(&payload), 1);
        }
    }

    /// Publishers on several threads share one route: each handler call
    /// sees one message whole (its payload and header agree).
    #[test]
    fn concurrent_publishers_each_get_their_own_message() {
        let bus = bus();
        let bad = Arc::new(AtomicU64::new(0));
        let flag = Arc::clone(&bad);
        let _sub = bus
            .subscribe_with("t.x", SubscribeOptions::new(), move |m| {
                let n = u64::from_le_bytes(m.payload().try_into().unwrap());
                if m.header("n") != Some(n.to_string().as_str()) {
                    flag.fetch_add(1, Ordering::Relaxed);
                }
                thread::yield_now();
                if u64::from_le_bytes(m.payload().try_into().unwrap()) != n {
                    flag.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
            .unwrap();
        let publishers: Vec<_> = (0..4u64)
            .map(|t| {
                let bus = bus.clone();
                thread::spawn(move || {
                    for i in 0..2_000u64 {
                        let n = t * 1_000_000 + i;
                        bus.publish("t.x", &n.to_le_bytes()[..], &[("n", &n.to_string())]).unwrap();
                    }
                })
            })
            .collect();
        for p in publishers {
            p.join().unwrap();
        }
        assert_eq!(bad.load(Ordering::Relaxed), 0);
        assert_eq!(bus.stats().subscriptions.delivered, 8_000);
    }

    /// A route cached for inline handlers only is recomputed when a queue
    /// subscription joins it or a handler leaves: the stale route neither
    /// misses the newcomer nor reaches the one that left.
    #[test]
    fn the_route_of_inline_handlers_follows_subscribe_and_unsubscribe() {
        let bus = bus();
        let calls = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&calls);
        let handler = bus
            .subscribe_with("a.b", SubscribeOptions::new(), move |_| {
                count.fetch_add(1, Ordering::Relaxed);
                Ok(())
            })
            .unwrap();
        bus.publish("a.b", &b"1"[..], &[]).unwrap();
        bus.publish("a.b", &b"2"[..], &[]).unwrap();
        let queue = bus.subscribe("a.*", SubscribeOptions::new()).unwrap();
        assert_eq!(bus.publish("a.b", &b"3"[..], &[]).unwrap().delivered, 2);
        assert_eq!(queue.try_recv().unwrap().unwrap().payload(), b"3");
        drop(queue);
        assert_eq!(bus.publish("a.b", &b"4"[..], &[]).unwrap().delivered, 1);
        drop(handler);
        assert_eq!(bus.publish("a.b", &b"5"[..], &[]).unwrap().matched, 0);
        assert_eq!(calls.load(Ordering::Relaxed), 4);
    }
}
