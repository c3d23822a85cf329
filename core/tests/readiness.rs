//! Readiness: waiting without a thread, and cancellable receives.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use charter_core::bus::{Bus, BusLimits, Cancel, Notify, Polled, SubscribeOptions, Subscription};
use charter_core::ErrorKind;

/// A bus with default limits and a pull subscription to `a`.
fn pull_on_a() -> (Bus, Subscription) {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let sub = bus.subscribe("a", SubscribeOptions::new()).unwrap();
    (bus, sub)
}

fn counter() -> (Notify, Arc<AtomicUsize>) {
    let n = Arc::new(AtomicUsize::new(0));
    let m = Arc::clone(&n);
    (
        Arc::new(move || {
            m.fetch_add(1, Ordering::SeqCst);
        }),
        n,
    )
}

#[test]
fn an_armed_notify_fires_once_on_the_next_message() {
    let (bus, sub) = pull_on_a();
    let (notify, fired) = counter();
    assert!(matches!(sub.poll_recv(&notify).unwrap(), Polled::Pending { recheck: None }));
    // Arming the same notify again keeps one entry.
    assert!(matches!(sub.poll_recv(&notify).unwrap(), Polled::Pending { .. }));
    bus.publish("a", &b"1"[..], &[]).unwrap();
    bus.publish("a", &b"2"[..], &[]).unwrap();
    assert_eq!(fired.load(Ordering::SeqCst), 1);
    let Polled::Ready(m) = sub.poll_recv(&notify).unwrap() else { panic!("expected a message") };
    assert_eq!(m.payload(), b"1");
    assert_eq!(sub.stats().delivered, 1);
}

#[test]
fn a_disarmed_notify_never_fires() {
    let (bus, sub) = pull_on_a();
    let (notify, fired) = counter();
    sub.poll_recv(&notify).unwrap();
    assert!(sub.disarm(&notify));
    assert!(!sub.disarm(&notify));
    bus.publish("a", &b"1"[..], &[]).unwrap();
    assert_eq!(fired.load(Ordering::SeqCst), 0);
    assert_eq!(sub.stats().queued, 1, "nothing was consumed");
}

#[test]
fn the_end_fires_armed_notifies_and_watches() {
    let (bus, sub) = pull_on_a();
    let (notify, fired) = counter();
    let (watch, watched) = counter();
    sub.poll_recv(&notify).unwrap();
    sub.set_watch(Some(watch)).unwrap();
    assert_eq!(watched.load(Ordering::SeqCst), 0, "an empty queue is not readable");
    bus.close();
    assert_eq!(fired.load(Ordering::SeqCst), 1);
    assert_eq!(watched.load(Ordering::SeqCst), 1);
    assert_eq!(sub.poll_recv(&notify).unwrap_err().kind(), ErrorKind::Closed);
}

#[test]
fn a_watch_fires_on_each_empty_to_non_empty_edge() {
    let (bus, sub) = pull_on_a();
    bus.publish("a", &b"0"[..], &[]).unwrap();
    let (watch, watched) = counter();
    sub.set_watch(Some(watch)).unwrap();
    assert_eq!(watched.load(Ordering::SeqCst), 1, "a readable queue fires at install");
    bus.publish("a", &b"1"[..], &[]).unwrap();
    assert_eq!(watched.load(Ordering::SeqCst), 1, "not an edge");
    while sub.try_recv().unwrap().is_some() {}
    bus.publish("a", &b"2"[..], &[]).unwrap();
    assert_eq!(watched.load(Ordering::SeqCst), 2);
    sub.set_watch(None).unwrap();
    while sub.try_recv().unwrap().is_some() {}
    bus.publish("a", &b"3"[..], &[]).unwrap();
    assert_eq!(watched.load(Ordering::SeqCst), 2, "removed");
}

#[test]
fn remove_watch_removes_only_its_own_watch() {
    let (bus, sub) = pull_on_a();
    let (first, first_fired) = counter();
    let (second, second_fired) = counter();
    sub.set_watch(Some(Arc::clone(&first))).unwrap();
    sub.set_watch(Some(Arc::clone(&second))).unwrap();
    assert!(!sub.remove_watch(&first), "the first was replaced");
    bus.publish("a", &b"1"[..], &[]).unwrap();
    assert_eq!((first_fired.load(Ordering::SeqCst), second_fired.load(Ordering::SeqCst)), (0, 1));
    assert!(sub.remove_watch(&second));
    while sub.try_recv().unwrap().is_some() {}
    bus.publish("a", &b"2"[..], &[]).unwrap();
    assert_eq!(second_fired.load(Ordering::SeqCst), 1, "removed");
}

