//! A bus with an authority: every publish, subscribe and request needs a
//! session whose grants cover it; denials are counted; revoking or
//! expiring the session ends what it opened.

use std::sync::Arc;
use std::time::{Duration, Instant};

use charter_core::bus::{Bus, BusLimits, SubscribeOptions};
use charter_core::capability::{Authority, AuthorityOptions, Grant, KeyPair, ManualClock, Session, Token};
use charter_core::ErrorKind;

const T0: u64 = 5_000_000;

struct Setup {
    root: KeyPair,
    authority: Authority,
    clock: Arc<ManualClock>,
    bus: Bus,
}

fn setup() -> Setup {
    let root = KeyPair::generate().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let options = AuthorityOptions { clock: clock.clone(), ..AuthorityOptions::default() };
    let authority = Authority::new([root.public_key()], options);
    let bus = Bus::with_authority(BusLimits::default(), authority.clone()).unwrap();
    Setup { root, authority, clock, bus }
}

fn session_for(s: &Setup, grants: &[&str], until: u64) -> (Session, Token) {
    let holder = KeyPair::generate().unwrap();
    let grants: Vec<Grant> = grants.iter().map(|g| Grant::parse(g).unwrap()).collect();
    let token = Token::mint(&s.root, &holder.public_key(), &grants, T0, until).unwrap();
    let challenge = s.authority.challenge().unwrap();
    let proof = token.prove(&holder, &challenge).unwrap();
    (s.authority.open_session(&token, &challenge, &proof).unwrap(), token)
}

#[test]
fn grants_decide_and_denials_name_topic_and_grant() {
    let s = setup();
    let (billing, _) = session_for(&s, &["publish orders.*.created", "subscribe payments.>"], T0 + 3600);
    let (payments, _) = session_for(&s, &["publish payments.>", "subscribe orders.>"], T0 + 3600);
    let billing = s.bus.with_session(&billing);
    let payments = s.bus.with_session(&payments);

    let orders = payments.subscribe("orders.>", SubscribeOptions::new()).unwrap();
    let report = billing.publish("orders.eu.created", &b"o-17"[..], &[]).unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(orders.recv().unwrap().payload(), b"o-17");

    let e = billing.publish("orders.eu.deleted", &b""[..], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied);
    assert!(e.message().contains("no publish grant covers \"orders.eu.deleted\""), "{e}");
    let e = billing.subscribe("orders.>", SubscribeOptions::new()).unwrap_err();
    assert!(e.message().contains("no subscribe grant covers \"orders.>\""), "{e}");
    billing.subscribe("payments.eu.>", SubscribeOptions::new()).unwrap();
    assert_eq!(
        billing.request("orders.x.created", &b""[..], &[], Duration::from_millis(10)).unwrap_err().kind(),
        ErrorKind::Denied
    );

    let e = s.bus.publish("orders.eu.created", &b""[..], &[]).unwrap_err();
    assert!(e.message().contains("requires a session"), "{e}");
    assert_eq!(s.bus.subscribe("x", SubscribeOptions::new()).unwrap_err().kind(), ErrorKind::Denied);
    assert_eq!(s.bus.stats().denied, 5);
}

#[test]
fn requests_need_a_request_grant_and_replies_flow_back() {
    let s = setup();
    let (server, _) = session_for(&s, &["subscribe rpc.>"], T0 + 3600);
    let (client, _) = session_for(&s, &["request rpc.time"], T0 + 3600);
    let server = s.bus.with_session(&server);
    let responder = server.clone();
    let _service = server
        .subscribe_with("rpc.>", SubscribeOptions::new(), move |m| {
            responder.respond(m, &b"noon"[..], &[]).map(drop).map_err(|_| charter_core::HandlerError)
        })
        .unwrap();
    let reply =
        s.bus.with_session(&client).request("rpc.time", &b""[..], &[], Duration::from_secs(5)).unwrap();
    assert_eq!(reply.payload(), b"noon");
}

#[test]
fn sessions_from_another_authority_are_refused() {
    let s = setup();
    let other = setup();
    let (foreign, _) = session_for(&other, &["publish >"], T0 + 3600);
    let e = s.bus.with_session(&foreign).publish("a", &b""[..], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied);
    assert!(e.message().contains("another authority"), "{e}");
}

