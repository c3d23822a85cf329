//! The bridge against raw async-nats, side by side on one local
//! nats-server (docs/BENCHMARKS.md, "NATS bridge"):
//!
//! * throughput: N messages published, time until the last is received;
//! * p50 latency: one message at a time, publish to receipt;
//! * for 16-byte and 1 KiB payloads, raw / bridge / bridge with bare
//!   exports (`BridgeOptions::bare_exports`: no header on the wire) /
//!   sealed-and-verified bridge; and the verifier alone on one core
//!   (verified messages/s).
//!
//! Beside wall-clock figures, which move with the machine's load, each
//! path reports the CPU time it took per message: the clients' threads
//! (raw: the two clients' runtime; bridge: both bridges' runtime threads)
//! and the server's, read from Linux schedstat, which other processes'
//! load does not change; and the bench's own thread's (the raw
//! subscriber's loop; the bridged paths' local publishes and receives,
//! with the work a bare export does on the publisher's thread).
//!
//! `cargo bench -p charter-bridge --bench nats` (needs nats-server);
//! with `NATS_BENCH_PLAIN=1`, raw and unauthenticated bridges only. With
//! `NATS_BENCH_PATHS=raw,bare` (any of `raw`, `bridge`, `bare`,
//! `sealed`), only those paths run, so that a profiler (callgrind) counts
//! one path on its own; a bridged path's ratios then need `raw` in the
//! list. The paths take turns for `NATS_BENCH_ROUNDS` rounds (default 5;
//! 1 under a profiler), raw first in each, and a bridged path's ratios
//! are taken against its own round's raw run, then their median: run
//! one after the other, each path would carry its own minutes of the
//! machine's noise into the ratio (docs/BENCHMARKS.md, "NATS bridge",
//! round 16). A round whose raw subscriber lost a message to the server
//! (a slow consumer, on a loaded machine) is left out. The medians and
//! each round's ratios go to `target/nats-bench.json`, which
//! `benches/report.py` turns into docs/BENCHMARKS.md's bridge tables.
//! `NATS_BENCH_LATENCY=0` skips the latency samples (default 2,000), so
//! that a syscall count or a profile covers the throughput phase alone.
//! `NATS_BENCH_IDLE=<seconds>` measures, after the paths, what a pair of
//! bridges with nothing to carry and a receiver blocked on an empty
//! subscription cost in CPU time over that many seconds: waiting must
//! cost nothing, however a wait begins (a blocking receive spins for a
//! few microseconds before it parks, docs/bus.md).

mod server;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use charter_bridge::verify::{Expect, Inbound, Verifier};
use charter_bridge::{wire, Bridge, BridgeOptions, Credentials, Import, Sealer, Unsealed, VerifyOptions};
use charter_core::bus::{Bus, BusLimits, SubscribeOptions};
use charter_core::capability::{Authority, AuthorityOptions, Grant, KeyPair, Token};
use futures_util::StreamExt;

/// The p50 latency's samples: `NATS_BENCH_LATENCY`, default 2,000; 0
/// skips the latency phase (its p50 then NaN), so that a profiler or a
/// syscall count sees the throughput phase alone.
fn latency_samples() -> usize {
    std::env::var("NATS_BENCH_LATENCY").ok().and_then(|n| n.parse().ok()).unwrap_or(2_000)
}

/// Each bridge's worker threads: `BRIDGE_THREADS`, default 1.
fn threads() -> usize {
    std::env::var("BRIDGE_THREADS").ok().and_then(|t| t.parse().ok()).unwrap_or(1)
}

struct Figures {
    msgs_per_s: f64,
    p50_us: f64,
    /// CPU time per message of the clients' threads (raw) or the bridges'.
    client_cpu_us: f64,
    /// CPU time per message of the server.
    server_cpu_us: f64,
    /// CPU time per message of the bench's own thread: raw, the subscribing
    /// loop (the publishing task runs on the clients' runtime); bridged,
    /// the local publishes and receives, and a bare export's work done on
    /// the publisher's thread.
    app_cpu_us: f64,
    /// In the latency phase, how many times a thread of this process or
    /// of the server parked (voluntary context switches) per message:
    /// on an idle machine each park can leave a core idle that the next
    /// hop must wake, which timings on a loaded machine do not show.
    parks: f64,
}

