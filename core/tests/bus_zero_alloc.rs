//! Proves with dhat that a publish allocates nothing once the queues are
//! warm and the payload is reused: one subscriber drained as it goes, and
//! sixteen subscribers (exact and wildcard) drained after each publish;
//! a batch of distinct messages (`publish_each`) into a kept batch, and
//! one whose messages repeat their headers, which builds their text once; a
//! batch of payloads on one topic (`publish_many`); borrowed payloads
//! copied into pooled bodies' kept buffers (`publish_copied`,
//! `publish_many_copied`); and
//! that a borrowed payload over the bus's limit is refused without
//! being copied. Also that a thread-local's destructor may publish and
//! receive.
//!
//! Runs without libtest (`harness = false` in Cargo.toml): dhat counts the
//! whole process, and libtest's own thread allocates at moments a loaded
//! machine makes unpredictable. One thread, one count.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use charter_core::bus::{Bus, BusLimits, Message, PublishBatch, SubscribeOptions, Subscription, COPY_KEEP};
use charter_core::ErrorKind;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn blocks_allocated_by(mut f: impl FnMut()) -> u64 {
    for _ in 0..1_000 {
        f();
    }
    let before = dhat::HeapStats::get().total_blocks;
    for _ in 0..100_000 {
        f();
    }
    dhat::HeapStats::get().total_blocks - before
}

fn warm_publish_allocates_nothing() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let payload: Arc<[u8]> = Arc::from(&[42u8; 200][..]);

    let one = bus.subscribe("orders.eu.created", SubscribeOptions::new()).unwrap();
    let new_blocks = blocks_allocated_by(|| {
        let report = bus.publish("orders.eu.created", Arc::clone(&payload), &[]).unwrap();
        assert_eq!(report.delivered, 1);
        assert_eq!(one.try_recv().unwrap().unwrap().payload().len(), 200);
    });
    dhat::assert_eq!(new_blocks, 0);

    let many: Vec<_> = (0..16)
        .map(|i| {
            let pattern = match i % 4 {
                0 => "fleet.truck.7.position",
                1 => "fleet.*.7.position",
                2 => "fleet.>",
                _ => "*.truck.*.position",
            };
            bus.subscribe(pattern, SubscribeOptions::new()).unwrap()
        })
        .collect();
    let new_blocks = blocks_allocated_by(|| {
        let report = bus.publish("fleet.truck.7.position", Arc::clone(&payload), &[]).unwrap();
        assert_eq!(report.delivered, 16);
        for sub in &many {
            assert!(sub.try_recv().unwrap().is_some());
        }
    });
    dhat::assert_eq!(new_blocks, 0);
}

/// A publish whose every subscription runs its handler inline reuses
/// its route's message: nothing allocated either (a wildcard handler
/// beside an exact one).
fn warm_publish_to_inline_handlers_allocates_nothing() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let payload: Arc<[u8]> = Arc::from(&[42u8; 200][..]);
    let _subs = [
        bus.subscribe_with("orders.eu.created", SubscribeOptions::new(), |m| {
            assert_eq!(m.payload().len(), 200);
            Ok(())
        })
        .unwrap(),
        bus.subscribe_with("orders.*.created", SubscribeOptions::new(), |_| Ok(())).unwrap(),
    ];
    let new_blocks = blocks_allocated_by(|| {
        let report = bus.publish("orders.eu.created", Arc::clone(&payload), &[]).unwrap();
        assert_eq!(report.delivered, 2);
    });
    dhat::assert_eq!(new_blocks, 0);
}

