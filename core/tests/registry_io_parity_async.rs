//! registry-io 1.1's async test suite, scenario by scenario, against
//! Charter's `AsyncRegistry`.
//!
//! Each test is named `<registry-io test file>__<registry-io test name>`
//! and keeps that scenario and assertion. Every scenario runs twice, on
//! tokio's current-thread runtime and on `futures-executor`'s `block_on`:
//! the core's futures need no particular executor.
#![allow(non_snake_case)]

use std::future::Future;
use std::panic::panic_any;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use charter_core::registry::HandlerFuture;
use charter_core::{AsyncRegistry, HandlerError, HandlerId, HandlerResult, NotifyReport};

/// Runs the scenario `make` builds on each executor in turn.
fn on_both_executors<Fut: Future<Output = ()>>(make: impl Fn() -> Fut) {
    charter_core::panic::silence_caught_panics();
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(make());
    futures_executor::block_on(make());
}

/// Makes `registry`'s panic hook add `by` to `count`.
fn count_panics(registry: &AsyncRegistry<()>, count: &Arc<AtomicUsize>, by: usize) {
    let sink = Arc::clone(count);
    registry.on_panic(move |_| {
        sink.fetch_add(by, Ordering::Relaxed);
    });
}

fn counting(count: &Arc<AtomicUsize>, by: usize) -> impl Fn(&()) -> HandlerFuture + Send + Sync {
    let c = Arc::clone(count);
    move |_| {
        let c = Arc::clone(&c);
        Box::pin(async move {
            c.fetch_add(by, Ordering::Relaxed);
            Ok(())
        })
    }
}

/// A handler whose future yields once before it logs `tag`, so the log
/// shows the order the round completes futures in.
fn logging<T: Copy + Send + Sync + 'static>(
    log: &Arc<Mutex<Vec<T>>>,
    tag: T,
) -> impl Fn(&()) -> HandlerFuture + Send + Sync {
    let l = Arc::clone(log);
    move |_| {
        let l = Arc::clone(&l);
        Box::pin(async move {
            yield_once().await;
            l.lock().unwrap().push(tag);
            Ok(())
        })
    }
}

/// Returns `Pending` once (waking at once), then `Ready`.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

// ---- async_registry.rs ------------------------------------------------

#[test]
fn async_registry__new_registry_is_empty() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<u32> = AsyncRegistry::new();
        assert!(registry.is_empty());
        assert_eq!(registry.len(), 0);
    });
}

#[test]
fn async_registry__default_matches_new() {
    on_both_executors(|| async {
        let a: AsyncRegistry<u32> = AsyncRegistry::default();
        let b: AsyncRegistry<u32> = AsyncRegistry::new();
        assert_eq!(a.len(), b.len());
    });
}

#[test]
fn async_registry__concurrent_notify_fires_every_handler_once() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        let count = Arc::new(AtomicUsize::new(0));
        for _ in 0..10 {
            let c = Arc::clone(&count);
            registry.register(move |_| {
                let c = Arc::clone(&c);
                async move {
                    yield_once().await;
                    c.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
            });
        }
        assert_eq!(registry.notify(&()).await.delivered, 10);
        assert_eq!(count.load(Ordering::Relaxed), 10);
        registry.notify(&()).await;
        assert_eq!(count.load(Ordering::Relaxed), 20);
    });
}

#[test]
fn async_registry__sequential_notify_fires_every_handler_once() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        let count = Arc::new(AtomicUsize::new(0));
        for _ in 0..5 {
            registry.register(counting(&count, 1));
        }
        assert_eq!(registry.notify_sequential(&()).await.delivered, 5);
        assert_eq!(count.load(Ordering::Relaxed), 5);
    });
}

#[test]
fn async_registry__unregister_removes_handler() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        let count = Arc::new(AtomicUsize::new(0));
        let id = registry.register(counting(&count, 1));
        assert!(registry.contains(id));
        assert!(registry.unregister(id));
        assert!(!registry.contains(id));
        assert!(!registry.unregister(id));
        registry.notify(&()).await;
        assert_eq!(count.load(Ordering::Relaxed), 0);
    });
}

#[test]
fn async_registry__clear_removes_every_handler() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        for _ in 0..8 {
            registry.register(|_| async { Ok(()) });
        }
        assert_eq!(registry.len(), 8);
        registry.clear();
        assert_eq!(registry.len(), 0);
    });
}