/// CPU time so far of the threads of process `pid` (`self` for this one)
/// whose name starts with `prefix` (all threads when empty), from Linux
/// schedstat (nanoseconds on a CPU).
fn cpu_of(pid: &str, prefix: &str) -> Duration {
    let mut total = 0u64;
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Duration::ZERO };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        total += stat.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    }
    Duration::from_nanos(total)
}

/// Voluntary context switches so far of every thread of process `pid`
/// (`self` for this one): each time one of them parked.
fn parks_of(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    let status = |task: std::fs::DirEntry| std::fs::read_to_string(task.path().join("status")).ok();
    tasks
        .flatten()
        .filter_map(status)
        .filter_map(|s| {
            let line = s.lines().find(|l| l.starts_with("voluntary_ctxt_switches:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .sum()
}

/// Parks per message (see [`Figures::parks`]) since `start` (this
/// process's, the server's), over `count` messages.
fn parks_per_message(server: &str, start: (u64, u64), count: usize) -> f64 {
    let parked = parks_of("self") - start.0 + parks_of(server) - start.1;
    parked as f64 / count as f64
}

/// The CPU time of the clients' threads (named `prefix`) and of the
/// server, measured together over one phase.
struct CpuMeter<'a> {
    prefix: &'a str,
    server: &'a str,
    start: (Duration, Duration),
}

impl<'a> CpuMeter<'a> {
    fn start(prefix: &'a str, server: &'a str) -> Self {
        CpuMeter { prefix, server, start: (cpu_of("self", prefix), cpu_of(server, "")) }
    }

    /// (clients, server) microseconds per message over `count` messages.
    fn per_message(&self, count: usize) -> (f64, f64) {
        let per = |now: Duration, then: Duration| (now - then).as_secs_f64() * 1e6 / count as f64;
        (per(cpu_of("self", self.prefix), self.start.0), per(cpu_of(self.server, ""), self.start.1))
    }
}

/// A path's rounds: its name, its figures and its (throughput, p50)
/// ratios to the raw run of the same round.
type Measured = (&'static str, Vec<Figures>, Vec<(f64, f64)>);

/// A path's name in the printed table.
fn display(path: &str) -> &'static str {
    match path {
        "raw" => "raw async-nats",
        "bridge" => "bridge",
        "bare" => "bridge, bare exports",
        _ => "bridge, sealed + verified",
    }
}

/// The middle value (the mean of the two middle ones for an even count,
/// so that a round left out does not tilt the figure up or down).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn p50(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples.get(samples.len() / 2).map_or(f64::NAN, |s| s.as_secs_f64() * 1e6)
}

/// Whether the raw subscriber got its next message in time: the server
/// drops a slow consumer's messages (a loaded machine), which would
/// otherwise leave the run waiting for ever, as the bridge's runs never do.
async fn next_within(subscriber: &mut async_nats::Subscriber, timeout: Duration) -> bool {
    let next = tokio::time::timeout(timeout, subscriber.next()).await;
    matches!(next, Ok(Some(_)))
}

/// Raw async-nats's figures, or `None` when the server dropped one of its
/// messages (the round is then left out).
fn raw(url: &str, server: &str, size: usize, count: usize) -> Option<Figures> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("raw-nats")
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let publisher = async_nats::connect(url).await.unwrap();
        let subscriber_client =
            async_nats::ConnectOptions::new().subscription_capacity(count + 16).connect(url).await.unwrap();
        let mut subscriber = subscriber_client.subscribe("bench.raw").await.unwrap();
        subscriber_client.flush().await.unwrap();
        let payload = Bytes::from(vec![7u8; size]);
        let cpu = CpuMeter::start("raw-nats", server);
        let app = cpu_time();
        let start = Instant::now();
        let sending = {
            let publisher = publisher.clone();
            let payload = payload.clone();
            tokio::spawn(async move {
                for _ in 0..count {
                    publisher.publish("bench.raw", payload.clone()).await.unwrap();
                }
                publisher.flush().await.unwrap();
            })
        };
        for _ in 0..count {
            if !next_within(&mut subscriber, Duration::from_secs(30)).await {
                return None;
            }
        }
        let elapsed = start.elapsed();
        let (client_cpu_us, server_cpu_us) = cpu.per_message(count);
        let app_cpu_us = (cpu_time() - app).as_secs_f64() * 1e6 / count as f64;
        sending.await.unwrap();
        let parked = (parks_of("self"), parks_of(server));
        let mut samples = Vec::with_capacity(latency_samples());
        for _ in 0..latency_samples() {
            let sent = Instant::now();
            publisher.publish("bench.raw", payload.clone()).await.unwrap();
            publisher.flush().await.unwrap();
            if !next_within(&mut subscriber, Duration::from_secs(10)).await {
                return None;
            }
            samples.push(sent.elapsed());
        }
        let parks = parks_per_message(server, parked, samples.len());
        Some(Figures {
            msgs_per_s: count as f64 / elapsed.as_secs_f64(),
            p50_us: p50(samples),
            client_cpu_us,
            server_cpu_us,
            app_cpu_us,
            parks,
        })
    })
}

