//! Behaviour of the topic bus through its public API.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use charter_core::bus::{
    Bus, BusLimits, Dispatch, Message, Overflow, SubscribeOptions, Subscription, SubscriptionId,
};
use charter_core::{ErrorKind, HandlerError};

fn bus() -> Bus {
    Bus::new(BusLimits::default()).unwrap()
}

fn opts() -> SubscribeOptions {
    SubscribeOptions::new()
}

/// A service on `topic`, its handler dispatched as `dispatch`: it answers
/// each request with the payload and headers `answer` makes of it.
fn serve(
    bus: &Bus,
    topic: &str,
    dispatch: Dispatch,
    answer: impl Fn(&Message) -> (Vec<u8>, &'static [(&'static str, &'static str)]) + Send + Sync + 'static,
) -> Subscription {
    let to = bus.clone();
    bus.subscribe_with(topic, opts().dispatch(dispatch), move |m| {
        let (payload, headers) = answer(m);
        to.respond(m, payload, headers).map(drop).map_err(|_| HandlerError)
    })
    .unwrap()
}

/// Runs `f` with a handle on `bus` on a thread of its own.
fn on_a_thread<T: Send + 'static>(
    bus: &Bus,
    f: impl FnOnce(Bus) -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    let bus = bus.clone();
    thread::spawn(move || f(bus))
}

/// A subscription to `t` of one message's capacity whose publishers block
/// up to `wait`, already holding the message `1`.
fn full_block_queue(bus: &Bus, wait: Duration) -> Subscription {
    let sub = bus.subscribe("t", opts().capacity(1).overflow(Overflow::Block(wait))).unwrap();
    bus.publish("t", &b"1"[..], &[]).unwrap();
    sub
}

#[test]
fn delivers_to_matching_patterns_only_in_order() {
    let bus = bus();
    let exact = bus.subscribe("orders.eu.created", opts()).unwrap();
    let star = bus.subscribe("orders.*.created", opts()).unwrap();
    let rest = bus.subscribe("orders.>", opts()).unwrap();
    let other = bus.subscribe("payments.>", opts()).unwrap();
    for i in 0..3u8 {
        let r = bus.publish("orders.eu.created", vec![i], &[]).unwrap();
        assert_eq!((r.matched, r.delivered, r.dropped), (3, 3, 0));
    }
    bus.publish("orders.us", &b"x"[..], &[]).unwrap();
    for sub in [&exact, &star] {
        let seqs: Vec<u8> = (0..3).map(|_| sub.try_recv().unwrap().unwrap().payload()[0]).collect();
        assert_eq!(seqs, [0, 1, 2]);
        assert!(sub.try_recv().unwrap().is_none());
    }
    assert_eq!(rest.stats().queued, 4);
    assert!(other.try_recv().unwrap().is_none());
    let first = rest.recv().unwrap();
    let second = rest.recv().unwrap();
    assert!(second.seq() > first.seq(), "sequence numbers grow");
}

#[test]
fn the_payload_is_shared_not_copied() {
    let bus = bus();
    let a = bus.subscribe("t", opts()).unwrap();
    let b = bus.subscribe("t", opts()).unwrap();
    let payload: Arc<[u8]> = Arc::from(&b"shared"[..]);
    bus.publish("t", Arc::clone(&payload), &[]).unwrap();
    let (ma, mb) = (a.recv().unwrap(), b.recv().unwrap());
    assert!(std::ptr::eq(ma.payload().as_ptr(), payload.as_ptr()));
    assert!(std::ptr::eq(mb.payload().as_ptr(), payload.as_ptr()));
}

