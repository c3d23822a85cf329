//! The async registry beyond registry-io's scenarios: leak canaries,
//! rounds dropped part-way, hostile destructors, and a proptest of its
//! ordering and counting invariants.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use charter_core::registry::HandlerFuture;
use charter_core::{AsyncRegistry, HandlerError, HandlerResult, NotifyReport};
use proptest::prelude::*;

fn quiet() {
    charter_core::panic::silence_caught_panics();
}

/// Polls once with a waker that does nothing.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

/// A future that stays pending until `release` is set.
struct Gate {
    release: Arc<AtomicUsize>,
}

impl Future for Gate {
    type Output = HandlerResult;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<HandlerResult> {
        if self.release.load(Ordering::SeqCst) > 0 {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }
}

#[test]
fn canaries_return_to_one_after_churn_clear_and_drop() {
    let canary = Arc::new(());
    let registry: AsyncRegistry<u32> = AsyncRegistry::new();
    let handler = |c: Arc<()>| {
        move |_: &u32| {
            let c = Arc::clone(&c);
            async move {
                let _ = &c;
                Ok(())
            }
        }
    };
    for _ in 0..2_000 {
        let id = registry.register(handler(Arc::clone(&canary)));
        assert_eq!(futures_executor::block_on(registry.notify(&0)).delivered, 1);
        assert_eq!(futures_executor::block_on(registry.notify_sequential(&0)).delivered, 1);
        assert!(registry.unregister(id));
    }
    assert_eq!(Arc::strong_count(&canary), 1, "after churn");
    for _ in 0..10 {
        registry.register(handler(Arc::clone(&canary)));
    }
    assert_eq!(Arc::strong_count(&canary), 11);
    registry.clear();
    assert_eq!(Arc::strong_count(&canary), 1, "after clear");
    for _ in 0..10 {
        registry.register(handler(Arc::clone(&canary)));
    }
    drop(registry);
    assert_eq!(Arc::strong_count(&canary), 1, "after drop");
}

#[test]
fn a_round_dropped_part_way_drops_its_pending_futures_and_runs_nothing_more() {
    let canary = Arc::new(());
    let release = Arc::new(AtomicUsize::new(0));
    let built = Arc::new(AtomicUsize::new(0));
    let registry: AsyncRegistry<()> = AsyncRegistry::new();
    for _ in 0..3 {
        let (c, r, b) = (Arc::clone(&canary), Arc::clone(&release), Arc::clone(&built));
        registry.register(move |_| {
            b.fetch_add(1, Ordering::SeqCst);
            let c = Arc::clone(&c);
            let gate = Gate { release: Arc::clone(&r) };
            async move {
                let _ = &c;
                gate.await
            }
        });
    }
    // Never polled: builds nothing.
    drop(registry.notify(&()));
    drop(registry.notify_sequential(&()));
    assert_eq!(built.load(Ordering::SeqCst), 0, "a round does nothing until polled");

    let mut round = registry.notify(&());
    assert!(poll_once(&mut round).is_pending());
    assert_eq!(built.load(Ordering::SeqCst), 3);
    assert_eq!(Arc::strong_count(&canary), 7, "three handlers and three pending futures hold the canary");
    drop(round);
    assert_eq!(Arc::strong_count(&canary), 4, "dropping the round dropped its futures");

    let mut sequential = registry.notify_sequential(&());
    assert!(poll_once(&mut sequential).is_pending());
    assert_eq!(built.load(Ordering::SeqCst), 4, "sequential builds one at a time");
    release.store(1, Ordering::SeqCst);
    assert_eq!(
        poll_once(&mut sequential),
        Poll::Ready(NotifyReport { delivered: 3, failed: 0, panicked: 0 })
    );
    assert_eq!(Arc::strong_count(&canary), 4);
    drop(sequential);
    drop(registry);
    assert_eq!(Arc::strong_count(&canary), 1);
}

#[test]
fn a_handler_unregistered_mid_round_is_skipped_by_a_sequential_round() {
    let registry: Arc<AsyncRegistry<()>> = Arc::new(AsyncRegistry::new());
    let ran = Arc::new(Mutex::new(Vec::new()));
    let later = Arc::new(Mutex::new(None));
    let (weak, l, r) = (Arc::downgrade(&registry), Arc::clone(&later), Arc::clone(&ran));
    registry.register_with_priority(1, move |_| {
        r.lock().unwrap().push("first");
        let victim = l.lock().unwrap().unwrap();
        assert!(weak.upgrade().unwrap().unregister(victim));
        async { Ok(()) }
    });
    let r = Arc::clone(&ran);
    let victim = registry.register(move |_| {
        r.lock().unwrap().push("victim");
        async { Ok(()) }
    });
    *later.lock().unwrap() = Some(victim);
    let report = futures_executor::block_on(registry.notify_sequential(&()));
    assert_eq!(report.called(), 1);
    assert_eq!(ran.lock().unwrap().as_slice(), ["first"]);
}

#[test]
fn futures_and_payloads_whose_destructors_panic_are_contained() {
    quiet();
    struct Nasty;
    impl Drop for Nasty {
        fn drop(&mut self) {
            panic!("intentional: future destructor");
        }
    }
    let registry: AsyncRegistry<()> = AsyncRegistry::new();
    /// Completes at once; its destructor, run after the round has counted
    /// it as delivered, panics.
    struct NastyReady(Nasty);
    impl Future for NastyReady {
        type Output = HandlerResult;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<HandlerResult> {
            Poll::Ready(Ok(()))
        }
    }
    registry.register(|_| NastyReady(Nasty));
    registry.register(|_| async { std::panic::panic_any(Box::new(Nasty) as Box<dyn std::any::Any + Send>) });
    let seen = Arc::new(AtomicUsize::new(0));
    let s = Arc::clone(&seen);
    registry.on_panic(move |_| {
        s.fetch_add(1, Ordering::SeqCst);
    });
    let report = futures_executor::block_on(registry.notify(&()));
    assert_eq!(report, NotifyReport { delivered: 1, failed: 0, panicked: 1 });
    let report = futures_executor::block_on(registry.notify_sequential(&()));
    assert_eq!(report, NotifyReport { delivered: 1, failed: 0, panicked: 1 });
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    assert_eq!(registry.panics(), 2);
}

#[test]
fn concurrent_rounds_interleave_and_complete_on_a_multi_threaded_runtime() {
    let registry: Arc<AsyncRegistry<u64>> = Arc::new(AsyncRegistry::new());
    let total = Arc::new(AtomicUsize::new(0));
    for _ in 0..4 {
        let t = Arc::clone(&total);
        registry.register(move |n: &u64| {
            let (t, n) = (Arc::clone(&t), *n as usize);
            async move {
                tokio::task::yield_now().await;
                t.fetch_add(n, Ordering::SeqCst);
                Ok(())
            }
        });
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let r = Arc::clone(&registry);
                tokio::spawn(async move { r.notify(&1).await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().delivered, 4);
        }
    });
    assert_eq!(total.load(Ordering::SeqCst), 64);
}