/// How the bridged path's bridges are set up.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Unauthenticated, the default wire (a `Nats-Msg-Id` per message).
    Plain,
    /// Unauthenticated with bare exports: no header on the wire.
    Bare,
    /// Sealed by the exporter, verified by the importer.
    Sealed,
}

fn bridged(url: &str, server: &str, size: usize, count: usize, mode: Mode) -> Figures {
    let sealed = mode == Mode::Sealed;
    let (bus_a, bus_b) = (Bus::new(BusLimits::default()).unwrap(), Bus::new(BusLimits::default()).unwrap());
    let root = KeyPair::generate().unwrap();
    let holder = KeyPair::generate().unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let token = Token::mint(
        &root,
        &holder.public_key(),
        &[Grant::parse("publish bench.>").unwrap()],
        now - 60,
        now + 3600,
    )
    .unwrap();
    let received = bus_b
        .subscribe("bench.bridge", SubscribeOptions::new().capacity(count + 16).max_bytes(1 << 28))
        .unwrap();
    let mut options = BridgeOptions::new(url);
    options.imports = vec![Import::new("bench.bridge")];
    options.import_capacity = count + latency_samples() + 16;
    options.worker_threads = threads();
    if sealed {
        options.verify = Some(VerifyOptions {
            authority: Authority::new([root.public_key()], AuthorityOptions::default()),
            max_skew: Duration::from_secs(30),
            recorder: None,
            clock: None,
        });
    }
    let b = Bridge::start(&bus_b, options).unwrap();
    b.flush(Duration::from_secs(10)).unwrap();
    let mut options = BridgeOptions::new(url);
    options.exports = vec!["bench.bridge".into()];
    options.export_capacity = count + 16;
    options.export_max_bytes = 1 << 28;
    options.worker_threads = threads();
    if sealed {
        options.credentials = Some(Credentials { token, key: Arc::new(holder) });
    }
    options.bare_exports = mode == Mode::Bare;
    let a = Bridge::start(&bus_a, options).unwrap();
    a.flush(Duration::from_secs(10)).unwrap();
    let payload: Arc<[u8]> = vec![7u8; size].into();
    let cpu = CpuMeter::start("charter-bridge", server);
    let app = cpu_time();
    let start = Instant::now();
    for _ in 0..count {
        bus_a.publish("bench.bridge", Arc::clone(&payload), &[]).unwrap();
    }
    for _ in 0..count {
        received.recv_timeout(Duration::from_secs(30)).expect("every message arrives");
    }
    let elapsed = start.elapsed();
    let (client_cpu_us, server_cpu_us) = cpu.per_message(count);
    let app_cpu_us = (cpu_time() - app).as_secs_f64() * 1e6 / count as f64;
    let parked = (parks_of("self"), parks_of(server));
    let mut samples = Vec::with_capacity(latency_samples());
    for _ in 0..latency_samples() {
        let sent = Instant::now();
        bus_a.publish("bench.bridge", Arc::clone(&payload), &[]).unwrap();
        received.recv_timeout(Duration::from_secs(10)).unwrap();
        samples.push(sent.elapsed());
    }
    let parks = parks_per_message(server, parked, samples.len());
    assert_eq!(b.stats().slow_consumer + a.stats().send_failed, 0);
    Figures {
        msgs_per_s: count as f64 / elapsed.as_secs_f64(),
        p50_us: p50(samples),
        client_cpu_us,
        server_cpu_us,
        app_cpu_us,
        parks,
    }
}