/// A batch of 8 shared payloads on two topics, each topic with its own
/// subscriber and a wildcard one, drained into kept vectors: the batch's
/// own bookkeeping (outcomes, admitted messages, tallies) lives in the kept
/// `PublishBatch`, so once warm a batch allocates nothing.
fn warm_publish_each_allocates_nothing() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let payload: Arc<[u8]> = Arc::from(&[42u8; 200][..]);
    let subs = [
        bus.subscribe("imports.a", SubscribeOptions::new()).unwrap(),
        bus.subscribe("imports.b", SubscribeOptions::new()).unwrap(),
        bus.subscribe("imports.*", SubscribeOptions::new()).unwrap(),
    ];
    let mut batch = PublishBatch::new();
    let mut drained = Vec::with_capacity(64);
    let new_blocks = blocks_allocated_by(|| {
        let topic = |i: usize| if i < 4 { "imports.a" } else { "imports.b" };
        bus.publish_each((0..8).map(|i| (topic(i), Arc::clone(&payload), &[][..])), &mut batch);
        assert!(batch.results().iter().all(|r| r.as_ref().is_ok_and(|r| r.delivered == 2)));
        for sub in &subs {
            assert!(sub.try_recv_many_into(&mut drained, 64).unwrap() >= 4);
            drained.clear();
        }
    });
    dhat::assert_eq!(new_blocks, 0);
}

/// A batch of 8 distinct messages that carry the same two headers (as a
/// bridge's imports from one origin do): their text is built once, for
/// the first message (its check and copy, two blocks), and shared by the
/// other seven.
fn publish_each_builds_a_repeated_header_text_once() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let payload: Arc<[u8]> = Arc::from(&[42u8; 16][..]);
    let sub = bus.subscribe("imports.a", SubscribeOptions::new()).unwrap();
    let origin = String::from("0123456789abcdef0123456789abcdef");
    let mut batch = PublishBatch::new();
    let mut drained = Vec::with_capacity(64);
    // Each message's list its own, as a bridge's are: equal, not the same.
    let lists: Vec<[(&str, &str); 2]> =
        (0..8).map(|_| [("Charter-Via", origin.as_str()), ("Charter-Origin", "nats")]).collect();
    let new_blocks = blocks_allocated_by(|| {
        bus.publish_each(lists.iter().map(|h| ("imports.a", Arc::clone(&payload), &h[..])), &mut batch);
        assert!(batch.results().iter().all(|r| r.as_ref().is_ok_and(|r| r.delivered == 1)));
        assert_eq!(sub.try_recv_many_into(&mut drained, 64).unwrap(), 8);
        assert!(drained.iter().all(|m| m.header("Charter-Origin") == Some("nats")));
        drained.clear();
    });
    dhat::assert_eq!(new_blocks, 2 * 100_000);
}

/// A `publish_many` of 16 shared payloads to an exact and a wildcard
/// subscriber, drained into a kept vector (the second's batch dropped
/// together): the batch waits on the stack, and its bodies are taken from
/// the pool together and given back together, so once warm it allocates
/// nothing. (With headers, their text is built
/// once per batch, as a publish builds it once per message.)
fn warm_publish_many_allocates_nothing() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let payload: Arc<[u8]> = Arc::from(&[42u8; 200][..]);
    let subs = [
        bus.subscribe("fleet.truck.position", SubscribeOptions::new()).unwrap(),
        bus.subscribe("fleet.>", SubscribeOptions::new()).unwrap(),
    ];
    let mut drained = Vec::with_capacity(64);
    let new_blocks = blocks_allocated_by(|| {
        let payloads = (0..16).map(|_| Arc::clone(&payload));
        let report = bus.publish_many("fleet.truck.position", payloads, &[]).unwrap();
        assert_eq!(report.delivered, 32);
        assert_eq!(subs[0].try_recv_many_into(&mut drained, 64).unwrap(), 16);
        drained.clear();
        // The last references, their bodies given back together.
        assert_eq!(subs[1].try_recv_many_into(&mut drained, 64).unwrap(), 16);
        Message::drop_all(&mut drained);
    });
    dhat::assert_eq!(new_blocks, 0);
}