#[test]
fn async_registry__notify_passes_event_by_reference() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<String> = AsyncRegistry::new();
        let captured = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&captured);
        registry.register(move |s: &String| {
            let sink = Arc::clone(&sink);
            let owned = s.clone();
            async move {
                sink.lock().unwrap().clone_from(&owned);
                Ok(())
            }
        });
        let event = String::from("hello");
        registry.notify(&event).await;
        assert_eq!(event.as_str(), "hello");
        assert_eq!(captured.lock().unwrap().as_str(), "hello");
    });
}

#[test]
fn async_registry__handler_count_after_mixed_operations() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        let ids: Vec<_> = (0..50).map(|_| registry.register(|_| async { Ok(()) })).collect();
        for id in ids.iter().take(20) {
            assert!(registry.unregister(*id));
        }
        assert_eq!(registry.len(), 30);
    });
}

#[test]
fn async_registry__registry_is_send_and_sync() {
    fn require_send_sync<T: Send + Sync>() {}
    fn require_send<T: Send>(_: &T) {}
    require_send_sync::<AsyncRegistry<u32>>();
    require_send_sync::<AsyncRegistry<String>>();
    // The rounds too, so a multi-threaded executor can move them.
    let registry: AsyncRegistry<u32> = AsyncRegistry::new();
    require_send(&registry.notify(&1));
    require_send(&registry.notify_sequential(&1));
}

// ---- async_priority.rs ------------------------------------------------

#[test]
fn async_priority__sequential_notify_observes_priority_order() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        for p in [0_i32, 10, -5] {
            registry.register_with_priority(p, logging(&log, p));
        }
        registry.notify_sequential(&()).await;
        assert_eq!(log.lock().unwrap().as_slice(), [10, 0, -5]);
    });
}

#[test]
fn async_priority__sequential_equal_priority_fires_in_registration_order() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        for tag in ["first", "second", "third"] {
            registry.register_with_priority(0, logging(&log, tag));
        }
        registry.notify_sequential(&()).await;
        assert_eq!(log.lock().unwrap().as_slice(), ["first", "second", "third"]);
    });
}

#[test]
fn async_priority__default_register_priority_is_zero_sequential() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        registry.register_with_priority(5, logging(&log, "high"));
        registry.register(logging(&log, "default"));
        registry.register_with_priority(-5, logging(&log, "low"));
        registry.notify_sequential(&()).await;
        assert_eq!(log.lock().unwrap().as_slice(), ["high", "default", "low"]);
    });
}

// ---- async_guards.rs --------------------------------------------------

#[test]
fn async_guards__guard_unregisters_on_drop() {
    on_both_executors(|| async {
        let registry = Arc::new(AsyncRegistry::<u32>::new());
        {
            let _guard = registry.register_guard(|_| async { Ok(()) });
            assert_eq!(registry.len(), 1);
        }
        assert_eq!(registry.len(), 0);
    });
}

#[test]
fn async_guards__guard_id_round_trip() {
    on_both_executors(|| async {
        let registry = Arc::new(AsyncRegistry::<()>::new());
        let guard = registry.register_guard(|_| async { Ok(()) });
        let id = guard.id();
        assert!(registry.contains(id));
        drop(guard);
        assert!(!registry.contains(id));
    });
}

#[test]
fn async_guards__forget_keeps_handler_registered() {
    on_both_executors(|| async {
        let registry = Arc::new(AsyncRegistry::<()>::new());
        let guard = registry.register_guard(|_| async { Ok(()) });
        let id = guard.id();
        guard.forget();
        assert!(registry.contains(id));
        assert!(registry.unregister(id));
    });
}

#[test]
fn async_guards__dropping_registry_before_guard_is_safe() {
    on_both_executors(|| async {
        let registry = Arc::new(AsyncRegistry::<()>::new());
        let guard = registry.register_guard(|_| async { Ok(()) });
        drop(registry);
        drop(guard);
    });
}

#[test]
fn async_guards__guard_drop_prevents_handler_from_firing_next_time() {
    on_both_executors(|| async {
        let registry = Arc::new(AsyncRegistry::<()>::new());
        let count = Arc::new(AtomicUsize::new(0));
        let guard = registry.register_guard(counting(&count, 1));
        drop(guard);
        assert_eq!(registry.notify(&()).await.called(), 0);
        assert_eq!(count.load(Ordering::Relaxed), 0);
    });
}

