//! Proves with dhat that `notify` allocates nothing, with 0 and 8 handlers,
//! and that the async registry's rounds allocate only the boxes of the
//! handlers' own futures: exactly one per handler called.
//!
//! Runs without libtest (`harness = false` in Cargo.toml): dhat counts the
//! whole process, and libtest's own thread allocates at moments a loaded
//! machine makes unpredictable. One thread, one count.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use std::future::Future;
use std::task::{Context, Poll, Waker};

use charter_core::{AsyncRegistry, HandlerResult, NotifyReport, Registry};

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

/// Polls `future` to completion with a waker that does nothing, so no
/// executor's own allocations are counted.
fn run<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// A future that is pending once, so rounds really interleave.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = HandlerResult;
    fn poll(mut self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<HandlerResult> {
        if self.0 {
            Poll::Ready(Ok(()))
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

fn async_rounds_allocate_only_the_handlers_futures() {
    let _profiler = dhat::Profiler::builder().testing().build();

    let empty: AsyncRegistry<[u8]> = AsyncRegistry::new();
    let event = [7u8; 64];
    let new_blocks = blocks_allocated_by(|| {
        std::hint::black_box(run(empty.notify(&event)));
        std::hint::black_box(run(empty.notify_sequential(&event)));
    });
    dhat::assert_eq!(new_blocks, 0);

    let full: AsyncRegistry<[u8]> = AsyncRegistry::new();
    let sum = Arc::new(AtomicU64::new(0));
    for i in 0..8 {
        let sum = Arc::clone(&sum);
        full.register_with_priority(i % 3, move |e: &[u8]| {
            sum.fetch_add(e[0] as u64, Ordering::Relaxed);
            YieldOnce(false)
        });
    }
    let all = NotifyReport { delivered: 8, failed: 0, panicked: 0 };
    let new_blocks = blocks_allocated_by(|| assert_eq!(run(full.notify(std::hint::black_box(&event))), all));
    dhat::assert_eq!(new_blocks, 8 * CALLS as u64);
    let new_blocks =
        blocks_allocated_by(|| assert_eq!(run(full.notify_sequential(std::hint::black_box(&event))), all));
    dhat::assert_eq!(new_blocks, 8 * CALLS as u64);
    assert_eq!(sum.load(Ordering::Relaxed), 2 * 8 * 7 * (CALLS as u64 + 1_000));
}

fn main() {
    notify_allocates_nothing();
    println!("notify_allocates_nothing: 1 passed, 0 failed");
    async_rounds_allocate_only_the_handlers_futures();
    println!("async_rounds_allocate_only_the_handlers_futures: 1 passed, 0 failed");
}
