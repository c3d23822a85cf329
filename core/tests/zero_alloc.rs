//! Proves with dhat that `notify` allocates nothing, with 0 and 8 handlers.
//!
//! Runs without libtest (`harness = false` in Cargo.toml): dhat counts the
//! whole process, and libtest's own thread allocates at moments a loaded
//! machine makes unpredictable. One thread, one count.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use charter_core::Registry;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const CALLS: usize = 100_000;

fn blocks_allocated_by(mut f: impl FnMut()) -> u64 {
    // Warm up first: thread-local state used by lock-free reads is created
    // on first use, once per thread.
    for _ in 0..1_000 {
        f();
    }
    let before = dhat::HeapStats::get().total_blocks;
    for _ in 0..CALLS {
        f();
    }
    dhat::HeapStats::get().total_blocks - before
}

fn notify_allocates_nothing() {
    let _profiler = dhat::Profiler::builder().testing().build();

    let empty: Registry<[u8]> = Registry::new();
    let event = [7u8; 64];
    let new_blocks = blocks_allocated_by(|| {
        std::hint::black_box(empty.notify(std::hint::black_box(&event)));
    });
    dhat::assert_eq!(new_blocks, 0);

    let full: Registry<[u8]> = Registry::new();
    let sum = Arc::new(AtomicU64::new(0));
    for i in 0..8 {
        let sum = Arc::clone(&sum);
        full.register_with_priority(i % 3, move |e: &[u8]| {
            sum.fetch_add(e[0] as u64, Ordering::Relaxed);
            Ok(())
        });
    }
    let new_blocks = blocks_allocated_by(|| {
        let report = full.notify(std::hint::black_box(&event));
        assert_eq!(report.delivered, 8);
    });
    dhat::assert_eq!(new_blocks, 0);
    assert_eq!(sum.load(Ordering::Relaxed), 8 * 7 * (CALLS as u64 + 1_000));
}

fn main() {
    notify_allocates_nothing();
    println!("notify_allocates_nothing: 1 passed, 0 failed");
}
