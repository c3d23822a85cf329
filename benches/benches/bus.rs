//! The bus against the channels it replaces, every comparison in one run:
//!
//! * publish + receive, one subscriber on an exact topic, against
//!   crossbeam-channel send + recv;
//! * publish to 16 subscribers and drain them all, against
//!   `tokio::sync::broadcast` with 16 receivers;
//! * publish when 100, 1,000 or 10,000 subscriptions of mixed exact and
//!   wildcard patterns exist and one of them matches.

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use charter_benches::crowded_pattern;
use charter_core::bus::{Bus, BusLimits, SubscribeOptions};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn payload() -> Arc<[u8]> {
    Arc::from(&[7u8; 64][..])
}

fn one_subscriber(c: &mut Criterion) {
    let mut group = c.benchmark_group("publish_recv_1");
    let bus = Bus::new(BusLimits::default()).unwrap();
    let sub = bus.subscribe("orders.eu.created", SubscribeOptions::new()).unwrap();
    let p = payload();
    group.bench_function("charter", |b| {
        b.iter(|| {
            bus.publish("orders.eu.created", Arc::clone(&p), &[]).unwrap();
            black_box(sub.try_recv().unwrap())
        })
    });
    let (tx, rx) = crossbeam_channel::bounded::<Arc<[u8]>>(1024);
    group.bench_function("crossbeam-channel", |b| {
        b.iter(|| {
            tx.send(Arc::clone(&p)).unwrap();
            black_box(rx.recv().unwrap())
        })
    });
    group.finish();
}

fn sixteen_subscribers(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout_16");
    let bus = Bus::new(BusLimits::default()).unwrap();
    let subs: Vec<_> =
        (0..16).map(|_| bus.subscribe("fleet.truck.position", SubscribeOptions::new()).unwrap()).collect();
    let p = payload();
    group.bench_function("charter", |b| {
        b.iter(|| {
            bus.publish("fleet.truck.position", Arc::clone(&p), &[]).unwrap();
            for s in &subs {
                black_box(s.try_recv().unwrap());
            }
        })
    });
    let (tx, _keep) = tokio::sync::broadcast::channel::<Arc<[u8]>>(1024);
    let mut rxs: Vec<_> = (0..16).map(|_| tx.subscribe()).collect();
    group.bench_function("tokio-broadcast", |b| {
        b.iter(|| {
            tx.send(Arc::clone(&p)).unwrap();
            for r in rxs.iter_mut() {
                black_box(r.try_recv().unwrap());
            }
        })
    });
    group.finish();
}

/// `n` subscriptions over exact, `*` and `>` patterns, none matching the
/// published topic, plus one that does.
fn crowded_bus(n: usize, hits: &Arc<AtomicU64>) -> (Bus, Vec<charter_core::bus::Subscription>) {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let mut subs = Vec::with_capacity(n);
    for i in 0..n - 1 {
        subs.push(bus.subscribe(&crowded_pattern(i), SubscribeOptions::new()).unwrap());
    }
    let hits = Arc::clone(hits);
    subs.push(
        bus.subscribe_with("orders.*.created", SubscribeOptions::new(), move |_| {
            hits.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .unwrap(),
    );
    (bus, subs)
}

fn crowded(c: &mut Criterion) {
    let mut group = c.benchmark_group("publish_among");
    let p = payload();
    for n in [100usize, 1_000, 10_000] {
        let hits = Arc::new(AtomicU64::new(0));
        let (bus, _subs) = crowded_bus(n, &hits);
        // Checked where the publishes ran: a filter that skips this size
        // (`--bench publish_among/charter/10000`) runs no closure at all.
        group.bench_with_input(BenchmarkId::new("charter", n), &n, |b, _| {
            b.iter(|| black_box(bus.publish("orders.eu.created", Arc::clone(&p), &[]).unwrap()));
            assert!(hits.load(Ordering::Relaxed) > 0);
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::settings(50);
    targets = one_subscriber, sixteen_subscribers, crowded
}
criterion_main!(benches);
