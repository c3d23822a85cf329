//! Faults: the server down at start, restarted mid-stream, and a 3-node
//! cluster losing the node the bridge is connected to. Core NATS is
//! at-most-once: what these tests require is that the bridge waits,
//! reconnects by itself and carries again, never that nothing was lost.

mod common;

use std::time::Duration;

use charter_bridge::{Bridge, BridgeOptions, Import};
use charter_core::bus::{Bus, BusLimits, SubscribeOptions, SubscriptionRef};
use common::{free_port, Server, PATIENCE};

fn bus() -> Bus {
    Bus::new(BusLimits::default()).unwrap()
}

fn options(servers: &[String], exports: &[&str], imports: &[&str]) -> BridgeOptions {
    let mut options = BridgeOptions::new(&servers[0]);
    options.servers = servers.to_vec();
    options.exports = exports.iter().map(|e| (*e).into()).collect();
    options.imports = imports.iter().map(|i| Import::new(i)).collect();
    options
}

/// Publishes numbered probes on `bus` until one arrives on `received`
/// (after a reconnect, messages sent before the subscription is back on
/// the server are lost, as core NATS promises). Returns how many it sent.
fn probe_until_carried(bus: &Bus, received: &SubscriptionRef, topic: &str) -> u32 {
    let deadline = std::time::Instant::now() + PATIENCE * 3;
    for sent in 1.. {
        bus.publish(topic, sent.to_string().into_bytes(), &[]).unwrap();
        if received.recv_timeout(Duration::from_millis(100)).is_ok() {
            return sent;
        }
        assert!(std::time::Instant::now() < deadline, "nothing carried after {sent} probes");
    }
    unreachable!()
}

#[test]
fn a_server_down_at_start_is_waited_for() {
    if common::binary().is_none() {
        eprintln!("SKIPPED: nats-server is not installed (scripts/install-deps.sh installs it)");
        return;
    }
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let (bus_a, bus_b) = (bus(), bus());
    let received = bus_b.subscribe("up.>", SubscribeOptions::new()).unwrap();
    // Both start with no server: not an error.
    let a = Bridge::start(&bus_a, options(std::slice::from_ref(&url), &["up.>"], &[])).unwrap();
    let b = Bridge::start(&bus_b, options(&[url], &[], &["up.>"])).unwrap();
    assert!(!a.is_connected());
    assert!(a.flush(Duration::from_millis(200)).is_err(), "no server answers yet");
    let _server = Server::start_on(port, "");
    a.flush(PATIENCE * 2).unwrap();
    b.flush(PATIENCE * 2).unwrap();
    assert!(a.is_connected());
    bus_a.publish("up.now", &b"hello"[..], &[]).unwrap();
    assert_eq!(received.recv_timeout(PATIENCE).unwrap().payload(), b"hello");
}

#[test]
fn a_server_restart_mid_stream_is_survived() {
    let Some(mut server) = Server::start("") else {
        eprintln!("SKIPPED: nats-server is not installed (scripts/install-deps.sh installs it)");
        return;
    };
    let (bus_a, bus_b) = (bus(), bus());
    let received = bus_b.subscribe("s.>", SubscribeOptions::new().capacity(10_000)).unwrap();
    let b = Bridge::start(&bus_b, options(&[server.url()], &[], &["s.>"])).unwrap();
    b.flush(PATIENCE).unwrap();
    let a = Bridge::start(&bus_a, options(&[server.url()], &["s.>"], &[])).unwrap();
    a.flush(PATIENCE).unwrap();
    for i in 0..100u32 {
        bus_a.publish("s.before", i.to_be_bytes().to_vec(), &[]).unwrap();
    }
    for _ in 0..100 {
        received.recv_timeout(PATIENCE).unwrap();
    }
    server.kill();
    // Published while the server is down: buffered by the client or lost,
    // never duplicated.
    for i in 0..100u32 {
        bus_a.publish("s.during", i.to_be_bytes().to_vec(), &[]).unwrap();
    }
    server.restart();
    a.flush(PATIENCE * 2).unwrap();
    b.flush(PATIENCE * 2).unwrap();
    let probes = u64::from(probe_until_carried(&bus_a, &received, "s.after"));
    let mut during = Vec::new();
    while let Some(m) = received.try_recv().unwrap() {
        if m.topic() == "s.during" {
            during.push(m.payload().to_vec());
        }
    }
    let unique: std::collections::BTreeSet<_> = during.iter().collect();
    assert_eq!(unique.len(), during.len(), "at most once: no duplicate");
    assert!(during.len() <= 100);
    // Every local publish is accounted for: handed to the client, or
    // dropped with its reason.
    common::eventually("every publish accounted for", || {
        let stats = a.stats();
        stats.exported + stats.send_failed + stats.export_queue_dropped == 200 + probes
    });
}

#[test]
fn a_cluster_losing_the_bridges_node_carries_on_through_another() {
    if common::binary().is_none() {
        eprintln!("SKIPPED: nats-server is not installed (scripts/install-deps.sh installs it)");
        return;
    }
    let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let route_list: Vec<String> = routes.iter().map(|p| format!("nats-route://127.0.0.1:{p}")).collect();
    let mut nodes: Vec<Server> = (0..3)
        .map(|i| {
            let config = format!(
                "server_name: n{i}\ncluster {{\n  name: charter\n  listen: 127.0.0.1:{}\n  routes: [{}]\n}}\n",
                routes[i],
                route_list.join(", ")
            );
            Server::start_on(free_port(), &config)
        })
        .collect();
    let urls: Vec<String> = nodes.iter().map(Server::url).collect();
    let (bus_a, bus_b) = (bus(), bus());
    let received = bus_b.subscribe("c.>", SubscribeOptions::new().capacity(10_000)).unwrap();
    // B on node 2; A on node 0 first, knowing the others.
    let b = Bridge::start(&bus_b, options(&[urls[2].clone()], &[], &["c.>"])).unwrap();
    b.flush(PATIENCE).unwrap();
    let a = Bridge::start(&bus_a, options(&urls, &["c.>"], &[])).unwrap();
    a.flush(PATIENCE).unwrap();
    // Routes form in the background: probe until B's interest reached node 0.
    probe_until_carried(&bus_a, &received, "c.probe");
    nodes[0].kill();
    // A reconnects to node 1 or 2 by itself and carries again.
    a.flush(PATIENCE * 2).unwrap();
    probe_until_carried(&bus_a, &received, "c.after");
    assert!(a.is_connected());
}

#[test]
fn a_stalled_link_bounds_what_the_bridge_holds_and_counts_every_drop() {
    // No server at all: the client's buffer fills, then the export's own
    // bounded queue, then the oldest are dropped and counted.
    let url = format!("nats://127.0.0.1:{}", free_port());
    let bus_a = bus();
    let mut options = options(&[url], &["stall.>"], &[]);
    options.export_capacity = 10;
    let a = Bridge::start(&bus_a, options).unwrap();
    let published = 20_000u64;
    for i in 0..published {
        bus_a.publish("stall.x", i.to_be_bytes().to_vec(), &[]).unwrap();
    }
    common::eventually("the export to stall with a full queue", || {
        let stats = a.stats();
        // Handed to the client's bounded buffer, dropped by the export
        // queue, or still in it (at most its capacity) or in the batch the
        // export task took from it (at most what it held: its capacity).
        let held = published - stats.exported - stats.export_queue_dropped;
        stats.export_queue_dropped > 0 && held <= 2 * 10
    });
    let stats = a.stats();
    assert!(stats.exported < published / 2, "the client buffers a bounded number: {stats:?}");
}