/// The CPU time over `seconds` of a pair of bridges (the export's and the
/// import's) with nothing to carry, and of a thread blocked in a receive
/// on the importing bus: (bridges, receiver), in microseconds.
fn idle_cpu(url: &str, seconds: u64) -> (f64, f64) {
    let (bus_a, bus_b) = (Bus::new(BusLimits::default()).unwrap(), Bus::new(BusLimits::default()).unwrap());
    let received = bus_b.subscribe("bench.bridge", SubscribeOptions::new()).unwrap();
    let mut options = BridgeOptions::new(url);
    options.imports = vec![Import::new("bench.bridge")];
    let b = Bridge::start(&bus_b, options).unwrap();
    let mut options = BridgeOptions::new(url);
    options.exports = vec!["bench.bridge".into()];
    options.bare_exports = true;
    let a = Bridge::start(&bus_a, options).unwrap();
    a.flush(Duration::from_secs(10)).unwrap();
    b.flush(Duration::from_secs(10)).unwrap();
    // One message through first, so that every thread has waited once.
    bus_a.publish("bench.bridge", &b"warm"[..], &[]).unwrap();
    received.recv_timeout(Duration::from_secs(10)).unwrap();
    let receiver = std::thread::spawn(move || {
        let start = cpu_time();
        let outcome = received.recv_timeout(Duration::from_secs(seconds));
        assert_eq!(outcome.unwrap_err().kind(), charter_core::ErrorKind::Timeout);
        (cpu_time() - start).as_secs_f64() * 1e6
    });
    let bridges = cpu_of("self", "charter-bridge");
    std::thread::sleep(Duration::from_secs(seconds));
    let bridges = (cpu_of("self", "charter-bridge") - bridges).as_secs_f64() * 1e6;
    (bridges, receiver.join().unwrap())
}

/// This thread's CPU time (Linux schedstat: nanoseconds on a CPU): on a
/// loaded machine, wall time would count the time other processes had the
/// core.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("Linux schedstat");
    let nanos: u64 = stat.split_whitespace().next().and_then(|n| n.parse().ok()).expect("a CPU time");
    Duration::from_nanos(nanos)
}

/// One ring Ed25519 verification per message, on this thread's CPU time:
/// the floor under any per-message signature design.
fn ed25519_only(count: usize) -> f64 {
    let key = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let key = ring::signature::Ed25519KeyPair::from_pkcs8(key.as_ref()).unwrap();
    let message = [7u8; 200];
    let signature = ring::signature::KeyPair::public_key(&key);
    let public =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, signature.as_ref().to_vec());
    let proof = key.sign(&message);
    let start = cpu_time();
    for _ in 0..count {
        public.verify(&message, proof.as_ref()).unwrap();
    }
    count as f64 / (cpu_time() - start).as_secs_f64()
}