#[test]
fn revocation_and_expiry_end_sessions_and_their_subscriptions() {
    let s = setup();
    let (reader, token) = session_for(&s, &["subscribe news.>"], T0 + 3600);
    let (writer, _) = session_for(&s, &["publish news.>"], T0 + 7200);
    let sub = s.bus.with_session(&reader).subscribe("news.>", SubscribeOptions::new()).unwrap();
    let writer = s.bus.with_session(&writer);
    writer.publish("news.a", &b"1"[..], &[]).unwrap();
    assert!(sub.try_recv().unwrap().is_some());
    writer.publish("news.a", &b"queued"[..], &[]).unwrap();
    s.authority.revoke(token.link_id(0)).unwrap();
    assert_eq!(sub.stats().dropped.session_ended, 1, "the queued message was dropped at once");
    let report = writer.publish("news.a", &b"2"[..], &[]).unwrap();
    assert_eq!(report.matched, 0, "the revoked session's subscription ended at once");
    assert_eq!(sub.recv().unwrap_err().kind(), ErrorKind::Revoked);
    assert_eq!(
        s.bus.with_session(&reader).subscribe("news.>", SubscribeOptions::new()).unwrap_err().kind(),
        ErrorKind::Revoked
    );

    s.clock.set(T0 + 7200 + 60);
    assert_eq!(writer.publish("news.a", &b"3"[..], &[]).unwrap_err().kind(), ErrorKind::Expired);
}

/// Receives on another thread; gives back the outcome and when it came.
fn waiting_receiver(
    sub: &charter_core::bus::Subscription,
) -> std::thread::JoinHandle<(charter_core::Result<charter_core::bus::Message>, Instant)> {
    let view = (**sub).clone();
    let handle = std::thread::spawn(move || {
        let outcome = view.recv();
        (outcome, Instant::now())
    });
    // Let it start waiting.
    std::thread::sleep(Duration::from_millis(50));
    handle
}

/// The wake-up bound the docs promise for revocation, distrust and expiry.
const WAKE: Duration = Duration::from_millis(10);

/// Runs `attempt` (which returns how late a receiver woke) until one wake
/// comes within [`WAKE`], at most three times: the core wakes receivers
/// before the call returns, but on a loaded machine the woken thread may
/// wait for a core to run on. A wake that only ever came late fails; every
/// wake must come within a second.
fn woke_in_time(mut attempt: impl FnMut() -> Duration) {
    let mut late = Vec::new();
    for _ in 0..3 {
        let after = attempt();
        assert!(after < Duration::from_secs(1), "woke after {after:?}");
        if after < WAKE {
            return;
        }
        late.push(after);
    }
    panic!("never woke within {WAKE:?}: {late:?}");
}

#[test]
fn revocation_ends_subscriptions_at_once_and_wakes_receivers() {
    woke_in_time(revocation_wakes_receivers);
}

fn revocation_wakes_receivers() -> Duration {
    let s = setup();
    let (reader, token) =
        session_for(&s, &["subscribe news.>", "subscribe mail.>", "request rpc.x"], T0 + 3600);
    let (writer, _) = session_for(&s, &["publish >", "subscribe rpc.>"], T0 + 3600);
    let reader_client = s.bus.with_session(&reader);
    let writer = s.bus.with_session(&writer);
    let queued = reader_client.subscribe("news.>", SubscribeOptions::new()).unwrap();
    let idle = reader_client.subscribe("mail.>", SubscribeOptions::new()).unwrap();
    let _rpc = writer.subscribe("rpc.>", SubscribeOptions::new()).unwrap();
    let inbox = reader_client.request_start("rpc.x", &b""[..], &[]).unwrap();
    for i in 0..3u8 {
        writer.publish("news.a", &[i][..], &[]).unwrap();
    }
    let waiter = waiting_receiver(&idle);

    let revoked_at = Instant::now();
    assert!(s.authority.revoke(token.link_id(0)).unwrap());
    let (outcome, woke_at) = waiter.join().unwrap();
    assert_eq!(outcome.unwrap_err().kind(), ErrorKind::Revoked);

    let stats = queued.stats();
    assert_eq!((stats.queued, stats.dropped.session_ended, stats.delivered), (0, 3, 0));
    assert_eq!(queued.try_recv().unwrap_err().kind(), ErrorKind::Revoked, "nothing more is delivered");
    assert_eq!(inbox.try_recv().unwrap_err().kind(), ErrorKind::Revoked, "the reply inbox ended too");
    assert_eq!(writer.publish("news.a", &b"late"[..], &[]).unwrap().matched, 0);
    let totals = s.bus.stats();
    assert_eq!(totals.live_subscriptions, 1, "only the writer's subscription is left");
    assert_eq!(totals.subscriptions.dropped.session_ended, 3);
    woke_at - revoked_at
}

