//! A subscription ended by anything but its owner's unsubscribe keeps
//! answering by id, as ended, with the error its held handle would give:
//! this is how the C ABI and Go, which wait by id, learn why a request's
//! reply inbox or an idle subscription ended. The entries are bounded and
//! go with the owner's unsubscribe.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use charter_core::bus::{Bus, BusLimits, Notify, SubscribeOptions, SubscriptionId};
use charter_core::capability::{Authority, AuthorityOptions, Grant, KeyPair, ManualClock, Session, Token};
use charter_core::{Error, ErrorKind};

fn bus() -> Bus {
    Bus::new(BusLimits::default()).unwrap()
}

fn no_responder() -> Error {
    Error::new(ErrorKind::NotFound, "no responder on NATS for the request")
}

/// A request on "svc" started and detached, as the C ABI does: the reply
/// inbox's id and name.
fn detached_request(bus: &Bus) -> (SubscriptionId, String) {
    let server = bus.subscribe("svc", SubscribeOptions::new()).unwrap();
    let id = bus.request_start("svc", &b"ping"[..], &[]).unwrap().detach();
    let inbox = server.try_recv().unwrap().unwrap().reply_to().unwrap().to_owned();
    (id, inbox)
}

/// A bus enforcing an authority, and a session allowed to subscribe to
/// `news.>` with its token.
fn enforcing_bus() -> (Bus, Authority, Token, Session) {
    let root = KeyPair::generate().unwrap();
    let clock = Arc::new(ManualClock::new(1_000));
    let authority =
        Authority::new([root.public_key()], AuthorityOptions { clock, ..AuthorityOptions::default() });
    let bus = Bus::with_authority(BusLimits::default(), authority.clone()).unwrap();
    let holder = KeyPair::generate().unwrap();
    let grants = [Grant::parse("subscribe news.>").unwrap()];
    let token = Token::mint(&root, &holder.public_key(), &grants, 1_000, 5_000).unwrap();
    let challenge = authority.challenge().unwrap();
    let session =
        authority.open_session(&token, &challenge, &token.prove(&holder, &challenge).unwrap()).unwrap();
    (bus, authority, token, session)
}

fn kind_and_words(e: &Error) -> (ErrorKind, &str) {
    (e.kind(), e.message())
}

#[test]
fn a_failed_inbox_reached_by_id_gives_the_failure_until_unsubscribed() {
    let bus = bus();
    let (id, inbox) = detached_request(&bus);
    let live = bus.subscription_count();
    assert!(bus.fail_request(&inbox, &no_responder()).unwrap());
    assert_eq!(bus.subscription_count(), live - 1, "an ended inbox is not live");

    let view = bus.subscription(id).unwrap();
    let expected = (ErrorKind::NotFound, "no responder on NATS for the request");
    assert_eq!(kind_and_words(&view.try_recv().unwrap_err()), expected);
    assert_eq!(kind_and_words(&view.recv().unwrap_err()), expected);
    assert_eq!(kind_and_words(&view.recv_timeout(Duration::from_secs(5)).unwrap_err()), expected);
    let notify: Notify = Arc::new(|| ());
    assert_eq!(kind_and_words(&view.poll_recv(&notify).unwrap_err()), expected);
    assert!(view.is_closed());
    // Every receive, not only the first, as for a held subscription.
    assert_eq!(kind_and_words(&bus.subscription(id).unwrap().try_recv().unwrap_err()), expected);
    assert_eq!(bus.reply(&inbox, &b"late"[..], &[]).unwrap().matched, 0, "it matches no publish");

    assert!(!bus.unsubscribe(id).unwrap(), "it was no longer live");
    let e = bus.subscription(id).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.message().starts_with("no subscription"), "{e}");
}

#[test]
fn a_refused_reply_reached_by_id_is_denied() {
    let bus = bus();
    let (id, inbox) = detached_request(&bus);
    let refused = Error::new(ErrorKind::Denied, "the reply is not signed by a responder");
    assert!(bus.fail_request(&inbox, &refused).unwrap());
    let e = bus.subscription(id).unwrap().try_recv().unwrap_err();
    assert_eq!(kind_and_words(&e), (ErrorKind::Denied, "the reply is not signed by a responder"));
}

#[test]
fn an_idle_evicted_subscription_reached_by_id_is_closed_and_frees_its_slot() {
    let limits = BusLimits { max_subscriptions: 1, ..BusLimits::default() };
    let bus = Bus::new(limits).unwrap();
    let id = bus.subscribe("t", SubscribeOptions::new().idle_ttl(Duration::from_millis(1))).unwrap().detach();
    bus.publish("t", &b"queued"[..], &[]).unwrap();
    thread::sleep(Duration::from_millis(5));
    assert_eq!(bus.evict_idle(), 1);
    assert_eq!(bus.subscription_count(), 0);
    let view = bus.subscription(id).unwrap();
    assert_eq!(
        kind_and_words(&view.try_recv().unwrap_err()),
        (ErrorKind::Closed, "the subscription has ended")
    );
    assert_eq!(view.stats().dropped.closed, 1, "its queued message was dropped when it ended");
    // The ended one holds no slot: the bus's one subscription is free.
    let fresh = bus.subscribe("u", SubscribeOptions::new()).unwrap();
    assert_eq!(bus.publish("t", &b"x"[..], &[]).unwrap().matched, 0);
    assert_ne!(fresh.id(), id);
}

