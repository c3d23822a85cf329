//! `notify` on one registry from several threads at once, while another
//! thread registers and unregisters a handler in a loop: what sharing one
//! registry (its snapshot lock and count) and, through the C ABI, one
//! handle (its shell's state word) costs when the calls really overlap.
//! Single-threaded instruction counts (`budget_loop`) cannot show that.
//!
//! ```sh
//! cargo build --release -p charter-benches --bin notify_contended
//! target/release/notify_contended 2 1000000
//! ```
//!
//! Arguments: notifying threads (default 2) and `notify` calls per thread
//! (default 1,000,000). Prints, for the Rust API and the C ABI, with and
//! without the churning thread, the mean wall-clock nanoseconds per
//! `notify` over the notifying threads. Wall-clock time: read it beside
//! the machine's load, and compare the rows of one run.

use std::ffi::c_void;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::Instant;

use charter::registry::{
    charter_registry_free, charter_registry_new, charter_registry_notify, charter_registry_register,
    charter_registry_t, charter_registry_unregister,
};
use charter::status::{charter_status_t, CHARTER_OK};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// One way of calling into the registry, run many times by the threads.
type Call<'a> = &'a (dyn Fn() + Sync);

unsafe extern "C" fn c_handler(_: *mut c_void, event: *const u8, _: usize) -> charter_status_t {
    // SAFETY: the event is at least one byte long.
    COUNTER.fetch_add(u64::from(unsafe { *event }), Ordering::Relaxed);
    CHARTER_OK
}

/// The C registry handle, shared by the threads (the C ABI allows any
/// thread to use a handle).
#[derive(Clone, Copy)]
struct Handle(*mut charter_registry_t);

// SAFETY: every charter_registry_* export may be called from any thread.
unsafe impl Send for Handle {}
// SAFETY: as above.
unsafe impl Sync for Handle {}

/// Runs `notify` `calls` times on each of `threads` threads (and `churn`
/// on one more thread until they finish, if given); returns the mean
/// nanoseconds per call and how many churn rounds ran.
fn measure(threads: usize, calls: usize, notify: Call<'_>, churn: Option<Call<'_>>) -> (f64, u64) {
    let start = Barrier::new(threads + 1);
    let done = AtomicBool::new(false);
    let churned = AtomicU64::new(0);
    let nanos: Vec<f64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    let began = Instant::now();
                    for _ in 0..calls {
                        notify();
                    }
                    began.elapsed().as_nanos() as f64 / calls as f64
                })
            })
            .collect();
        if let Some(churn) = churn {
            scope.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    churn();
                    churned.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        start.wait();
        let nanos = workers.into_iter().map(|w| w.join().unwrap()).collect();
        done.store(true, Ordering::Relaxed);
        nanos
    });
    (nanos.iter().sum::<f64>() / threads as f64, churned.load(Ordering::Relaxed))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let calls: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let event = [1u8; 16];

    let rust = charter_core::Registry::<[u8]>::new();
    rust.register(|e: &[u8]| {
        COUNTER.fetch_add(u64::from(e[0]), Ordering::Relaxed);
        Ok(())
    });
    let rust_notify = || {
        black_box(rust.notify(black_box(&event[..])));
    };
    let rust_churn = || {
        let id = rust.register(|_: &[u8]| Ok(()));
        rust.unregister(id);
    };

    let mut raw = std::ptr::null_mut();
    // SAFETY: valid out-pointers; the handler reads one byte of a 16-byte event.
    unsafe {
        assert_eq!(charter_registry_new(&mut raw), CHARTER_OK);
        let mut id = 0;
        let status = charter_registry_register(raw, 0, Some(c_handler), std::ptr::null_mut(), None, &mut id);
        assert_eq!(status, CHARTER_OK);
    }
    let reg = Handle(raw);
    let c_notify = move || {
        let reg = reg;
        // SAFETY: a live registry and a 16-byte event.
        let status = unsafe {
            charter_registry_notify(black_box(reg.0), event.as_ptr(), event.len(), std::ptr::null_mut())
        };
        black_box(status);
    };
    let c_churn = move || {
        let reg = reg;
        let mut id = 0;
        // SAFETY: a live registry and valid out-pointers.
        unsafe {
            charter_registry_register(reg.0, 0, Some(c_handler), std::ptr::null_mut(), None, &mut id);
            charter_registry_unregister(reg.0, id, std::ptr::null_mut());
        }
    };

    println!("| path | threads | churn | ns per notify | churn rounds |");
    println!("|---|---:|---|---:|---:|");
    let cases: [(&str, Call<'_>, Call<'_>); 2] =
        [("Rust", &rust_notify, &rust_churn), ("C ABI", &c_notify, &c_churn)];
    for (name, notify, churn) in cases {
        for with_churn in [false, true] {
            let (ns, churned) = measure(threads, calls, notify, with_churn.then_some(churn));
            let label = if with_churn { "register + unregister" } else { "none" };
            println!("| {name} | {threads} | {label} | {ns:.1} | {churned} |");
        }
    }
    // SAFETY: the handle is live and no thread uses it any more.
    unsafe { assert_eq!(charter_registry_free(raw), CHARTER_OK) };
}
