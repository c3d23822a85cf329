//! The hot paths whose instruction counts `make budgets` checks
//! (`benches/budgets.py` against `benches/budgets.toml`): runs one case
//! for a number of iterations, so that callgrind's totals at two
//! iteration counts differ by exactly that many rounds of the case and
//! its setup cancels out.
//!
//! ```sh
//! cargo build --release -p charter-benches --bin budget_loop
//! valgrind --tool=callgrind target/release/budget_loop notify-rust 4 10000
//! ```
//!
//! Arguments: case, size, iterations. Cases: `notify-rust` and
//! `notify-capi` (size: handlers), `bus` (publish, then try_recv from
//! every subscriber; size: subscribers), `bus-crowded` (publish among
//! `size` subscriptions, one of them matching with an inline handler),
//! `bus-many` (publish_many of batches of `size` payloads to one
//! subscriber, then recv_many into a kept vector; an iteration is one
//! message, so the figure is per message; the messages dropped one by one,
//! as Python's `Message` objects drop them), `bus-many-drop-all` (the
//! same, each received batch dropped together by `Message::drop_all`, as
//! the C ABI's and Node's batch receives do), `bus-runtime` (`bus` with
//! the topic known only at run time, as every binding's and the C ABI's
//! topic is: the compiler can neither hash nor compare it in advance, as
//! it does the literal of `bus`), `bus-copied` (`bus` with a
//! borrowed 64-byte payload copied into the message, as the C ABI
//! publishes), `bus-many-copied` (`bus-many-drop-all`
//! with `size` distinct borrowed payloads copied, as the C ABI's
//! `publish_many`), `bus-each-copied` (`bus-many-copied` through
//! `publish_each_copied`, each topic its own string of the same text, as a
//! NATS bridge's import of a burst from one subject), `capi-many`
//! (`bus-many-copied` through the C ABI:
//! `charter_client_publish_many` of `size` distinct 64-byte payloads, then
//! `charter_client_recv_into` into a kept buffer, as Go's `PublishBatch`
//! and `RecvMany` make them), `audit-append` (records of
//! `size` bytes, in memory) and
//! `audit-leaf-hash` (SHA-256 of such a record's leaf, the audit target's
//! baseline).
//!
//! It is a binary rather than an example so that building it needs none
//! of the comparison crates the benchmarks pull in.

use std::ffi::c_void;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use charter::batch::{charter_client_publish_many, charter_payload_t};
use charter::bus::{charter_bus_free, charter_bus_new};
use charter::client::{charter_client_free, charter_client_new, charter_client_subscribe};
use charter::recv_into::{charter_client_recv_into, charter_received_t};
use charter::registry::{charter_registry_new, charter_registry_notify, charter_registry_register};
use charter::status::{charter_status_t, CHARTER_OK};
use charter_benches::crowded_pattern;
use charter_core::audit::{AuditLog, AuditOptions, Decision, Record};
use charter_core::bus::{Bus, BusLimits, Message, PublishBatch, SubscribeOptions};

static COUNTER: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn c_handler(_: *mut c_void, event: *const u8, _: usize) -> charter_status_t {
    // SAFETY: the event is at least one byte long.
    COUNTER.fetch_add(u64::from(unsafe { *event }), Ordering::Relaxed);
    CHARTER_OK
}

fn notify_rust(handlers: usize, iterations: usize) {
    let event = [1u8; 16];
    let reg = charter_core::Registry::<[u8]>::new();
    for _ in 0..handlers {
        reg.register(|e: &[u8]| {
            COUNTER.fetch_add(u64::from(e[0]), Ordering::Relaxed);
            Ok(())
        });
    }
    for _ in 0..iterations {
        black_box(reg.notify(black_box(&event[..])));
    }
    assert_eq!(COUNTER.load(Ordering::Relaxed), (handlers * iterations) as u64);
}

fn notify_capi(handlers: usize, iterations: usize) {
    let event = [1u8; 16];
    let mut reg = std::ptr::null_mut();
    // SAFETY: valid out-pointers and a handler that reads one byte.
    unsafe {
        assert_eq!(charter_registry_new(&mut reg), CHARTER_OK);
        for _ in 0..handlers {
            let mut id = 0;
            let status =
                charter_registry_register(reg, 0, Some(c_handler), std::ptr::null_mut(), None, &mut id);
            assert_eq!(status, CHARTER_OK);
        }
        for _ in 0..iterations {
            let status =
                charter_registry_notify(black_box(reg), event.as_ptr(), event.len(), std::ptr::null_mut());
            black_box(status);
        }
    }
    assert_eq!(COUNTER.load(Ordering::Relaxed), (handlers * iterations) as u64);
}

