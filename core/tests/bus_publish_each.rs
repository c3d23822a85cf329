//! `publish_each`: a batch of distinct messages, each published as
//! `publish` would (its own checks, every overflow policy, exact
//! counting, its own outcome), queued per subscription under one lock
//! with one wake-up, in the batch's order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use charter_core::audit::{AuditLog, AuditOptions, Recorder, Scope};
use charter_core::bus::{
    Bus, BusLimits, Overflow, PublishBatch, PublishReport, SubscribeOptions, SubscriptionStats,
};
use charter_core::capability::{Authority, AuthorityOptions, Grant, KeyPair, ManualClock, Token};
use charter_core::ErrorKind;

/// One message of a batch: topic, payload, headers.
type Outgoing<'a> = (&'a str, &'a [u8], &'a [(&'a str, &'a str)]);

fn exact(stats: &SubscriptionStats) -> bool {
    stats.received == stats.delivered + stats.dropped.total() + stats.queued
}

/// Each message's (matched, delivered, dropped), every one admitted.
fn counts(batch: &PublishBatch) -> Vec<(u64, u64, u64)> {
    batch.results().iter().map(|r| r.as_ref().map(|r| (r.matched, r.delivered, r.dropped)).unwrap()).collect()
}

fn payloads(batch: &PublishBatch) -> Vec<Option<u64>> {
    batch.results().iter().map(|r| r.as_ref().ok().map(|r| r.delivered)).collect()
}

#[test]
fn distinct_messages_arrive_in_order_with_their_own_topics_and_headers() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let all = bus.subscribe("orders.*", SubscribeOptions::new()).unwrap();
    let eu = bus.subscribe("orders.eu", SubscribeOptions::new()).unwrap();
    let ids: Vec<String> = (0..6).map(|i| format!("id-{i}")).collect();
    type Owned<'a> = (&'a str, Vec<u8>, [(&'a str, &'a str); 1]);
    let messages: Vec<Owned> = (0..6)
        .map(|i| {
            (if i % 3 == 0 { "orders.us" } else { "orders.eu" }, vec![i as u8], [("Id", ids[i].as_str())])
        })
        .collect();
    let mut batch = PublishBatch::new();
    bus.publish_each(messages.iter().map(|(t, p, h)| (*t, &p[..], &h[..])), &mut batch);
    let reports: Vec<PublishReport> = batch.results().iter().map(|r| *r.as_ref().unwrap()).collect();
    let matched: Vec<u64> = reports.iter().map(|r| r.matched).collect();
    assert_eq!(matched, [1, 2, 2, 1, 2, 2]);
    assert!(reports.iter().all(|r| r.delivered == r.matched && r.dropped == 0));
    let got = all.recv_many(10, Some(Duration::ZERO)).unwrap();
    let seen: Vec<(&str, u8, &str)> =
        got.iter().map(|m| (m.topic(), m.payload()[0], m.header("Id").unwrap())).collect();
    let expected: Vec<(&str, u8, &str)> = messages.iter().map(|(t, p, h)| (*t, p[0], h[0].1)).collect();
    assert_eq!(seen, expected);
    assert!(got.windows(2).all(|w| w[0].seq() < w[1].seq()));
    let eu_got: Vec<u8> =
        eu.recv_many(10, Some(Duration::ZERO)).unwrap().iter().map(|m| m.payload()[0]).collect();
    assert_eq!(eu_got, [1, 2, 4, 5]);
    assert!(exact(&all.stats()) && exact(&eu.stats()));
}