#[test]
fn distrusting_the_root_ends_its_sessions() {
    woke_in_time(distrust_ends_sessions);
}

fn distrust_ends_sessions() -> Duration {
    let s = setup();
    let (reader, _) = session_for(&s, &["subscribe news.>", "publish news.>"], T0 + 3600);
    let client = s.bus.with_session(&reader);
    let sub = client.subscribe("news.>", SubscribeOptions::new()).unwrap();
    let waiter = waiting_receiver(&sub);
    let at = Instant::now();
    assert!(s.authority.distrust(&s.root.public_key()));
    let (outcome, woke_at) = waiter.join().unwrap();
    assert_eq!(outcome.unwrap_err().kind(), ErrorKind::Revoked);
    let e = reader.check(charter_core::capability::Action::Publish, "news.a").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Revoked);
    assert!(e.message().contains("no longer trusted"), "{e}");
    assert_eq!(client.publish("news.a", &b""[..], &[]).unwrap_err().kind(), ErrorKind::Revoked);
    assert_eq!(client.subscribe("news.>", SubscribeOptions::new()).unwrap_err().kind(), ErrorKind::Revoked);
    // Trusting the root again does not reopen an ended session.
    s.authority.trust(s.root.public_key());
    assert!(!reader.is_active());
    woke_at - at
}

#[test]
fn expiry_by_a_manual_clock_ends_subscriptions_on_sweep_and_evict_idle() {
    for sweep_with_bus in [false, true] {
        woke_in_time(|| expiry_ends_subscriptions(sweep_with_bus));
    }
}

fn expiry_ends_subscriptions(sweep_with_bus: bool) -> Duration {
    let s = setup();
    let (reader, _) = session_for(&s, &["subscribe news.>"], T0 + 100);
    let (writer, _) = session_for(&s, &["publish news.>"], T0 + 3600);
    let queued = s.bus.with_session(&reader).subscribe("news.>", SubscribeOptions::new()).unwrap();
    let waited = s.bus.with_session(&reader).subscribe("news.b", SubscribeOptions::new()).unwrap();
    s.bus.with_session(&writer).publish("news.a", &b"1"[..], &[]).unwrap();
    let waiter = waiting_receiver(&waited);
    s.clock.set(T0 + 100 + 60);
    let at = Instant::now();
    let ended = if sweep_with_bus { s.bus.evict_idle() } else { s.authority.sweep() };
    assert_eq!(ended, if sweep_with_bus { 2 } else { 1 });
    let (outcome, woke_at) = waiter.join().unwrap();
    assert_eq!(outcome.unwrap_err().kind(), ErrorKind::Expired);
    assert_eq!(queued.stats().dropped.session_ended, 1);
    assert_eq!(queued.try_recv().unwrap_err().kind(), ErrorKind::Expired);
    woke_at - at
}

/// The system clock shifted so that `at` (whole seconds) is `lead` away.
struct ShiftedClock {
    origin: Instant,
    start: Duration,
}

impl ShiftedClock {
    fn expiring(at: u64, lead: Duration) -> ShiftedClock {
        ShiftedClock { origin: Instant::now(), start: Duration::from_secs(at) - lead }
    }
}

impl charter_core::capability::Clock for ShiftedClock {
    fn now(&self) -> u64 {
        self.now_precise().as_secs()
    }

    fn now_precise(&self) -> Duration {
        self.start + self.origin.elapsed()
    }
}

#[test]
fn a_waiting_receive_wakes_at_the_expiry_instant() {
    woke_in_time(wakes_at_the_expiry_instant);
}