/// A producer and a consumer race for 10^6 messages; the consumer waits
/// only through readiness edges and must see every message in order.
#[test]
fn no_wake_up_is_lost_in_a_race() {
    const N: u64 = 1_000_000;
    let bus = Bus::new(BusLimits::default()).unwrap();
    let sub = bus
        .subscribe(
            "race",
            SubscribeOptions::new()
                .capacity(64)
                .overflow(charter_core::bus::Overflow::Block(Duration::from_secs(60))),
        )
        .unwrap();
    let producer = {
        let bus = bus.clone();
        thread::spawn(move || {
            for i in 0..N {
                bus.publish("race", &i.to_le_bytes()[..], &[]).unwrap();
            }
        })
    };
    let signal = Arc::new((Mutex::new(false), Condvar::new()));
    let notify: Notify = {
        let signal = Arc::clone(&signal);
        Arc::new(move || {
            *signal.0.lock().unwrap() = true;
            signal.1.notify_one();
        })
    };
    let mut next = 0u64;
    while next < N {
        match sub.poll_recv(&notify).unwrap() {
            Polled::Ready(m) => {
                assert_eq!(u64::from_le_bytes(m.payload().try_into().unwrap()), next);
                next += 1;
            }
            Polled::Pending { .. } => {
                let mut woken = signal.0.lock().unwrap();
                while !*woken {
                    let (w, timeout) = signal.1.wait_timeout(woken, Duration::from_secs(10)).unwrap();
                    woken = w;
                    assert!(!timeout.timed_out(), "lost wake-up at message {next}");
                }
                *woken = false;
            }
        }
    }
    producer.join().unwrap();
    let stats = sub.stats();
    assert_eq!((stats.received, stats.delivered, stats.queued), (N, N, 0));
}

#[test]
fn a_cancelled_receive_consumes_nothing() {
    let (bus, sub) = pull_on_a();
    let cancel = Cancel::new();
    let waiter = {
        let sub = bus.subscription(sub.id()).unwrap();
        let cancel = cancel.clone();
        thread::spawn(move || sub.recv_cancellable(None, &cancel))
    };
    thread::sleep(Duration::from_millis(50));
    let started = std::time::Instant::now();
    cancel.cancel();
    let err = waiter.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert!(started.elapsed() < Duration::from_millis(500));
    bus.publish("a", &b"kept"[..], &[]).unwrap();
    assert_eq!(sub.try_recv().unwrap().unwrap().payload(), b"kept");
    // A cancelled token cancels later receives at once too.
    assert_eq!(sub.recv_cancellable(None, &cancel).unwrap_err().kind(), ErrorKind::Cancelled);
}

#[test]
fn a_cancellable_receive_gets_messages_and_times_out() {
    let (bus, sub) = pull_on_a();
    let cancel = Cancel::new();
    assert_eq!(
        sub.recv_cancellable(Some(Duration::ZERO), &cancel).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    assert_eq!(
        sub.recv_cancellable(Some(Duration::from_millis(20)), &cancel).unwrap_err().kind(),
        ErrorKind::Timeout
    );
    let publisher = {
        let bus = bus.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(30));
            bus.publish("a", &b"x"[..], &[]).unwrap();
        })
    };
    assert_eq!(sub.recv_cancellable(Some(Duration::from_secs(10)), &cancel).unwrap().payload(), b"x");
    publisher.join().unwrap();
    // No armed notify is left behind by finished receives.
    bus.publish("a", &b"y"[..], &[]).unwrap();
    assert_eq!(sub.stats().queued, 1);
}