/// Borrowed payloads of up to `COPY_KEEP` bytes, copied into the buffers
/// that pooled bodies keep: once warm, neither a single copied publish
/// nor a batch of 64 distinct copied payloads (lengths 1 to 1 KiB)
/// allocates, so no payload costs a `malloc` and a `free`. A longer one
/// still gets a buffer of its own: one block a publish.
fn warm_copied_payloads_allocate_nothing() {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let sub = bus.subscribe("fleet.>", SubscribeOptions::new()).unwrap();
    let bytes = vec![9u8; COPY_KEEP + 1];
    let new_blocks = blocks_allocated_by(|| {
        bus.publish_copied("fleet.one", &bytes[..200], &[]).unwrap();
        assert_eq!(sub.try_recv().unwrap().unwrap().payload(), &bytes[..200]);
    });
    dhat::assert_eq!(new_blocks, 0);

    let mut drained = Vec::with_capacity(64);
    let new_blocks = blocks_allocated_by(|| {
        let payloads = (0..64).map(|i| &bytes[..1 + i * (COPY_KEEP - 1) / 63]);
        let report = bus.publish_many_copied("fleet.batch", payloads, &[]).unwrap();
        assert_eq!(report.delivered, 64);
        assert_eq!(sub.try_recv_many_into(&mut drained, 64).unwrap(), 64);
        assert_eq!((drained[0].payload().len(), drained[63].payload().len()), (1, COPY_KEEP));
        Message::drop_all(&mut drained);
    });
    dhat::assert_eq!(new_blocks, 0);

    // The same through `publish_each_copied` (a bridge's imports), its
    // batch's buffers warmed by a first round.
    let mut batch = PublishBatch::new();
    let each = |batch: &mut PublishBatch, drained: &mut Vec<Message>| {
        let messages = (0..64).map(|i| ("fleet.each", &bytes[..1 + i * (COPY_KEEP - 1) / 63], &[][..]));
        bus.publish_each_copied(messages, batch);
        assert!(batch.results().iter().all(|r| r.as_ref().is_ok_and(|r| r.delivered == 1)));
        assert_eq!(sub.try_recv_many_into(drained, 64).unwrap(), 64);
        assert_eq!((drained[0].payload().len(), drained[63].payload().len()), (1, COPY_KEEP));
        Message::drop_all(drained);
    };
    each(&mut batch, &mut drained);
    let new_blocks = blocks_allocated_by(|| each(&mut batch, &mut drained));
    dhat::assert_eq!(new_blocks, 0);

    // A run of one topic whose text is each message's own (as a NATS
    // client's subjects are) and whose headers are each message's own
    // equal list: matched once, its header text built for the first
    // message (its check and copy, two blocks a batch) and shared by the
    // other 63, nothing else allocated once warm.
    let topics: Vec<String> = (0..64).map(|_| String::from("fleet.run")).collect();
    let lists: Vec<[(&str, &str); 1]> = (0..64).map(|_| [("Charter-Origin", "nats")]).collect();
    let run = |batch: &mut PublishBatch, drained: &mut Vec<Message>| {
        let messages = topics.iter().zip(&lists).map(|(t, h)| (t.as_str(), &bytes[..16], &h[..]));
        bus.publish_each_copied(messages, batch);
        assert!(batch.results().iter().all(|r| r.as_ref().is_ok_and(|r| r.delivered == 1)));
        assert_eq!(sub.try_recv_many_into(drained, 64).unwrap(), 64);
        Message::drop_all(drained);
    };
    run(&mut batch, &mut drained);
    let new_blocks = blocks_allocated_by(|| run(&mut batch, &mut drained));
    dhat::assert_eq!(new_blocks, 2 * 100_000);

    let new_blocks = blocks_allocated_by(|| {
        bus.publish_copied("fleet.long", &bytes, &[]).unwrap();
        assert_eq!(sub.try_recv().unwrap().unwrap().payload().len(), COPY_KEEP + 1);
    });
    dhat::assert_eq!(new_blocks, 100_000);
}