fn wakes_at_the_expiry_instant() -> Duration {
    let root = KeyPair::generate().unwrap();
    let lead = Duration::from_millis(300);
    let clock = Arc::new(ShiftedClock::expiring(T0, lead));
    let started = clock.origin;
    let options = AuthorityOptions { clock, clock_skew: Duration::ZERO, ..AuthorityOptions::default() };
    let authority = Authority::new([root.public_key()], options);
    let bus = Bus::with_authority(BusLimits::default(), authority.clone()).unwrap();
    let holder = KeyPair::generate().unwrap();
    let token =
        Token::mint(&root, &holder.public_key(), &[Grant::parse("subscribe t").unwrap()], T0 - 10, T0)
            .unwrap();
    let challenge = authority.challenge().unwrap();
    let session =
        authority.open_session(&token, &challenge, &token.prove(&holder, &challenge).unwrap()).unwrap();
    let sub = bus.with_session(&session).subscribe("t", SubscribeOptions::new()).unwrap();

    let e = sub.recv().unwrap_err();
    let late = started.elapsed().saturating_sub(lead);
    assert_eq!(e.kind(), ErrorKind::Expired);
    assert!(started.elapsed() >= lead, "woke before the expiry instant");
    assert_eq!(sub.recv_timeout(Duration::from_secs(1)).unwrap_err().kind(), ErrorKind::Expired);
    late
}

#[test]
fn a_subscription_is_reachable_only_through_its_client() {
    let s = setup();
    let (alice, _) = session_for(&s, &["subscribe a.>", "request rpc.>"], T0 + 3600);
    let (mallory, _) = session_for(&s, &["subscribe m.>", "publish >"], T0 + 3600);
    let alice_client = s.bus.with_session(&alice);
    let alice_again = s.bus.client(Some(&alice));
    let mallory = s.bus.with_session(&mallory);
    let id = alice_client.subscribe("a.>", SubscribeOptions::new()).unwrap().detach();
    mallory.publish("a.secret", &b"salary"[..], &[]).unwrap();

    // Without a session: refused outright, and counted.
    let denied_before = s.bus.stats().denied;
    assert_eq!(s.bus.subscription(id).unwrap_err().kind(), ErrorKind::Denied);
    assert_eq!(s.bus.unsubscribe(id).unwrap_err().kind(), ErrorKind::Denied);
    assert_eq!(s.bus.client(None).subscription(id).unwrap_err().kind(), ErrorKind::Denied);
    assert_eq!(s.bus.stats().denied, denied_before + 3);
    // Another session: as if the id did not exist.
    let e = mallory.subscription(id).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(!mallory.unsubscribe(id).unwrap());
    // The owner, through any client of the same session.
    assert_eq!(alice_again.subscription(id).unwrap().stats().queued, 1);
    assert_eq!(alice_client.subscription(id).unwrap().try_recv().unwrap().unwrap().payload(), b"salary");
    assert!(alice_again.unsubscribe(id).unwrap());
    assert_eq!(alice_client.subscription(id).unwrap_err().kind(), ErrorKind::NotFound);

    // A reply inbox belongs to the requester.
    let _server = mallory.subscribe("m.>", SubscribeOptions::new()).unwrap();
    let _rpc = s
        .bus
        .with_session(&session_for(&s, &["subscribe rpc.>"], T0 + 3600).0)
        .subscribe("rpc.>", SubscribeOptions::new())
        .unwrap();
    let inbox = alice_client.request_start("rpc.x", &b""[..], &[]).unwrap().detach();
    assert_eq!(mallory.subscription(inbox).unwrap_err().kind(), ErrorKind::NotFound);
    assert!(alice_client.subscription(inbox).is_ok());
    // Answering needs a session on an enforcing bus.
    assert_eq!(s.bus.reply("_charter.inbox.00", &b""[..], &[]).unwrap_err().kind(), ErrorKind::Denied);
}