/// The verifier alone, on this thread's CPU time: messages from one
/// origin sealed `batch` at a time (1: each signed alone; 64: the batches an
/// export under load sends), each verified once.
fn verify_only(size: usize, count: usize, batch: usize) -> f64 {
    let root = KeyPair::generate().unwrap();
    let holder = KeyPair::generate().unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let token = Token::mint(
        &root,
        &holder.public_key(),
        &[Grant::parse("publish bench.>").unwrap()],
        now - 60,
        now + 3600,
    )
    .unwrap();
    let sealer = Sealer::new([1; 16], &Credentials { token, key: Arc::new(holder) }).unwrap();
    let verifier = Verifier::new(VerifyOptions {
        authority: Authority::new([root.public_key()], AuthorityOptions::default()),
        max_skew: Duration::from_secs(60),
        recorder: None,
        clock: None,
    });
    let payload = vec![7u8; size];
    let origin = wire::hex16(&[1; 16]);
    let unsealed =
        vec![Unsealed { subject: "bench.verify", reply: None, headers: &[], payload: &payload }; batch];
    let messages: Vec<(String, String, String, Option<String>)> = (0..count.div_ceil(batch))
        .flat_map(|_| sealer.seal_batch(&unsealed))
        .map(|seal| {
            let seal = seal.unwrap();
            (seal.seq.to_string(), seal.time_ms.to_string(), seal.proof, seal.batch)
        })
        .collect();
    let start = cpu_time();
    for (seq, time, proof, place) in &messages {
        let mut headers = vec![
            (wire::ORIGIN, origin.as_str()),
            (wire::SEQ, seq.as_str()),
            (wire::TIME, time.as_str()),
            (wire::TOKEN, sealer.token_text()),
            (wire::PROOF, proof.as_str()),
        ];
        headers.extend(place.as_deref().map(|p| (wire::BATCH, p)));
        let inbound = Inbound { subject: "bench.verify", reply: None, headers: &headers, payload: &payload };
        verifier.check(&inbound, Expect::Publish).unwrap();
    }
    messages.len() as f64 / (cpu_time() - start).as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/nats-bench.json");
    // A skipped run leaves no figures behind for the report to take as new.
    let _ = std::fs::remove_file(&out);
    let Some(server) = server::start(&[]) else {
        eprintln!("SKIPPED: nats-server is not installed (scripts/install-deps.sh installs it)");
        return;
    };
    let url = format!("nats://127.0.0.1:{}", server.1);
    let pid = server.0.id().to_string();
    let plain_only = std::env::var_os("NATS_BENCH_PLAIN").is_some();
    let rounds: usize = std::env::var("NATS_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    println!(
        "| payload | round | path | msgs/s | p50 latency | vs raw: throughput | vs raw: p50 | client CPU/msg | server CPU/msg | bench thread CPU/msg | parks/msg (latency) |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    let chosen = std::env::var("NATS_BENCH_PATHS").ok();
    // `NATS_BENCH_PLAIN=1` skips the sealed runs (to profile the rest).
    let runs = |path: &str| match &chosen {
        Some(list) => list.split(',').any(|p| p.trim() == path),
        None => path != "sealed" || !plain_only,
    };
    for (size, count) in [(16usize, 100_000usize), (1024, 50_000)] {
        // Each round runs every path once, raw first, and each bridged
        // path's ratios are taken against the raw run of its own round:
        // the paths take turns, so a slower minute of a shared machine
        // weighs on both sides of a ratio, not on one path's runs alone.
        let mut measured: Vec<Measured> =
            ["raw", "bridge", "bare", "sealed"].into_iter().map(|p| (p, Vec::new(), Vec::new())).collect();
        for round in 1..=rounds {
            let raw = if runs("raw") {
                let Some(raw) = raw(&url, &pid, size, count) else {
                    println!("| {size} B | {round} | raw async-nats | the server dropped a message (slow consumer): round left out | | | | | | |");
                    continue;
                };
                Some(raw)
            } else {
                None
            };
            let plain = runs("bridge").then(|| bridged(&url, &pid, size, count, Mode::Plain));
            let bare = runs("bare").then(|| bridged(&url, &pid, size, count, Mode::Bare));
            let sealed = runs("sealed").then(|| bridged(&url, &pid, size, count / 5, Mode::Sealed));
            let base = raw.as_ref().map(|r| (r.msgs_per_s, r.p50_us));
            let ratios =
                |f: &Figures| base.map_or((f64::NAN, f64::NAN), |(m, p)| (f.msgs_per_s / m, f.p50_us / p));
            for ((path, figures, pairs), f) in measured.iter_mut().zip([raw, plain, bare, sealed]) {
                let Some(f) = f else { continue };
                let name = display(path);
                let (throughput, latency) = ratios(&f);
                println!(
                    "| {size} B | {round} | {name} | {:.0} | {:.0} µs | {throughput:.2}x | {latency:.2}x | {:.2} µs | {:.2} µs | {:.2} µs | {:.2} |",
                    f.msgs_per_s, f.p50_us, f.client_cpu_us, f.server_cpu_us, f.app_cpu_us, f.parks,
                );
                pairs.push((throughput, latency));
                figures.push(f);
            }
        }
        for (path, figures, pairs) in &measured {
            if figures.is_empty() {
                continue;
            }
            let of = |field: fn(&Figures) -> f64| median(figures.iter().map(field).collect());
            let (throughput, latency) =
                (median(pairs.iter().map(|p| p.0).collect()), median(pairs.iter().map(|p| p.1).collect()));
            println!(
                "| {size} B | median of {} | {} | {:.0} | {:.0} µs | {throughput:.2}x | {latency:.2}x | {:.2} µs | {:.2} µs | {:.2} µs | {:.2} |",
                figures.len(),
                display(path),
                of(|f| f.msgs_per_s),
                of(|f| f.p50_us),
                of(|f| f.client_cpu_us),
                of(|f| f.server_cpu_us),
                of(|f| f.app_cpu_us),
                of(|f| f.parks),
            );
            rows.push(serde_json::json!({
                "payload": size,
                "path": path,
                "rounds": figures.len(),
                "msgs_per_s": of(|f| f.msgs_per_s),
                "p50_us": of(|f| f.p50_us),
                "client_cpu_us": of(|f| f.client_cpu_us),
                "server_cpu_us": of(|f| f.server_cpu_us),
                "app_cpu_us": of(|f| f.app_cpu_us),
                "parks_per_message": of(|f| f.parks),
                "throughput_vs_raw": pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
                "p50_vs_raw": pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
            }));
        }
    }
    if let Some(seconds) = std::env::var("NATS_BENCH_IDLE").ok().and_then(|s| s.parse().ok()) {
        let (bridges, receiver) = idle_cpu(&url, seconds);
        println!(
            "idle over {seconds} s: two bridges' threads {bridges:.0} µs of CPU, a receiver blocked on an empty subscription {receiver:.0} µs"
        );
    }
    let mut verifier = serde_json::Map::new();
    if !plain_only {
        let ed25519 = ed25519_only(20_000);
        println!("ring Ed25519 verify alone: {ed25519:.0}/s of one core's CPU time");
        verifier.insert("ed25519".into(), ed25519.into());
        for size in [16usize, 1024] {
            let alone = verify_only(size, 20_000, 1);
            println!("verifier alone, {size} B, each signed alone: {alone:.0} verified msgs/s of one core's CPU time");
            verifier.insert(format!("{size}-alone"), alone.into());
            let batched = verify_only(size, 100_000, 64);
            println!("verifier alone, {size} B, batches of 64: {batched:.0} verified msgs/s of one core's CPU time");
            verifier.insert(size.to_string(), batched.into());
        }
    }
    let report = serde_json::json!({ "paths": rows, "verifier": verifier });
    std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()).expect("target/ is writable");
    println!("figures written to target/nats-bench.json");
}