/// What one generated handler does.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    Ok,
    Fail,
    PanicBuilding,
    PanicPolling,
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Ok),
        Just(Outcome::Fail),
        Just(Outcome::PanicBuilding),
        Just(Outcome::PanicPolling)
    ]
}

fn future_for(outcome: Outcome, index: usize, log: Arc<Mutex<Vec<usize>>>) -> HandlerFuture {
    if let Outcome::PanicBuilding = outcome {
        panic!("intentional: building");
    }
    Box::pin(async move {
        log.lock().unwrap().push(index);
        match outcome {
            Outcome::Fail => Err(HandlerError),
            Outcome::PanicPolling => panic!("intentional: polling"),
            _ => Ok(()),
        }
    })
}

proptest! {
    /// Sequential rounds run handlers in (priority descending, registration
    /// order); concurrent rounds build them in that order; both count every
    /// handler exactly once, in the field its outcome says, and the panic
    /// counter and hook see each panic once.
    #[test]
    fn rounds_keep_order_and_count_every_handler_once(
        handlers in proptest::collection::vec((-3i32..=3, outcome()), 0..40),
        unregister in proptest::collection::vec(any::<bool>(), 40),
    ) {
        quiet();
        let registry: AsyncRegistry<()> = AsyncRegistry::new();
        let built = Arc::new(Mutex::new(Vec::new()));
        let polled = Arc::new(Mutex::new(Vec::new()));
        let hooked = Arc::new(AtomicUsize::new(0));
        let h = Arc::clone(&hooked);
        registry.on_panic(move |_| { h.fetch_add(1, Ordering::SeqCst); });
        let mut ids = Vec::new();
        for (index, &(priority, outcome)) in handlers.iter().enumerate() {
            let (b, p) = (Arc::clone(&built), Arc::clone(&polled));
            ids.push(registry.register_with_priority(priority, move |_| {
                b.lock().unwrap().push(index);
                future_for(outcome, index, Arc::clone(&p))
            }));
        }
        let mut live: Vec<usize> = Vec::new();
        for (index, id) in ids.iter().enumerate() {
            if unregister[index] {
                prop_assert!(registry.unregister(*id));
            } else {
                live.push(index);
            }
        }
        let mut expected_order = live.clone();
        expected_order.sort_by_key(|&i| (std::cmp::Reverse(handlers[i].0), i));
        let mut expected = NotifyReport::default();
        for &i in &live {
            match handlers[i].1 {
                Outcome::Ok => expected.delivered += 1,
                Outcome::Fail => expected.failed += 1,
                _ => expected.panicked += 1,
            }
        }
        let ran_futures: Vec<usize> =
            expected_order.iter().copied().filter(|&i| !matches!(handlers[i].1, Outcome::PanicBuilding)).collect();

        let report = futures_executor::block_on(registry.notify_sequential(&()));
        prop_assert_eq!(report, expected);
        prop_assert_eq!(std::mem::take(&mut *built.lock().unwrap()), expected_order.clone());
        prop_assert_eq!(std::mem::take(&mut *polled.lock().unwrap()), ran_futures.clone());

        let report = futures_executor::block_on(registry.notify(&()));
        prop_assert_eq!(report, expected);
        prop_assert_eq!(std::mem::take(&mut *built.lock().unwrap()), expected_order);
        let mut polled_concurrently = std::mem::take(&mut *polled.lock().unwrap());
        polled_concurrently.sort_unstable();
        let mut ran_sorted = ran_futures;
        ran_sorted.sort_unstable();
        prop_assert_eq!(polled_concurrently, ran_sorted);

        prop_assert_eq!(registry.panics(), 2 * expected.panicked);
        prop_assert_eq!(hooked.load(Ordering::SeqCst) as u64, 2 * expected.panicked);
        prop_assert_eq!(registry.len(), live.len());
    }
}
