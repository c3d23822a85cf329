//! `notify` with 0, 1, 4, 16 and 64 handlers, three ways in one run:
//! Charter's Rust API, registry-io's `SyncRegistry`, and Charter's C ABI
//! with `extern "C"` handlers (the path a C program takes).
//!
//! Every handler does the same work: one relaxed atomic add on its own
//! counter, so the figures compare dispatch, not handler bodies.
//!
//! The `async_notify` group sets Charter's `AsyncRegistry` beside
//! registry-io's `AsyncRegistry`, concurrent (`notify`) and sequential
//! (`notify_sequential`), with 1, 4, 16 and 64 handlers whose futures are
//! ready at once. Both are polled by the same loop with a no-op waker, so
//! no executor's cost is counted.

mod common;

use std::ffi::c_void;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use charter::registry::{
    charter_notify_report_t, charter_registry_free, charter_registry_new, charter_registry_notify,
    charter_registry_register, charter_registry_t,
};
use charter::status::{charter_status_t, CHARTER_OK};
use charter_benches::run;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

const HANDLER_COUNTS: [usize; 5] = [0, 1, 4, 16, 64];
const EVENT: [u8; 16] = [7; 16];

fn counters(n: usize) -> Vec<Arc<AtomicU64>> {
    (0..n).map(|_| Arc::new(AtomicU64::new(0))).collect()
}

unsafe extern "C" fn c_handler(user_data: *mut c_void, event: *const u8, _len: usize) -> charter_status_t {
    // SAFETY: user_data is an `AtomicU64` kept alive by the benchmark.
    let counter = unsafe { &*(user_data as *const AtomicU64) };
    // SAFETY: the registry passes the 16-byte event.
    counter.fetch_add(u64::from(unsafe { *event }), Ordering::Relaxed);
    CHARTER_OK
}

fn notify(c: &mut Criterion) {
    let mut group = c.benchmark_group("notify");
    for n in HANDLER_COUNTS {
        let charter = charter_core::Registry::<[u8]>::new();
        for counter in counters(n) {
            charter.register(move |e: &[u8]| {
                counter.fetch_add(u64::from(e[0]), Ordering::Relaxed);
                Ok(())
            });
        }
        group.bench_with_input(BenchmarkId::new("charter", n), &n, |b, _| {
            b.iter(|| black_box(charter.notify(black_box(&EVENT[..]))))
        });

        let rio = registry_io::SyncRegistry::<[u8; 16]>::new();
        for counter in counters(n) {
            rio.register(move |e: &[u8; 16]| {
                counter.fetch_add(u64::from(e[0]), Ordering::Relaxed);
            });
        }
        group.bench_with_input(BenchmarkId::new("registry-io", n), &n, |b, _| {
            b.iter(|| rio.notify(black_box(&EVENT)))
        });

        let c_counters = counters(n);
        let mut reg: *mut charter_registry_t = std::ptr::null_mut();
        // SAFETY: valid out-pointers; the counters outlive the registry.
        unsafe {
            assert_eq!(charter_registry_new(&mut reg), CHARTER_OK);
            for counter in &c_counters {
                let mut id = 0u64;
                let data = Arc::as_ptr(counter) as *mut c_void;
                assert_eq!(
                    charter_registry_register(reg, 0, Some(c_handler), data, None, &mut id),
                    CHARTER_OK
                );
            }
        }
        group.bench_with_input(BenchmarkId::new("charter-c-abi", n), &n, |b, _| {
            let mut report = charter_notify_report_t::default();
            b.iter(|| {
                // SAFETY: `reg` is live; the event and report are valid.
                let status = unsafe {
                    charter_registry_notify(black_box(reg), EVENT.as_ptr(), EVENT.len(), &mut report)
                };
                black_box((status, report))
            })
        });
        // SAFETY: `reg` came from charter_registry_new.
        unsafe { assert_eq!(charter_registry_free(reg), CHARTER_OK) };
        drop(c_counters);
    }
    group.finish();
}

const ASYNC_HANDLER_COUNTS: [usize; 4] = [1, 4, 16, 64];

fn async_notify(c: &mut Criterion) {
    let mut group = c.benchmark_group("async_notify");
    for n in ASYNC_HANDLER_COUNTS {
        let charter = charter_core::AsyncRegistry::<[u8]>::new();
        for counter in counters(n) {
            charter.register(move |e: &[u8]| {
                counter.fetch_add(u64::from(e[0]), Ordering::Relaxed);
                std::future::ready(Ok(()))
            });
        }
        group.bench_with_input(BenchmarkId::new("charter", n), &n, |b, _| {
            b.iter(|| black_box(run(charter.notify(black_box(&EVENT[..])))))
        });
        group.bench_with_input(BenchmarkId::new("charter-sequential", n), &n, |b, _| {
            b.iter(|| black_box(run(charter.notify_sequential(black_box(&EVENT[..])))))
        });

        let rio = registry_io::AsyncRegistry::<[u8; 16]>::new();
        for counter in counters(n) {
            rio.register(move |e: &[u8; 16]| {
                counter.fetch_add(u64::from(e[0]), Ordering::Relaxed);
                std::future::ready(())
            });
        }
        group.bench_with_input(BenchmarkId::new("registry-io", n), &n, |b, _| {
            b.iter(|| run(rio.notify(black_box(&EVENT))))
        });
        group.bench_with_input(BenchmarkId::new("registry-io-sequential", n), &n, |b, _| {
            b.iter(|| run(rio.notify_sequential(black_box(&EVENT))))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::settings(60);
    targets = notify, async_notify
}
criterion_main!(benches);