#[test]
fn a_message_that_fails_its_checks_fails_alone() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let sub = bus.subscribe(">", SubscribeOptions::new()).unwrap();
    let big = vec![0u8; bus.limits().max_payload + 1];
    let messages: [Outgoing; 5] = [
        ("a", b"1", &[]),
        ("bad..topic", b"2", &[]),
        ("_charter.inbox.x", b"3", &[]),
        ("a", &big, &[]),
        ("a", b"5", &[("bad\nname", "v")]),
    ];
    let mut batch = PublishBatch::new();
    bus.publish_each(messages.iter().copied().chain([("b", &b"6"[..], &[][..])]), &mut batch);
    let kinds: Vec<Option<ErrorKind>> =
        batch.results().iter().map(|r| r.as_ref().err().map(|e| e.kind())).collect();
    assert_eq!(kinds[0], None);
    assert_eq!(kinds[1], Some(ErrorKind::InvalidArgument));
    assert_eq!(kinds[2], Some(ErrorKind::InvalidArgument));
    assert_eq!(kinds[3], Some(ErrorKind::LimitExceeded));
    assert!(kinds[4].is_some());
    assert_eq!(kinds[5], None);
    let got: Vec<Vec<u8>> =
        sub.recv_many(10, Some(Duration::ZERO)).unwrap().iter().map(|m| m.payload().to_vec()).collect();
    assert_eq!(got, [b"1".to_vec(), b"6".to_vec()]);
    // The same batch object, reused: only the new batch's outcomes.
    bus.publish_each([("c", &b"7"[..], &[][..])], &mut batch);
    assert_eq!(payloads(&batch), [Some(1)]);
}

#[test]
fn repeated_headers_are_checked_and_carried_as_each_message_gives_them() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let sub = bus.subscribe(">", SubscribeOptions::new()).unwrap();
    let (a, b, bad) = ([("K", "1"), ("L", "x")], [("K", "2"), ("L", "x")], [("bad name", "v")]);
    let too_big = vec![0u8; bus.limits().max_payload + 1];
    let messages: [Outgoing; 9] = [
        ("t", b"1", &a),
        ("t", b"2", &a),
        ("t", b"3", &b),
        ("t", b"4", &a),
        ("bad..topic", b"5", &a),
        ("t", &too_big, &a),
        ("t", b"7", &bad),
        ("t", b"8", &bad),
        ("t", b"9", &a),
    ];
    let mut batch = PublishBatch::new();
    bus.publish_each(messages.iter().copied(), &mut batch);
    let kinds: Vec<Option<ErrorKind>> =
        batch.results().iter().map(|r| r.as_ref().err().map(|e| e.kind())).collect();
    let invalid = Some(ErrorKind::InvalidArgument);
    let too_large = Some(ErrorKind::LimitExceeded);
    assert_eq!(kinds, [None, None, None, None, invalid, too_large, invalid, invalid, None]);
    let got: Vec<(u8, Vec<(String, String)>)> = sub
        .recv_many(10, Some(Duration::ZERO))
        .unwrap()
        .iter()
        .map(|m| (m.payload()[0], m.headers().map(|(n, v)| (n.to_owned(), v.to_owned())).collect()))
        .collect();
    let owned = |h: &[(&str, &str)]| h.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
    let expected =
        [(b'1', owned(&a)), (b'2', owned(&a)), (b'3', owned(&b)), (b'4', owned(&a)), (b'9', owned(&a))];
    assert_eq!(got, expected);
    assert!(exact(&sub.stats()));
}

