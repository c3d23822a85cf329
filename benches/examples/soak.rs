//! Soak test of the bus (`make soak`; not part of CI): for each overflow
//! policy, 2 publishers publish as fast as they can for `SOAK_SECONDS`
//! (default 60) to 8 pull subscribers, each drained by a thread of its own.
//!
//! Checks, exactly, per subscription: every publish that reached the
//! subscribers (successful, or refused by a policy) was offered to it, and
//! `offered = delivered + dropped` with nothing left queued, where
//! `delivered` is both the bus's count and the messages the consumer
//! actually received. Samples the process's resident memory every second
//! and reports the curve (min, max, last) and whether it is flat after a
//! warm-up. Exits non-zero on any mismatch.
//!
//! ```sh
//! SOAK_SECONDS=60 cargo run --release -p charter-benches --example soak
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use charter_core::bus::{Bus, BusLimits, Overflow, SubscribeOptions, Subscription};
use charter_core::ErrorKind;

const PUBLISHERS: usize = 2;
const SUBSCRIBERS: usize = 8;
const CAPACITY: usize = 256;
const BLOCK_TIMEOUT: Duration = Duration::from_millis(5);
/// Samples before this many seconds are the warm-up, left out of the
/// flatness verdict.
const WARM_UP: usize = 5;
/// The spread of resident memory after the warm-up still called flat.
const FLAT_TOLERANCE_KIB: u64 = 256;

/// Resident memory of this process in KiB (VmRSS in /proc/self/status).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status is readable");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("/proc/self/status has VmRSS in kB")
}

struct Outcome {
    attempts: u64,
    ok: u64,
    refused: u64,
    delivered: u64,
    dropped: u64,
    rss: Vec<u64>,
    failures: Vec<String>,
}

fn soak(name: &str, overflow: Overflow, seconds: u64) -> Outcome {
    let bus = Bus::new(BusLimits::default()).expect("default limits are valid");
    let options = SubscribeOptions::new().capacity(CAPACITY).overflow(overflow);
    let stop = Arc::new(AtomicBool::new(false));
    let consumers: Vec<_> = (0..SUBSCRIBERS)
        .map(|_| {
            let sub = bus.subscribe("soak.*", options.clone()).expect("a valid subscription");
            let stop = Arc::clone(&stop);
            thread::spawn(move || consume(sub, &stop))
        })
        .collect();

    let publishing = Arc::new(AtomicBool::new(true));
    let attempts = Arc::new(AtomicU64::new(0));
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let (bus, publishing, attempts) = (bus.clone(), Arc::clone(&publishing), Arc::clone(&attempts));
            thread::spawn(move || publish(&bus, p, &publishing, &attempts))
        })
        .collect();

    let mut rss = vec![rss_kib()];
    let start = Instant::now();
    for second in 1..=seconds {
        thread::sleep((start + Duration::from_secs(second)).saturating_duration_since(Instant::now()));
        rss.push(rss_kib());
    }
    publishing.store(false, Ordering::Relaxed);
    let mut failures = Vec::new();
    let (mut ok, mut refused) = (0, 0);
    for publisher in publishers {
        let (o, r, errors) = publisher.join().expect("a publisher thread");
        ok += o;
        refused += r;
        failures.extend(errors);
    }
    stop.store(true, Ordering::Relaxed);
    let attempts = attempts.load(Ordering::Relaxed);
    let (mut delivered, mut dropped) = (0, 0);
    for (i, consumer) in consumers.into_iter().enumerate() {
        let (sub, received) = consumer.join().expect("a consumer thread");
        let stats = sub.stats();
        let lost = stats.dropped.total();
        delivered += stats.delivered;
        dropped += lost;
        if stats.received != attempts {
            failures.push(format!("{name} sub {i}: offered {} of {attempts} publishes", stats.received));
        }
        if stats.received != stats.delivered + lost || stats.queued != 0 {
            failures.push(format!(
                "{name} sub {i}: received {} != delivered {} + dropped {lost} (queued {})",
                stats.received, stats.delivered, stats.queued
            ));
        }
        if received != stats.delivered {
            failures.push(format!("{name} sub {i}: consumer got {received}, bus says {}", stats.delivered));
        }
    }
    Outcome { attempts, ok, refused, delivered, dropped, rss, failures }
}

