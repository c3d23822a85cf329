//! registry-io 1.1's sync test suite, scenario by scenario, against
//! Charter's `Registry`.
//!
//! Each test is named `<registry-io test file>__<registry-io test name>`
//! and keeps that test's scenario and assertion. Where Charter differs on
//! purpose the test asserts Charter's documented behaviour and says why;
//! docs/registry.md lists every such difference.
#![allow(non_snake_case)]

use std::collections::HashSet;
use std::panic::panic_any;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use charter_core::{HandlerError, HandlerId, Registry};
use proptest::collection::vec;
use proptest::prelude::*;

fn quiet() {
    charter_core::panic::silence_caught_panics();
}

fn counter(count: &Arc<AtomicUsize>, by: usize) -> impl Fn(&u32) -> Result<(), HandlerError> + Send + Sync {
    let c = Arc::clone(count);
    move |_| {
        c.fetch_add(by, Ordering::Relaxed);
        Ok(())
    }
}

/// Makes `registry`'s panic hook add `by` to `count`.
fn count_panics(registry: &Registry<()>, count: &Arc<AtomicUsize>, by: usize) {
    let sink = Arc::clone(count);
    registry.on_panic(move |_| {
        sink.fetch_add(by, Ordering::Relaxed);
    });
}

// ---- smoke.rs ---------------------------------------------------------

#[test]
fn smoke__version_is_set() {
    assert!(!charter_core::VERSION.is_empty());
    assert_eq!(charter_core::VERSION, env!("CARGO_PKG_VERSION"));
}

#[test]
fn smoke__end_to_end_register_notify_unregister() {
    let registry: Registry<u32> = Registry::new();
    let id: HandlerId = registry.register(|_| Ok(()));
    assert_eq!(registry.len(), 1);
    assert_eq!(registry.notify(&42).delivered, 1);
    assert!(registry.unregister(id));
    assert_eq!(registry.len(), 0);
}

// ---- sync_registry.rs -------------------------------------------------

#[test]
fn sync_registry__new_registry_is_empty_and_default_matches_new() {
    let a: Registry<u32> = Registry::new();
    let b: Registry<u32> = Registry::default();
    assert!(a.is_empty() && b.is_empty());
    assert_eq!(a.len(), 0);
    assert_eq!(b.len(), 0);
}

#[test]
fn sync_registry__with_capacity_does_not_change_observable_count() {
    let registry: Registry<u32> = Registry::with_capacity(64);
    assert_eq!(registry.len(), 0);
    assert!(registry.is_empty());
}

#[test]
fn sync_registry__register_increments_count() {
    let registry: Registry<u32> = Registry::new();
    for _ in 0..3 {
        registry.register(|_| Ok(()));
    }
    assert_eq!(registry.len(), 3);
}

#[test]
fn sync_registry__register_returns_distinct_ids() {
    let registry: Registry<u32> = Registry::new();
    let ids: Vec<_> = (0..100).map(|_| registry.register(|_| Ok(()))).collect();
    let unique: HashSet<_> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len());
}

#[test]
fn sync_registry__notify_invokes_every_handler_exactly_once() {
    let registry: Registry<u32> = Registry::new();
    let count = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        registry.register(counter(&count, 1));
    }
    registry.notify(&42);
    assert_eq!(count.load(Ordering::Relaxed), 10);
    registry.notify(&42);
    assert_eq!(count.load(Ordering::Relaxed), 20);
}

#[test]
fn sync_registry__notify_with_no_handlers_is_noop() {
    let registry: Registry<u32> = Registry::new();
    assert_eq!(registry.notify(&7).called(), 0);
    assert_eq!(registry.len(), 0);
}

#[test]
fn sync_registry__unregister_removes_handler_and_returns_true() {
    let registry: Registry<u32> = Registry::new();
    let count = Arc::new(AtomicUsize::new(0));
    let id = registry.register(counter(&count, 1));
    assert!(registry.contains(id));
    assert!(registry.unregister(id));
    assert!(!registry.contains(id));
    registry.notify(&1);
    assert_eq!(count.load(Ordering::Relaxed), 0);
}

#[test]
fn sync_registry__unregister_of_unknown_id_returns_false() {
    let registry: Registry<u32> = Registry::new();
    let id = registry.register(|_| Ok(()));
    assert!(registry.unregister(id));
    assert!(!registry.unregister(id));
}