/// How `bus` publishes.
#[derive(Clone, Copy, PartialEq)]
enum Publish {
    /// A shared payload on a string literal, which the compiler hashes
    /// and compares at compile time once the publish is inlined.
    Literal,
    /// A shared payload on a topic hidden from the compiler, as a
    /// binding's or the C ABI's arrives.
    RunTime,
    /// A borrowed payload copied into the message (`publish_copied`), as
    /// the C ABI's publish does.
    Copied,
}

/// One loop for every way to publish, so that the receive keeps a single
/// call site: a second loop calling `try_recv` took it out of line for
/// both (+32 instructions with 1 subscriber, +392 with 16).
fn bus(subscribers: usize, iterations: usize, how: Publish) {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let payload: Arc<[u8]> = Arc::from(&[7u8; 64][..]);
    let subs: Vec<_> = (0..subscribers)
        .map(|_| bus.subscribe("fleet.truck.position", SubscribeOptions::new()).unwrap())
        .collect();
    for _ in 0..iterations {
        match how {
            Publish::Literal => bus.publish("fleet.truck.position", Arc::clone(&payload), &[]).unwrap(),
            Publish::RunTime => {
                bus.publish(black_box("fleet.truck.position"), Arc::clone(&payload), &[]).unwrap()
            }
            Publish::Copied => {
                bus.publish_copied("fleet.truck.position", black_box(&payload[..]), &[]).unwrap()
            }
        };
        for s in &subs {
            black_box(s.try_recv().unwrap());
        }
    }
}

