//! The bridge's memory under a 60 s overload (docs/BENCHMARKS.md, "NATS
//! bridge"): a NATS publisher sends 1 KiB messages at a fixed rate far
//! above what the local subscriber drains; every second this process's
//! resident set size is written to a CSV with the bridge's counters.
//!
//! `bash bridge/benches/rss_overload.sh` runs it for both imports and
//! draws the curve; by hand:
//! `cargo bench -p charter-bridge --bench rss_overload -- core|durable OUT.csv`
//! (OUT.csv relative to `bridge/`, where cargo runs benches)
//! (`RSS_SECONDS`, `RSS_RATE` and `RSS_DRAIN` change the duration, the
//! publish rate and the drain rate, in messages per second).
//!
//! * `core`: a core NATS import; the subscriber's queue (10,000 messages,
//!   overflow DROP_OLDEST) and the client's import queue bound what is held;
//!   what does not fit is dropped and counted.
//! * `durable`: a JetStream durable import (max_ack_pending 1,024); the
//!   subscriber's queue (10,000, overflow ERROR) refuses when full and the
//!   bridge hands messages back: the backlog waits in the stream, on the
//!   server's disk, not in this process.

mod server;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use bytes::Bytes;
use charter_bridge::{Bridge, BridgeOptions, DurableImport, Import};
use charter_core::bus::{Bus, BusLimits, Overflow, SubscribeOptions};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// This process's resident set size, in KiB (Linux /proc).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let durable = args.first().map(String::as_str) == Some("durable");
    let out = args.get(1).cloned().unwrap_or_else(|| "rss.csv".into());
    let (seconds, rate, drain) =
        (setting("RSS_SECONDS", 60), setting("RSS_RATE", 10_000), setting("RSS_DRAIN", 1_000));
    let store = tempfile::tempdir().unwrap();
    let store_path = store.path().to_string_lossy().into_owned();
    let js_args = ["-js", "-sd", store_path.as_str()];
    let Some(server) = server::start(if durable { &js_args[..] } else { &[] }) else {
        eprintln!("SKIPPED: nats-server is not installed (scripts/install-deps.sh installs it)");
        return;
    };
    let url = format!("nats://127.0.0.1:{}", server.1);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let publisher = runtime.block_on(async_nats::connect(&url)).unwrap();
    if durable {
        let _inside = runtime.enter();
        let js = jetstream::new(publisher.clone());
        runtime
            .block_on(js.create_stream(jetstream::stream::Config {
                name: "RSS".into(),
                subjects: vec!["rss.>".into()],
                ..Default::default()
            }))
            .unwrap();
    }

    let bus = Bus::new(BusLimits::default()).unwrap();
    let overflow = if durable { Overflow::Error } else { Overflow::DropOldest };
    let local = bus.subscribe("rss.>", SubscribeOptions::new().capacity(10_000).overflow(overflow)).unwrap();
    let mut options = BridgeOptions::new(&url);
    if durable {
        options.durable_imports = vec![DurableImport::new("rss.>", "RSS", "rss-importer")];
    } else {
        options.imports = vec![Import::new("rss.>")];
    }
    let bridge = Bridge::start(&bus, options).unwrap();
    bridge.flush(Duration::from_secs(10)).unwrap();

    // The slow consumer: `drain` messages a second at most.
    let done = Arc::new(AtomicBool::new(false));
    let consumer = {
        let (local, done) = (local.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut taken = 0u64;
            let pause = Duration::from_secs(1) / drain.max(1) as u32;
            while !done.load(Ordering::Relaxed) {
                if local.recv_timeout(Duration::from_millis(100)).is_ok() {
                    taken += 1;
                    std::thread::sleep(pause);
                }
            }
            taken
        })
    };
    // The fast publisher: `rate` messages a second, 1 KiB each.
    let sending = {
        let done = Arc::clone(&done);
        runtime.spawn(async move {
            let payload = Bytes::from(vec![7u8; 1024]);
            let start = tokio::time::Instant::now();
            let mut sent = 0u64;
            while !done.load(Ordering::Relaxed) {
                let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
                while sent < due {
                    publisher.publish("rss.load", payload.clone()).await.unwrap();
                    sent += 1;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            publisher.flush().await.unwrap();
            sent
        })
    };

    let mut csv = std::fs::File::create(&out).unwrap();
    writeln!(csv, "second,rss_kib,imported,slow_consumer,local_dropped,redelivery_requested").unwrap();
    let start = Instant::now();
    for second in 0..=seconds {
        let due = start + Duration::from_secs(second);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let stats = bridge.stats();
        let dropped = local.stats().dropped.total();
        writeln!(
            csv,
            "{second},{},{},{},{dropped},{}",
            rss_kib(),
            stats.imported,
            stats.slow_consumer,
            stats.redelivery_requested
        )
        .unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let sent = runtime.block_on(sending).unwrap();
    let taken = consumer.join().unwrap();
    let stats = bridge.stats();
    eprintln!(
        "{}: sent {sent}, imported {}, consumed {taken}, slow_consumer {}, local dropped {}, handed back {}; CSV {out}",
        if durable { "durable" } else { "core" },
        stats.imported,
        stats.slow_consumer,
        local.stats().dropped.total(),
        stats.redelivery_requested
    );
}
