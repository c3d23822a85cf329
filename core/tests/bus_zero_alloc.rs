//! Proves with dhat that a publish allocates nothing once the queues are
//! warm and the payload is reused: one subscriber drained as it goes, and
//! sixteen subscribers (exact and wildcard) drained after each publish.
//!
//! Runs without libtest (`harness = false` in Cargo.toml): dhat counts the
//! whole process, and libtest's own thread allocates at moments a loaded
//! machine makes unpredictable. One thread, one count.

use std::sync::Arc;

use charter_core::bus::{Bus, BusLimits, SubscribeOptions};

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
    let _profiler = dhat::Profiler::builder().testing().build();
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

fn main() {
    warm_publish_allocates_nothing();
    println!("warm_publish_allocates_nothing: 1 passed, 0 failed");
}