#[test]
fn handler_subscriptions_cannot_be_polled() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let sub =
        bus.subscribe_with("a", SubscribeOptions::new(), |_m: &charter_core::bus::Message| Ok(())).unwrap();
    let (notify, _) = counter();
    assert_eq!(sub.poll_recv(&notify).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(sub.set_watch(Some(notify)).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

/// Every kind of waiter in turn on one queue gets its wake-up, and a
/// forgotten one gets none: the queue's note of whether a push has
/// anything to wake follows each arm, disarm, fire, watch, removal and
/// blocked receive.
#[test]
fn every_kind_of_waiter_in_turn_is_woken() {
    let (bus, sub) = pull_on_a();
    for round in 0..3 {
        let (notify, fired) = counter();
        assert!(matches!(sub.poll_recv(&notify).unwrap(), Polled::Pending { .. }));
        bus.publish("a", &b"n"[..], &[]).unwrap();
        bus.publish("a", &b"n"[..], &[]).unwrap();
        assert_eq!(fired.load(Ordering::SeqCst), 1, "round {round}");
        while sub.try_recv().unwrap().is_some() {}

        assert!(matches!(sub.poll_recv(&notify).unwrap(), Polled::Pending { .. }));
        assert!(sub.disarm(&notify));
        bus.publish("a", &b"d"[..], &[]).unwrap();
        assert_eq!(fired.load(Ordering::SeqCst), 1, "round {round}");
        sub.try_recv().unwrap().unwrap();

        let (watch, edges) = counter();
        sub.set_watch(Some(Arc::clone(&watch))).unwrap();
        bus.publish("a", &b"w"[..], &[]).unwrap();
        assert_eq!(edges.load(Ordering::SeqCst), 1, "round {round}");
        sub.try_recv().unwrap().unwrap();
        assert!(sub.remove_watch(&watch));
        bus.publish("a", &b"w"[..], &[]).unwrap();
        assert_eq!(edges.load(Ordering::SeqCst), 1, "round {round}");
        sub.try_recv().unwrap().unwrap();

        let receiver = bus.subscription(sub.id()).unwrap();
        let waiting = thread::spawn(move || receiver.recv_timeout(Duration::from_secs(10)).map(|m| m.seq()));
        thread::sleep(Duration::from_millis(20));
        let seq = bus.stats().published + 1;
        bus.publish("a", &b"r"[..], &[]).unwrap();
        assert_eq!(waiting.join().unwrap().unwrap(), seq, "round {round}");
    }
}

/// A queue with a TTL stamps every message, so its push never takes the
/// quiet short path: its watch still fires only on edges, every message
/// expires on time after the watch is removed, and the accounting stays
/// exact throughout.
#[test]
fn a_ttl_queue_fires_on_edges_and_still_expires_after_its_watch_goes() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let sub = bus.subscribe("a", SubscribeOptions::new().ttl(Duration::from_millis(200))).unwrap();
    let (watch, watched) = counter();
    sub.set_watch(Some(Arc::clone(&watch))).unwrap();
    bus.publish("a", &b"1"[..], &[]).unwrap();
    bus.publish("a", &b"2"[..], &[]).unwrap();
    assert_eq!(watched.load(Ordering::SeqCst), 1, "one edge");
    assert!(sub.remove_watch(&watch));
    bus.publish("a", &b"3"[..], &[]).unwrap();
    assert_eq!(watched.load(Ordering::SeqCst), 1, "removed");
    // Wide margin: the messages must have expired by now on a loaded machine.
    thread::sleep(Duration::from_millis(500));
    assert!(sub.try_recv().unwrap().is_none());
    let s = sub.stats();
    assert_eq!((s.received, s.delivered, s.dropped.expired, s.queued), (3, 0, 3, 0));
}

/// A plain queue goes quiet again once its watch is removed, and loud
/// again when a notify is armed: no wake-up is lost either way.
#[test]
fn a_plain_queue_wakes_again_after_going_quiet() {
    let (bus, sub) = pull_on_a();
    let (watch, watched) = counter();
    sub.set_watch(Some(Arc::clone(&watch))).unwrap();
    assert!(sub.remove_watch(&watch));
    bus.publish("a", &b"1"[..], &[]).unwrap();
    assert_eq!(watched.load(Ordering::SeqCst), 0);
    assert_eq!(sub.try_recv().unwrap().unwrap().payload(), b"1");
    let (notify, fired) = counter();
    assert!(matches!(sub.poll_recv(&notify).unwrap(), Polled::Pending { .. }));
    bus.publish("a", &b"2"[..], &[]).unwrap();
    assert_eq!(fired.load(Ordering::SeqCst), 1);
    let s = sub.stats();
    assert_eq!((s.received, s.delivered, s.queued), (2, 1, 1));
}

/// A notify that publishes on the topic whose message fired it, from a
/// publish that found its route in the match cache: the publish runs the
/// callback with no lock of the cache held (a lock held would deadlock
/// the callback's own publish on the same topic).
#[test]
fn a_notify_may_publish_on_the_topic_that_fired_it() {
    let (bus, sub) = pull_on_a();
    bus.publish("a", &b"warm"[..], &[]).unwrap();
    assert_eq!(sub.try_recv().unwrap().unwrap().payload(), b"warm");
    let again = bus.clone();
    let notify: Notify = Arc::new(move || {
        again.publish("a", &b"from the callback"[..], &[]).unwrap();
    });
    assert!(matches!(sub.poll_recv(&notify).unwrap(), Polled::Pending { .. }));
    let report = bus.publish("a", &b"fires"[..], &[]).unwrap();
    assert_eq!((report.matched, report.delivered), (1, 1));
    let got: Vec<_> = std::iter::from_fn(|| sub.try_recv().unwrap()).map(|m| m.payload().to_vec()).collect();
    assert_eq!(got, [&b"fires"[..], &b"from the callback"[..]]);
}
