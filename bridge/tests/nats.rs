//! The bridge against a real nats-server: carrying, loops, queue groups,
//! request/reply, signed replies, every forgery and replay class, and
//! revocation.

mod common;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use charter_bridge::seal::now_ms;
use charter_bridge::verify::{Expect, Inbound, Verifier};
use charter_bridge::{wire, Bridge, BridgeOptions, Import, Reason, Sealer};
use charter_core::audit::Query;
use charter_core::bus::{Bus, BusLimits, Overflow, SubscribeOptions};
use charter_core::ErrorKind;
use common::{eventually, sealed_headers, verifying, Root, PATIENCE, QUIET};

fn bus() -> Bus {
    Bus::new(BusLimits::default()).unwrap()
}

fn bridge(bus: &Bus, server: &common::Server, exports: &[&str], imports: &[Import]) -> Bridge {
    let mut options = BridgeOptions::new(&server.url());
    options.exports = exports.iter().map(|e| (*e).into()).collect();
    options.imports = imports.to_vec();
    start(bus, options)
}

fn start(bus: &Bus, options: BridgeOptions) -> Bridge {
    let bridge = Bridge::start(bus, options).unwrap();
    bridge.flush(PATIENCE).unwrap();
    bridge
}

fn refused(bridge: &Bridge, reason: Reason) -> u64 {
    bridge.stats().refused.iter().find(|(r, _)| *r == reason).map_or(0, |(_, n)| *n)
}

#[test]
fn an_exported_publish_arrives_on_the_importing_bus_with_its_headers() {
    let server = server_or_skip!();
    let (bus_a, bus_b) = (bus(), bus());
    let received = bus_b.subscribe("orders.>", SubscribeOptions::new()).unwrap();
    let b = bridge(&bus_b, &server, &[], &[Import::new("orders.>")]);
    let a = bridge(&bus_a, &server, &["orders.>"], &[]);
    bus_a.publish("orders.eu.created", &b"order 17"[..], &[("trace", "abc"), ("trace", "def")]).unwrap();
    bus_a.publish("other.topic", &b"not exported"[..], &[]).unwrap();
    let message = received.recv_timeout(PATIENCE).unwrap();
    assert_eq!(message.topic(), "orders.eu.created");
    assert_eq!(message.payload(), b"order 17");
    let traces: Vec<&str> = message.headers().filter(|(k, _)| *k == "trace").map(|(_, v)| v).collect();
    assert_eq!(traces, ["abc", "def"]);
    assert_eq!(message.header(wire::ORIGIN), Some(a.origin()));
    eventually("both bridges to count it", || (a.stats().exported, b.stats().imported) == (1, 1));
    assert!(received.recv_timeout(QUIET).is_err(), "only the exported pattern crosses");
}

#[test]
fn two_bridges_that_export_and_import_the_same_subjects_do_not_loop() {
    let server = server_or_skip!();
    let (bus_a, bus_b) = (bus(), bus());
    let seen_a = bus_a.subscribe("chat.>", SubscribeOptions::new()).unwrap();
    let seen_b = bus_b.subscribe("chat.>", SubscribeOptions::new()).unwrap();
    let a = bridge(&bus_a, &server, &["chat.>"], &[Import::new("chat.>")]);
    let b = bridge(&bus_b, &server, &["chat.>"], &[Import::new("chat.>")]);
    bus_a.publish("chat.room", &b"hello"[..], &[]).unwrap();
    assert_eq!(seen_a.recv_timeout(PATIENCE).unwrap().payload(), b"hello", "the local publish itself");
    assert_eq!(seen_b.recv_timeout(PATIENCE).unwrap().payload(), b"hello");
    assert!(seen_a.recv_timeout(QUIET).is_err(), "A's message never comes back to A");
    assert!(seen_b.recv_timeout(QUIET).is_err(), "B never re-imports what it received");
    eventually("B to decline re-exporting", || b.stats().not_reexported == 1);
    eventually("A to count its export", || (a.stats().exported, b.stats().exported) == (1, 0));
}

#[test]
fn an_unsealed_export_carries_its_origin_in_its_message_id_alone() {
    let server = server_or_skip!();
    let (bus_a, bus_b) = (bus(), bus());
    let received = bus_b.subscribe("ids.>", SubscribeOptions::new()).unwrap();
    let b = bridge(&bus_b, &server, &[], &[Import::new("ids.>")]);
    let a = bridge(&bus_a, &server, &["ids.>"], &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _context = runtime.enter();
    let raw = runtime.block_on(async_nats::connect(server.url())).unwrap();
    let mut seen = runtime.block_on(raw.subscribe("ids.>")).unwrap();
    runtime.block_on(common::round_trip(&raw));

    bus_a.publish("ids.one", &b"1"[..], &[]).unwrap();
    let sent = runtime
        .block_on(async { tokio::time::timeout(PATIENCE, futures_util::StreamExt::next(&mut seen)).await })
        .unwrap()
        .unwrap();
    let headers = sent.headers.expect("the message id");
    assert_eq!(headers.len(), 1, "one header: {headers:?}");
    let id = headers.get(async_nats::header::NATS_MESSAGE_ID).map(|v| v.as_str());
    assert_eq!(id, Some(wire::msg_id(a.origin(), 1).as_str()));
    let one = received.recv_timeout(PATIENCE).unwrap();
    assert_eq!(one.header(wire::ORIGIN), Some(a.origin()), "the importer read the origin from the id");

    // A plain client's id that names the importer's own origin is a loop to
    // it (as a forged Charter-Origin would be); any other id names none.
    let publish = |subject: &'static str, id: String| {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
        runtime.block_on(raw.publish_with_headers(subject, headers, Bytes::from_static(b"raw"))).unwrap();
    };
    publish("ids.two", wire::msg_id(b.origin(), 9));
    publish("ids.three", "order-17".into());
    let three = received.recv_timeout(PATIENCE).unwrap();
    assert_eq!((three.topic(), three.header(wire::ORIGIN)), ("ids.three", Some("nats")));
    assert_eq!(b.stats().own_origin, 1);
}

