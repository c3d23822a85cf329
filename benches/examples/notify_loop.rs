//! Runs one `notify` variant in a loop, for instruction counting under
//! callgrind (load-independent, unlike wall-clock time):
//!
//! ```sh
//! cargo build --release -p charter-benches --example notify_loop
//! valgrind --tool=callgrind target/release/examples/notify_loop charter 1 100000
//! ```
//!
//! Arguments: variant (`charter`, `registry-io`, `c-abi`, and the async
//! rounds `charter-async`, `charter-async-seq`, `registry-io-async`,
//! `registry-io-async-seq`, polled with a no-op waker), handler count,
//! iterations.

use std::ffi::c_void;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use charter::registry::{charter_registry_new, charter_registry_notify, charter_registry_register};
use charter::status::{charter_status_t, CHARTER_OK};
use charter_benches::run;

static COUNTER: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn c_handler(_: *mut c_void, event: *const u8, _: usize) -> charter_status_t {
    // SAFETY: the event is at least one byte long.
    COUNTER.fetch_add(u64::from(unsafe { *event }), Ordering::Relaxed);
    CHARTER_OK
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let variant = args.get(1).map_or("charter", String::as_str);
    let handlers: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let iterations: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let event = [1u8; 16];
    match variant {
        "charter" => {
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
        }
        "registry-io" => {
            let reg = registry_io::SyncRegistry::<[u8; 16]>::new();
            for _ in 0..handlers {
                reg.register(|e: &[u8; 16]| {
                    COUNTER.fetch_add(u64::from(e[0]), Ordering::Relaxed);
                });
            }
            for _ in 0..iterations {
                reg.notify(black_box(&event));
            }
        }
        "c-abi" => {
            let mut reg = std::ptr::null_mut();
            // SAFETY: valid out-pointers and a handler that reads one byte.
            unsafe {
                assert_eq!(charter_registry_new(&mut reg), CHARTER_OK);
                for _ in 0..handlers {
                    let mut id = 0;
                    let status = charter_registry_register(
                        reg,
                        0,
                        Some(c_handler),
                        std::ptr::null_mut(),
                        None,
                        &mut id,
                    );
                    assert_eq!(status, CHARTER_OK);
                }
                for _ in 0..iterations {
                    let status = charter_registry_notify(
                        black_box(reg),
                        event.as_ptr(),
                        event.len(),
                        std::ptr::null_mut(),
                    );
                    black_box(status);
                }
            }
        }
        "charter-async" | "charter-async-seq" => {
            let reg = charter_core::AsyncRegistry::<[u8]>::new();
            for _ in 0..handlers {
                reg.register(|e: &[u8]| {
                    COUNTER.fetch_add(u64::from(e[0]), Ordering::Relaxed);
                    std::future::ready(Ok(()))
                });
            }
            let sequential = variant.ends_with("seq");
            for _ in 0..iterations {
                if sequential {
                    black_box(run(reg.notify_sequential(black_box(&event[..]))));
                } else {
                    black_box(run(reg.notify(black_box(&event[..]))));
                }
            }
        }
        "registry-io-async" | "registry-io-async-seq" => {
            let reg = registry_io::AsyncRegistry::<[u8; 16]>::new();
            for _ in 0..handlers {
                reg.register(|e: &[u8; 16]| {
                    COUNTER.fetch_add(u64::from(e[0]), Ordering::Relaxed);
                    std::future::ready(())
                });
            }
            let sequential = variant.ends_with("seq");
            for _ in 0..iterations {
                if sequential {
                    run(reg.notify_sequential(black_box(&event)));
                } else {
                    run(reg.notify(black_box(&event)));
                }
            }
        }
        other => panic!("unknown variant {other}"),
    }
    assert_eq!(COUNTER.load(Ordering::Relaxed), (handlers * iterations) as u64);
}