#[test]
fn on_an_open_bus_session_subscriptions_are_hidden_from_anonymous_callers() {
    let s = setup();
    let open = Bus::new(BusLimits::default()).unwrap();
    let (alice, _) = session_for(&s, &["subscribe a.>"], T0 + 3600);
    let mine = open.with_session(&alice).subscribe("a.>", SubscribeOptions::new()).unwrap().detach();
    let anon = open.subscribe("a.>", SubscribeOptions::new()).unwrap().detach();
    assert_eq!(open.subscription(mine).unwrap_err().kind(), ErrorKind::NotFound);
    assert!(!open.unsubscribe(mine).unwrap());
    assert_eq!(open.with_session(&alice).subscription(anon).unwrap_err().kind(), ErrorKind::NotFound);
    assert!(open.subscription(anon).is_ok());
    assert!(open.with_session(&alice).unsubscribe(mine).unwrap());
}

/// A counting notify for the readiness tests below.
fn counting_notify() -> (charter_core::bus::Notify, Arc<std::sync::atomic::AtomicUsize>) {
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    (
        Arc::new(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }),
        count,
    )
}

#[test]
fn revocation_fires_the_armed_notify_and_the_watch() {
    use charter_core::bus::Polled;
    use std::sync::atomic::Ordering;
    let s = setup();
    let (reader, token) = session_for(&s, &["subscribe news.>"], T0 + 3600);
    let sub = s.bus.with_session(&reader).subscribe("news.>", SubscribeOptions::new()).unwrap();
    let (armed, armed_fired) = counting_notify();
    let (watch, watch_fired) = counting_notify();
    sub.set_watch(Some(watch)).unwrap();
    assert!(matches!(sub.poll_recv(&armed).unwrap(), Polled::Pending { recheck: Some(_) }));
    s.authority.revoke(token.link_id(0)).unwrap();
    assert_eq!((armed_fired.load(Ordering::SeqCst), watch_fired.load(Ordering::SeqCst)), (1, 1));
    assert_eq!(sub.poll_recv(&armed).unwrap_err().kind(), ErrorKind::Revoked);
}

/// Expiry by the clock fires nothing by itself: `recheck` tells the
/// receiver when to look, and looking then reports `EXPIRED` (and fires
/// what is armed, for any other receiver).
#[test]
fn recheck_is_the_time_until_the_session_expires() {
    use charter_core::bus::Polled;
    use std::sync::atomic::Ordering;
    let s = setup();
    let (reader, _) = session_for(&s, &["subscribe news.>"], T0 + 100);
    let sub = s.bus.with_session(&reader).subscribe("news.>", SubscribeOptions::new()).unwrap();
    let skew = AuthorityOptions::default().clock_skew;
    let expected = Duration::from_secs(100) + skew;
    assert_eq!(sub.recheck(), Some(expected));
    let (armed, armed_fired) = counting_notify();
    let Polled::Pending { recheck } = sub.poll_recv(&armed).unwrap() else { panic!("nothing was queued") };
    assert_eq!(recheck, Some(expected));
    s.clock.set(T0 + 100 + skew.as_secs() - 1);
    assert_eq!(sub.recheck(), Some(Duration::from_secs(1)));
    assert!(matches!(sub.poll_recv(&armed).unwrap(), Polled::Pending { .. }));
    s.clock.set(T0 + 100 + skew.as_secs());
    let (other, other_fired) = counting_notify();
    assert_eq!(sub.poll_recv(&other).unwrap_err().kind(), ErrorKind::Expired);
    assert_eq!(armed_fired.load(Ordering::SeqCst), 1, "looking ended it, which fired the armed notify");
    assert_eq!(other_fired.load(Ordering::SeqCst), 0);
    assert_eq!(sub.recheck(), Some(Duration::ZERO));
}

/// A bus with no authority and no recorder allows anyone, but a client's
/// session still binds its holder to its grants (the fast path of an open
/// bus must not skip them).
#[test]
fn an_open_bus_still_holds_a_client_to_its_grants() {
    let s = setup();
    let open = Bus::new(BusLimits::default()).unwrap();
    let (session, _) = session_for(&s, &["publish orders.>", "subscribe orders.>"], T0 + 3600);
    let client = open.with_session(&session);
    open.publish("anything", &b"anyone may"[..], &[]).unwrap();
    client.publish("orders.eu", &b"x"[..], &[]).unwrap();
    assert_eq!(client.publish("billing.eu", &b"x"[..], &[]).unwrap_err().kind(), ErrorKind::Denied);
    assert_eq!(client.subscribe("billing.>", SubscribeOptions::new()).unwrap_err().kind(), ErrorKind::Denied);
}