/// A subscription of capacity 2 under each overflow policy, beside one
/// without a limit, given a batch of 5 on one topic.
#[test]
fn every_overflow_policy_decides_each_message_and_counts_it() {
    let cases = [
        (Overflow::DropNewest, vec![Some(2), Some(2), Some(1), Some(1), Some(1)], vec![0, 1]),
        (Overflow::DropOldest, vec![Some(2); 5], vec![3, 4]),
        (Overflow::Error, vec![Some(2), Some(2), None, None, None], vec![0, 1]),
        (Overflow::Block(Duration::from_millis(20)), vec![Some(2), Some(2), None, None, None], vec![0, 1]),
    ];
    for (policy, delivered, kept) in cases {
        let bus = Bus::new(BusLimits::default()).unwrap();
        let small = bus.subscribe("t", SubscribeOptions::new().capacity(2).overflow(policy)).unwrap();
        let open = bus.subscribe("t", SubscribeOptions::new()).unwrap();
        let mut batch = PublishBatch::new();
        bus.publish_each((0..5u8).map(|i| ("t", vec![i], &[][..])), &mut batch);
        assert_eq!(payloads(&batch), delivered, "{policy:?}");
        for result in batch.results() {
            let Err(e) = result else { continue };
            let kind = if policy == Overflow::Error { ErrorKind::LimitExceeded } else { ErrorKind::Timeout };
            assert_eq!(e.kind(), kind);
            assert!(e.message().contains("(publish to \"t\": 1 of 2 subscriptions accepted it)"), "{e}");
        }
        let got: Vec<u8> =
            small.recv_many(10, Some(Duration::ZERO)).unwrap().iter().map(|m| m.payload()[0]).collect();
        assert_eq!(got, kept, "{policy:?}");
        assert_eq!(open.stats().queued, 5, "the other subscription had every message");
        let stats = small.stats();
        assert_eq!((stats.received, stats.dropped.total()), (5, 3), "{policy:?}");
        assert!(exact(&stats) && exact(&open.stats()));
    }
}

#[test]
fn a_blocked_batch_waits_for_a_consumer_and_loses_nothing() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let sub = bus
        .subscribe(
            "t",
            SubscribeOptions::new().capacity(4).overflow(Overflow::Block(Duration::from_secs(30))),
        )
        .unwrap();
    let consumer = {
        let sub = sub.clone();
        thread::spawn(move || (0..1_000).map(|_| sub.recv().unwrap().payload()[0]).collect::<Vec<u8>>())
    };
    let mut batch = PublishBatch::new();
    for chunk in 0..10u32 {
        bus.publish_each(
            (0..100u32).map(|i| ("t", vec![((chunk * 100 + i) % 251) as u8], &[][..])),
            &mut batch,
        );
        assert!(batch.results().iter().all(|r| r.as_ref().unwrap().delivered == 1));
    }
    let got = consumer.join().unwrap();
    assert_eq!(got, (0..1_000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    assert!(exact(&sub.stats()));
}

#[test]
fn one_batch_wakes_every_blocked_receiver_it_can_feed_and_fires_a_watch_once() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let sub = bus.subscribe("t", SubscribeOptions::new()).unwrap();
    let receivers: Vec<_> = (0..3)
        .map(|_| {
            let sub = sub.clone();
            thread::spawn(move || {
                let started = Instant::now();
                let got = sub.recv_timeout(Duration::from_secs(20)).unwrap().payload()[0];
                (got, started.elapsed())
            })
        })
        .collect();
    // Time for all three to block (one not blocked yet finds its message
    // queued).
    thread::sleep(Duration::from_millis(50));
    let mut batch = PublishBatch::new();
    bus.publish_each((0..3u8).map(|i| ("t", vec![i], &[][..])), &mut batch);
    let (mut got, waited): (Vec<u8>, Vec<Duration>) =
        receivers.into_iter().map(|r| r.join().unwrap()).unzip();
    got.sort_unstable();
    // A receiver left asleep would find its message only when its 20 s
    // wait ends.
    assert!(waited.iter().all(|w| *w < Duration::from_secs(10)), "{waited:?}");
    assert_eq!(got, [0, 1, 2]);

    let fired = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&fired);
    sub.set_watch(Some(Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    })))
    .unwrap();
    bus.publish_each((0..64u8).map(|i| ("t", vec![i], &[][..])), &mut batch);
    assert_eq!(fired.load(Ordering::SeqCst), 1, "one edge, one fire");
    assert_eq!(sub.try_recv_many_into(&mut Vec::new(), 100).unwrap(), 64);
}

