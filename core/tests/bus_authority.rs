//! A bus with an authority: every publish, subscribe and request needs a
//! session whose grants cover it; denials are counted; revoking or
//! expiring the session ends what it opened.

use std::sync::Arc;
use std::time::Duration;

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
    let bus = s.bus.clone();
    let _service = s
        .bus
        .with_session(&server)
        .subscribe_with("rpc.>", SubscribeOptions::new(), move |m| {
            bus.respond(m, &b"noon"[..], &[]).map(drop).map_err(|_| charter_core::HandlerError)
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
    s.authority.revoke(token.link_id(0)).unwrap();
    let report = writer.publish("news.a", &b"2"[..], &[]).unwrap();
    assert_eq!((report.matched, report.delivered, report.dropped), (1, 0, 1));
    assert_eq!(sub.recv().unwrap_err().kind(), ErrorKind::Closed, "the revoked session's subscription ended");
    assert_eq!(
        s.bus.with_session(&reader).subscribe("news.>", SubscribeOptions::new()).unwrap_err().kind(),
        ErrorKind::Revoked
    );

    s.clock.set(T0 + 7200 + 60);
    assert_eq!(writer.publish("news.a", &b"3"[..], &[]).unwrap_err().kind(), ErrorKind::Expired);
}