/// Publishes until told to stop: (successes, publishes a policy refused,
/// unexpected errors).
fn publish(bus: &Bus, p: usize, publishing: &AtomicBool, attempts: &AtomicU64) -> (u64, u64, Vec<String>) {
    let topic = format!("soak.p{p}");
    let payload: Arc<[u8]> = Arc::from(&[7u8; 64][..]);
    let (mut ok, mut refused, mut errors) = (0, 0, Vec::new());
    while publishing.load(Ordering::Relaxed) {
        match bus.publish(&topic, Arc::clone(&payload), &[]) {
            Ok(report) => {
                ok += 1;
                if report.matched != SUBSCRIBERS as u64 || report.delivered + report.dropped != report.matched
                {
                    errors.push(format!("publish report {report:?}"));
                }
            }
            // The message was offered to every subscription; one refused it.
            Err(e) if matches!(e.kind(), ErrorKind::LimitExceeded | ErrorKind::Timeout) => refused += 1,
            Err(e) => {
                errors.push(format!("publish failed: {e}"));
                break;
            }
        }
        attempts.fetch_add(1, Ordering::Relaxed);
    }
    (ok, refused, errors)
}

/// Receives until told to stop, then drains: (the subscription, messages
/// received).
fn consume(sub: Subscription, stop: &AtomicBool) -> (Subscription, u64) {
    let mut received = 0;
    while !stop.load(Ordering::Relaxed) {
        if sub.recv_timeout(Duration::from_millis(10)).is_ok() {
            received += 1;
        }
    }
    while let Ok(Some(_)) = sub.try_recv() {
        received += 1;
    }
    (sub, received)
}

fn join(samples: &[u64]) -> String {
    samples.iter().map(u64::to_string).collect::<Vec<_>>().join(" ")
}

fn main() {
    let seconds: u64 = std::env::var("SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let policies = [
        ("DROP_OLDEST", Overflow::DropOldest),
        ("DROP_NEWEST", Overflow::DropNewest),
        ("BLOCK(5ms)", Overflow::Block(BLOCK_TIMEOUT)),
        ("ERROR", Overflow::Error),
    ];
    println!(
        "soak: {PUBLISHERS} publishers, {SUBSCRIBERS} subscribers (capacity {CAPACITY}), {seconds} s per policy"
    );
    let mut failed = false;
    for (name, overflow) in policies {
        let out = soak(name, overflow, seconds);
        let warm_up = WARM_UP.min(out.rss.len() - 1);
        let after = &out.rss[warm_up..];
        let (min, max) = (after.iter().min().copied().unwrap_or(0), after.iter().max().copied().unwrap_or(0));
        let flat = max - min <= FLAT_TOLERANCE_KIB;
        println!(
            "{name}: {} publishes ({:.0}/s; {} ok, {} refused by the policy), per subscription {:.0} delivered \
             + {:.0} dropped on average; accounting {}",
            out.attempts,
            out.attempts as f64 / seconds as f64,
            out.ok,
            out.refused,
            out.delivered as f64 / SUBSCRIBERS as f64,
            out.dropped as f64 / SUBSCRIBERS as f64,
            if out.failures.is_empty() { "exact" } else { "WRONG" },
        );
        println!(
            "  RSS KiB: start {}, after {warm_up} s min {min} max {max} last {} -> {}",
            out.rss[0],
            out.rss.last().unwrap_or(&0),
            if flat { "flat" } else { "GROWING" },
        );
        println!("  curve (KiB, one sample a second): {}", join(&out.rss));
        for failure in &out.failures {
            println!("  FAIL {failure}");
        }
        failed |= !out.failures.is_empty() || !flat;
    }
    if failed {
        std::process::exit(1);
    }
    println!("soak: every subscription's accounting was exact and RSS was flat");
}