#[test]
fn a_handler_gets_each_message_in_order_and_nested_batches_never_wait() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let full = bus
        .subscribe(
            "inner",
            SubscribeOptions::new().capacity(1).overflow(Overflow::Block(Duration::from_secs(30))),
        )
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let inner_kinds = Arc::new(Mutex::new(Vec::new()));
    let (log, kinds, inner_bus) = (Arc::clone(&seen), Arc::clone(&inner_kinds), bus.clone());
    let _handler = bus
        .subscribe_with("outer", SubscribeOptions::new(), move |m| {
            log.lock().unwrap().push(m.payload()[0]);
            let mut batch = PublishBatch::new();
            inner_bus
                .publish_each([("inner", &b"a"[..], &[][..]), ("inner", &b"b"[..], &[][..])], &mut batch);
            kinds.lock().unwrap().extend(batch.results().iter().map(|r| r.as_ref().err().map(|e| e.kind())));
            Ok(())
        })
        .unwrap();
    let mut batch = PublishBatch::new();
    bus.publish_each((0..3u8).map(|i| ("outer", vec![i], &[][..])), &mut batch);
    assert_eq!(*seen.lock().unwrap(), [0, 1, 2]);
    // The first inner message fills the queue; every later one would wait
    // for a consumer inside the handler that would consume it.
    let kinds = inner_kinds.lock().unwrap().clone();
    assert_eq!(kinds[0], None);
    assert!(kinds[1..].iter().all(|k| *k == Some(ErrorKind::WouldBlock)), "{kinds:?}");
    assert!(exact(&full.stats()));
}

#[test]
fn each_message_is_authorized_and_a_denial_is_counted() {
    let root = KeyPair::generate().unwrap();
    let clock = Arc::new(ManualClock::new(5_000_000));
    let authority =
        Authority::new([root.public_key()], AuthorityOptions { clock, ..AuthorityOptions::default() });
    let bus = Bus::with_authority(BusLimits::default(), authority.clone()).unwrap();
    let holder = KeyPair::generate().unwrap();
    let grants = [Grant::parse("publish a.>").unwrap(), Grant::parse("subscribe >").unwrap()];
    let token = Token::mint(&root, &holder.public_key(), &grants, 5_000_000, 5_003_600).unwrap();
    let challenge = authority.challenge().unwrap();
    let session =
        authority.open_session(&token, &challenge, &token.prove(&holder, &challenge).unwrap()).unwrap();
    let client = bus.with_session(&session);
    let sub = client.subscribe(">", SubscribeOptions::new()).unwrap();
    let mut batch = PublishBatch::new();
    client.publish_each([("a.x", &b"1"[..], &[][..]), ("b.x", b"2", &[]), ("a.y", b"3", &[])], &mut batch);
    let kinds: Vec<Option<ErrorKind>> =
        batch.results().iter().map(|r| r.as_ref().err().map(|e| e.kind())).collect();
    assert_eq!(kinds, [None, Some(ErrorKind::Denied), None]);
    assert_eq!(bus.stats().denied, 1);
    bus.publish_each([("a.x", &b"4"[..], &[][..])], &mut batch);
    assert_eq!(batch.results()[0].as_ref().unwrap_err().kind(), ErrorKind::Denied, "no session, no publish");
    let got: Vec<u8> =
        sub.recv_many(10, Some(Duration::ZERO)).unwrap().iter().map(|m| m.payload()[0]).collect();
    assert_eq!(got, [b'1', b'3']);
}

#[test]
fn a_closed_bus_or_an_ended_subscription_refuses_or_counts_each_message() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let ended = bus.subscribe("t", SubscribeOptions::new()).unwrap();
    let kept = bus.subscribe("t", SubscribeOptions::new()).unwrap();
    let mut batch = PublishBatch::new();
    ended.close();
    bus.publish_each((0..3u8).map(|i| ("t", vec![i], &[][..])), &mut batch);
    assert_eq!(payloads(&batch), [Some(1); 3]);
    assert_eq!(kept.stats().queued, 3);
    bus.close();
    bus.publish_each([("t", &b"x"[..], &[][..])], &mut batch);
    assert_eq!(batch.results()[0].as_ref().unwrap_err().kind(), ErrorKind::Closed);
}

#[test]
fn an_empty_batch_does_nothing() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let mut batch = PublishBatch::new();
    bus.publish_each(std::iter::empty::<Outgoing>(), &mut batch);
    assert!(batch.results().is_empty());
    assert_eq!(bus.stats().published, 0);
}