#[test]
fn sync_registry__unregister_keeps_siblings_alive() {
    let registry: Registry<u32> = Registry::new();
    let count = Arc::new(AtomicUsize::new(0));
    let keep = registry.register(counter(&count, 1));
    let remove = registry.register(counter(&count, 100));
    assert!(registry.unregister(remove));
    registry.notify(&1);
    assert_eq!(count.load(Ordering::Relaxed), 1);
    assert!(registry.contains(keep));
}

#[test]
fn sync_registry__clear_removes_every_handler() {
    let registry: Registry<u32> = Registry::new();
    for _ in 0..20 {
        registry.register(|_| Ok(()));
    }
    assert_eq!(registry.len(), 20);
    registry.clear();
    assert_eq!(registry.len(), 0);
    assert!(registry.is_empty());
}

#[test]
fn sync_registry__clear_followed_by_register_continues_to_issue_unique_ids() {
    let registry: Registry<u32> = Registry::new();
    let before = registry.register(|_| Ok(()));
    registry.clear();
    let after = registry.register(|_| Ok(()));
    assert_ne!(before, after);
}

#[test]
fn sync_registry__notify_passes_event_by_reference() {
    let registry: Registry<String> = Registry::new();
    let captured = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&captured);
    registry.register(move |s: &String| {
        sink.lock().unwrap().clone_from(s);
        Ok(())
    });
    let event = String::from("hello");
    registry.notify(&event);
    assert_eq!(event.as_str(), "hello");
    assert_eq!(captured.lock().unwrap().as_str(), "hello");
}

#[test]
fn sync_registry__registry_is_send_and_sync() {
    fn require_send_sync<T: Send + Sync>() {}
    require_send_sync::<Registry<u32>>();
    require_send_sync::<Registry<String>>();
}

#[test]
fn sync_registry__handler_id_round_trips_through_as_u64() {
    // Charter's `HandlerId::get` is registry-io's `as_u64`; `from_raw`
    // turns the number back into an id.
    let registry: Registry<()> = Registry::new();
    let id = registry.register(|_| Ok(()));
    let raw = id.get();
    assert!(raw > 0);
    assert!(registry.unregister(HandlerId::from_raw(raw)));
}

#[test]
fn sync_registry__handler_can_capture_owned_data() {
    let registry: Registry<()> = Registry::new();
    let output = Arc::new(Mutex::new(Vec::<String>::new()));
    for tag in ["alpha", "beta", "gamma"] {
        let sink = Arc::clone(&output);
        let owned = tag.to_owned();
        registry.register(move |_| {
            sink.lock().unwrap().push(owned.clone());
            Ok(())
        });
    }
    registry.notify(&());
    assert_eq!(output.lock().unwrap().as_slice(), ["alpha", "beta", "gamma"]);
}

#[test]
fn sync_registry__many_register_unregister_cycles_keep_state_stable() {
    let registry: Registry<u32> = Registry::new();
    let ids: Vec<_> = (0..1000).map(|_| registry.register(|_| Ok(()))).collect();
    assert_eq!(registry.len(), 1000);
    for id in ids {
        assert!(registry.unregister(id));
    }
    assert!(registry.is_empty());
    registry.register(|_| Ok(()));
    assert_eq!(registry.len(), 1);
}

// ---- priority.rs ------------------------------------------------------

fn run_with_priorities(priorities: &[i32]) -> Vec<i32> {
    let registry: Registry<()> = Registry::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    for &p in priorities {
        let l = Arc::clone(&log);
        registry.register_with_priority(p, move |_| {
            l.lock().unwrap().push(p);
            Ok(())
        });
    }
    registry.notify(&());
    let order = log.lock().unwrap().clone();
    order
}

fn tagger(
    log: &Arc<Mutex<Vec<&'static str>>>,
    tag: &'static str,
) -> impl Fn(&()) -> Result<(), HandlerError> {
    let l = Arc::clone(log);
    move |_| {
        l.lock().unwrap().push(tag);
        Ok(())
    }
}

#[test]
fn priority__higher_priority_fires_first() {
    assert_eq!(run_with_priorities(&[0, 10, -5]), [10, 0, -5]);
}

#[test]
fn priority__equal_priority_fires_in_registration_order() {
    let registry: Registry<()> = Registry::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    for tag in ["first", "second", "third"] {
        registry.register_with_priority(0, tagger(&log, tag));
    }
    registry.notify(&());
    assert_eq!(log.lock().unwrap().as_slice(), ["first", "second", "third"]);
}