#[test]
fn a_held_subscription_answers_by_id_until_dropped() {
    let bus = bus();
    let _server = bus.subscribe("svc", SubscribeOptions::new()).unwrap();
    let held = bus.request_start("svc", &b"ping"[..], &[]).unwrap();
    let inbox = _server.try_recv().unwrap().unwrap().reply_to().unwrap().to_owned();
    assert!(bus.fail_request(&inbox, &no_responder()).unwrap());
    assert_eq!(bus.subscription(held.id()).unwrap().try_recv().unwrap_err().kind(), ErrorKind::NotFound);
    let id = held.id();
    drop(held);
    assert!(bus.subscription(id).unwrap_err().message().starts_with("no subscription"));
}

/// An owner that never unsubscribes keeps at most `max_subscriptions`
/// ended entries: the oldest is forgotten first.
#[test]
fn ended_entries_are_bounded_oldest_forgotten_first() {
    let limits = BusLimits { max_subscriptions: 3, ..BusLimits::default() };
    let bus = Bus::new(limits).unwrap();
    let ids: Vec<SubscriptionId> = (0..5)
        .map(|_| {
            let (id, inbox) = detached_request(&bus);
            assert!(bus.fail_request(&inbox, &no_responder()).unwrap());
            id
        })
        .collect();
    assert_eq!(bus.subscription_count(), 0);
    for (n, &id) in ids.iter().enumerate() {
        match bus.subscription(id) {
            Ok(view) => {
                assert!(n >= 2, "entry {n} should have been forgotten");
                assert_eq!(view.try_recv().unwrap_err().message(), "no responder on NATS for the request");
            }
            Err(e) => {
                assert!(n < 2, "entry {n} was forgotten too soon: {e}");
                assert_eq!(e.kind(), ErrorKind::NotFound);
            }
        }
    }
}

/// The owner's unsubscribe racing the failure: whichever runs first, the
/// id is forgotten afterwards and nothing is left behind.
#[test]
fn unsubscribe_racing_a_failure_forgets_the_id() {
    let bus = bus();
    for _ in 0..200 {
        let (id, inbox) = detached_request(&bus);
        let start = Arc::new(Barrier::new(2));
        let failer = {
            let (bus, start) = (bus.clone(), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                bus.fail_request(&inbox, &no_responder()).unwrap()
            })
        };
        start.wait();
        let unsubscribed = bus.unsubscribe(id).unwrap();
        let failed = failer.join().unwrap();
        assert!(unsubscribed || failed, "one of them ended it");
        assert_eq!(bus.subscription(id).unwrap_err().kind(), ErrorKind::NotFound);
    }
    assert_eq!(bus.subscription_count(), 0);
}

/// Closing forgets every id, ended or live, and the bus's flag answers
/// each, and any other, with `CLOSED` in the words of every call on a
/// closed bus; an unsubscribe has nothing left to remove.
#[test]
fn a_closed_bus_answers_every_id_closed() {
    let bus = bus();
    let (ended, inbox) = detached_request(&bus);
    assert!(bus.fail_request(&inbox, &no_responder()).unwrap());
    let live = bus.subscribe("t", SubscribeOptions::new()).unwrap().detach();
    let gone = bus.subscribe("u", SubscribeOptions::new()).unwrap().detach();
    assert!(bus.unsubscribe(gone).unwrap());
    let never = SubscriptionId::from_raw(424_242);
    assert_eq!(bus.subscription(never).unwrap_err().kind(), ErrorKind::NotFound);
    bus.close();
    let words = (ErrorKind::Closed, "the bus is closed");
    for id in [ended, live, gone, never] {
        assert_eq!(kind_and_words(&bus.subscription(id).unwrap_err()), words, "{id:?}");
        assert_eq!(kind_and_words(&bus.client(None).subscription(id).unwrap_err()), words, "{id:?}");
        assert!(!bus.unsubscribe(id).unwrap(), "{id:?}");
    }
    assert_eq!(kind_and_words(&bus.publish("t", &b"x"[..], &[]).unwrap_err()), words, "the same words");
}

/// A lookup racing the close (past the bus's check before the close, at
/// the tables after it) answers `CLOSED` too, never `NOT_FOUND`.
#[test]
fn a_lookup_racing_the_close_is_closed() {
    for _ in 0..500 {
        let bus = bus();
        let ids: Vec<SubscriptionId> =
            (0..8).map(|_| bus.subscribe("t", SubscribeOptions::new()).unwrap().detach()).collect();
        let start = Arc::new(Barrier::new(9));
        let callers: Vec<_> = ids
            .iter()
            .map(|&id| {
                let (bus, start) = (bus.clone(), Arc::clone(&start));
                thread::spawn(move || {
                    start.wait();
                    loop {
                        match bus.subscription(id) {
                            Ok(view) => drop(view.try_recv()),
                            Err(e) => return e,
                        }
                    }
                })
            })
            .collect();
        start.wait();
        bus.close();
        for caller in callers {
            assert_eq!(kind_and_words(&caller.join().unwrap()), (ErrorKind::Closed, "the bus is closed"));
        }
    }
}