#[test]
fn async_guards__multiple_guards_unregister_independently() {
    on_both_executors(|| async {
        let registry = Arc::new(AsyncRegistry::<()>::new());
        let g1 = registry.register_guard(|_| async { Ok(()) });
        let g2 = registry.register_guard(|_| async { Ok(()) });
        let g3 = registry.register_guard(|_| async { Ok(()) });
        assert_eq!(registry.len(), 3);
        drop(g2);
        assert_eq!(registry.len(), 2);
        drop(g1);
        assert_eq!(registry.len(), 1);
        drop(g3);
        assert_eq!(registry.len(), 0);
    });
}

#[test]
fn async_guards__priority_guard_respects_priority_with_sequential_notify() {
    on_both_executors(|| async {
        let registry = Arc::new(AsyncRegistry::<()>::new());
        let log = Arc::new(Mutex::new(Vec::new()));
        let _g1 = registry.register_guard_with_priority(0, logging(&log, "mid"));
        let _g2 = registry.register_guard_with_priority(100, logging(&log, "first"));
        registry.notify_sequential(&()).await;
        assert_eq!(log.lock().unwrap().as_slice(), ["first", "mid"]);
    });
}

// ---- async_panic.rs ---------------------------------------------------

fn with_middle_panic(count: &Arc<AtomicUsize>) -> AsyncRegistry<()> {
    let registry = AsyncRegistry::new();
    registry.register(counting(count, 1));
    registry.register(|_| async move {
        yield_once().await;
        panic!("middle dies")
    });
    registry.register(counting(count, 10));
    registry
}

#[test]
fn async_panic__panic_in_handler_does_not_propagate_to_caller_concurrent() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        registry.register(|_| async move { panic!("boom") });
        assert_eq!(registry.notify(&()).await, NotifyReport { delivered: 0, failed: 0, panicked: 1 });
    });
}

#[test]
fn async_panic__panic_in_handler_does_not_propagate_to_caller_sequential() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        registry.register(|_| async move { panic!("boom") });
        assert_eq!(registry.notify_sequential(&()).await.panicked, 1);
    });
}

#[test]
fn async_panic__panicking_handler_does_not_break_siblings_concurrent() {
    on_both_executors(|| async {
        let count = Arc::new(AtomicUsize::new(0));
        let registry = with_middle_panic(&count);
        assert_eq!(registry.notify(&()).await, NotifyReport { delivered: 2, failed: 0, panicked: 1 });
        assert_eq!(count.load(Ordering::Relaxed), 11);
    });
}

#[test]
fn async_panic__panicking_handler_does_not_break_siblings_sequential() {
    on_both_executors(|| async {
        let count = Arc::new(AtomicUsize::new(0));
        let registry = with_middle_panic(&count);
        assert_eq!(
            registry.notify_sequential(&()).await,
            NotifyReport { delivered: 2, failed: 0, panicked: 1 }
        );
        assert_eq!(count.load(Ordering::Relaxed), 11);
    });
}

#[test]
fn async_panic__on_panic_observes_handler_id_and_message() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        let captured: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
        let sink = Arc::clone(&captured);
        registry.on_panic(move |info| {
            let msg = info.message().unwrap_or("<opaque>").to_owned();
            sink.lock().unwrap().push((info.handler_id().get(), msg));
        });
        let id = registry.register(|_| async move { panic!("first failure") });
        registry.notify_sequential(&()).await;
        assert_eq!(captured.lock().unwrap().as_slice(), [(id.get(), "first failure".to_owned())]);
    });
}

#[test]
fn async_panic__on_panic_fires_once_per_panicking_handler_concurrent() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        let count = Arc::new(AtomicUsize::new(0));
        count_panics(&registry, &count, 1);
        registry.register(|_| async move { panic!("a") });
        registry.register(|_| async move { Ok(()) });
        registry.register(|_| async move { panic!("b") });
        registry.register(|_| async move { panic!("c") });
        registry.notify(&()).await;
        assert_eq!(count.load(Ordering::Relaxed), 3);
    });
}

#[test]
fn async_panic__custom_panic_payload_round_trips_through_payload() {
    #[derive(Debug, PartialEq, Eq)]
    struct MyErr(u32);
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        let captured: Arc<Mutex<Option<u32>>> = Arc::default();
        let sink = Arc::clone(&captured);
        registry.on_panic(move |info| {
            if let Some(err) = info.payload().downcast_ref::<MyErr>() {
                *sink.lock().unwrap() = Some(err.0);
            }
        });
        registry.register(|_| async move { panic_any(MyErr(99)) });
        registry.notify_sequential(&()).await;
        assert_eq!(*captured.lock().unwrap(), Some(99));
    });
}