#[test]
fn copied_payloads_arrive_as_given_and_one_too_long_fails_alone() {
    let limits = BusLimits { max_payload: 4, ..BusLimits::default() };
    let bus = Bus::new(limits).unwrap();
    let sub = bus.subscribe("t", SubscribeOptions::new()).unwrap();
    let buffer = [1u8, 2, 3, 4, 5, 6];
    let messages: [Outgoing; 3] =
        [("t", &buffer[..2], &[("A", "1")]), ("t", &buffer[..], &[]), ("t", &buffer[2..6], &[("A", "1")])];
    let mut batch = PublishBatch::new();
    bus.publish_each_copied(messages, &mut batch);
    assert_eq!(payloads(&batch), [Some(1), None, Some(1)]);
    assert_eq!(batch.results()[1].as_ref().unwrap_err().kind(), ErrorKind::LimitExceeded);
    let got = sub.recv_many(10, Some(Duration::ZERO)).unwrap();
    let seen: Vec<(&[u8], Option<&str>)> = got.iter().map(|m| (m.payload(), m.header("A"))).collect();
    assert_eq!(seen, [(&buffer[..2], Some("1")), (&buffer[2..6], Some("1"))]);
    assert!(exact(&sub.stats()));
}

/// A client's session on a bus of `authority`, granted publish on `a.>`
/// and subscribe on everything, valid from 5,000,000 for `seconds`.
fn client_session(root: &KeyPair, authority: &Authority, seconds: u64) -> charter_core::capability::Session {
    let holder = KeyPair::generate().unwrap();
    let grants = [Grant::parse("publish a.>").unwrap(), Grant::parse("subscribe >").unwrap()];
    let token = Token::mint(root, &holder.public_key(), &grants, 5_000_000, 5_000_000 + seconds).unwrap();
    let challenge = authority.challenge().unwrap();
    authority.open_session(&token, &challenge, &token.prove(&holder, &challenge).unwrap()).unwrap()
}

/// A run of one topic (taking its first message's route) is still
/// admitted message by message: a payload too large and a denied message
/// in its middle fail alone, counted as a publish's would be, and the rest
/// arrive in order.
#[test]
fn a_run_of_one_topic_admits_each_message_and_a_refusal_in_it_fails_alone() {
    let root = KeyPair::generate().unwrap();
    let clock = Arc::new(ManualClock::new(5_000_000));
    let authority =
        Authority::new([root.public_key()], AuthorityOptions { clock, ..AuthorityOptions::default() });
    let limits = BusLimits { max_payload: 4, ..BusLimits::default() };
    let bus = Bus::with_authority(limits, authority.clone()).unwrap();
    let session = client_session(&root, &authority, 3_600);
    let client = bus.with_session(&session);
    let sub = client.subscribe(">", SubscribeOptions::new()).unwrap();
    let messages: [Outgoing; 7] = [
        ("a.x", b"1", &[]),
        ("a.x", b"too long", &[]),
        ("a.x", b"3", &[]),
        ("b.x", b"4", &[]),
        ("a.x", b"5", &[]),
        ("a.x", b"6", &[]),
        ("a.x", b"7", &[]),
    ];
    let mut batch = PublishBatch::new();
    client.publish_each_copied(messages, &mut batch);
    let kinds: Vec<Option<ErrorKind>> =
        batch.results().iter().map(|r| r.as_ref().err().map(|e| e.kind())).collect();
    let (large, denied) = (Some(ErrorKind::LimitExceeded), Some(ErrorKind::Denied));
    assert_eq!(kinds, [None, large, None, denied, None, None, None]);
    assert_eq!(bus.stats().denied, 1);
    let got: Vec<u8> =
        sub.recv_many(10, Some(Duration::ZERO)).unwrap().iter().map(|m| m.payload()[0]).collect();
    assert_eq!(got, [b'1', b'3', b'5', b'6', b'7']);
    let stats = sub.stats();
    assert_eq!((stats.received, stats.dropped.total()), (5, 0));
    assert!(exact(&stats));
}