fn bare(bus: &Bus, server: &common::Server, exports: &[&str], imports: &[Import]) -> Bridge {
    let mut options = BridgeOptions::new(&server.url());
    options.exports = exports.iter().map(|e| (*e).into()).collect();
    options.imports = imports.to_vec();
    options.bare_exports = true;
    start(bus, options)
}

/// A bare export's publishes reach NATS with the application's headers
/// alone, none at all without any, and another bridge imports them as a
/// plain client's; its requests keep their headers and still get replies.
#[test]
fn a_bare_export_sends_no_header_of_its_own_and_is_imported_as_a_plain_clients() {
    let server = server_or_skip!();
    let (bus_a, bus_b) = (bus(), bus());
    let received = bus_b.subscribe("bare.>", SubscribeOptions::new()).unwrap();
    let _responder = responder(&bus_b, "svc.bare");
    let b = bridge(&bus_b, &server, &[], &[Import::new("bare.>"), Import::new("svc.>")]);
    let a = bare(&bus_a, &server, &["bare.>", "svc.>"], &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _context = runtime.enter();
    let raw = runtime.block_on(async_nats::connect(server.url())).unwrap();
    let mut seen = runtime.block_on(raw.subscribe("bare.>")).unwrap();
    runtime.block_on(common::round_trip(&raw));
    let mut next = || {
        runtime
            .block_on(async {
                tokio::time::timeout(PATIENCE, futures_util::StreamExt::next(&mut seen)).await
            })
            .unwrap()
            .unwrap()
    };

    bus_a.publish("bare.one", &b"1"[..], &[]).unwrap();
    let sent = next();
    assert_eq!(&sent.payload[..], b"1");
    assert!(sent.headers.is_none(), "no header at all: {:?}", sent.headers);
    let one = received.recv_timeout(PATIENCE).unwrap();
    assert_eq!((one.topic(), one.header(wire::ORIGIN)), ("bare.one", Some("nats")));

    bus_a.publish("bare.two", &b"2"[..], &[("trace", "abc"), (wire::PRINCIPAL, "relayed")]).unwrap();
    let headers = next().headers.expect("the application's header");
    let names: Vec<&str> = headers.iter().map(|(name, _)| name.as_ref()).collect();
    assert_eq!(names, ["trace"], "no Charter header, not even a relayed principal");
    let two = received.recv_timeout(PATIENCE).unwrap();
    assert_eq!((two.header("trace"), two.header(wire::ORIGIN)), (Some("abc"), Some("nats")));

    let reply = bus_a.request("svc.bare", &b"ping"[..], &[], PATIENCE).unwrap();
    assert_eq!(reply.payload(), b"pong:ping");
    eventually("both bridges to count", || {
        (a.stats().exported, a.stats().requests_out, b.stats().imported) == (2, 1, 2)
    });
}

/// A bare export whose client backs up (here the server is paused, so the
/// socket, the client's write buffer and then its command channel fill,
/// and the export's queue fills and drops its oldest) loses nothing
/// silently and reorders nothing: what arrives is in publish order, and
/// every message is either exported or counted as dropped by the
/// export's queue.
#[test]
fn a_bare_export_keeps_publish_order_across_a_full_client_and_counts_its_drops() {
    const SENT: u32 = 40_000;
    let server = server_or_skip!();
    let bus_a = bus();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let raw = runtime.block_on(async_nats::connect(server.url())).unwrap();
    let mut seen = runtime.block_on(raw.subscribe("order.>")).unwrap();
    runtime.block_on(common::round_trip(&raw));
    let arrived = Arc::new(Mutex::new(Vec::new()));
    let collect = Arc::clone(&arrived);
    runtime.spawn(async move {
        while let Some(message) = futures_util::StreamExt::next(&mut seen).await {
            let number = u32::from_be_bytes(message.payload[..4].try_into().unwrap());
            collect.lock().unwrap().push(number);
        }
    });
    let mut options = BridgeOptions::new(&server.url());
    options.exports = vec!["order.>".into()];
    options.bare_exports = true;
    options.export_capacity = 4_096;
    let a = start(&bus_a, options);
    let publish = |number: u32| {
        let mut payload = vec![0u8; 1024];
        payload[..4].copy_from_slice(&number.to_be_bytes());
        bus_a.publish("order.n", payload, &[]).unwrap();
    };
    publish(0);
    eventually("the first to arrive", || arrived.lock().unwrap().len() == 1);

    // 40 MB: more than the sockets, the client's buffer, its channel (2,048
    // commands) and the export's queue (4,096) hold together.
    server.pause();
    for number in 1..SENT {
        publish(number);
    }
    server.resume();
    eventually("every message exported or counted as dropped", || {
        let stats = a.stats();
        stats.exported + stats.export_queue_dropped == u64::from(SENT)
    });
    let stats = a.stats();
    assert!(stats.export_queue_dropped > 0, "the export's queue filled: {stats:?}");
    assert_eq!((stats.send_failed, stats.max_payload), (0, 0));
    eventually("what was exported to arrive", || arrived.lock().unwrap().len() as u64 == stats.exported);
    std::thread::sleep(QUIET);
    let arrived = arrived.lock().unwrap();
    assert_eq!(arrived.len() as u64, stats.exported, "nothing more");
    assert!(arrived.windows(2).all(|pair| pair[0] < pair[1]), "in publish order");
    assert_eq!(arrived.last(), Some(&(SENT - 1)), "the newest kept, the oldest dropped");
}

/// An export copies small payloads into buffers of its own, cutting each
/// message's from the current one and starting another when it runs out,
/// and shares larger ones: a burst of payloads from empty to past that
/// limit, each with its own bytes, arrives intact and in order on either
/// wire, across many buffers.
#[test]
fn small_and_large_payloads_of_a_burst_arrive_byte_for_byte() {
    const SENT: usize = 3_000;
    // Cycles through every length from 0 to past the copied payloads' 256.
    let payload = |n: usize| -> Vec<u8> { (0..n % 301).map(|i| (n + i) as u8).collect() };
    let server = server_or_skip!();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let raw = runtime.block_on(async_nats::connect(server.url())).unwrap();
    for bare_exports in [false, true] {
        let bus_a = bus();
        let subject = if bare_exports { "bytes.bare" } else { "bytes.default" };
        let mut seen = runtime.block_on(raw.subscribe(subject)).unwrap();
        runtime.block_on(common::round_trip(&raw));
        let mut options = BridgeOptions::new(&server.url());
        options.exports = vec![subject.into()];
        options.bare_exports = bare_exports;
        let a = start(&bus_a, options);
        for n in 0..SENT {
            bus_a.publish(subject, payload(n), &[]).unwrap();
        }
        // Moved in: a subscriber unsubscribes on a task when dropped.
        runtime.block_on(async move {
            for n in 0..SENT {
                let next = tokio::time::timeout(PATIENCE, futures_util::StreamExt::next(&mut seen));
                let message = next.await.expect("every message arrives").unwrap();
                assert_eq!(message.payload, payload(n), "message {n}, bare exports {bare_exports}");
            }
        });
        assert_eq!(a.stats().exported, SENT as u64);
    }
}

/// Without origins on the wire, imports still never send a message back:
/// a bare bridge that imports what it exports does not export the imported
/// copy (`Charter-Via`), and neither does another bridge on NATS (the
/// import's `Charter-Origin: nats`).
#[test]
fn bare_exports_that_import_the_same_subjects_do_not_loop() {
    let server = server_or_skip!();
    let (bus_a, bus_b) = (bus(), bus());
    let seen_a = bus_a.subscribe("loop.>", SubscribeOptions::new()).unwrap();
    let seen_b = bus_b.subscribe("loop.>", SubscribeOptions::new()).unwrap();
    let a = bare(&bus_a, &server, &["loop.>"], &[Import::new("loop.>")]);
    let b = bare(&bus_b, &server, &["loop.>"], &[Import::new("loop.>")]);
    bus_a.publish("loop.room", &b"hello"[..], &[]).unwrap();
    assert_eq!(seen_a.recv_timeout(PATIENCE).unwrap().payload(), b"hello", "the local publish itself");
    assert_eq!(seen_b.recv_timeout(PATIENCE).unwrap().header(wire::ORIGIN), Some("nats"));
    assert!(seen_a.recv_timeout(QUIET).is_err(), "no_echo: A never receives its own publish");
    assert!(seen_b.recv_timeout(QUIET).is_err(), "B does not send the imported copy back");
    eventually("B to decline re-exporting", || b.stats().not_reexported == 1);
    assert_eq!((a.stats().exported, b.stats().exported), (1, 0));

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _context = runtime.enter();
    let raw = runtime.block_on(async_nats::connect(server.url())).unwrap();
    runtime.block_on(raw.publish("loop.plain", Bytes::from_static(b"plain"))).unwrap();
    runtime.block_on(common::round_trip(&raw));
    assert_eq!(seen_a.recv_timeout(PATIENCE).unwrap().payload(), b"plain");
    assert_eq!(seen_b.recv_timeout(PATIENCE).unwrap().payload(), b"plain");
    assert!(seen_a.recv_timeout(QUIET).is_err(), "each imported once, neither exported again");
    eventually("both to decline", || (a.stats().not_reexported, b.stats().not_reexported) == (1, 2));
    assert_eq!((a.stats().exported, b.stats().exported), (1, 0));
}

#[test]
fn bare_exports_with_credentials_are_refused_before_connecting() {
    let mut options = BridgeOptions::new("nats://127.0.0.1:1");
    options.bare_exports = true;
    options.credentials = Some(Root::new().credentials(&["publish bare.>"]));
    let error = Bridge::start(&bus(), options).err().expect("refused");
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert_eq!(error.message(), "bare exports carry no seal: a bridge with credentials cannot send them");
}

/// A burst from a plain NATS client reaches the bus in batches: in order
/// per subject, each message counted on its own (a local subscription that
/// refuses some counts those as refused, the others still get them), a
/// loop dropped from the middle of a burst, a request in it asked.
#[test]
fn a_burst_is_imported_in_order_and_each_message_counted() {
    let server = server_or_skip!();
    let bus_b = bus();
    let all = bus_b.subscribe("burst.*", SubscribeOptions::new().capacity(10_000)).unwrap();
    let strict =
        bus_b.subscribe("burst.a", SubscribeOptions::new().capacity(50).overflow(Overflow::Error)).unwrap();
    let _responder = responder(&bus_b, "burst.ask.q");
    let b = bridge(&bus_b, &server, &[], &[Import::new("burst.>")]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _context = runtime.enter();
    let raw = runtime.block_on(async_nats::connect(server.url())).unwrap();
    let mut replies = runtime.block_on(raw.subscribe("burst.replies")).unwrap();
    runtime.block_on(async {
        for i in 0..1_000u32 {
            let subject = if i % 2 == 0 { "burst.a" } else { "burst.b" };
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("n", i.to_string().as_str());
            if i == 500 {
                // A loop in the middle of the burst: dropped, nothing else.
                headers.insert(async_nats::header::NATS_MESSAGE_ID, wire::msg_id(b.origin(), 1).as_str());
            }
            raw.publish_with_headers(subject, headers, Bytes::from(i.to_be_bytes().to_vec())).await.unwrap();
            if i == 700 {
                raw.publish_with_reply("burst.ask.q", "burst.replies", Bytes::from_static(b"q"))
                    .await
                    .unwrap();
            }
        }
        common::round_trip(&raw).await;
    });
    let got: Vec<(String, u32, String)> = (0..999)
        .map(|_| {
            let m = all.recv_timeout(PATIENCE).unwrap();
            let n = u32::from_be_bytes(m.payload().try_into().unwrap());
            (m.topic().to_owned(), n, m.header("n").unwrap().to_owned())
        })
        .collect();
    let expected: Vec<(String, u32, String)> = (0..1_000u32)
        .filter(|i| *i != 500)
        .map(|i| (if i % 2 == 0 { "burst.a" } else { "burst.b" }.to_owned(), i, i.to_string()))
        .collect();
    assert_eq!(got, expected);
    let reply = runtime
        .block_on(async { tokio::time::timeout(PATIENCE, futures_util::StreamExt::next(&mut replies)).await })
        .unwrap();
    assert!(reply.is_some(), "the request in the burst was answered");
    eventually("every message to be counted", || {
        let stats = b.stats();
        (stats.imported, stats.local_refused, stats.own_origin) == (550, 449, 1)
    });
    let strict_stats = strict.stats();
    assert_eq!((strict_stats.queued, strict_stats.dropped.rejected), (50, 449));
}

/// A burst that mixes messages without headers (whose local headers an
/// import builds once per burst) with messages with headers: each arrives
/// in order with its own headers, a headerless one with the import's marks
/// alone, and a loop among them is still dropped and counted.
#[test]
fn a_burst_mixing_headerless_messages_keeps_each_ones_headers() {
    let server = server_or_skip!();
    let bus_b = bus();
    let all = bus_b.subscribe("mixed.*", SubscribeOptions::new().capacity(10_000)).unwrap();
    let b = bridge(&bus_b, &server, &[], &[Import::new("mixed.>")]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _context = runtime.enter();
    let raw = runtime.block_on(async_nats::connect(server.url())).unwrap();
    runtime.block_on(async {
        for i in 0..600u32 {
            let payload = Bytes::from(i.to_be_bytes().to_vec());
            if i % 3 == 0 {
                raw.publish("mixed.x", payload).await.unwrap();
                continue;
            }
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("n", i.to_string().as_str());
            if i == 302 {
                headers.insert(async_nats::header::NATS_MESSAGE_ID, wire::msg_id(b.origin(), 1).as_str());
            }
            raw.publish_with_headers("mixed.x", headers, payload).await.unwrap();
        }
        common::round_trip(&raw).await;
    });
    let marks = [(wire::VIA, b.origin()), (wire::ORIGIN, "nats")];
    for i in (0..600u32).filter(|i| *i != 302) {
        let m = all.recv_timeout(PATIENCE).unwrap();
        assert_eq!(u32::from_be_bytes(m.payload().try_into().unwrap()), i);
        let got: Vec<(&str, &str)> = m.headers().collect();
        let n = i.to_string();
        let expected: Vec<(&str, &str)> =
            if i % 3 == 0 { marks.to_vec() } else { [("n", n.as_str())].into_iter().chain(marks).collect() };
        assert_eq!(got, expected, "message {i}");
    }
    eventually("every message to be counted", || {
        let stats = b.stats();
        (stats.imported, stats.own_origin) == (599, 1)
    });
}

/// A burst of headerless messages on one subject (published by the
/// import as one run) to a subscription that refuses once full: each
/// message is still its own publish, the refused ones counted and the
/// rest delivered in order to every other subscription.
#[test]
fn a_headerless_run_counts_each_refusal_and_delivers_the_rest_in_order() {
    let server = server_or_skip!();
    let bus_b = bus();
    let all = bus_b.subscribe("run.*", SubscribeOptions::new().capacity(10_000)).unwrap();
    let strict =
        bus_b.subscribe("run.a", SubscribeOptions::new().capacity(50).overflow(Overflow::Error)).unwrap();
    let b = bridge(&bus_b, &server, &[], &[Import::new("run.>")]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _context = runtime.enter();
    let raw = runtime.block_on(async_nats::connect(server.url())).unwrap();
    runtime.block_on(async {
        for i in 0..1_000u32 {
            raw.publish("run.a", Bytes::from(i.to_be_bytes().to_vec())).await.unwrap();
        }
        common::round_trip(&raw).await;
    });
    for i in 0..1_000u32 {
        let m = all.recv_timeout(PATIENCE).unwrap();
        assert_eq!(u32::from_be_bytes(m.payload().try_into().unwrap()), i);
        assert_eq!(m.headers().collect::<Vec<_>>(), [(wire::VIA, b.origin()), (wire::ORIGIN, "nats")]);
    }
    eventually("every message to be counted", || {
        let stats = b.stats();
        (stats.imported, stats.local_refused) == (50, 950)
    });
    let strict_stats = strict.stats();
    assert_eq!((strict_stats.queued, strict_stats.dropped.rejected), (50, 950));
}

#[test]
fn a_queue_group_shares_messages_between_its_members() {
    let server = server_or_skip!();
    let (bus_a, bus_1, bus_2) = (bus(), bus(), bus());
    let got_1 = bus_1.subscribe("jobs.>", SubscribeOptions::new().capacity(1000)).unwrap();
    let got_2 = bus_2.subscribe("jobs.>", SubscribeOptions::new().capacity(1000)).unwrap();
    let _w1 = bridge(&bus_1, &server, &[], &[Import::queued("jobs.>", "workers")]);
    let _w2 = bridge(&bus_2, &server, &[], &[Import::queued("jobs.>", "workers")]);
    let a = bridge(&bus_a, &server, &["jobs.>"], &[]);
    for i in 0..200u32 {
        bus_a.publish("jobs.build", i.to_be_bytes().to_vec(), &[]).unwrap();
    }
    let mut seen = Vec::new();
    eventually("all 200 jobs", || {
        while let Ok(Some(m)) = got_1.try_recv() {
            seen.push((1, m.payload().to_vec()));
        }
        while let Ok(Some(m)) = got_2.try_recv() {
            seen.push((2, m.payload().to_vec()));
        }
        seen.len() >= 200
    });
    eventually("A to count 200 exports", || a.stats().exported == 200);
    let mut payloads: Vec<Vec<u8>> = seen.iter().map(|(_, p)| p.clone()).collect();
    payloads.sort();
    payloads.dedup();
    assert_eq!(payloads.len(), 200, "each job exactly once");
    assert!(seen.iter().any(|(w, _)| *w == 1) && seen.iter().any(|(w, _)| *w == 2), "both members got work");
    assert!(got_1.recv_timeout(QUIET).is_err() && got_2.try_recv().unwrap().is_none());
}

/// A responder on `bus` that answers every request on `pattern` with
/// "pong:" and the request's payload.
fn responder(bus: &Bus, pattern: &str) -> charter_core::bus::Subscription {
    let answering = bus.clone();
    bus.subscribe_with(pattern, SubscribeOptions::new(), move |request| {
        let mut payload = b"pong:".to_vec();
        payload.extend_from_slice(request.payload());
        answering
            .respond(request, payload, &[("served-by", "b")])
            .map(|_| ())
            .map_err(|_| charter_core::HandlerError)
    })
    .unwrap()
}

#[test]
fn a_request_crosses_two_bridges_and_no_responder_is_not_found() {
    let server = server_or_skip!();
    let (bus_a, bus_b) = (bus(), bus());
    let _responder = responder(&bus_b, "svc.echo");
    let b = bridge(&bus_b, &server, &[], &[Import::new("svc.>")]);
    let a = bridge(&bus_a, &server, &["svc.>", "void.>"], &[]);
    let reply = bus_a.request("svc.echo", &b"ping"[..], &[], PATIENCE).unwrap();
    assert_eq!(reply.payload(), b"pong:ping");
    assert_eq!(reply.header("served-by"), Some("b"));
    eventually("both bridges to count the request", || {
        (a.stats().requests_out, b.stats().requests_in) == (1, 1)
    });

    // Nothing on NATS listens on void.>: NATS answers no-responders, and
    // the local request fails as one that nothing local matched does.
    let e = bus_a.request("void.x", &b"?"[..], &[], PATIENCE).unwrap_err();
    assert_eq!((e.kind(), e.message()), (ErrorKind::NotFound, "no responder on NATS for the request"));
    assert_eq!(a.stats().no_responders, 1);

    // B imports svc.> but nothing on bus B answers svc.nobody.
    let e = bus_a.request("svc.nobody", &b"?"[..], &[], PATIENCE).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

/// What `Bridge::start` and `flush` say on a thread inside an async
/// runtime: the one wording every binding passes on.
fn blocks(action: &str) -> String {
    format!(
        "a bridge cannot be {action} inside an async runtime (a handler a bridge runs is in one): \
         it would block the runtime's thread; call it from a plain thread"
    )
}

#[test]
fn start_and_flush_are_would_block_on_a_bridges_own_thread() {
    let server = server_or_skip!();
    let (bus_a, bus_b) = (bus(), bus());
    let importer = std::sync::Arc::new(std::sync::Mutex::new(None::<Bridge>));
    let (tell, told) = std::sync::mpsc::channel();
    let (in_handler, url) = (std::sync::Arc::clone(&importer), server.url());
    let handler_bus = bus_b.clone();
    let _inline = bus_b
        .subscribe_with("stop.>", SubscribeOptions::new(), move |_| {
            let started = Bridge::start(&handler_bus, BridgeOptions::new(&url)).map(|_| ()).unwrap_err();
            let guard = in_handler.lock().unwrap();
            let flushed = guard.as_ref().map(|b| b.flush(PATIENCE).unwrap_err());
            let _ = tell.send((started, flushed));
            Ok(())
        })
        .unwrap();
    *importer.lock().unwrap() = Some(bridge(&bus_b, &server, &[], &[Import::new("stop.>")]));
    let _exporter = bridge(&bus_a, &server, &["stop.>"], &[]);
    bus_a.publish("stop.now", &b"stop"[..], &[]).unwrap();
    let (started, flushed) = told.recv_timeout(PATIENCE).unwrap();
    assert_eq!((started.kind(), started.message()), (ErrorKind::WouldBlock, blocks("started").as_str()));
    let flushed = flushed.expect("the importer was running");
    assert_eq!((flushed.kind(), flushed.message()), (ErrorKind::WouldBlock, blocks("flushed").as_str()));
    // Outside the handler, the same calls go through.
    let importer = importer.lock().unwrap().take().expect("the importer");
    importer.flush(PATIENCE).unwrap();
}

#[test]
fn a_request_from_nats_is_answered_by_a_local_responder() {
    let server = server_or_skip!();
    let bus_b = bus();
    let _responder = responder(&bus_b, "svc.echo");
    let _b = bridge(&bus_b, &server, &[], &[Import::new("svc.>")]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let reply = runtime.block_on(async {
        let client = async_nats::connect(server.url()).await.unwrap();
        client.request("svc.echo", Bytes::from_static(b"raw")).await.unwrap()
    });
    assert_eq!(&reply.payload[..], b"pong:raw");
}

#[test]
fn signed_replies_come_from_a_granted_responder_or_are_refused() {
    let server = server_or_skip!();
    let root = Root::new();
    let (bus_a, bus_b, bus_c) = (bus(), bus(), bus());
    let _r_b = responder(&bus_b, "svc.>");
    let _r_c = responder(&bus_c, "rogue.>");
    let authority = root.authority();
    let (verify_a, log_a) = verifying(&authority);
    let (verify_b, _) = verifying(&authority);
    let responder_b = root.credentials(&["subscribe svc.>"]);
    let b_principal = responder_b.key.principal();
    let mut options = BridgeOptions::new(&server.url());
    options.imports = vec![Import::new("svc.>")];
    options.credentials = Some(responder_b);
    options.verify = Some(verify_b.clone());
    let _b = start(&bus_b, options);
    // C answers rogue.> with a token that may publish there, not respond.
    let mut options = BridgeOptions::new(&server.url());
    options.imports = vec![Import::new("rogue.>")];
    options.credentials = Some(root.credentials(&["publish rogue.>"]));
    options.verify = Some(verify_b);
    let _c = start(&bus_c, options);
    let mut options = BridgeOptions::new(&server.url());
    options.exports = vec!["svc.>".into(), "rogue.>".into()];
    options.credentials = Some(root.credentials(&["request svc.>", "request rogue.>"]));
    options.verify = Some(verify_a);
    let a = start(&bus_a, options);

    let reply = bus_a.request("svc.echo", &b"ping"[..], &[], PATIENCE).unwrap();
    assert_eq!(reply.payload(), b"pong:ping");
    assert_eq!(reply.header(wire::PRINCIPAL), Some(b_principal.to_text().as_str()), "the proven responder");

    let e = bus_a.request("rogue.echo", &b"ping"[..], &[], PATIENCE).unwrap_err();
    assert_eq!((e.kind(), e.message()), (ErrorKind::Denied, "the reply failed verification at the bridge"));
    assert_eq!(refused(&a, Reason::NotGranted), 1);
    let records: Vec<_> = log_a.records(Query::default()).map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].1.action, "bridge_reply");
    assert!(records[0].1.detail.starts_with("not_granted"), "{}", records[0].1.detail);
    assert!(!records[0].1.actor_unproven, "the responder signed: proven");
}

#[test]
fn a_reply_for_another_request_or_sealed_before_it_is_misdirected() {
    let root = Root::new();
    let responder = root.credentials(&["subscribe svc.>"]);
    let sealer = Sealer::new([9; 16], &responder).unwrap();
    let (options, _) = verifying(&root.authority());
    let verifier = Verifier::new(options);
    let (inbox, nonce, subject) = ("_INBOX.a.b", "00112233445566778899aabbccddeeff", "svc.echo");
    let reply = |seq: u64, time_ms: u64, to: &str, nonce: &str, request: &str| {
        let headers = [(wire::NONCE, nonce), (wire::REQUEST, request)];
        let seal = sealer.seal_at(seq, time_ms, to, None, &headers, b"pong").unwrap();
        let mut all: Vec<(String, String)> =
            headers.iter().map(|(n, v)| ((*n).into(), (*v).into())).collect();
        all.extend([
            (wire::ORIGIN.into(), wire::hex16(&[9; 16])),
            (wire::SEQ.into(), seal.seq.to_string()),
            (wire::TIME.into(), seal.time_ms.to_string()),
            (wire::TOKEN.into(), sealer.token_text().into()),
            (wire::PROOF.into(), seal.proof),
        ]);
        (to.to_owned(), all)
    };
    let now = now_ms();
    let expect = Expect::Reply { subject, inbox, nonce, sent_ms: now };
    let check = |(to, headers): (String, Vec<(String, String)>)| {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let inbound = Inbound { subject: &to, reply: None, headers: &headers, payload: b"pong" };
        verifier.check(&inbound, expect).map_err(|r| r.reason)
    };
    assert_eq!(check(reply(1, now, "_INBOX.other", nonce, subject)), Err(Reason::Misdirected));
    assert_eq!(
        check(reply(2, now, inbox, "ffeeddccbbaa99887766554433221100", subject)),
        Err(Reason::Misdirected)
    );
    assert_eq!(check(reply(3, now, inbox, nonce, "svc.other")), Err(Reason::Misdirected));
    assert_eq!(
        check(reply(4, now - 60_000, inbox, nonce, subject)),
        Err(Reason::Misdirected),
        "older than the request"
    );
    assert!(check(reply(5, now, inbox, nonce, subject)).is_ok());
    assert_eq!(check(reply(5, now, inbox, nonce, subject)), Err(Reason::Replayed));
}

#[test]
fn every_forgery_and_replay_class_is_refused_with_its_own_reason_and_audited() {
    let server = server_or_skip!();
    let root = Root::new();
    let authority = root.authority();
    let (verify, log) = verifying(&authority);
    let (bus_a, bus_b) = (bus(), bus());
    let delivered = bus_b.subscribe("orders.>", SubscribeOptions::new()).unwrap();
    let mut options = BridgeOptions::new(&server.url());
    options.imports = vec![Import::new("orders.>")];
    options.verify = Some(verify);
    let b = start(&bus_b, options);
    let honest = root.credentials(&["publish orders.>"]);
    let honest_principal = honest.key.principal();
    let mut options = BridgeOptions::new(&server.url());
    options.exports = vec!["orders.>".into()];
    options.credentials = Some(honest);
    let _a = start(&bus_a, options);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _context = runtime.enter();
    let raw = runtime.block_on(async_nats::connect(server.url())).unwrap();
    let mut spy = runtime.block_on(raw.subscribe("orders.>")).unwrap();
    runtime.block_on(common::round_trip(&raw));

    bus_a.publish("orders.1", &b"genuine"[..], &[("k", "v")]).unwrap();
    let first = delivered.recv_timeout(PATIENCE).unwrap();
    assert_eq!(first.header(wire::PRINCIPAL), Some(honest_principal.to_text().as_str()));
    let captured = runtime.block_on(futures_util::StreamExt::next(&mut spy)).unwrap();
    let captured_headers = captured.headers.clone().unwrap();

    let send = |subject: &str, headers: Option<async_nats::HeaderMap>, payload: &[u8]| {
        let payload = Bytes::copy_from_slice(payload);
        runtime.block_on(async {
            match headers {
                Some(h) => raw.publish_with_headers(subject.to_owned(), h, payload).await.unwrap(),
                None => raw.publish(subject.to_owned(), payload).await.unwrap(),
            }
        });
    };
    let now = now_ms();
    // unsigned: a plain NATS client.
    send("orders.2", None, b"plain");
    // malformed: a sequence number in a second spelling.
    let mut bad = captured_headers.clone();
    bad.insert(wire::SEQ, "01");
    send("orders.1", Some(bad), b"genuine");
    // chain: a token from a root nobody trusts.
    let stranger = Sealer::new([2; 16], &Root::new().credentials(&["publish orders.>"])).unwrap();
    send("orders.3", Some(sealed_headers(&stranger, &[2; 16], 1, now, "orders.3", b"x")), b"x");
    // bad_proof: the captured message with its payload altered.
    send("orders.1", Some(captured_headers.clone()), b"altered");
    // not_granted: a trusted token for other subjects.
    let elsewhere = Sealer::new([3; 16], &root.credentials(&["publish invoices.>"])).unwrap();
    send("orders.4", Some(sealed_headers(&elsewhere, &[3; 16], 1, now, "orders.4", b"x")), b"x");
    // stale: sealed two minutes ago (the window is 30 s).
    let trusted = Sealer::new([4; 16], &root.credentials(&["publish orders.>"])).unwrap();
    send("orders.5", Some(sealed_headers(&trusted, &[4; 16], 1, now - 120_000, "orders.5", b"x")), b"x");
    // replayed: the captured message, verbatim.
    send("orders.1", Some(captured_headers), b"genuine");
    // revoked: a trusted token whose link is revoked.
    let revoked = root.credentials(&["publish orders.>"]);
    authority.revoke(revoked.token.link_id(0)).unwrap();
    let revoked = Sealer::new([5; 16], &revoked).unwrap();
    send("orders.6", Some(sealed_headers(&revoked, &[5; 16], 1, now, "orders.6", b"x")), b"x");
    // A genuine message on the same connection, after all of them.
    send("orders.7", Some(sealed_headers(&trusted, &[4; 16], 2, now_ms(), "orders.7", b"last")), b"last");

    let last = delivered.recv_timeout(PATIENCE).unwrap();
    assert_eq!(last.payload(), b"last", "no forged message was delivered before it");
    assert!(delivered.try_recv().unwrap().is_none());
    let expected = [
        (Reason::Unsigned, None),
        (Reason::Malformed, None),
        (Reason::Chain, Some(true)),
        (Reason::BadProof, Some(true)),
        (Reason::NotGranted, Some(false)),
        (Reason::Stale, Some(false)),
        (Reason::Replayed, Some(false)),
        (Reason::Revoked, Some(true)),
    ];
    for (reason, _) in expected {
        assert_eq!(refused(&b, reason), 1, "{reason}");
    }
    let records: Vec<_> = log.records(Query::default()).map(|r| r.unwrap().1).collect();
    assert_eq!(records.len(), expected.len());
    for (record, (reason, unproven)) in records.iter().zip(expected) {
        assert!(record.detail.starts_with(reason.name()), "{reason}: {}", record.detail);
        assert_eq!(record.decision, charter_core::audit::Decision::Deny);
        assert_eq!(record.actor.map(|_| record.actor_unproven), unproven, "{reason}: proven or claimed");
    }
}

#[test]
fn a_revocation_reaches_a_live_remote_session() {
    let server = server_or_skip!();
    let root = Root::new();
    let authority = root.authority();
    let (verify, _) = verifying(&authority);
    let (bus_a, bus_b) = (bus(), bus());
    let delivered = bus_b.subscribe("feed.>", SubscribeOptions::new()).unwrap();
    let mut options = BridgeOptions::new(&server.url());
    options.imports = vec![Import::new("feed.>")];
    options.verify = Some(verify);
    let b = start(&bus_b, options);
    let sender = root.credentials(&["publish feed.>"]);
    let link = sender.token.link_id(0);
    let mut options = BridgeOptions::new(&server.url());
    options.exports = vec!["feed.>".into()];
    options.credentials = Some(sender);
    let _a = start(&bus_a, options);
    bus_a.publish("feed.1", &b"before"[..], &[]).unwrap();
    assert_eq!(delivered.recv_timeout(PATIENCE).unwrap().payload(), b"before");
    // The token is cached as verified; revocation must still apply.
    authority.revoke(link).unwrap();
    bus_a.publish("feed.1", &b"after"[..], &[]).unwrap();
    eventually("the revoked message to be refused", || refused(&b, Reason::Revoked) == 1);
    assert!(delivered.try_recv().unwrap().is_none());
}

#[test]
fn a_message_over_the_servers_max_payload_is_counted_not_sent() {
    let Some(server) = common::Server::start("max_payload: 1024") else {
        eprintln!("SKIPPED: nats-server is not installed (scripts/install-deps.sh installs it)");
        return;
    };
    let (bus_a, bus_b) = (bus(), bus());
    let delivered = bus_b.subscribe("big.>", SubscribeOptions::new()).unwrap();
    let _b = bridge(&bus_b, &server, &[], &[Import::new("big.>")]);
    let a = bridge(&bus_a, &server, &["big.>"], &[]);
    bus_a.publish("big.one", vec![7u8; 4096], &[]).unwrap();
    bus_a.publish("big.two", vec![7u8; 100], &[]).unwrap();
    assert_eq!(delivered.recv_timeout(PATIENCE).unwrap().topic(), "big.two");
    eventually("A to count both", || (a.stats().max_payload, a.stats().exported) == (1, 1));
    // A bare export of a message without headers leaves the check to the
    // client's header-less publish: counted alike, and what follows still
    // goes out on the same connection.
    let bus_c = bus();
    let c = bare(&bus_c, &server, &["big.>"], &[]);
    bus_c.publish("big.three", vec![7u8; 4096], &[]).unwrap();
    bus_c.publish("big.four", vec![7u8; 100], &[]).unwrap();
    assert_eq!(delivered.recv_timeout(PATIENCE).unwrap().topic(), "big.four");
    eventually("C to count both", || (c.stats().max_payload, c.stats().exported) == (1, 1));
    assert_eq!(c.stats().send_failed, 0);
}

#[test]
fn a_sidecar_relays_between_a_local_nats_and_a_shared_one_without_loops() {
    let local = server_or_skip!();
    let shared = server_or_skip!();
    let sidecar = bus();
    let mut options = BridgeOptions::new(&local.url());
    options.imports = vec![Import::new("out.>").relayed()];
    options.exports = vec!["in.>".into()];
    let l = start(&sidecar, options);
    let mut options = BridgeOptions::new(&shared.url());
    options.imports = vec![Import::new("in.>").relayed()];
    options.exports = vec!["out.>".into()];
    let r = start(&sidecar, options);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _context = runtime.enter();
    let (app, world) = runtime.block_on(async {
        (async_nats::connect(local.url()).await.unwrap(), async_nats::connect(shared.url()).await.unwrap())
    });
    let mut app_in = runtime.block_on(app.subscribe("in.>")).unwrap();
    let mut world_out = runtime.block_on(world.subscribe("out.>")).unwrap();
    runtime.block_on(async {
        common::round_trip(&app).await;
        common::round_trip(&world).await;
    });
    runtime.block_on(app.publish("out.x", Bytes::from_static(b"from the app"))).unwrap();
    runtime.block_on(world.publish("in.y", Bytes::from_static(b"from the world"))).unwrap();
    let next = |s: &mut async_nats::Subscriber| {
        runtime
            .block_on(async { tokio::time::timeout(PATIENCE, futures_util::StreamExt::next(s)).await })
            .unwrap_or_else(|_| {
                panic!("nothing relayed; local side {:?}, shared side {:?}", l.stats(), r.stats())
            })
            .unwrap()
    };
    assert_eq!(&next(&mut world_out).payload[..], b"from the app");
    assert_eq!(&next(&mut app_in).payload[..], b"from the world");
    std::thread::sleep(QUIET);
    assert_eq!((l.stats().exported, r.stats().exported), (1, 1), "each message crossed once");
    assert_eq!((l.stats().imported, r.stats().imported), (1, 1));
}

#[test]
fn requests_in_flight_are_bounded_and_the_excess_counted() {
    let server = server_or_skip!();
    let (bus_a, bus_b) = (bus(), bus());
    // Subscribed on B but never answered: each request waits out its timeout.
    let _silent = bus_b.subscribe("slow.>", SubscribeOptions::new()).unwrap();
    let _b = bridge(&bus_b, &server, &[], &[Import::new("slow.>")]);
    let mut options = BridgeOptions::new(&server.url());
    options.exports = vec!["slow.>".into()];
    options.max_requests_in_flight = 1;
    let a = start(&bus_a, options);
    let _first = bus_a.request_start("slow.one", &b"1"[..], &[]).unwrap();
    let _second = bus_a.request_start("slow.two", &b"2"[..], &[]).unwrap();
    eventually("the second request to be refused", || a.stats().requests_busy == 1);
}

#[test]
fn inside_an_async_runtime_start_is_refused_and_drop_does_not_block() {
    let server = server_or_skip!();
    let bus_a = bus();
    let outside = bridge(&bus_a, &server, &["x.>"], &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let error = Bridge::start(&bus_a, BridgeOptions::new(&server.url())).err().unwrap();
        assert_eq!((error.kind(), error.message()), (ErrorKind::WouldBlock, blocks("started").as_str()));
        let error = outside.flush(PATIENCE).unwrap_err();
        assert_eq!((error.kind(), error.message()), (ErrorKind::WouldBlock, blocks("flushed").as_str()));
        drop(outside);
    });
}