#[test]
fn async_panic__no_callback_silently_absorbs_panics() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        for _ in 0..3 {
            registry.register(|_| async move { panic!("nobody listening") });
        }
        assert_eq!(registry.notify(&()).await.panicked, 3);
    });
}

#[test]
fn async_panic__panics_do_not_disturb_handler_count() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        registry.register(|_| async move { panic!("a") });
        registry.register(|_| async move { panic!("b") });
        registry.register(|_| async move { Ok(()) });
        assert_eq!(registry.len(), 3);
        registry.notify(&()).await;
        assert_eq!(registry.len(), 3);
    });
}

#[test]
fn async_panic__clear_panic_callback_disables_observability() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        let count = Arc::new(AtomicUsize::new(0));
        count_panics(&registry, &count, 1);
        registry.register(|_| async move { panic!("seen") });
        registry.notify(&()).await;
        assert_eq!(count.load(Ordering::Relaxed), 1);
        registry.clear_panic_hook();
        assert_eq!(registry.notify(&()).await.panicked, 1);
        assert_eq!(count.load(Ordering::Relaxed), 1);
        assert_eq!(registry.panics(), 2);
    });
}

// ---- async_start_panic.rs ---------------------------------------------

/// A handler whose synchronous part panics.
fn panics_before_future(_: &u32) -> std::future::Ready<HandlerResult> {
    panic!("intentional: panicked while building the future")
}

fn adding(total: &Arc<AtomicU32>) -> impl Fn(&u32) -> std::future::Ready<HandlerResult> + Send + Sync {
    let t = Arc::clone(total);
    move |n| {
        t.fetch_add(*n, Ordering::SeqCst);
        std::future::ready(Ok(()))
    }
}

type Setup = (AsyncRegistry<u32>, Arc<AtomicU32>, Arc<Mutex<Vec<HandlerId>>>, HandlerId);

fn setup() -> Setup {
    let registry = AsyncRegistry::new();
    let total = Arc::new(AtomicU32::new(0));
    registry.register(adding(&total));
    let bad = registry.register(panics_before_future);
    registry.register(adding(&total));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    registry.on_panic(move |info| s.lock().unwrap().push(info.handler_id()));
    (registry, total, seen, bad)
}

#[test]
fn async_start_panic__concurrent_notify_isolates_panic_before_future() {
    on_both_executors(|| async {
        let (registry, total, seen, bad) = setup();
        assert_eq!(registry.notify(&5).await, NotifyReport { delivered: 2, failed: 0, panicked: 1 });
        assert_eq!(total.load(Ordering::SeqCst), 10, "siblings still ran");
        assert_eq!(seen.lock().unwrap().as_slice(), [bad]);
    });
}

#[test]
fn async_start_panic__sequential_notify_isolates_panic_before_future() {
    on_both_executors(|| async {
        let (registry, total, seen, bad) = setup();
        assert_eq!(registry.notify_sequential(&5).await.panicked, 1);
        assert_eq!(total.load(Ordering::SeqCst), 10, "siblings still ran");
        assert_eq!(seen.lock().unwrap().as_slice(), [bad]);
    });
}

#[test]
fn async_start_panic__single_handler_panic_before_future_is_isolated() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<u32> = AsyncRegistry::new();
        let bad = registry.register(panics_before_future);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        registry.on_panic(move |info| s.lock().unwrap().push(info.handler_id()));
        assert_eq!(registry.notify(&1).await.panicked, 1);
        assert_eq!(seen.lock().unwrap().as_slice(), [bad]);
    });
}

// Failures are counted apart from panics, as in the sync registry.
#[test]
fn a_future_that_fails_is_counted_as_failed() {
    on_both_executors(|| async {
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        registry.register(|_| async { Err(HandlerError) });
        registry.register(|_| async { Ok(()) });
        assert_eq!(registry.notify(&()).await, NotifyReport { delivered: 1, failed: 1, panicked: 0 });
        assert_eq!(
            registry.notify_sequential(&()).await,
            NotifyReport { delivered: 1, failed: 1, panicked: 0 }
        );
    });
}