/// A session that expires while a run is admitted: the run's later
/// messages are refused, each counted, as publishes one by one would be.
#[test]
fn a_session_that_expires_in_a_run_refuses_the_rest_of_it() {
    let root = KeyPair::generate().unwrap();
    let clock = Arc::new(ManualClock::new(5_000_000));
    let options = AuthorityOptions { clock: clock.clone(), ..AuthorityOptions::default() };
    let authority = Authority::new([root.public_key()], options);
    let bus = Bus::with_authority(BusLimits::default(), authority.clone()).unwrap();
    let session = client_session(&root, &authority, 3_600);
    let client = bus.with_session(&session);
    // The subscriber's session outlives the publisher's.
    let reader = client_session(&root, &authority, 36_000);
    let sub = bus.with_session(&reader).subscribe("a.x", SubscribeOptions::new()).unwrap();
    let mut batch = PublishBatch::new();
    // The messages are made as the batch takes them: the clock passes the
    // token's end before the third.
    let messages = (0..5u8).map(|i| {
        if i == 2 {
            clock.set(5_010_000);
        }
        ("a.x", vec![i], &[][..])
    });
    client.publish_each(messages, &mut batch);
    let kinds: Vec<Option<ErrorKind>> =
        batch.results().iter().map(|r| r.as_ref().err().map(|e| e.kind())).collect();
    let expired = Some(ErrorKind::Expired);
    assert_eq!(kinds, [None, None, expired, expired, expired]);
    assert_eq!(bus.stats().published, 2);
    let got: Vec<u8> =
        sub.recv_many(10, Some(Duration::ZERO)).unwrap().iter().map(|m| m.payload()[0]).collect();
    assert_eq!(got, [0, 1]);
}

/// On an audited bus each message of a run is authorized and recorded
/// on its own, as a publish is.
#[test]
fn an_audited_run_records_each_message() {
    let log = AuditLog::in_memory(AuditOptions::default()).unwrap();
    let bus = Bus::with_recorder(BusLimits::default(), None, Recorder::new(log.clone(), Scope::All)).unwrap();
    let _sub = bus.subscribe("t", SubscribeOptions::new()).unwrap();
    let before = log.len();
    let mut batch = PublishBatch::new();
    bus.publish_each((0..10u8).map(|i| ("t", vec![i], &[][..])), &mut batch);
    assert_eq!(payloads(&batch), [Some(1); 10]);
    assert_eq!(log.len() - before, 10);
}

/// A run is told by the topic's text, not its place: topics that are
/// equal but each in its own string (as a NATS client's subjects are) make
/// one run, and each message still reaches exactly the subscriptions of
/// its topic, in order.
#[test]
fn equal_topics_in_different_strings_reach_their_subscriptions_in_order() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let all = bus.subscribe("t.*", SubscribeOptions::new()).unwrap();
    let a = bus.subscribe("t.a", SubscribeOptions::new()).unwrap();
    let names = ["t.a", "t.a", "t.a", "t.b", "t.a", "t.a"];
    let topics: Vec<String> = names.iter().map(|t| (*t).to_owned()).collect();
    assert!(!std::ptr::eq(topics[0].as_str(), topics[1].as_str()));
    let mut batch = PublishBatch::new();
    bus.publish_each(topics.iter().zip(0u8..).map(|(t, i)| (t.as_str(), vec![i], &[][..])), &mut batch);
    let matched: Vec<u64> = batch.results().iter().map(|r| r.as_ref().unwrap().matched).collect();
    assert_eq!(matched, [2, 2, 2, 1, 2, 2]);
    let got: Vec<(String, u8)> = all
        .recv_many(10, Some(Duration::ZERO))
        .unwrap()
        .iter()
        .map(|m| (m.topic().to_owned(), m.payload()[0]))
        .collect();
    let expected: Vec<(String, u8)> = names.iter().zip(0u8..).map(|(t, i)| ((*t).to_owned(), i)).collect();
    assert_eq!(got, expected);
    let got_a: Vec<u8> =
        a.recv_many(10, Some(Duration::ZERO)).unwrap().iter().map(|m| m.payload()[0]).collect();
    assert_eq!(got_a, [0, 1, 2, 4, 5]);
    assert!(exact(&all.stats()) && exact(&a.stats()));
}