/// On an enforcing bus, a session's client gets `CLOSED` by id once the
/// bus is closed, for its own id and for another caller's, and a caller
/// without a session too (the closed bus answers before any admission).
#[test]
fn a_closed_enforcing_bus_answers_every_caller_closed() {
    let (bus, _authority, _token, session) = enforcing_bus();
    let client = bus.client(Some(&session));
    let id = client.subscribe("news.a", SubscribeOptions::new()).unwrap().detach();
    assert_eq!(bus.client(None).subscription(id).unwrap_err().kind(), ErrorKind::Denied);
    bus.close();
    let words = (ErrorKind::Closed, "the bus is closed");
    assert_eq!(kind_and_words(&client.subscription(id).unwrap_err()), words);
    assert_eq!(kind_and_words(&client.subscription(SubscriptionId::from_raw(7)).unwrap_err()), words);
    assert_eq!(kind_and_words(&bus.client(None).subscription(id).unwrap_err()), words);
    assert!(!client.unsubscribe(id).unwrap());
}

/// A revoked session's subscription, reached by id through its client,
/// gives `REVOKED`: the session's end answers before any lookup, so the
/// id needs no entry, and one kept for a failure is forgotten then.
#[test]
fn a_revoked_sessions_subscription_reached_by_id_is_revoked() {
    let (bus, authority, token, session) = enforcing_bus();
    let client = bus.with_session(&session);
    let id = client.subscribe("news.>", SubscribeOptions::new()).unwrap().detach();
    assert!(authority.revoke(token.link_id(0)).unwrap());
    assert_eq!(client.subscription(id).unwrap_err().kind(), ErrorKind::Revoked);
    assert_eq!(client.unsubscribe(id).unwrap_err().kind(), ErrorKind::Revoked);
    assert_eq!(bus.subscription_count(), 0);
}

/// A requester that sees its inbox's failure and unsubscribes at once may
/// do so before the failure has taken the inbox out of the live table:
/// its unsubscribe still reports that it ended nothing (the failure did),
/// as the C ABI's `charter_client_unsubscribe` says through `removed`.
#[test]
fn an_owner_unsubscribing_as_soon_as_it_sees_the_failure_removed_nothing() {
    let bus = bus();
    for _ in 0..500 {
        let (id, inbox) = detached_request(&bus);
        let view = bus.subscription(id).unwrap();
        let failing = {
            let bus = bus.clone();
            thread::spawn(move || bus.fail_request(&inbox, &no_responder()).unwrap())
        };
        assert_eq!(view.recv().unwrap_err().kind(), ErrorKind::NotFound);
        assert!(!bus.unsubscribe(id).unwrap(), "the failure ended it, not the unsubscribe");
        assert!(failing.join().unwrap(), "the failure ended it");
    }
}

/// An owner that unsubscribes while its bus's close is under way ends a
/// subscription the close has not reached yet at once: nothing more can be
/// taken from it. (A thread handler's worker does this as its bus closes;
/// the close ends the subscriptions one after another.) Each watch fires as
/// the close ends its subscription, on the closer's thread, and
/// unsubscribes the other one, so whichever the close reaches first, the
/// other is still open when its owner unsubscribes.
#[test]
fn an_unsubscribe_during_the_close_ends_its_subscription_at_once() {
    for _ in 0..20 {
        let bus = bus();
        let ids: Vec<SubscriptionId> =
            (0..2).map(|_| bus.subscribe("t", SubscribeOptions::new()).unwrap().detach()).collect();
        for _ in 0..5 {
            bus.publish("t", &b"x"[..], &[]).unwrap();
        }
        let refs: Vec<_> = ids.iter().map(|&id| bus.subscription(id).unwrap()).collect();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        for (mine, other) in [(0, 1), (1, 0)] {
            let (bus, other_id, other_ref, seen) =
                (bus.clone(), ids[other], refs[other].clone(), Arc::clone(&seen));
            let watch: Notify = Arc::new(move || {
                if bus.is_closed() {
                    let removed = bus.unsubscribe(other_id).unwrap();
                    let taken = other_ref.try_recv();
                    seen.lock().unwrap().push((removed, taken.is_err(), other_ref.stats().queued));
                }
            });
            refs[mine].set_watch(Some(watch)).unwrap();
        }
        bus.close();
        let seen = seen.lock().unwrap();
        // The second watch fires inside the first one's unsubscribe, so it
        // is seen first and finds its other subscription already ending.
        assert_eq!(seen.iter().filter(|s| s.0).count(), 1, "one watch found the other live: {seen:?}");
        for &(_, ended, queued) in seen.iter() {
            assert!(ended && queued == 0, "a message was left to take: {seen:?}");
        }
        for r in &refs {
            let stats = r.stats();
            assert_eq!((stats.delivered, stats.dropped.closed), (0, 5));
        }
    }
}