/// A 64 MiB slice on a 1 MiB bus: every publishing call refuses it with
/// `LIMIT_EXCEEDED` and allocates less than the limit doing so (the bus
/// once copied the whole slice into an `Arc` before looking at its length).
fn oversized_payload_is_refused_before_it_is_copied() {
    let limits = BusLimits { max_payload: 1 << 20, ..BusLimits::default() };
    let bus = Bus::new(limits).unwrap();
    let _sub = bus.subscribe("big.>", SubscribeOptions::new()).unwrap();
    let big = vec![7u8; 64 << 20];
    let before = dhat::HeapStats::get().total_bytes;
    let errors = [
        bus.publish("big.one", &big[..], &[]).map(drop),
        bus.request("big.one", &big[..], &[], std::time::Duration::ZERO).map(drop),
        bus.request_start("big.one", &big[..], &[]).map(drop),
        bus.reply("_charter.inbox.00", &big[..], &[]).map(drop),
        bus.publish_copied("big.one", &big[..], &[]).map(drop),
        bus.publish_many_copied("big.one", [&big[..]], &[]).map(drop).map_err(Into::into),
    ];
    let allocated = dhat::HeapStats::get().total_bytes - before;
    for e in errors {
        assert_eq!(e.unwrap_err().kind(), ErrorKind::LimitExceeded);
    }
    dhat::assert!(allocated < 1 << 20, "refusing allocated {allocated} bytes");
}

/// Messages received by thread-locals' destructors.
static RECEIVED_ON_EXIT: AtomicUsize = AtomicUsize::new(0);

/// Publishes and receives one message when dropped, as a thread exits.
struct PublishesOnExit(Arc<Bus>, Subscription);

impl Drop for PublishesOnExit {
    fn drop(&mut self) {
        assert_eq!(self.0.publish("t.exit", Arc::from(&b"bye"[..]), &[]).unwrap().delivered, 1);
        assert_eq!(self.1.try_recv().unwrap().unwrap().payload(), b"bye");
        RECEIVED_ON_EXIT.fetch_add(1, Ordering::Relaxed);
    }
}

thread_local! {
    static ON_EXIT: RefCell<Option<PublishesOnExit>> = const { RefCell::new(None) };
}

/// A thread-local's destructor that publishes and receives, on a thread
/// that first used the bus after the thread-local was set and on one that
/// used it before (the order any thread-local of the core is destroyed in
/// relative to this one): neither panics, and both receive their message.
fn thread_local_destructors_publish_and_receive() {
    let bus = Arc::new(Bus::new(BusLimits::default()).unwrap());
    for pool_first in [false, true] {
        let sub = bus.subscribe("t.exit", SubscribeOptions::new()).unwrap();
        let bus2 = Arc::clone(&bus);
        std::thread::spawn(move || {
            let use_pool = |guard: &PublishesOnExit| {
                guard.0.publish("t.exit", Arc::from(&b"hi"[..]), &[]).unwrap();
                assert_eq!(guard.1.try_recv().unwrap().unwrap().payload(), b"hi");
            };
            let guard = PublishesOnExit(bus2, sub);
            if pool_first {
                use_pool(&guard);
            }
            ON_EXIT.with(|slot| {
                let mut slot = slot.borrow_mut();
                let guard = slot.insert(guard);
                if !pool_first {
                    use_pool(guard);
                }
            });
        })
        .join()
        .unwrap();
    }
    assert_eq!(RECEIVED_ON_EXIT.load(Ordering::Relaxed), 2);
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    thread_local_destructors_publish_and_receive();
    println!("thread_local_destructors_publish_and_receive: 1 passed, 0 failed");
    warm_publish_allocates_nothing();
    println!("warm_publish_allocates_nothing: 1 passed, 0 failed");
    warm_publish_to_inline_handlers_allocates_nothing();
    println!("warm_publish_to_inline_handlers_allocates_nothing: 1 passed, 0 failed");
    warm_publish_each_allocates_nothing();
    println!("warm_publish_each_allocates_nothing: 1 passed, 0 failed");
    publish_each_builds_a_repeated_header_text_once();
    println!("publish_each_builds_a_repeated_header_text_once: 1 passed, 0 failed");
    warm_publish_many_allocates_nothing();
    println!("warm_publish_many_allocates_nothing: 1 passed, 0 failed");
    warm_copied_payloads_allocate_nothing();
    println!("warm_copied_payloads_allocate_nothing: 1 passed, 0 failed");
    oversized_payload_is_refused_before_it_is_copied();
    println!("oversized_payload_is_refused_before_it_is_copied: 1 passed, 0 failed");
}