/// The criterion bench's crowded bus: all but one of the subscriptions over exact, `*`
/// and `>` patterns that miss the topic, and one inline subscription that
/// matches it.
fn bus_crowded(subscriptions: usize, iterations: usize) {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let mut subs = Vec::with_capacity(subscriptions);
    for i in 0..subscriptions.saturating_sub(1) {
        subs.push(bus.subscribe(&crowded_pattern(i), SubscribeOptions::new()).unwrap());
    }
    subs.push(
        bus.subscribe_with("orders.*.created", SubscribeOptions::new(), |_| {
            COUNTER.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .unwrap(),
    );
    let payload: Arc<[u8]> = Arc::from(&[7u8; 64][..]);
    for _ in 0..iterations {
        black_box(bus.publish("orders.eu.created", Arc::clone(&payload), &[]).unwrap());
    }
    assert_eq!(COUNTER.load(Ordering::Relaxed), iterations as u64);
}

/// Batches of `batch` messages through `publish_many` and `recv_many`, as
/// the bindings' batch calls make them; `messages` in all, so that the
/// figure is per message. Each batch received is dropped together when
/// `drop_all`, else one message at a time.
fn bus_many(batch: usize, messages: usize, drop_all: bool) {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let sub = bus.subscribe("fleet.truck.position", SubscribeOptions::new()).unwrap();
    let payload: Arc<[u8]> = Arc::from(&[7u8; 64][..]);
    let mut received = Vec::with_capacity(batch);
    let mut left = messages;
    while left > 0 {
        let n = left.min(batch);
        let report =
            bus.publish_many("fleet.truck.position", (0..n).map(|_| Arc::clone(&payload)), &[]).unwrap();
        assert_eq!(report.delivered, n as u64);
        assert_eq!(sub.recv_many_into(&mut received, batch, Some(Duration::ZERO)).unwrap(), n);
        if drop_all {
            Message::drop_all(black_box(&mut received));
        } else {
            black_box(received.drain(..));
        }
        left -= n;
    }
}

/// [`bus_many`] dropped together, with `batch` distinct borrowed 64-byte
/// payloads copied into their messages (`publish_many_copied`), as the C
/// ABI's `publish_many` does (Go's `PublishBatch`).
fn bus_many_copied(batch: usize, messages: usize) {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let sub = bus.subscribe("fleet.truck.position", SubscribeOptions::new()).unwrap();
    let payloads: Vec<[u8; 64]> = (0..batch).map(|i| [i as u8; 64]).collect();
    let mut received = Vec::with_capacity(batch);
    let mut left = messages;
    while left > 0 {
        let n = left.min(batch);
        let lent = payloads[..n].iter().map(|p| &p[..]);
        let report = bus.publish_many_copied("fleet.truck.position", black_box(lent), &[]).unwrap();
        assert_eq!(report.delivered, n as u64);
        assert_eq!(sub.recv_many_into(&mut received, batch, Some(Duration::ZERO)).unwrap(), n);
        Message::drop_all(black_box(&mut received));
        left -= n;
    }
}

/// [`bus_many_copied`] through `publish_each_copied`, as a NATS bridge
/// imports a burst from one subject: each message's topic its own string
/// of the same text (as a NATS client's subjects are), so the batch's run
/// of one topic is told by comparing text, then matched once.
fn bus_each_copied(batch: usize, messages: usize) {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let sub = bus.subscribe("fleet.truck.position", SubscribeOptions::new()).unwrap();
    let payloads: Vec<[u8; 64]> = (0..batch).map(|i| [i as u8; 64]).collect();
    let topics: Vec<String> = (0..batch).map(|_| String::from("fleet.truck.position")).collect();
    let mut outcomes = PublishBatch::new();
    let mut received = Vec::with_capacity(batch);
    let mut left = messages;
    while left > 0 {
        let n = left.min(batch);
        let each = topics[..n].iter().zip(&payloads).map(|(t, p)| (t.as_str(), &p[..], &[][..]));
        bus.publish_each_copied(black_box(each), &mut outcomes);
        assert!(outcomes.results().iter().all(|r| r.as_ref().is_ok_and(|r| r.delivered == 1)));
        assert_eq!(sub.recv_many_into(&mut received, batch, Some(Duration::ZERO)).unwrap(), n);
        Message::drop_all(black_box(&mut received));
        left -= n;
    }
}

/// [`bus_many_copied`] through the C ABI: each batch one
/// `charter_client_publish_many` and one `charter_client_recv_into` into a
/// buffer and entries kept from batch to batch.
fn capi_many(batch: usize, messages: usize) {
    let payloads: Vec<[u8; 64]> = (0..batch).map(|i| [i as u8; 64]).collect();
    let lent: Vec<charter_payload_t> =
        payloads.iter().map(|p| charter_payload_t { data: p.as_ptr(), len: p.len() }).collect();
    let mut entries = vec![charter_received_t::default(); batch];
    let mut buf = vec![0u8; 64 << 10];
    let topic = c"fleet.truck.position";
    let (mut bus, mut client, mut id) = (std::ptr::null_mut(), std::ptr::null_mut(), 0);
    // SAFETY: valid out-pointers, strings, payloads and buffers, each as
    // long as the call says.
    unsafe {
        assert_eq!(charter_bus_new(std::ptr::null(), &mut bus), CHARTER_OK);
        assert_eq!(charter_client_new(bus, std::ptr::null_mut(), &mut client), CHARTER_OK);
        assert_eq!(charter_client_subscribe(client, topic.as_ptr(), std::ptr::null(), &mut id), CHARTER_OK);
        let mut left = messages;
        while left > 0 {
            let n = left.min(batch);
            let (mut published, mut count) = (0, 0);
            let status = charter_client_publish_many(
                client,
                topic.as_ptr(),
                black_box(lent.as_ptr()),
                n,
                std::ptr::null(),
                0,
                &mut published,
                std::ptr::null_mut(),
            );
            assert_eq!((status, published), (CHARTER_OK, n));
            let status = charter_client_recv_into(
                client,
                id,
                buf.as_mut_ptr(),
                buf.len(),
                entries.as_mut_ptr(),
                batch,
                &mut count,
                std::ptr::null_mut(),
            );
            assert_eq!((status, count), (CHARTER_OK, n));
            black_box(&buf);
            left -= n;
        }
        assert_eq!(charter_client_free(client), CHARTER_OK);
        assert_eq!(charter_bus_free(bus), CHARTER_OK);
    }
}

fn audit_append(size: usize, iterations: usize) {
    let log = AuditLog::in_memory(AuditOptions::default()).unwrap();
    let mut record = Record::new(1_700_000_000_000, "publish", "orders.eu.created", Decision::Allow);
    record.detail = "d".repeat(size.saturating_sub(record.encode(0).unwrap().len()));
    for _ in 0..iterations {
        black_box(log.append(black_box(&record)).unwrap());
    }
}

/// The baseline of the audit target: SHA-256 of the same record's leaf.
fn audit_leaf_hash(size: usize, iterations: usize) {
    let mut record = Record::new(1_700_000_000_000, "publish", "orders.eu.created", Decision::Allow);
    record.detail = "d".repeat(size.saturating_sub(record.encode(0).unwrap().len()));
    let leaf = record.encode(0).unwrap();
    for _ in 0..iterations {
        black_box(charter_core::audit::leaf_hash(black_box(&leaf)));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let case = args.get(1).map_or("", String::as_str);
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let iterations: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    match case {
        "notify-rust" => notify_rust(n, iterations),
        "notify-capi" => notify_capi(n, iterations),
        "bus" => bus(n, iterations, Publish::Literal),
        "bus-runtime" => bus(n, iterations, Publish::RunTime),
        "bus-crowded" => bus_crowded(n, iterations),
        "bus-many" => bus_many(n, iterations, false),
        "bus-many-drop-all" => bus_many(n, iterations, true),
        "bus-copied" => bus(n, iterations, Publish::Copied),
        "bus-many-copied" => bus_many_copied(n, iterations),
        "bus-each-copied" => bus_each_copied(n, iterations),
        "capi-many" => capi_many(n, iterations),
        "audit-append" => audit_append(n, iterations),
        "audit-leaf-hash" => audit_leaf_hash(n, iterations),
        other => {
            eprintln!("unknown case {other:?}; see the module documentation");
            std::process::exit(2);
        }
    }
}