/// One topic with changing headers: a message whose headers differ from
/// the last one's is checked and carries its own, one whose headers are
/// equal (in another list) shares the last one's, and a bad list fails
/// alone without ending the run for the messages after it.
#[test]
fn a_run_of_one_topic_carries_each_message_s_own_headers() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let sub = bus.subscribe("t", SubscribeOptions::new()).unwrap();
    let (a, b, again, bad) = ([("K", "1")], [("K", "2")], [("K", "1")], [("bad name", "v")]);
    let messages: [Outgoing; 6] = [
        ("t", b"1", &a),
        ("t", b"2", &b),
        ("t", b"3", &again),
        ("t", b"4", &bad),
        ("t", b"5", &a),
        ("t", b"6", &[]),
    ];
    let mut batch = PublishBatch::new();
    bus.publish_each(messages, &mut batch);
    let kinds: Vec<Option<ErrorKind>> =
        batch.results().iter().map(|r| r.as_ref().err().map(|e| e.kind())).collect();
    assert_eq!(kinds, [None, None, None, Some(ErrorKind::InvalidArgument), None, None]);
    let got: Vec<(u8, Option<String>)> = sub
        .recv_many(10, Some(Duration::ZERO))
        .unwrap()
        .iter()
        .map(|m| (m.payload()[0], m.header("K").map(str::to_owned)))
        .collect();
    let k = |v: &str| Some(v.to_owned());
    assert_eq!(got, [(b'1', k("1")), (b'2', k("2")), (b'3', k("1")), (b'5', k("1")), (b'6', None)]);
    assert!(exact(&sub.stats()));
}

/// A subscription made or ended while a run is admitted changes what the
/// run's next message reaches, as it would a publish's: the run is matched
/// again rather than keep its first message's route. (The batch delivers
/// once every message is admitted, so one ended meanwhile counts the
/// messages routed to it before as dropped.)
#[test]
fn a_subscription_made_or_ended_in_a_run_changes_what_its_next_message_reaches() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let kept = bus.subscribe("t", SubscribeOptions::new()).unwrap();
    let late = Mutex::new(None);
    let mut batch = PublishBatch::new();
    // Made as the batch takes them: a subscription before the third
    // message.
    let messages = (0..4u8).map(|i| {
        if i == 2 {
            *late.lock().unwrap() = Some(bus.subscribe("t", SubscribeOptions::new()).unwrap());
        }
        ("t", vec![i], &[][..])
    });
    bus.publish_each(messages, &mut batch);
    assert_eq!(counts(&batch), [(1, 1, 0), (1, 1, 0), (2, 2, 0), (2, 2, 0)]);
    let late = late.into_inner().unwrap().unwrap();
    let got: Vec<u8> =
        late.recv_many(10, Some(Duration::ZERO)).unwrap().iter().map(|m| m.payload()[0]).collect();
    assert_eq!(got, [2, 3]);

    // Ended before the third message.
    let messages = (0..4u8).map(|i| {
        if i == 2 {
            assert!(bus.unsubscribe(late.id()).unwrap());
        }
        ("t", vec![i], &[][..])
    });
    bus.publish_each(messages, &mut batch);
    assert_eq!(counts(&batch), [(2, 1, 1), (2, 1, 1), (1, 1, 0), (1, 1, 0)]);
    assert_eq!(kept.stats().queued, 8);
    assert!(exact(&kept.stats()) && exact(&late.stats()));
}