#[test]
fn priority__default_register_priority_is_zero() {
    let registry: Registry<()> = Registry::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    registry.register_with_priority(5, tagger(&log, "high"));
    registry.register(tagger(&log, "default"));
    registry.register_with_priority(-5, tagger(&log, "low"));
    registry.notify(&());
    assert_eq!(log.lock().unwrap().as_slice(), ["high", "default", "low"]);
}

#[test]
fn priority__priority_extremes_are_honored() {
    assert_eq!(run_with_priorities(&[i32::MIN, 0, i32::MAX]), [i32::MAX, 0, i32::MIN]);
}

#[test]
fn priority__unregister_preserves_order_of_remaining_handlers() {
    let registry: Registry<()> = Registry::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut ids = Vec::new();
    for p in [10, 0, -10] {
        let l = Arc::clone(&log);
        ids.push(registry.register_with_priority(p, move |_| {
            l.lock().unwrap().push(p);
            Ok(())
        }));
    }
    assert!(registry.unregister(ids[0]));
    registry.notify(&());
    assert_eq!(log.lock().unwrap().as_slice(), [0, -10]);
}

#[test]
fn priority__inserting_mid_priority_does_not_reorder_existing_groups() {
    let registry: Registry<()> = Registry::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    registry.register_with_priority(10, tagger(&log, "high_1"));
    registry.register_with_priority(10, tagger(&log, "high_2"));
    registry.register_with_priority(-10, tagger(&log, "low_1"));
    registry.register_with_priority(0, tagger(&log, "mid_1"));
    registry.notify(&());
    assert_eq!(log.lock().unwrap().as_slice(), ["high_1", "high_2", "mid_1", "low_1"]);
}

// ---- guards.rs --------------------------------------------------------

#[test]
fn guards__guard_unregisters_on_drop() {
    let registry = Arc::new(Registry::<u32>::new());
    {
        let _guard = registry.register_guard(|_| Ok(()));
        assert_eq!(registry.len(), 1);
    }
    assert_eq!(registry.len(), 0);
}

#[test]
fn guards__guard_with_priority_observes_priority_ordering() {
    let registry = Arc::new(Registry::<()>::new());
    let log = Arc::new(Mutex::new(Vec::new()));
    let _g1 = registry.register_guard_with_priority(0, tagger(&log, "mid"));
    let _g2 = registry.register_guard_with_priority(100, tagger(&log, "first"));
    registry.notify(&());
    assert_eq!(log.lock().unwrap().as_slice(), ["first", "mid"]);
}

#[test]
fn guards__guard_id_matches_registration() {
    let registry = Arc::new(Registry::<()>::new());
    let guard = registry.register_guard(|_| Ok(()));
    let id = guard.id();
    assert!(registry.contains(id));
    drop(guard);
    assert!(!registry.contains(id));
}

#[test]
fn guards__forget_keeps_handler_registered() {
    let registry = Arc::new(Registry::<()>::new());
    let guard = registry.register_guard(|_| Ok(()));
    let id = guard.id();
    guard.forget();
    assert!(registry.contains(id));
    assert_eq!(registry.len(), 1);
    assert!(registry.unregister(id));
    assert_eq!(registry.len(), 0);
    // `forget` let go of the registry too: it can be freed.
    assert_eq!(Arc::weak_count(&registry), 0);
}

#[test]
fn guards__dropping_registry_before_guard_is_safe() {
    let canary = Arc::new(());
    let registry = Arc::new(Registry::<()>::new());
    let c = Arc::clone(&canary);
    let guard = registry.register_guard(move |_| {
        let _ = &c;
        Ok(())
    });
    drop(registry);
    // The guard did not keep the registry (and its handler) alive.
    assert_eq!(Arc::strong_count(&canary), 1);
    drop(guard);
}

#[test]
fn guards__multiple_guards_unregister_independently() {
    let registry = Arc::new(Registry::<()>::new());
    let g1 = registry.register_guard(|_| Ok(()));
    let g2 = registry.register_guard(|_| Ok(()));
    let g3 = registry.register_guard(|_| Ok(()));
    assert_eq!(registry.len(), 3);
    drop(g2);
    assert_eq!(registry.len(), 2);
    drop(g1);
    assert_eq!(registry.len(), 1);
    drop(g3);
    assert_eq!(registry.len(), 0);
}