#[test]
fn bad_input_says_which_rule() {
    fn err<T>(r: charter_core::Result<T>) -> charter_core::Error {
        r.map(|_| ()).unwrap_err()
    }
    let bus = bus();
    let e = err(bus.publish("a..b", &b""[..], &[]));
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("empty token at position 2"), "{e}");
    assert!(err(bus.publish("a.*", &b""[..], &[])).message().contains("wildcard"));
    assert!(err(bus.subscribe("a.>.b", opts())).message().contains("only be the last token"));
    let e = err(bus.publish("_charter.inbox.1", &b""[..], &[]));
    assert!(e.message().contains("reserved"), "{e}");
    assert!(err(bus.subscribe("_charter.>", opts())).message().contains("reserved"));
    let big = vec![0u8; (1 << 20) + 1];
    let e = err(bus.publish("t", big, &[]));
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert!(e.message().contains("payload is 1048577 bytes"), "{e}");
    assert_eq!(err(bus.subscribe("t", opts().capacity(0))).kind(), ErrorKind::InvalidArgument);
    assert_eq!(err(bus.subscribe("t", opts().capacity(1 << 21))).kind(), ErrorKind::LimitExceeded);
    assert!(err(bus.publish("t", &b""[..], &[("bad name", "v")])).message().contains("header name"));
    assert!(err(bus.publish("t", &b""[..], &[("k", "a\nb")])).message().contains("control"));
    let limits = BusLimits { max_topic_len: 300, ..BusLimits::default() };
    assert_eq!(Bus::new(limits).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

#[test]
fn subscription_limit() {
    let bus = Bus::new(BusLimits { max_subscriptions: 2, ..BusLimits::default() }).unwrap();
    let _a = bus.subscribe("a", opts()).unwrap();
    let b = bus.subscribe("b", opts()).unwrap();
    let e = bus.subscribe("c", opts()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert!(e.message().contains("limit"), "{e}");
    drop(b);
    bus.subscribe("c", opts()).unwrap();
}

#[test]
fn headers_round_trip() {
    let bus = bus();
    let sub = bus.subscribe("t", opts()).unwrap();
    bus.publish("t", &b"p"[..], &[("a", "1"), ("b", "two")]).unwrap();
    let m = sub.recv().unwrap();
    assert_eq!(m.headers().collect::<Vec<_>>(), [("a", "1"), ("b", "two")]);
    assert_eq!(m.header("b"), Some("two"));
    assert_eq!(m.header("c"), None);
}

#[test]
fn overflow_policies() {
    let bus = bus();
    let oldest = bus.subscribe("t", opts().capacity(2).overflow(Overflow::DropOldest)).unwrap();
    let newest = bus.subscribe("t", opts().capacity(2).overflow(Overflow::DropNewest)).unwrap();
    for i in 0..4u8 {
        bus.publish("t", vec![i], &[]).unwrap();
    }
    let drain = |s: &charter_core::bus::Subscription| -> Vec<u8> {
        std::iter::from_fn(|| s.try_recv().unwrap()).map(|m| m.payload()[0]).collect()
    };
    assert_eq!(drain(&oldest), [2, 3]);
    assert_eq!(drain(&newest), [0, 1]);
    assert_eq!(oldest.stats().dropped.overflow, 2);
    assert_eq!(oldest.stats().slow_episodes, 1, "one slow-consumer episode, not one per drop");

    let error = bus.subscribe("e", opts().capacity(1).overflow(Overflow::Error)).unwrap();
    let also = bus.subscribe("e", opts()).unwrap();
    bus.publish("e", &b"1"[..], &[]).unwrap();
    let e = bus.publish("e", &b"2"[..], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert!(e.message().contains("1 of 2 subscriptions accepted it"), "{e}");
    assert_eq!(also.stats().queued, 2, "the other subscription still got it");
    assert_eq!(error.stats().dropped.rejected, 1);
}

/// A refused publish names its topic, whether its route came from the
/// match cache (the topic compared) or was computed on a miss: the
/// message names the route's copy of the topic, which must be the text
/// given, here a string made at run time.
#[test]
fn a_refusal_names_the_topic_given_on_a_hit_and_on_a_miss() {
    let bus = bus();
    let full = bus.subscribe("orders.eu", opts().capacity(1).overflow(Overflow::Error)).unwrap();
    let topic = String::from("orders.") + "eu";
    bus.publish(&topic, &b"1"[..], &[]).unwrap();
    let warm = bus.publish(&topic, &b"2"[..], &[]).unwrap_err();
    assert!(
        warm.message().contains("(publish to \"orders.eu\": 0 of 1 subscriptions accepted it)"),
        "{warm}"
    );
    // A subscribe clears the cache: the next publish misses.
    let _other = bus.subscribe("orders.us", opts()).unwrap();
    let cold = bus.publish(&topic, &b"3"[..], &[]).unwrap_err();
    assert!(
        cold.message().contains("(publish to \"orders.eu\": 0 of 1 subscriptions accepted it)"),
        "{cold}"
    );
    assert_eq!(full.stats().dropped.rejected, 2);
}

#[test]
fn block_waits_for_room_then_times_out() {
    let bus = bus();
    let sub = full_block_queue(&bus, Duration::from_millis(50));
    let started = Instant::now();
    let e = bus.publish("t", &b"2"[..], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() >= Duration::from_millis(45));
    assert_eq!(sub.stats().dropped.timeout, 1);
    drop(sub);

    // Room made while a publisher waits lets it in: with a wait long
    // enough that a loaded machine's scheduling cannot end it first.
    let bus = self::bus();
    let sub = full_block_queue(&bus, Duration::from_secs(30));
    let consumer = {
        let sub = bus.subscription(sub.id()).unwrap();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            sub.recv().unwrap()
        })
    };
    bus.publish("t", &b"3"[..], &[]).unwrap();
    assert_eq!(consumer.join().unwrap().payload(), b"1");
    assert_eq!(sub.recv().unwrap().payload(), b"3");
    assert_eq!(sub.stats().dropped.timeout, 0);
}

#[test]
fn block_inside_a_handler_of_the_same_bus_would_block() {
    let bus = bus();
    let _full = bus
        .subscribe("inner", opts().capacity(1).overflow(Overflow::Block(Duration::from_secs(30))))
        .unwrap();
    bus.publish("inner", &b"fill"[..], &[]).unwrap();
    let seen = Arc::new(Mutex::new(None));
    let (b2, s2) = (bus.clone(), Arc::clone(&seen));
    let _outer = bus
        .subscribe_with("outer", opts(), move |_| {
            *s2.lock().unwrap() = Some(b2.publish("inner", &b"x"[..], &[]).unwrap_err().kind());
            Ok(())
        })
        .unwrap();
    let started = Instant::now();
    bus.publish("outer", &b""[..], &[]).unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(*seen.lock().unwrap(), Some(ErrorKind::WouldBlock));
}

#[test]
fn ttl_drops_expired_messages_on_receive() {
    let bus = bus();
    // Wide margins: on a loaded machine the fresh message must not expire
    // before it is received.
    let sub = bus.subscribe("t", opts().ttl(Duration::from_millis(300))).unwrap();
    bus.publish("t", &b"old"[..], &[]).unwrap();
    thread::sleep(Duration::from_millis(600));
    bus.publish("t", &b"new"[..], &[]).unwrap();
    assert_eq!(sub.recv().unwrap().payload(), b"new");
    let s = sub.stats();
    assert_eq!((s.received, s.delivered, s.dropped.expired), (2, 1, 1));
}

#[test]
fn idle_subscriptions_are_evicted() {
    let bus = bus();
    let idle = bus.subscribe("t", opts().idle_ttl(Duration::from_millis(20))).unwrap();
    let busy = bus.subscribe("t", opts()).unwrap();
    thread::sleep(Duration::from_millis(40));
    assert_eq!(bus.evict_idle(), 1);
    // Ended, but its id still answers, with the held handle's error.
    assert_eq!(bus.subscription(idle.id()).unwrap().recv().unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(idle.recv().unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(bus.subscription_count(), 1);
    assert!(bus.subscription(busy.id()).is_ok());
}

/// A cached route that mixes plain queues with an idle-tracked one still
/// checks the idle one at each publish (only an all-plain route skips the
/// per-target checks).
#[test]
fn a_publish_ends_an_idle_subscription_on_a_route_shared_with_plain_ones() {
    let bus = bus();
    let plain = bus.subscribe("t", opts()).unwrap();
    let idle = bus.subscribe("t", opts().idle_ttl(Duration::from_millis(20))).unwrap();
    let other = bus.subscribe("t", opts()).unwrap();
    assert_eq!(bus.publish("t", &b"1"[..], &[]).unwrap().delivered, 3);
    thread::sleep(Duration::from_millis(40));
    let report = bus.publish("t", &b"2"[..], &[]).unwrap();
    assert_eq!((report.matched, report.delivered, report.dropped), (3, 2, 1));
    assert_eq!(idle.recv().unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(bus.subscription_count(), 2);
    for sub in [&plain, &other] {
        assert_eq!(sub.try_recv().unwrap().unwrap().payload(), b"1");
        assert_eq!(sub.try_recv().unwrap().unwrap().payload(), b"2");
    }
}

#[test]
fn recv_timeout_and_close_wake_waiters() {
    let bus = bus();
    let sub = bus.subscribe("t", opts()).unwrap();
    let started = Instant::now();
    assert_eq!(sub.recv_timeout(Duration::from_millis(30)).unwrap_err().kind(), ErrorKind::Timeout);
    assert!(started.elapsed() >= Duration::from_millis(25));
    assert_eq!(sub.recv_timeout(Duration::ZERO).unwrap_err().kind(), ErrorKind::WouldBlock);
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let view = bus.subscription(sub.id()).unwrap();
            thread::spawn(move || view.recv().unwrap_err().kind())
        })
        .collect();
    thread::sleep(Duration::from_millis(20));
    bus.close();
    for w in waiters {
        assert_eq!(w.join().unwrap(), ErrorKind::Closed);
    }
    assert_eq!(bus.publish("t", &b""[..], &[]).unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(bus.subscribe("t", opts()).unwrap_err().kind(), ErrorKind::Closed);
}

/// A blocking receive looks at its queue for a few microseconds before it
/// parks (docs/bus.md, "Subscriptions"): a timeout that ends inside that spin
/// is still exact, a close during it ends the receive, and a message
/// published during it is taken, each with every count in place.
#[test]
fn the_spin_before_a_park_keeps_timeouts_closes_and_counts() {
    let bus = bus();
    let sub = bus.subscribe("t", opts()).unwrap();
    for micros in [1, 10, 30] {
        let started = Instant::now();
        assert_eq!(sub.recv_timeout(Duration::from_micros(micros)).unwrap_err().kind(), ErrorKind::Timeout);
        assert!(started.elapsed() >= Duration::from_micros(micros));
    }
    for round in 0..200u32 {
        let view = bus.subscription(sub.id()).unwrap();
        let receiver = thread::spawn(move || view.recv().map(|m| m.payload().to_vec()));
        // Published while the receiver spins, parks, or has not started:
        // it is received in every case.
        bus.publish("t", round.to_le_bytes().to_vec(), &[]).unwrap();
        assert_eq!(receiver.join().unwrap().unwrap(), round.to_le_bytes());
    }
    let stats = sub.stats();
    assert_eq!((stats.received, stats.delivered, stats.queued), (200, 200, 0));
    let view = bus.subscription(sub.id()).unwrap();
    let receiver = thread::spawn(move || view.recv().unwrap_err().kind());
    bus.close();
    assert_eq!(receiver.join().unwrap(), ErrorKind::Closed);
}

#[test]
fn a_cancelled_wait_consumes_nothing() {
    let bus = bus();
    let sub = bus.subscribe("t", opts()).unwrap();
    assert!(sub.recv_timeout(Duration::from_millis(5)).is_err());
    bus.publish("t", &b"kept"[..], &[]).unwrap();
    assert_eq!(sub.recv().unwrap().payload(), b"kept");
}

#[test]
fn unsubscribe_by_id_drop_and_close() {
    let bus = bus();
    let a = bus.subscribe("t", opts()).unwrap();
    let id = a.id();
    bus.publish("t", &b"1"[..], &[]).unwrap();
    assert!(bus.unsubscribe(id).unwrap());
    assert!(!bus.unsubscribe(id).unwrap());
    assert_eq!(a.recv().unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(a.stats().dropped.closed, 1, "the queued message is counted as dropped");
    let b = bus.subscribe("t", opts()).unwrap();
    assert_ne!(b.id(), id, "an ended id is not handed out again");
    let b_id = b.id();
    drop(b);
    assert!(bus.subscription(b_id).is_err());
    let c = bus.subscribe("t", opts()).unwrap();
    let c_id = c.id();
    c.close();
    assert_eq!(bus.subscription_count(), 0);
    let detached = bus.subscribe("t", opts()).unwrap().detach();
    assert!(bus.subscription(detached).is_ok());
    assert!(bus.subscription(SubscriptionId::from_raw(c_id.get())).is_err());
}

#[test]
fn request_and_respond() {
    let bus = bus();
    let _echo = serve(&bus, "echo", Dispatch::Thread, |m| {
        ([&b"re: "[..], m.payload()].concat(), &[("from", "echo")])
    });
    let reply = bus.request("echo", &b"hi"[..], &[], Duration::from_secs(5)).unwrap();
    assert_eq!(reply.payload(), b"re: hi");
    assert_eq!(reply.header("from"), Some("echo"));
    let e = bus.request("nobody", &b"hi"[..], &[], Duration::from_secs(5)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let _silent = bus.subscribe("silent", opts()).unwrap();
    let e = bus.request("silent", &b"hi"[..], &[], Duration::from_millis(20)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    let plain = bus.subscribe("p", opts()).unwrap();
    bus.publish("p", &b""[..], &[]).unwrap();
    let e = bus.respond(&plain.recv().unwrap(), &b""[..], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let plain_message = e.message().to_owned();
    assert!(plain_message.contains("not a request"), "{e}");
    // The empty inbox is the missing one, with the same refusal.
    let e = bus.reply("", &b""[..], &[]).unwrap_err();
    assert_eq!((e.kind(), e.message()), (ErrorKind::InvalidArgument, plain_message.as_str()));
    let e = bus.reply("orders.eu", &b""[..], &[]).unwrap_err();
    assert!(e.message().contains("not a reply inbox"), "{e}");
}

#[test]
fn a_started_request_can_be_waited_for_in_slices() {
    let bus = bus();
    let _slow = serve(&bus, "slow", Dispatch::Thread, |_| {
        thread::sleep(Duration::from_millis(30));
        (b"done".to_vec(), &[])
    });
    let pending = bus.request_start("slow", &b""[..], &[]).unwrap();
    let mut slices = 0;
    let reply = loop {
        match pending.recv_timeout(Duration::from_millis(5)) {
            Ok(m) => break m,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Timeout);
                slices += 1;
            }
        }
    };
    assert_eq!(reply.payload(), b"done");
    assert!(slices > 0, "the first slices timed out without consuming anything");
    let (a, b) = (
        bus.request_start("slow", &b""[..], &[]).unwrap(),
        bus.request_start("slow", &b""[..], &[]).unwrap(),
    );
    let (a, b) = (a.pattern().to_owned(), b.pattern().to_owned());
    assert!(a.starts_with("_charter.inbox.") && a.len() == "_charter.inbox.".len() + 32, "{a}");
    assert_ne!(a[15..], b[15..], "inboxes are random, not a counter");
    assert_eq!(bus.request_start("nobody", &b""[..], &[]).unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn wildcard_subscribers_never_see_replies() {
    let bus = bus();
    let everything = bus.subscribe(">", opts()).unwrap();
    let _svc = serve(&bus, "svc", Dispatch::Inline, |_| (b"r".to_vec(), &[]));
    bus.request("svc", &b"q"[..], &[], Duration::from_secs(5)).unwrap();
    let seen: Vec<String> =
        std::iter::from_fn(|| everything.try_recv().unwrap()).map(|m| m.topic().to_owned()).collect();
    assert_eq!(seen, ["svc"]);
}

#[test]
fn handlers_may_publish_subscribe_and_unsubscribe_themselves() {
    let bus = bus();
    let calls = Arc::new(AtomicUsize::new(0));
    let own_id = Arc::new(Mutex::new(None::<SubscriptionId>));
    let (b2, c2, id2) = (bus.clone(), Arc::clone(&calls), Arc::clone(&own_id));
    let sub = bus
        .subscribe_with("loop", opts(), move |m| {
            c2.fetch_add(1, Ordering::SeqCst);
            b2.publish("side", m.shared_payload(), &[]).unwrap();
            let extra = b2.subscribe("late", SubscribeOptions::new()).unwrap();
            extra.detach();
            let id = id2.lock().unwrap().unwrap();
            assert!(b2.unsubscribe(id).unwrap());
            Ok(())
        })
        .unwrap();
    let side = bus.subscribe("side", opts()).unwrap();
    *own_id.lock().unwrap() = Some(sub.detach());
    bus.publish("loop", &b"1"[..], &[]).unwrap();
    bus.publish("loop", &b"2"[..], &[]).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "unsubscribed itself");
    assert_eq!(side.recv().unwrap().payload(), b"1");
    assert_eq!(bus.subscription_count(), 2);
}

#[test]
fn handler_failures_are_counted_and_isolated() {
    charter_core::panic::silence_caught_panics();
    let bus = bus();
    let bad = bus.subscribe_with("t", opts(), |_| panic!("boom")).unwrap();
    let failing = bus.subscribe_with("t", opts(), |_| Err(HandlerError)).unwrap();
    let good = bus.subscribe("t", opts()).unwrap();
    let r = bus.publish("t", &b""[..], &[]).unwrap();
    assert_eq!((r.matched, r.delivered), (3, 3));
    assert_eq!(bad.stats().handler_failures, 1);
    assert_eq!(failing.stats().handler_failures, 1);
    assert!(good.try_recv().unwrap().is_some());
    let threaded = bus.subscribe_with("u", opts().dispatch(Dispatch::Thread), |_| panic!("boom")).unwrap();
    bus.publish("u", &b""[..], &[]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while threaded.stats().handler_failures == 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(threaded.stats().handler_failures, 1);
}

/// `received == delivered + dropped` per subscription, for every policy,
/// with four publishers at once; the bus totals agree.
#[test]
fn accounting_is_exact_under_concurrent_publishers() {
    for overflow in [
        Overflow::DropOldest,
        Overflow::DropNewest,
        Overflow::Error,
        Overflow::Block(Duration::from_micros(200)),
    ] {
        let bus = bus();
        let subs: Vec<_> = (0..3)
            .map(|_| bus.subscribe("load.>", opts().capacity(16).overflow(overflow)).unwrap())
            .collect();
        let consumer = {
            let view = bus.subscription(subs[0].id()).unwrap();
            thread::spawn(move || {
                let mut n = 0u64;
                while view.recv().is_ok() {
                    n += 1;
                }
                n
            })
        };
        let start = Arc::new(Barrier::new(4));
        let publishers: Vec<_> = (0..4)
            .map(|p| {
                let (bus, start) = (bus.clone(), Arc::clone(&start));
                thread::spawn(move || {
                    start.wait();
                    let mut ok = 0u64;
                    for i in 0..2_000u32 {
                        let topic = format!("load.{p}");
                        if bus.publish(&topic, i.to_le_bytes().to_vec(), &[]).is_ok() {
                            ok += 1;
                        }
                    }
                    ok
                })
            })
            .collect();
        for p in publishers {
            p.join().unwrap();
        }
        let per_sub: Vec<_> = subs.iter().map(|s| s.stats()).collect();
        bus.close();
        let received_by_consumer = consumer.join().unwrap();
        for (i, s) in subs.iter().enumerate() {
            let s = s.stats();
            assert_eq!(s.received, 8_000, "{overflow:?} sub {i}");
            assert_eq!(s.queued, 0);
            assert_eq!(s.received, s.delivered + s.dropped.total(), "{overflow:?} sub {i}: {s:?}");
            assert!(
                per_sub[i].received == per_sub[i].delivered + per_sub[i].dropped.total() + per_sub[i].queued
            );
        }
        assert_eq!(subs[0].stats().delivered, received_by_consumer);
        let total = bus.stats();
        assert_eq!(total.published, 8_000);
        assert_eq!(total.subscriptions.received, 24_000);
        assert_eq!(
            total.subscriptions.received,
            total.subscriptions.delivered + total.subscriptions.dropped.total()
        );
    }
}

#[test]
fn per_publisher_fifo_with_concurrent_publishers() {
    let bus = bus();
    let sub = bus.subscribe("f.>", opts().capacity(100_000)).unwrap();
    let publishers: Vec<_> = (0..4u32)
        .map(|p| {
            let bus = bus.clone();
            thread::spawn(move || {
                for i in 0..1_000u32 {
                    let mut payload = p.to_le_bytes().to_vec();
                    payload.extend_from_slice(&i.to_le_bytes());
                    bus.publish("f.x", payload, &[]).unwrap();
                }
            })
        })
        .collect();
    for p in publishers {
        p.join().unwrap();
    }
    let mut next = [0u32; 4];
    let mut last_seq = 0;
    while let Some(m) = sub.try_recv().unwrap() {
        let p = u32::from_le_bytes(m.payload()[..4].try_into().unwrap()) as usize;
        let i = u32::from_le_bytes(m.payload()[4..].try_into().unwrap());
        assert_eq!(i, next[p], "publisher {p} out of order");
        next[p] += 1;
        assert!(m.seq() != last_seq);
        last_seq = m.seq();
    }
    assert_eq!(next, [1_000; 4]);
}

#[test]
fn waits_too_long_to_represent_mean_no_limit() {
    let bus = bus();
    let sub = bus.subscribe("t", opts().ttl(Duration::MAX).overflow(Overflow::Block(Duration::MAX))).unwrap();
    let view = bus.subscription(sub.id()).unwrap();
    let waiter = thread::spawn(move || view.recv_timeout(Duration::MAX).map(|m| m.payload().to_vec()));
    thread::sleep(Duration::from_millis(10));
    bus.publish("t", &b"late"[..], &[]).unwrap();
    assert_eq!(waiter.join().unwrap().unwrap(), b"late");
}

#[test]
fn accounting_holds_while_a_block_publisher_waits() {
    let bus = bus();
    let sub = full_block_queue(&bus, Duration::from_secs(5));
    let publisher = on_a_thread(&bus, |bus| bus.publish("t", &b"2"[..], &[]).map(|r| r.delivered));
    thread::sleep(Duration::from_millis(50));
    let s = sub.stats();
    assert_eq!(s.received, s.delivered + s.dropped.total() + s.queued, "while the publisher waits: {s:?}");
    assert_eq!(s.received, 1, "the waiting message is not counted until it is queued or dropped");
    assert_eq!(sub.recv().unwrap().payload(), b"1");
    assert_eq!(publisher.join().unwrap().unwrap(), 1);
    assert_eq!(sub.stats().received, 2);
}

#[test]
fn idle_ttl_is_for_pull_subscriptions() {
    let e = bus().subscribe_with("t", opts().idle_ttl(Duration::from_secs(1)), |_| Ok(())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("pull subscriptions only"), "{e}");
}

#[test]
fn thread_dispatch_is_for_handler_subscriptions() {
    let e = bus().subscribe("t", opts().dispatch(Dispatch::Thread)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("with a handler only"), "{e}");
    // Inline is every subscription's default: nothing to refuse.
    bus().subscribe("t", opts().dispatch(Dispatch::Inline)).unwrap();
}

#[test]
fn thread_handlers_ending_each_other_do_not_deadlock() {
    let bus = bus();
    let ids: Arc<Mutex<Vec<SubscriptionId>>> = Arc::default();
    // Both handlers run at once, then each ends the other's subscription:
    // if ending one waited for its thread, each would wait for the other.
    let both_running = Arc::new(Barrier::new(2));
    let done = Arc::new(AtomicUsize::new(0));
    let make = |me: usize| {
        let (bus2, ids, done, barrier) =
            (bus.clone(), Arc::clone(&ids), Arc::clone(&done), Arc::clone(&both_running));
        bus.subscribe_with("both", opts().dispatch(Dispatch::Thread), move |_| {
            barrier.wait();
            let other = ids.lock().unwrap()[1 - me];
            bus2.unsubscribe(other).unwrap();
            done.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .unwrap()
        .detach()
    };
    let a = make(0);
    let b = make(1);
    ids.lock().unwrap().extend([a, b]);
    bus.publish("both", &b""[..], &[]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while done.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(done.load(Ordering::SeqCst), 2, "both handlers returned");
    assert_eq!(bus.subscription_count(), 0);
    bus.close();
}

#[test]
fn a_handler_publishing_to_its_own_topic_is_bounded() {
    use charter_core::bus::MAX_NESTING;
    let bus = Bus::new(BusLimits::default()).unwrap();
    let depth = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let (b, d, errs) = (bus.clone(), depth.clone(), errors.clone());
    let _sub = bus
        .subscribe_with("loop", SubscribeOptions::new(), move |_| {
            d.fetch_add(1, Ordering::SeqCst);
            b.publish("loop", &b""[..], &[]).map(drop).map_err(|e| {
                errs.lock().unwrap().push(e.kind());
                charter_core::HandlerError
            })
        })
        .unwrap();
    bus.publish("loop", &b""[..], &[]).unwrap();
    assert_eq!(depth.load(Ordering::SeqCst), MAX_NESTING);
    assert_eq!(*errors.lock().unwrap(), vec![ErrorKind::LimitExceeded]);
    let stats = bus.stats();
    assert_eq!(stats.depth_exceeded, 1);
    assert_eq!(stats.subscriptions.handler_failures, 1);
    assert_eq!(stats.published, MAX_NESTING as u64, "the refused publish is not counted as published");
    // The bound is per nesting, not per thread's life: it works again.
    bus.publish("loop", &b""[..], &[]).unwrap();
    assert_eq!(bus.stats().depth_exceeded, 2);
}

#[test]
fn ping_pong_between_two_buses_or_a_bus_and_a_registry_is_bounded() {
    let a = Bus::new(BusLimits::default()).unwrap();
    let b = Bus::new(BusLimits::default()).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    // Each bus's `ping` handler counts the call and pings the other bus.
    let forward = |from: &Bus, to: &Bus| {
        let (to, calls) = (to.clone(), calls.clone());
        from.subscribe_with("ping", SubscribeOptions::new(), move |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            to.publish("ping", &b""[..], &[]).map(drop).map_err(|_| charter_core::HandlerError)
        })
        .unwrap()
    };
    let (_sa, _sb) = (forward(&a, &b), forward(&b, &a));
    a.publish("ping", &b""[..], &[]).unwrap();
    let n = calls.load(Ordering::SeqCst);
    assert!(n <= 2 * charter_core::bus::MAX_NESTING, "{n} nested calls");
    assert_eq!(a.stats().depth_exceeded + b.stats().depth_exceeded, 1);

    // A bus and a registry feeding each other share the thread's bound.
    let registry: Arc<charter_core::Registry<str>> = Arc::new(charter_core::Registry::new());
    let (bus, r) = (a.clone(), registry.clone());
    let _sc = a
        .subscribe_with("reg", SubscribeOptions::new(), move |_| {
            r.notify("again");
            Ok(())
        })
        .unwrap();
    let rounds = Arc::new(AtomicUsize::new(0));
    let rr = rounds.clone();
    registry.register(move |_: &str| {
        rr.fetch_add(1, Ordering::SeqCst);
        bus.publish("reg", &b""[..], &[]).map(drop).map_err(|_| charter_core::HandlerError)
    });
    a.publish("reg", &b""[..], &[]).unwrap();
    let n = rounds.load(Ordering::SeqCst);
    assert!(n <= charter_core::registry::DEFAULT_MAX_DEPTH, "{n} rounds");
    assert!(registry.depth_exceeded() + a.stats().depth_exceeded > 1);
}

// The queue takes its common case (no slow episode, no waiting publisher,
// no idle tracking, no TTL) by a shorter path; each of these falls back to
// the full one and must still be honoured by a plain `try_recv`.

#[test]
fn a_drained_slow_consumer_starts_a_new_episode_when_it_falls_behind_again() {
    let bus = bus();
    let sub = bus.subscribe("t", opts().capacity(4).overflow(Overflow::DropNewest)).unwrap();
    for i in 0..5u8 {
        bus.publish("t", vec![i], &[]).unwrap();
    }
    assert_eq!(sub.stats().slow_episodes, 1);
    // Down to half: the episode ends.
    for _ in 0..2 {
        sub.try_recv().unwrap().unwrap();
    }
    for i in 0..3u8 {
        bus.publish("t", vec![i], &[]).unwrap();
    }
    let stats = sub.stats();
    assert_eq!(stats.slow_episodes, 2, "{stats:?}");
    assert_eq!(stats.received, stats.delivered + stats.dropped.overflow + stats.queued);
}

#[test]
fn try_recv_wakes_a_block_publisher() {
    let bus = bus();
    let sub = full_block_queue(&bus, Duration::from_secs(30));
    let publisher = on_a_thread(&bus, |bus| {
        let started = Instant::now();
        bus.publish("t", &b"2"[..], &[]).unwrap();
        started.elapsed()
    });
    // Give the publisher time to start waiting; if it has not yet, the
    // take below simply makes room before it looks.
    thread::sleep(Duration::from_millis(50));
    assert_eq!(sub.try_recv().unwrap().unwrap().payload(), b"1");
    let waited = publisher.join().unwrap();
    assert!(waited < Duration::from_secs(10), "the publisher waited {waited:?}: the take did not wake it");
    assert_eq!(sub.try_recv().unwrap().unwrap().payload(), b"2");
}

#[test]
fn try_recv_keeps_an_idle_tracked_subscription_alive() {
    let bus = bus();
    let sub = bus.subscribe("t", opts().idle_ttl(Duration::from_millis(1000))).unwrap();
    thread::sleep(Duration::from_millis(600));
    bus.publish("t", &b"1"[..], &[]).unwrap();
    assert!(sub.try_recv().unwrap().is_some());
    thread::sleep(Duration::from_millis(600));
    // 1.2 s since it was made, 0.6 s since it last received.
    assert_eq!(bus.evict_idle(), 0, "its receive must count as activity");
}

/// Two subscriptions whose thread handlers are both stuck in their first
/// message, with more queued behind it; `release` lets the handlers return.
fn two_stuck_thread_handlers(bus: &Bus) -> (Vec<Subscription>, Arc<Barrier>) {
    let (started, release) = (Arc::new(Barrier::new(3)), Arc::new(Barrier::new(3)));
    let subs = ["a", "b"]
        .iter()
        .map(|topic| {
            let (started, release) = (Arc::clone(&started), Arc::clone(&release));
            bus.subscribe_with(topic, opts().dispatch(Dispatch::Thread), move |_| {
                started.wait();
                release.wait();
                Ok(())
            })
            .unwrap()
        })
        .collect::<Vec<_>>();
    for topic in ["a", "b"] {
        for _ in 0..5 {
            bus.publish(topic, &b""[..], &[]).unwrap();
        }
    }
    started.wait();
    (subs, release)
}

#[test]
fn closing_the_bus_closes_every_queue_before_it_waits_for_a_handler() {
    let bus = bus();
    let (subs, release) = two_stuck_thread_handlers(&bus);
    let closing = on_a_thread(&bus, |bus| bus.close());
    // The close waits for whichever handler it meets first; by then, the
    // other subscription's queue must be closed too, or its worker could
    // go on taking messages that no handler is meant to see.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !subs.iter().any(|s| s.is_closed()) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    assert!(subs.iter().all(|s| s.is_closed()), "every queue closed while a handler still runs");
    release.wait();
    closing.join().unwrap();
    for sub in &subs {
        let stats = sub.stats();
        assert_eq!((stats.delivered, stats.dropped.closed, stats.queued), (1, 4, 0));
    }
}

#[test]
fn an_unsubscribe_that_finds_the_subscription_ending_returns_with_its_queue_closed() {
    let bus = bus();
    for _ in 0..2000 {
        let sub = bus.subscribe("t", opts()).unwrap();
        bus.publish("t", &b""[..], &[]).unwrap();
        let id = sub.id();
        let view = bus.subscription(id).unwrap();
        sub.detach();
        let start = Arc::new(Barrier::new(2));
        let other = {
            let (bus, start) = (bus.clone(), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                bus.unsubscribe(id).unwrap()
            })
        };
        start.wait();
        let mine = bus.unsubscribe(id).unwrap();
        // Whichever call lost the race to remove it, it returned only once
        // nothing could be taken from the queue any more.
        assert!(view.is_closed(), "returned {mine} with the queue still open");
        assert!(other.join().unwrap() != mine, "exactly one of the two ended it");
    }
}

/// A publish clones its message for every subscriber but the last, which
/// takes the message itself: whichever kind of subscription comes last (a
/// queue, a full `DropNewest` queue that drops it, an inline handler),
/// every queued copy holds the payload exactly once and nothing is left
/// holding it once the copies are received and dropped.
#[test]
fn the_last_subscriber_takes_the_message_and_nothing_leaks() {
    for last in ["queue", "full", "inline"] {
        let bus = bus();
        let payload: Arc<[u8]> = Arc::from(&b"shared"[..]);
        let seen = Arc::new(AtomicUsize::new(0));
        let mut order = vec!["queue", "full", "inline"];
        order.retain(|kind| *kind != last);
        order.push(last);
        let mut queues = Vec::new();
        let mut full = None;
        let mut inline = None;
        for kind in order {
            match kind {
                "queue" => queues.push(bus.subscribe("t", opts()).unwrap()),
                "full" => {
                    full =
                        Some(bus.subscribe("t", opts().capacity(1).overflow(Overflow::DropNewest)).unwrap())
                }
                _ => {
                    let seen = Arc::clone(&seen);
                    inline = Some(
                        bus.subscribe_with("t", opts(), move |m| {
                            assert_eq!(m.payload(), b"shared");
                            seen.fetch_add(1, Ordering::Relaxed);
                            Ok(())
                        })
                        .unwrap(),
                    );
                }
            }
        }
        let first = bus.publish("t", Arc::clone(&payload), &[]).unwrap();
        assert_eq!((first.matched, first.delivered, first.dropped), (3, 3, 0), "{last}");
        let second = bus.publish("t", Arc::clone(&payload), &[]).unwrap();
        assert_eq!((second.matched, second.delivered, second.dropped), (3, 2, 1), "{last}");
        // Ours, and one per message alive (both are queued): a message
        // holds its payload once, however many queues hold the message.
        assert_eq!(Arc::strong_count(&payload), 3, "{last}");
        for _ in 0..2 {
            assert_eq!(queues[0].try_recv().unwrap().unwrap().payload(), b"shared");
        }
        assert!(queues[0].try_recv().unwrap().is_none());
        let full = full.unwrap();
        assert_eq!(full.try_recv().unwrap().unwrap().payload(), b"shared");
        let s = full.stats();
        assert_eq!((s.received, s.delivered, s.dropped.overflow, s.queued), (2, 1, 1, 0), "{last}");
        assert_eq!(seen.load(Ordering::Relaxed), 2, "{last}");
        assert_eq!(Arc::strong_count(&payload), 1, "{last}");
        drop(inline);
    }
}

/// A queue with a TTL keeps each message's expiry in step with it, also
/// when `DropOldest` drops the head: the expired head goes, and the fresh
/// messages behind it are not taken for expired.
#[test]
fn drop_oldest_keeps_expiries_in_step() {
    let bus = bus();
    // Wide margins, as above: the fresh messages must not expire before
    // they are received on a loaded machine.
    let sub = bus
        .subscribe("t", opts().capacity(2).overflow(Overflow::DropOldest).ttl(Duration::from_millis(300)))
        .unwrap();
    bus.publish("t", &b"old"[..], &[]).unwrap();
    thread::sleep(Duration::from_millis(600));
    bus.publish("t", &b"fresh 1"[..], &[]).unwrap();
    // Full: the expired "old" is dropped as overflow, with its expiry.
    bus.publish("t", &b"fresh 2"[..], &[]).unwrap();
    assert_eq!(sub.try_recv().unwrap().unwrap().payload(), b"fresh 1");
    assert_eq!(sub.try_recv().unwrap().unwrap().payload(), b"fresh 2");
    assert!(sub.try_recv().unwrap().is_none());
    let s = sub.stats();
    assert_eq!((s.received, s.delivered, s.dropped.overflow, s.dropped.expired), (3, 2, 1, 0));
}

/// A request failed on its inbox (as the NATS bridge fails one that nothing
/// answered there): every receive of the requester fails with that error,
/// a later reply is dropped and counted, and only reply inboxes qualify.
#[test]
fn a_failed_request_gives_its_requester_the_error_and_drops_a_late_reply() {
    let bus = bus();
    let server = bus.subscribe("svc", SubscribeOptions::new()).unwrap();
    let pending = bus.request_start("svc", &b"ping"[..], &[]).unwrap();
    let request = server.try_recv().unwrap().unwrap();
    let inbox = request.reply_to().unwrap().to_owned();
    let waiter = {
        let view = (*pending).clone();
        thread::spawn(move || view.recv())
    };
    let error = charter_core::Error::new(ErrorKind::NotFound, "no responder on NATS for the request");
    assert!(bus.fail_request(&inbox, &error).unwrap());
    let e = waiter.join().unwrap().unwrap_err();
    assert_eq!((e.kind(), e.message()), (ErrorKind::NotFound, "no responder on NATS for the request"));
    assert_eq!(pending.try_recv().unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(bus.respond(&request, &b"late"[..], &[]).unwrap().matched, 0, "the inbox is gone");
    assert!(!bus.fail_request(&inbox, &error).unwrap(), "nothing waits any more");
    assert_eq!(bus.fail_request("svc", &error).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(bus.fail_request("", &error).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

/// Slow-consumer episodes and blocked publishers, again and again on one
/// queue: a receive that makes room wakes the `Block` publisher each time
/// (it would otherwise sleep out its 30 s), and the receives between
/// episodes take the short path without losing a message.
#[test]
fn each_receive_that_makes_room_wakes_a_blocked_publisher() {
    let bus = bus();
    let sub = full_block_queue(&bus, Duration::from_secs(30));
    // The queue holds b"1"; each round publishes the next digit.
    for round in b'2'..=b'5' {
        let publisher = on_a_thread(&bus, move |bus| {
            let started = Instant::now();
            bus.publish("t", vec![round], &[]).unwrap();
            started.elapsed()
        });
        thread::sleep(Duration::from_millis(30));
        assert_eq!(sub.recv().unwrap().payload(), [round - 1]);
        assert!(publisher.join().unwrap() < Duration::from_secs(10), "round {round}");
    }
    assert_eq!(sub.recv().unwrap().payload(), b"5");
    let s = sub.stats();
    assert_eq!((s.received, s.delivered, s.dropped.total(), s.queued), (5, 5, 0, 0));
}

/// A queue's ring starts without slots and grows as messages pile up
/// (through the publish's out-of-line path): across each growth every
/// message stays, in order; the byte limit counts each queued message and
/// gives its bytes back when it is taken; and the accounting adds up after
/// every publish.
#[test]
fn a_queue_grows_and_gives_back_its_bytes_exactly() {
    let bus = bus();
    // Each message is 10 bytes (the topic's 1 and 9 of payload): the byte
    // limit binds at 40 messages, before the capacity.
    let sub = bus.subscribe("t", opts().capacity(64).max_bytes(400).overflow(Overflow::DropNewest)).unwrap();
    let publish = |i: u8| {
        bus.publish("t", vec![i; 9], &[]).unwrap();
        let s = sub.stats();
        assert_eq!(s.received, s.delivered + s.dropped.total() + s.queued);
    };
    (0..45).for_each(publish);
    let s = sub.stats();
    assert_eq!((s.received, s.queued, s.dropped.overflow), (45, 40, 5));
    let take =
        |n: usize| -> Vec<u8> { (0..n).map(|_| sub.try_recv().unwrap().unwrap().payload()[0]).collect() };
    assert_eq!(take(10), (0..10).collect::<Vec<u8>>());
    (45..55).for_each(publish);
    let s = sub.stats();
    assert_eq!((s.queued, s.dropped.overflow, s.delivered), (40, 5, 10));
    let rest: Vec<u8> = (10..40).chain(45..55).collect();
    assert_eq!(take(40), rest);
    assert!(sub.try_recv().unwrap().is_none());
}

#[test]
fn a_reply_routed_on_an_inbox_leaves_it_reserved_for_everyone_else() {
    // The library's reply routes its inbox; a reserved topic is never
    // cached, so a later publish on it by anyone is still refused.
    let bus = bus();
    let service = bus.subscribe("svc", opts()).unwrap();
    let pending = bus.request_start("svc", &b"ask"[..], &[]).unwrap();
    let request = service.try_recv().unwrap().unwrap();
    let inbox = request.reply_to().unwrap().to_owned();
    for _ in 0..2 {
        let e = bus.publish(&inbox, &b"forged"[..], &[]).unwrap_err();
        assert!(e.message().contains("reserved"), "{e}");
    }
    assert_eq!(bus.reply(&inbox, &b"answer"[..], &[]).unwrap().delivered, 1);
    for _ in 0..2 {
        let e = bus.publish(&inbox, &b"forged"[..], &[]).unwrap_err();
        assert!(e.message().contains("reserved"), "{e}");
    }
    assert_eq!(pending.try_recv().unwrap().unwrap().payload(), b"answer");
    assert!(pending.try_recv().unwrap().is_none(), "no forged message reached the requester");
}

#[test]
fn a_warm_topic_is_refused_once_the_bus_is_closed() {
    // A closed bus's match cache is empty and stays so: the publish that
    // would hit it is refused as closed, not routed by a stale entry.
    let bus = bus();
    let sub = bus.subscribe("warm.topic", opts()).unwrap();
    for _ in 0..3 {
        assert_eq!(bus.publish("warm.topic", &b"x"[..], &[]).unwrap().delivered, 1);
    }
    bus.close();
    for _ in 0..2 {
        assert_eq!(bus.publish("warm.topic", &b"x"[..], &[]).unwrap_err().kind(), ErrorKind::Closed);
        assert_eq!(bus.publish_copied("warm.topic", b"x", &[]).unwrap_err().kind(), ErrorKind::Closed);
    }
    drop(sub);
}

/// A publish whose route is cached, waiting for room in a `Block` queue,
/// lets the match cache go first: a subscribe (which clears the cache)
/// returns while it waits, and the room the receiver then makes lets it
/// deliver. Holding the cache's lock through the wait, the subscribe would
/// wait for the publish, which would time out.
#[test]
fn a_publish_waiting_for_room_holds_no_lock_of_the_match_cache() {
    let bus = bus();
    let open = bus.subscribe("t.wait", opts()).unwrap();
    let full = bus
        .subscribe("t.wait", opts().capacity(1).overflow(Overflow::Block(Duration::from_secs(30))))
        .unwrap();
    bus.publish("t.wait", &b"1"[..], &[]).unwrap();
    let publisher = {
        let bus = bus.clone();
        thread::spawn(move || bus.publish("t.wait", &b"2"[..], &[]))
    };
    thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    let other = bus.subscribe("t.other", opts()).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(full.recv().unwrap().payload(), b"1");
    let report = publisher.join().unwrap().unwrap();
    assert_eq!((report.matched, report.delivered, report.dropped), (2, 2, 0));
    assert_eq!(full.recv().unwrap().payload(), b"2");
    let got: Vec<_> = std::iter::from_fn(|| open.try_recv().unwrap()).map(|m| m.seq()).collect();
    assert_eq!(got, [1, 2]);
    drop(other);
}

/// Warm publishes to three queues of one topic, the middle one full and
/// dropping what is new: each publish reaches the open queues on either
/// side of it, counts one drop, and every queue's accounting stays exact.
#[test]
fn a_full_queue_between_open_ones_drops_only_its_own_copy() {
    let bus = bus();
    let first = bus.subscribe("t.three", opts()).unwrap();
    let full = bus.subscribe("t.three", opts().capacity(1).overflow(Overflow::DropNewest)).unwrap();
    let last = bus.subscribe("t.three", opts()).unwrap();
    bus.publish("t.three", vec![0], &[]).unwrap();
    for i in 1..=5u8 {
        let report = bus.publish("t.three", vec![i], &[]).unwrap();
        assert_eq!((report.matched, report.delivered, report.dropped), (3, 2, 1));
    }
    for sub in [&first, &last] {
        let got: Vec<_> = std::iter::from_fn(|| sub.try_recv().unwrap()).map(|m| m.payload()[0]).collect();
        assert_eq!(got, [0, 1, 2, 3, 4, 5]);
    }
    let stats = full.stats();
    assert_eq!((stats.received, stats.queued, stats.dropped.overflow), (6, 1, 5));
}

/// A payload of the caller's own type whose conversion into a shared
/// buffer publishes on the same topic: a warm publish converts it before
/// it takes any lock of the match cache (under one, the inner publish
/// would deadlock), so the inner message comes first.
#[test]
fn a_payload_converted_by_the_callers_code_may_publish() {
    struct Publishing {
        bus: Bus,
        bytes: Vec<u8>,
    }
    impl AsRef<[u8]> for Publishing {
        fn as_ref(&self) -> &[u8] {
            &self.bytes
        }
    }
    impl From<Publishing> for Arc<[u8]> {
        fn from(p: Publishing) -> Arc<[u8]> {
            p.bus.publish("t.conv", &b"inner"[..], &[]).unwrap();
            Arc::from(p.bytes)
        }
    }
    let bus = bus();
    let sub = bus.subscribe("t.conv", opts()).unwrap();
    bus.publish("t.conv", &b"warm"[..], &[]).unwrap();
    bus.publish("t.conv", Publishing { bus: bus.clone(), bytes: b"outer".to_vec() }, &[]).unwrap();
    let got: Vec<_> = std::iter::from_fn(|| sub.try_recv().unwrap()).map(|m| m.payload().to_vec()).collect();
    assert_eq!(got, [&b"warm"[..], &b"inner"[..], &b"outer"[..]]);
}

/// A payload over the limit is refused after the route's own errors, in
/// a publish's order, whether its topic is warm or not: a bad topic, a
/// reserved one and a closed bus say so rather than that the payload is
/// too long, and a warm topic refuses only the payload.
#[test]
fn an_oversized_payload_is_refused_after_the_routes_errors() {
    let bus = Bus::new(BusLimits { max_payload: 8, ..BusLimits::default() }).unwrap();
    let sub = bus.subscribe("t.warm", opts()).unwrap();
    bus.publish("t.warm", &b"fits"[..], &[]).unwrap();
    let long = vec![0u8; 9];
    assert_eq!(bus.publish("t..bad", long.clone(), &[]).unwrap_err().kind(), ErrorKind::InvalidArgument);
    let reserved = bus.publish("_charter.inbox.x", long.clone(), &[]).unwrap_err();
    assert_eq!(reserved.kind(), ErrorKind::InvalidArgument, "{reserved}");
    assert_eq!(bus.publish("t.warm", long.clone(), &[]).unwrap_err().kind(), ErrorKind::LimitExceeded);
    assert_eq!(sub.stats().received, 1, "nothing of a refused publish reached the queue");
    bus.close();
    assert_eq!(bus.publish("t.warm", long, &[]).unwrap_err().kind(), ErrorKind::Closed);
}