/// A message of a run refused by its own checks (its payload too long)
/// puts its outcome between those of the run's other messages: each
/// later message's delivery, drop or refusal still lands in its own
/// report.
#[test]
fn a_refusal_at_admission_in_a_run_leaves_each_later_outcome_in_its_own_place() {
    let cases = [
        (Overflow::DropNewest, vec![Some(2), None, Some(2), Some(1), Some(1), Some(1)]),
        (Overflow::Error, vec![Some(2), None, Some(2), None, None, None]),
    ];
    for (policy, delivered) in cases {
        let limits = BusLimits { max_payload: 4, ..BusLimits::default() };
        let bus = Bus::new(limits).unwrap();
        let small = bus.subscribe("t", SubscribeOptions::new().capacity(2).overflow(policy)).unwrap();
        let open = bus.subscribe("t", SubscribeOptions::new()).unwrap();
        let messages: [Outgoing; 6] = [
            ("t", b"1", &[]),
            ("t", b"too long", &[]),
            ("t", b"3", &[]),
            ("t", b"4", &[]),
            ("t", b"5", &[]),
            ("t", b"6", &[]),
        ];
        let mut batch = PublishBatch::new();
        bus.publish_each_copied(messages, &mut batch);
        assert_eq!(payloads(&batch), delivered, "{policy:?}");
        let kinds: Vec<Option<ErrorKind>> =
            batch.results().iter().map(|r| r.as_ref().err().map(|e| e.kind())).collect();
        let refused = if policy == Overflow::Error { Some(ErrorKind::LimitExceeded) } else { None };
        assert_eq!(
            kinds,
            [None, Some(ErrorKind::LimitExceeded), None, refused, refused, refused],
            "{policy:?}"
        );
        for result in &batch.results()[3..] {
            match result {
                Ok(report) => assert_eq!((report.matched, report.delivered, report.dropped), (2, 1, 1)),
                Err(e) => assert!(e.message().contains("1 of 2 subscriptions accepted it"), "{e}"),
            }
        }
        let got: Vec<u8> =
            small.recv_many(10, Some(Duration::ZERO)).unwrap().iter().map(|m| m.payload()[0]).collect();
        assert_eq!(got, [b'1', b'3'], "{policy:?}");
        assert_eq!(open.stats().queued, 5);
        assert!(exact(&small.stats()) && exact(&open.stats()));
    }
}

/// A run's messages are numbered in the batch's order while another
/// thread publishes on the same bus: each publisher's sequence numbers
/// increase in its publish order, and no number is given twice.
#[test]
fn a_run_is_numbered_in_order_beside_a_concurrent_publisher() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let ours = bus.subscribe("t", SubscribeOptions::new().capacity(1 << 16)).unwrap();
    let theirs = bus.subscribe("u", SubscribeOptions::new().capacity(1 << 16)).unwrap();
    let other = bus.clone();
    let publisher = thread::spawn(move || {
        for i in 0..2_000u32 {
            other.publish("u", i.to_be_bytes().to_vec(), &[]).unwrap();
        }
    });
    let topics: Vec<String> = (0..64).map(|_| String::from("t")).collect();
    let mut batch = PublishBatch::new();
    for _ in 0..32 {
        bus.publish_each_copied(topics.iter().map(|t| (t.as_str(), &b"x"[..], &[][..])), &mut batch);
        assert!(batch.results().iter().all(|r| r.as_ref().is_ok_and(|r| r.delivered == 1)));
    }
    publisher.join().unwrap();
    let seqs = |sub: &charter_core::bus::Subscription| -> Vec<u64> {
        sub.recv_many(1 << 16, Some(Duration::ZERO)).unwrap().iter().map(|m| m.seq()).collect()
    };
    let (ours, theirs) = (seqs(&ours), seqs(&theirs));
    assert_eq!((ours.len(), theirs.len()), (32 * 64, 2_000));
    assert!(ours.windows(2).all(|w| w[0] < w[1]), "a run numbered out of order");
    assert!(theirs.windows(2).all(|w| w[0] < w[1]));
    let mut all: Vec<u64> = ours.iter().chain(&theirs).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 32 * 64 + 2_000, "a sequence number given twice");
    assert_eq!(bus.stats().published, 32 * 64 + 2_000);
}