#[test]
fn guards__guard_drop_does_not_fire_handler() {
    let registry = Arc::new(Registry::<()>::new());
    let count = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&count);
    let guard = registry.register_guard(move |_| {
        c.fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    drop(guard);
    registry.notify(&());
    assert_eq!(count.load(Ordering::Relaxed), 0);
}

#[test]
fn guards__guard_debug_includes_id_and_alive_status() {
    let registry = Arc::new(Registry::<()>::new());
    let guard = registry.register_guard(|_| Ok(()));
    let s = format!("{guard:?}");
    assert!(s.contains("HandlerGuard") && s.contains("id") && s.contains("registry_alive: true"), "{s}");
    drop(registry);
    assert!(format!("{guard:?}").contains("registry_alive: false"));
}

// ---- panic_isolation.rs -----------------------------------------------

#[test]
fn panic_isolation__panic_in_handler_does_not_propagate_to_caller() {
    quiet();
    let registry: Registry<()> = Registry::new();
    registry.register(|_| panic!("boom"));
    assert_eq!(registry.notify(&()).panicked, 1);
}

#[test]
fn panic_isolation__panicking_handler_does_not_break_siblings() {
    quiet();
    let registry: Registry<u32> = Registry::new();
    let count = Arc::new(AtomicUsize::new(0));
    registry.register(counter(&count, 1));
    registry.register(|_| panic!("middle handler dies"));
    registry.register(counter(&count, 10));
    registry.notify(&0);
    assert_eq!(count.load(Ordering::Relaxed), 11);
}

#[test]
fn panic_isolation__on_panic_callback_receives_handler_id_and_message() {
    quiet();
    let registry: Registry<()> = Registry::new();
    let captured: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let sink = Arc::clone(&captured);
    registry.on_panic(move |info| {
        let msg = info.message().unwrap_or("<opaque>").to_owned();
        sink.lock().unwrap().push((info.handler_id().get(), msg));
    });
    let id = registry.register(|_| panic!("first failure"));
    registry.notify(&());
    let log = captured.lock().unwrap();
    assert_eq!(log.as_slice(), [(id.get(), "first failure".to_owned())]);
}

#[test]
fn panic_isolation__on_panic_fires_once_per_panicking_handler() {
    quiet();
    let registry: Registry<()> = Registry::new();
    let count = Arc::new(AtomicUsize::new(0));
    count_panics(&registry, &count, 1);
    registry.register(|_| panic!("a"));
    registry.register(|_| Ok(()));
    registry.register(|_| panic!("b"));
    registry.register(|_| panic!("c"));
    registry.notify(&());
    assert_eq!(count.load(Ordering::Relaxed), 3);
}

#[test]
fn panic_isolation__on_panic_can_be_replaced_and_cleared() {
    quiet();
    let registry: Registry<()> = Registry::new();
    let count = Arc::new(AtomicUsize::new(0));
    count_panics(&registry, &count, 1);
    registry.register(|_| panic!("first"));
    registry.notify(&());
    assert_eq!(count.load(Ordering::Relaxed), 1);
    count_panics(&registry, &count, 100);
    registry.notify(&());
    assert_eq!(count.load(Ordering::Relaxed), 101);
    registry.clear_panic_hook();
    assert_eq!(registry.notify(&()).panicked, 1, "still caught and counted");
    assert_eq!(count.load(Ordering::Relaxed), 101);
}

#[test]
fn panic_isolation__panic_in_panic_callback_is_caught() {
    quiet();
    let registry: Registry<u32> = Registry::new();
    let after = Arc::new(AtomicUsize::new(0));
    registry.on_panic(|_| panic!("callback also dies"));
    registry.register(|_| panic!("handler dies"));
    registry.register(counter(&after, 1));
    registry.notify(&0);
    assert_eq!(after.load(Ordering::Relaxed), 1);
}

#[test]
fn panic_isolation__custom_panic_payload_round_trips_through_payload() {
    #[derive(Debug, PartialEq, Eq)]
    struct MyErr(u32);
    quiet();
    let registry: Registry<()> = Registry::new();
    let captured: Arc<Mutex<Option<u32>>> = Arc::default();
    let sink = Arc::clone(&captured);
    registry.on_panic(move |info| {
        if let Some(err) = info.payload().downcast_ref::<MyErr>() {
            *sink.lock().unwrap() = Some(err.0);
        }
        assert_eq!(info.message(), None);
    });
    registry.register(|_| panic_any(MyErr(99)));
    registry.notify(&());
    assert_eq!(*captured.lock().unwrap(), Some(99));
}

#[test]
fn panic_isolation__no_callback_silently_absorbs_panics() {
    quiet();
    let registry: Registry<()> = Registry::new();
    for _ in 0..5 {
        registry.register(|_| panic!("no observer"));
    }
    assert_eq!(registry.notify(&()).panicked, 5);
}

#[test]
fn panic_isolation__panics_do_not_disturb_handler_count() {
    quiet();
    let registry: Registry<()> = Registry::new();
    registry.register(|_| panic!("a"));
    registry.register(|_| panic!("b"));
    registry.register(|_| Ok(()));
    assert_eq!(registry.len(), 3);
    registry.notify(&());
    assert_eq!(registry.len(), 3);
}

// ---- concurrent.rs ----------------------------------------------------

#[test]
fn concurrent__many_threads_can_notify_simultaneously() {
    let registry = Arc::new(Registry::<u32>::new());
    let count = Arc::new(AtomicUsize::new(0));
    for _ in 0..4 {
        registry.register(counter(&count, 1));
    }
    let (threads, per_thread) = (16, 1000);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let r = Arc::clone(&registry);
            thread::spawn(move || {
                for _ in 0..per_thread {
                    r.notify(&1);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(count.load(Ordering::Relaxed), threads * per_thread * 4);
}

#[test]
fn concurrent__register_during_active_notify_does_not_corrupt_state() {
    let registry = Arc::new(Registry::<u32>::new());
    let baseline = Arc::new(AtomicUsize::new(0));
    for _ in 0..4 {
        registry.register(counter(&baseline, 1));
    }
    let r = Arc::clone(&registry);
    let notifier = thread::spawn(move || {
        for _ in 0..2000 {
            assert!(r.notify(&1).delivered >= 4);
        }
    });
    let r = Arc::clone(&registry);
    let mutator = thread::spawn(move || {
        let ids: Vec<_> = (0..100).map(|_| r.register(|_| Ok(()))).collect();
        for id in ids {
            assert!(r.unregister(id));
        }
    });
    notifier.join().unwrap();
    mutator.join().unwrap();
    assert_eq!(registry.len(), 4);
    assert_eq!(baseline.load(Ordering::Relaxed), 8000);
}

#[test]
fn concurrent__concurrent_register_produces_unique_ids() {
    let registry = Arc::new(Registry::<()>::new());
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let r = Arc::clone(&registry);
            thread::spawn(move || (0..500).map(|_| r.register(|_| Ok(()))).collect::<Vec<_>>())
        })
        .collect();
    let all: Vec<HandlerId> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let unique: HashSet<_> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len());
    assert_eq!(registry.len(), 8 * 500);
}

#[test]
fn concurrent__concurrent_unregister_is_idempotent_per_id() {
    let registry = Arc::new(Registry::<()>::new());
    let id = registry.register(|_| Ok(()));
    let success = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (r, s) = (Arc::clone(&registry), Arc::clone(&success));
            thread::spawn(move || {
                if r.unregister(id) {
                    s.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(success.load(Ordering::Relaxed), 1);
    assert_eq!(registry.len(), 0);
}

#[test]
fn concurrent__stress_register_unregister_cycle_keeps_count_stable() {
    let registry = Arc::new(Registry::<u32>::new());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let r = Arc::clone(&registry);
            thread::spawn(move || {
                for _ in 0..2_500 {
                    let id = r.register(|_| Ok(()));
                    assert!(r.unregister(id));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(registry.len(), 0);
}

/// Differs by design. registry-io finishes a round over the snapshot it
/// started with even after a `clear` on another thread; Charter's `clear`
/// marks every handler dead first, so a round in progress skips the
/// handlers it has not reached (as a sibling unregistered mid-round is
/// skipped). Only the handler already running when `clear` landed runs.
#[test]
fn concurrent__notify_observes_consistent_snapshot_even_if_handlers_change() {
    let registry = Arc::new(Registry::<()>::new());
    let invocations = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(Barrier::new(2));
    let cleared = Arc::new(Barrier::new(2));
    let (inv, s, c) = (Arc::clone(&invocations), Arc::clone(&started), Arc::clone(&cleared));
    registry.register(move |_| {
        s.wait();
        // Charter needs no timing guess: wait until `clear` has returned.
        c.wait();
        inv.fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    for _ in 1..8 {
        let inv = Arc::clone(&invocations);
        registry.register(move |_| {
            inv.fetch_add(1, Ordering::Relaxed);
            Ok(())
        });
    }
    let r = Arc::clone(&registry);
    let notifier = thread::spawn(move || r.notify(&()));
    started.wait();
    registry.clear();
    cleared.wait();
    let report = notifier.join().unwrap();
    assert_eq!(invocations.load(Ordering::Relaxed), 1);
    assert_eq!(report.delivered, 1);
    assert_eq!(registry.len(), 0);
}

// ---- leak_check.rs ----------------------------------------------------

fn canary_handler(canary: &Arc<u64>) -> impl Fn(&()) -> Result<(), HandlerError> + Send + Sync {
    let captured = Arc::clone(canary);
    move |_| {
        let _ = &*captured;
        Ok(())
    }
}

/// registry-io allows a slack of 4 for retired lists; Charter frees each
/// snapshot when it is replaced, so the canary is back to exactly 1.
#[test]
fn leak_check__register_unregister_churn_does_not_leak_handler_closures() {
    let registry: Registry<()> = Registry::new();
    let canary = Arc::new(0xdead_beef_u64);
    for _ in 0..10_000 {
        let id = registry.register(canary_handler(&canary));
        assert!(registry.unregister(id));
    }
    assert_eq!(Arc::strong_count(&canary), 1);
}

#[test]
fn leak_check__clear_drops_all_handler_closures() {
    let registry: Registry<()> = Registry::new();
    let canary = Arc::new(0u64);
    for _ in 0..100 {
        registry.register(canary_handler(&canary));
    }
    assert_eq!(Arc::strong_count(&canary), 101);
    registry.clear();
    assert_eq!(Arc::strong_count(&canary), 1);
}

#[test]
fn leak_check__dropping_registry_releases_all_handler_closures() {
    let canary = Arc::new(0u64);
    {
        let registry: Registry<()> = Registry::new();
        for _ in 0..50 {
            registry.register(canary_handler(&canary));
        }
        assert_eq!(Arc::strong_count(&canary), 51);
    }
    assert_eq!(Arc::strong_count(&canary), 1);
}

// ---- wait_and_once.rs -------------------------------------------------

fn blocking_handler(registry: &Registry<()>) -> (HandlerId, mpsc::Receiver<()>, Arc<AtomicBool>) {
    let (entered_tx, entered_rx) = mpsc::channel();
    let release = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&release);
    let entered_tx = Mutex::new(entered_tx);
    let id = registry.register(move |_| {
        let _ = entered_tx.lock().unwrap().send(());
        while !r.load(Ordering::SeqCst) {
            thread::yield_now();
        }
        Ok(())
    });
    (id, entered_rx, release)
}

#[test]
fn wait_and_once__unregister_and_wait_blocks_until_in_flight_handler_finishes() {
    let registry = Arc::new(Registry::<()>::new());
    let (id, entered, release) = blocking_handler(&registry);
    let r = Arc::clone(&registry);
    let notifier = thread::spawn(move || r.notify(&()));
    entered.recv().unwrap();
    let r = Arc::clone(&registry);
    let waiter = thread::spawn(move || r.unregister_and_wait(id));
    thread::sleep(Duration::from_millis(30));
    assert!(!waiter.is_finished(), "must wait while the handler runs");
    release.store(true, Ordering::SeqCst);
    assert!(waiter.join().unwrap());
    notifier.join().unwrap();
    assert!(!registry.contains(id));
}

#[test]
fn wait_and_once__unregister_and_wait_unknown_id_returns_false_immediately() {
    let registry: Registry<()> = Registry::new();
    let id = registry.register(|_| Ok(()));
    assert!(registry.unregister(id));
    assert!(!registry.unregister_and_wait(id));
}

#[test]
fn wait_and_once__unregister_and_wait_from_inside_own_handler_does_not_deadlock() {
    let registry = Arc::new(Registry::<()>::new());
    let own_id: Arc<OnceLock<HandlerId>> = Arc::default();
    let runs = Arc::new(AtomicU32::new(0));
    let (r, me, n) = (Arc::downgrade(&registry), Arc::clone(&own_id), Arc::clone(&runs));
    let id = registry.register(move |_| {
        n.fetch_add(1, Ordering::SeqCst);
        if let (Some(registry), Some(id)) = (r.upgrade(), me.get()) {
            assert!(registry.unregister_and_wait(*id));
        }
        Ok(())
    });
    own_id.set(id).unwrap();
    registry.notify(&());
    registry.notify(&());
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(registry.is_empty());
}

#[test]
fn wait_and_once__clear_and_wait_blocks_until_in_flight_handler_finishes() {
    let registry = Arc::new(Registry::<()>::new());
    let (_id, entered, release) = blocking_handler(&registry);
    let r = Arc::clone(&registry);
    let notifier = thread::spawn(move || r.notify(&()));
    entered.recv().unwrap();
    let r = Arc::clone(&registry);
    let waiter = thread::spawn(move || r.clear_and_wait());
    thread::sleep(Duration::from_millis(30));
    assert!(!waiter.is_finished());
    release.store(true, Ordering::SeqCst);
    waiter.join().unwrap();
    notifier.join().unwrap();
    assert!(registry.is_empty());
}

#[test]
fn wait_and_once__clear_and_wait_on_empty_registry_returns() {
    let registry: Registry<()> = Registry::new();
    registry.clear_and_wait();
    assert!(registry.is_empty());
}

#[test]
fn wait_and_once__register_once_runs_exactly_once_under_concurrent_notifies() {
    let registry = Arc::new(Registry::<()>::new());
    let runs = Arc::new(AtomicU32::new(0));
    let n = Arc::clone(&runs);
    let id = registry.register_once(move |_| {
        n.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    let start = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (r, b) = (Arc::clone(&registry), Arc::clone(&start));
            thread::spawn(move || {
                b.wait();
                (0..100).map(|_| r.notify(&()).called()).sum::<u64>()
            })
        })
        .collect();
    let called: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(called, 1, "exactly one round counted the call");
    assert!(!registry.contains(id));
}

#[test]
fn wait_and_once__register_once_accepts_fn_once_and_moves_state_out() {
    let registry = Arc::new(Registry::<u32>::new());
    let (tx, rx) = mpsc::channel::<String>();
    let owned = String::from("moved into the handler");
    registry.register_once(move |n| {
        tx.send(format!("{owned} {n}")).unwrap();
        Ok(())
    });
    registry.notify(&7);
    assert_eq!(rx.recv().unwrap(), "moved into the handler 7");
    assert!(rx.recv().is_err());
}

#[test]
fn wait_and_once__register_once_is_removed_even_when_it_panics() {
    quiet();
    let registry = Arc::new(Registry::<()>::new());
    let id = registry.register_once(|_| panic!("intentional: once"));
    assert_eq!(registry.notify(&()).panicked, 1);
    assert!(!registry.contains(id));
    assert_eq!(registry.panics(), 1);
    registry.notify(&());
    assert_eq!(registry.panics(), 1);
}

#[test]
fn wait_and_once__register_once_does_not_keep_registry_alive() {
    let canary = Arc::new(());
    let registry = Arc::new(Registry::<()>::new());
    let c = Arc::clone(&canary);
    registry.register_once(move |_| {
        drop(c);
        Ok(())
    });
    assert_eq!(Arc::strong_count(&canary), 2);
    drop(registry);
    assert_eq!(Arc::strong_count(&canary), 1, "handler freed with the registry");
}

#[test]
fn wait_and_once__panic_count_counts_with_and_without_callback() {
    quiet();
    let registry: Registry<()> = Registry::new();
    registry.register(|_| panic!("intentional: a"));
    registry.register(|_| Ok(()));
    registry.notify(&());
    assert_eq!(registry.panics(), 1);
    registry.on_panic(|_| {});
    registry.notify(&());
    assert_eq!(registry.panics(), 2);
}

#[test]
fn wait_and_once__soak_unregister_and_wait_never_runs_handler_after_return() {
    quiet();
    let secs: f64 = std::env::var("CHARTER_SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(1.5);
    let deadline = std::time::Instant::now() + Duration::from_secs_f64(secs);
    let registry = Arc::new(Registry::<u64>::new());
    let stop = Arc::new(AtomicBool::new(false));
    let dispatched = Arc::new(AtomicU64::new(0));
    let notifiers: Vec<_> = (0..6)
        .map(|_| {
            let (r, s, d) = (Arc::clone(&registry), Arc::clone(&stop), Arc::clone(&dispatched));
            thread::spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    r.notify(&1);
                    d.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let churners: Vec<_> = (0..4)
        .map(|_| {
            let r = Arc::clone(&registry);
            thread::spawn(move || {
                let mut cycles = 0u64;
                while cycles == 0 || std::time::Instant::now() < deadline {
                    let closed = Arc::new(AtomicBool::new(false));
                    let c = Arc::clone(&closed);
                    let id = r.register(move |_| {
                        assert!(!c.load(Ordering::SeqCst), "handler ran after unregister_and_wait");
                        Ok(())
                    });
                    thread::yield_now();
                    assert!(r.unregister_and_wait(id));
                    closed.store(true, Ordering::SeqCst);
                    cycles += 1;
                }
                cycles
            })
        })
        .collect();
    let cycles: u64 = churners.into_iter().map(|h| h.join().unwrap()).sum();
    stop.store(true, Ordering::Relaxed);
    for h in notifiers {
        h.join().unwrap();
    }
    assert!(cycles >= 4, "every churn thread completed a cycle: {cycles}");
    assert!(dispatched.load(Ordering::Relaxed) > 0);
    assert_eq!(registry.panics(), 0, "a handler ran after its unregister_and_wait returned");
    assert!(registry.is_empty());
}

// ---- proptest_invariants.rs -------------------------------------------

proptest! {
    #[test]
    fn proptest_invariants__register_then_unregister_all_leaves_registry_empty(n in 0_usize..=200) {
        let registry: Registry<u32> = Registry::new();
        let ids: Vec<HandlerId> = (0..n).map(|_| registry.register(|_| Ok(()))).collect();
        prop_assert_eq!(registry.len(), n);
        for id in &ids {
            prop_assert!(registry.unregister(*id));
        }
        prop_assert!(registry.is_empty());
    }

    #[test]
    fn proptest_invariants__notify_fires_exactly_once_per_registered_handler(n in 0_usize..=200) {
        let registry: Registry<u32> = Registry::new();
        let count = Arc::new(AtomicUsize::new(0));
        for _ in 0..n {
            registry.register(counter(&count, 1));
        }
        prop_assert_eq!(registry.notify(&0).delivered, n as u64);
        prop_assert_eq!(count.load(Ordering::Relaxed), n);
        registry.notify(&0);
        prop_assert_eq!(count.load(Ordering::Relaxed), n * 2);
    }

    #[test]
    fn proptest_invariants__handler_ids_are_unique_across_churn(ops in vec(any::<bool>(), 0..=500)) {
        let registry: Registry<u32> = Registry::new();
        let mut issued = HashSet::new();
        let mut live = Vec::new();
        for &register in &ops {
            if register || live.is_empty() {
                let id = registry.register(|_| Ok(()));
                prop_assert!(issued.insert(id), "registry issued a duplicate id: {:?}", id);
                live.push(id);
            } else {
                prop_assert!(registry.unregister(live.pop().unwrap()));
            }
        }
    }

    #[test]
    fn proptest_invariants__handler_count_matches_bookkeeping_across_random_ops(
        ops in vec(any::<bool>(), 0..=500)
    ) {
        let registry: Registry<u32> = Registry::new();
        let mut live = Vec::new();
        for &register in &ops {
            if register || live.is_empty() {
                live.push(registry.register(|_| Ok(())));
            } else {
                prop_assert!(registry.unregister(live.pop().unwrap()));
            }
            prop_assert_eq!(registry.len(), live.len());
        }
    }

    #[test]
    fn proptest_invariants__unregister_of_already_removed_id_always_returns_false(
        additional_registers in 0_usize..=50,
    ) {
        let registry: Registry<u32> = Registry::new();
        let stale = registry.register(|_| Ok(()));
        prop_assert!(registry.unregister(stale));
        for _ in 0..additional_registers {
            registry.register(|_| Ok(()));
        }
        prop_assert!(!registry.unregister(stale));
    }

    #[test]
    fn proptest_invariants__clear_then_register_resumes_with_fresh_unique_ids(
        before in 0_usize..=50,
        after in 1_usize..=50,
    ) {
        let registry: Registry<u32> = Registry::new();
        let prior: HashSet<HandlerId> = (0..before).map(|_| registry.register(|_| Ok(()))).collect();
        registry.clear();
        prop_assert_eq!(registry.len(), 0);
        for _ in 0..after {
            let id = registry.register(|_| Ok(()));
            prop_assert!(!prior.contains(&id), "id reused after clear(): {:?}", id);
        }
        prop_assert_eq!(registry.len(), after);
    }
}
