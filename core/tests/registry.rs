//! Behaviour of the handler registry: order, isolation, re-entrancy, leaks.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use charter_core::registry::DEFAULT_MAX_DEPTH;
use charter_core::{HandlerError, HandlerId, NotifyReport, Registry};

fn quiet() {
    charter_core::panic::silence_caught_panics();
}

fn report(delivered: u64, failed: u64, panicked: u64) -> NotifyReport {
    NotifyReport { delivered, failed, panicked }
}

#[test]
fn fires_by_descending_priority_then_registration_order() {
    let reg: Registry<u32> = Registry::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    for (name, prio) in
        [("a", 0), ("b", 10), ("c", 0), ("d", -5), ("e", 10), ("f", i32::MAX), ("g", i32::MIN)]
    {
        let order = Arc::clone(&order);
        reg.register_with_priority(prio, move |_| {
            order.lock().unwrap().push(name);
            Ok(())
        });
    }
    assert_eq!(reg.notify(&1), report(7, 0, 0));
    assert_eq!(*order.lock().unwrap(), ["f", "b", "e", "a", "c", "d", "g"]);
}

#[test]
fn register_unregister_contains_len_and_ids_never_reused() {
    let reg: Registry<u32> = Registry::new();
    assert!(reg.is_empty());
    let a = reg.register(|_| Ok(()));
    let b = reg.register(|_| Ok(()));
    assert_ne!(a, b);
    assert!(a.get() > 0 && a.get() < 1 << 53, "ids fit a JavaScript number");
    assert_eq!(reg.len(), 2);
    assert!(reg.contains(a) && reg.contains(b));
    assert!(reg.unregister(a));
    assert!(!reg.unregister(a), "a second unregister reports false");
    assert!(!reg.contains(a));
    assert!(!reg.unregister(HandlerId::from_raw(999)));
    let c = reg.register(|_| Ok(()));
    assert!(c != a && c != b, "ids are never reused");
    reg.clear();
    assert!(reg.is_empty());
    assert!(!reg.contains(b) && !reg.contains(c));
    assert_eq!(reg.notify(&0), report(0, 0, 0));
}

#[test]
fn failures_and_panics_are_counted_and_never_stop_siblings() {
    quiet();
    let reg: Registry<u32> = Registry::new();
    let ran = Arc::new(AtomicUsize::new(0));
    let seen: Arc<Mutex<Vec<(HandlerId, String)>>> = Arc::default();
    let seen2 = Arc::clone(&seen);
    reg.on_panic(move |info| {
        seen2.lock().unwrap().push((info.handler_id(), info.message().unwrap().to_owned()))
    });
    let r = Arc::clone(&ran);
    reg.register(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    let bad = reg.register(|e| panic!("handler exploded on {e}"));
    reg.register(|_| Err(HandlerError));
    let r = Arc::clone(&ran);
    reg.register(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    assert_eq!(reg.notify(&42), report(2, 1, 1));
    assert_eq!(ran.load(Ordering::SeqCst), 2);
    assert_eq!(*seen.lock().unwrap(), vec![(bad, "handler exploded on 42".to_owned())]);
    assert_eq!(reg.panics(), 1);
}

/// A round catches a panic and resumes after the handler that panicked:
/// panics first, last and back to back, among failures, run-once handlers
/// (one that panics) and a sibling unregistered mid-round, are each
/// counted once, in firing order, and never skip or repeat a sibling.
#[test]
fn a_round_resumes_after_each_panic_in_firing_order() {
    quiet();
    let reg: Arc<Registry<u32>> = Arc::new(Registry::new());
    let order = Arc::new(Mutex::new(Vec::new()));
    let hooked = Arc::new(Mutex::new(Vec::new()));
    let h = Arc::clone(&hooked);
    reg.on_panic(move |info| h.lock().unwrap().push(info.message().unwrap().to_owned()));
    let victim = Arc::new(Mutex::new(None));
    // Registered in firing order: p = panics, f = fails, o = ok, 1 = once.
    for name in ["p0", "p1", "o2", "f3", "x4", "p1once", "o6", "f7", "p8"] {
        let order = Arc::clone(&order);
        let (reg2, victim2) = (Arc::clone(&reg), Arc::clone(&victim));
        let run = move |_: &u32| {
            order.lock().unwrap().push(name);
            if name == "o2" {
                // Unregisters "o6" mid-round: it must not run this round.
                let id = victim2.lock().unwrap().take();
                assert!(id.is_none_or(|id| reg2.unregister(id)));
            }
            match name.as_bytes()[0] {
                b'p' => panic!("{name}"),
                b'f' => Err(HandlerError),
                _ => Ok(()),
            }
        };
        let id = if name.ends_with("once") { reg.register_once(run) } else { reg.register(run) };
        if name == "o6" {
            *victim.lock().unwrap() = Some(id);
        }
    }
    assert_eq!(reg.notify(&1), report(2, 2, 4));
    assert_eq!(*order.lock().unwrap(), ["p0", "p1", "o2", "f3", "x4", "p1once", "f7", "p8"]);
    assert_eq!(*hooked.lock().unwrap(), ["p0", "p1", "p1once", "p8"]);
    assert_eq!(reg.len(), 7, "the run-once handler that panicked and the victim are gone");
    order.lock().unwrap().clear();
    assert_eq!(reg.notify(&2), report(2, 2, 3));
    assert_eq!(*order.lock().unwrap(), ["p0", "p1", "o2", "f3", "x4", "f7", "p8"]);
    assert_eq!(reg.panics(), 7);
}

#[test]
fn a_panic_inside_on_panic_is_swallowed() {
    quiet();
    let reg: Registry<u32> = Registry::new();
    reg.on_panic(|_| panic!("the hook panics too"));
    reg.register(|_| panic!("first"));
    reg.register(|_| Ok(()));
    assert_eq!(reg.notify(&1), report(1, 0, 1));
    assert_eq!(reg.notify(&2), report(1, 0, 1));
}

#[test]
fn handler_can_unregister_itself_and_later_siblings_mid_round() {
    let reg: Arc<Registry<u32>> = Arc::new(Registry::new());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let ids: Arc<Mutex<Vec<HandlerId>>> = Arc::default();
    for n in 0..3u32 {
        let (reg2, calls2, ids2) = (Arc::downgrade(&reg), Arc::clone(&calls), Arc::clone(&ids));
        let id = reg.register(move |_| {
            calls2.lock().unwrap().push(n);
            if n == 0 {
                let reg = reg2.upgrade().unwrap();
                let ids = ids2.lock().unwrap().clone();
                assert!(reg.unregister(ids[0]), "unregister self");
                assert!(reg.unregister(ids[2]), "unregister a later sibling");
            }
            Ok(())
        });
        ids.lock().unwrap().push(id);
    }
    assert_eq!(reg.notify(&0), report(2, 0, 0));
    assert_eq!(*calls.lock().unwrap(), [0, 1], "the unregistered sibling was skipped this round");
    assert_eq!(reg.len(), 1);
    assert_eq!(reg.notify(&0), report(1, 0, 0));
}

/// A round counts only what is rare and works out `delivered` at the end:
/// every outcome at once in one round (a delivery, a failure, a panic, a
/// run-once handler that delivers and one that fails, a handler skipped
/// because an earlier one unregistered it) still adds up exactly.
#[test]
fn every_outcome_in_one_round_is_counted_exactly() {
    quiet();
    let reg: Arc<Registry<u32>> = Arc::new(Registry::new());
    let victim: Arc<Mutex<Option<HandlerId>>> = Arc::default();
    let (weak, victim2) = (Arc::downgrade(&reg), Arc::clone(&victim));
    reg.register_with_priority(5, move |_| {
        if let Some(id) = victim2.lock().unwrap().take() {
            assert!(weak.upgrade().unwrap().unregister(id));
        }
        Ok(())
    });
    reg.register_with_priority(4, |_| Err(HandlerError));
    reg.register_with_priority(3, |_| panic!("counted, not propagated"));
    reg.register_once_with_priority(2, |_| Ok(()));
    reg.register_once_with_priority(1, |_| Err(HandlerError));
    let skipped = Arc::new(AtomicUsize::new(0));
    let skipped2 = Arc::clone(&skipped);
    let id = reg.register_with_priority(0, move |_| {
        skipped2.fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    *victim.lock().unwrap() = Some(id);
    assert_eq!(reg.try_notify(&1), Ok(report(2, 2, 1)));
    assert_eq!(skipped.load(Ordering::Relaxed), 0, "unregistered mid-round, so never called");
    assert_eq!(reg.len(), 3, "the run-once handlers and the victim are gone");
    assert_eq!(reg.notify(&2), report(1, 1, 1));
    assert_eq!(reg.panics(), 2);
}

#[test]
fn handler_can_register_and_notify_from_inside_notify() {
    let reg: Arc<Registry<u32>> = Arc::new(Registry::new());
    let inner_calls = Arc::new(AtomicUsize::new(0));
    let (weak, inner) = (Arc::downgrade(&reg), Arc::clone(&inner_calls));
    reg.register(move |&depth| {
        let reg = weak.upgrade().unwrap();
        if depth == 0 {
            let inner = Arc::clone(&inner);
            reg.register(move |_| {
                inner.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
            let nested = reg.notify(&1);
            assert_eq!(nested, report(2, 0, 0), "the nested round sees the new handler");
        }
        Ok(())
    });
    assert_eq!(reg.notify(&0), report(1, 0, 0), "a handler registered mid-round fires from the next round");
    assert_eq!(inner_calls.load(Ordering::SeqCst), 1);
    assert_eq!(reg.notify(&1), report(2, 0, 0));
}

#[test]
fn nested_notify_is_bounded_and_counted() {
    let reg: Arc<Registry<u32>> = Arc::new(Registry::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let (weak, c, r) = (Arc::downgrade(&reg), Arc::clone(&calls), Arc::clone(&refused));
    reg.register(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
        let reg = weak.upgrade().unwrap();
        if reg.try_notify(&0).is_err() {
            r.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    });
    assert_eq!(reg.notify(&0), report(1, 0, 0));
    assert_eq!(calls.load(Ordering::SeqCst), DEFAULT_MAX_DEPTH);
    assert_eq!(refused.load(Ordering::SeqCst), 1);
    assert_eq!(reg.depth_exceeded(), 1);
    let err = charter_core::Error::from(charter_core::registry::DepthExceeded { max_depth: 8 });
    assert_eq!(err.kind(), charter_core::ErrorKind::LimitExceeded);
    assert!(err.message().contains("more than 8 levels"), "{err}");
}

#[test]
fn depth_is_per_registry() {
    let a: Arc<Registry<u32>> = Arc::new(Registry::with_max_depth(2).unwrap());
    let b: Arc<Registry<u32>> = Arc::new(Registry::with_max_depth(2).unwrap());
    let b_calls = Arc::new(AtomicUsize::new(0));
    let bc = Arc::clone(&b_calls);
    b.register(move |_| {
        bc.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    let (wa, b2) = (Arc::downgrade(&a), Arc::clone(&b));
    a.register(move |_| {
        // Two levels of `a` are allowed, and `b` is counted on its own.
        assert_eq!(b2.notify(&0).delivered, 1);
        let _ = wa.upgrade().unwrap().try_notify(&0);
        Ok(())
    });
    assert_eq!(a.notify(&0).delivered, 1);
    assert_eq!(b_calls.load(Ordering::SeqCst), 2);
    assert_eq!(a.depth_exceeded(), 1);
    assert_eq!(b.depth_exceeded(), 0);
}

struct Canary(Arc<()>);

/// A handler that holds a reference to `canary` for as long as it lives.
fn holding(canary: &Arc<()>) -> impl Fn(&u32) -> Result<(), HandlerError> + Send + Sync + 'static {
    let c = Canary(Arc::clone(canary));
    move |_| {
        let _ = &c.0;
        Ok(())
    }
}

#[test]
fn register_unregister_cycles_leave_no_handler_alive() {
    let canary = Arc::new(());
    let reg: Registry<u32> = Registry::new();
    for _ in 0..10_000 {
        let id = reg.register(holding(&canary));
        reg.notify(&0);
        assert!(reg.unregister(id));
    }
    assert_eq!(Arc::strong_count(&canary), 1);
}

#[test]
fn clear_and_drop_release_every_handler() {
    let canary = Arc::new(());
    let reg: Registry<u32> = Registry::new();
    for _ in 0..10 {
        reg.register(holding(&canary));
    }
    assert_eq!(Arc::strong_count(&canary), 11);
    reg.clear();
    assert_eq!(Arc::strong_count(&canary), 1);
    for _ in 0..10 {
        reg.register(holding(&canary));
    }
    drop(reg);
    assert_eq!(Arc::strong_count(&canary), 1);
}

#[test]
fn unsized_byte_events_are_not_copied() {
    let reg: Registry<[u8]> = Registry::new();
    let seen = Arc::new(AtomicU64::new(0));
    let s = Arc::clone(&seen);
    let payload = b"hello".to_vec();
    let addr = payload.as_ptr() as u64;
    reg.register(move |e: &[u8]| {
        s.store(e.as_ptr() as u64, Ordering::SeqCst);
        Ok(())
    });
    reg.notify(&payload);
    assert_eq!(seen.load(Ordering::SeqCst), addr);
}

#[test]
fn concurrent_notifiers_and_writers_agree() {
    let reg: Arc<Registry<u64>> = Arc::new(Registry::new());
    let total = Arc::new(AtomicU64::new(0));
    let t = Arc::clone(&total);
    reg.register(move |e| {
        t.fetch_add(*e, Ordering::Relaxed);
        Ok(())
    });
    let notifiers: Vec<_> = (0..4)
        .map(|_| {
            let reg = Arc::clone(&reg);
            thread::spawn(move || {
                for _ in 0..20_000 {
                    let r = reg.notify(&1);
                    assert!(r.delivered >= 1 && r.failed == 0 && r.panicked == 0);
                }
            })
        })
        .collect();
    let writer = {
        let reg = Arc::clone(&reg);
        thread::spawn(move || {
            for _ in 0..2_000 {
                let id = reg.register(|_| Ok(()));
                assert!(reg.unregister(id));
            }
        })
    };
    for h in notifiers {
        h.join().unwrap();
    }
    writer.join().unwrap();
    assert_eq!(total.load(Ordering::Relaxed), 80_000);
    assert_eq!(reg.len(), 1);
}

#[test]
fn ids_of_another_registry_stale_ids_and_guessed_ids_match_nothing() {
    let a: Registry<u32> = Registry::new();
    let b: Registry<u32> = Registry::new();
    let a_id = a.register(|_| Ok(()));
    let b_id = b.register(|_| Ok(()));
    assert_ne!(a_id, b_id, "two registries issue different first ids");
    assert!(!b.unregister(a_id), "registry B must not remove its handler for A's id");
    assert!(!b.contains(a_id));
    assert!(b.contains(b_id) && a.contains(a_id));
    for guess in 0..10_000u64 {
        assert!(!b.contains(HandlerId::from_raw(guess)) || HandlerId::from_raw(guess) == b_id);
    }
    assert!(b.unregister(b_id));
    assert!(!b.unregister(b_id), "a stale id is not found");
    // The first ids of many registries are spread out, not 1, 2, 3.
    let firsts: std::collections::HashSet<u64> =
        (0..64).map(|_| Registry::<u32>::new().register(|_| Ok(())).get()).collect();
    assert_eq!(firsts.len(), 64);
    assert!(firsts.iter().all(|&id| id > 0 && id < 1 << 53));
}

#[test]
fn unregister_and_wait_drops_the_handler_before_it_returns() {
    let reg: Arc<Registry<u32>> = Arc::new(Registry::new());
    let canary = Arc::new(());
    let entered = Arc::new(std::sync::Barrier::new(2));
    let (c, e) = (Canary(Arc::clone(&canary)), Arc::clone(&entered));
    let id = reg.register(move |_| {
        let _ = &c.0;
        e.wait();
        thread::sleep(std::time::Duration::from_millis(20));
        Ok(())
    });
    let r = Arc::clone(&reg);
    let round = thread::spawn(move || r.notify(&0));
    entered.wait();
    assert!(reg.unregister_and_wait(id));
    assert_eq!(Arc::strong_count(&canary), 1, "the handler was dropped by the time the wait ended");
    assert_eq!(round.join().unwrap(), report(1, 0, 0));
}

/// Writes made while a round on another thread is in progress: rounds
/// started after them see them at once, a handler removed then is dropped
/// when that round ends (not when some later round or write comes), and a
/// wait for another handler ends once such a round has.
#[test]
fn writes_during_another_threads_round_take_effect_and_release_at_its_end() {
    let reg: Arc<Registry<u32>> = Arc::new(Registry::new());
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    // Priority 1 fires first; it holds up rounds of event 1 until told.
    reg.register_with_priority(1, move |&n| {
        if n == 1 {
            entered_tx.send(()).unwrap();
            go_rx.lock().unwrap().recv().unwrap();
        }
        Ok(())
    });
    let removed = Arc::new(());
    let removed_id = reg.register(holding(&removed));
    let waited = Arc::new(());
    let waited_id = reg.register(holding(&waited));
    let held_round = || {
        let r = Arc::clone(&reg);
        let round = thread::spawn(move || r.notify(&1));
        entered_rx.recv().unwrap();
        round
    };

    let round = held_round();
    assert!(reg.unregister(removed_id));
    let added = Arc::new(AtomicUsize::new(0));
    let a = Arc::clone(&added);
    reg.register(move |_| {
        a.fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    assert_eq!(reg.notify(&0), report(3, 0, 0));
    assert_eq!(added.load(Ordering::Relaxed), 1, "a round started after the write sees it");
    assert_eq!(Arc::strong_count(&removed), 2, "the round in progress may still reach it");
    go_tx.send(()).unwrap();
    // The round skipped the removed handler and, having started before it
    // was registered, did not run the new one.
    assert_eq!(round.join().unwrap(), report(2, 0, 0));
    assert_eq!(Arc::strong_count(&removed), 1, "dropped when the last round holding it ended");
    assert_eq!(added.load(Ordering::Relaxed), 1);

    let round = held_round();
    let r = Arc::clone(&reg);
    let waiter = thread::spawn(move || r.unregister_and_wait(waited_id));
    while reg.contains(waited_id) {
        thread::yield_now();
    }
    thread::sleep(std::time::Duration::from_millis(20));
    assert!(!waiter.is_finished(), "the round in progress can still reach the waited-for handler");
    assert_eq!(Arc::strong_count(&waited), 2);
    go_tx.send(()).unwrap();
    assert_eq!(round.join().unwrap(), report(2, 0, 0));
    assert!(waiter.join().unwrap());
    assert_eq!(Arc::strong_count(&waited), 1);
    assert_eq!(reg.notify(&0), report(2, 0, 0));
}

#[test]
fn clear_and_wait_and_unregister_and_wait_inside_a_handler_do_not_wait_for_their_own_round() {
    let reg: Arc<Registry<u32>> = Arc::new(Registry::new());
    let weak = Arc::downgrade(&reg);
    let sibling = reg.register_with_priority(-1, |_| Ok(()));
    reg.register_with_priority(1, move |_| {
        let reg = weak.upgrade().unwrap();
        assert!(reg.unregister_and_wait(sibling));
        reg.clear_and_wait();
        Ok(())
    });
    assert_eq!(reg.notify(&0), report(1, 0, 0), "the sibling removed mid-round was skipped");
    assert!(reg.is_empty());
}

#[test]
fn run_once_handlers_survive_nesting_unregistration_and_hostile_payloads() {
    quiet();
    let reg: Arc<Registry<u32>> = Arc::new(Registry::new());
    let runs = Arc::new(AtomicUsize::new(0));
    let (weak, r) = (Arc::downgrade(&reg), Arc::clone(&runs));
    reg.register_once(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
        // A nested round does not run it again.
        assert_eq!(weak.upgrade().unwrap().notify(&1).called(), 0);
        Ok(())
    });
    assert_eq!(reg.notify(&0), report(1, 0, 0));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(reg.is_empty());

    let never = Arc::new(AtomicUsize::new(0));
    let n = Arc::clone(&never);
    let id = reg.register_once(move |_| {
        n.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    assert!(reg.unregister(id));
    assert_eq!(reg.notify(&0), report(0, 0, 0));
    assert_eq!(never.load(Ordering::SeqCst), 0);

    struct Nasty;
    impl Drop for Nasty {
        fn drop(&mut self) {
            panic!("the payload's destructor panics");
        }
    }
    let id = reg.register_once(|_| std::panic::panic_any(Nasty));
    let hooked = Arc::new(Mutex::new(String::new()));
    let h = Arc::clone(&hooked);
    reg.on_panic(move |info| *h.lock().unwrap() = info.to_string());
    assert_eq!(reg.notify(&0), report(0, 0, 1));
    assert!(!reg.contains(id));
    assert_eq!(*hooked.lock().unwrap(), format!("{id} panicked: panic with a non-string payload"));
}

/// A payload whose destructor panics with a payload whose destructor
/// panics too: the second payload used to be dropped outside any
/// `catch_unwind`, so its panic escaped `notify`.
#[test]
fn a_payload_whose_destructor_panics_with_a_hostile_payload_is_contained() {
    quiet();
    struct Inner;
    impl Drop for Inner {
        fn drop(&mut self) {
            panic!("the second payload's destructor panics");
        }
    }
    struct Outer;
    impl Drop for Outer {
        fn drop(&mut self) {
            std::panic::panic_any(Inner);
        }
    }
    let reg: Registry<u32> = Registry::new();
    let hooked = Arc::new(AtomicUsize::new(0));
    let h = Arc::clone(&hooked);
    reg.on_panic(move |info| {
        assert!(info.payload().is::<Outer>());
        h.fetch_add(1, Ordering::SeqCst);
    });
    reg.register(|_| std::panic::panic_any(Outer));
    reg.register(|_| Ok(()));
    assert_eq!(reg.notify(&0), report(1, 0, 1));
    assert_eq!(hooked.load(Ordering::SeqCst), 1);
    assert_eq!(
        charter_core::panic::catch(|| std::panic::panic_any(Outer)).unwrap_err(),
        "panic with a non-string payload"
    );
}

/// A handler type of its own (as the C ABI's): the round's rules are the
/// same as for closures: order, outcomes, a panic caught, removal
/// mid-round, run-once through `call_once` and the handler dropped with
/// its registration.
#[test]
fn a_handler_type_of_its_own_follows_every_rule_of_a_round() {
    use charter_core::registry::Handler;
    quiet();

    struct Logged {
        name: &'static str,
        /// 0: Ok, 1: Err, 2: panic, 3: unregister `victim` (once).
        act: u8,
        log: Arc<Mutex<Vec<String>>>,
        victim: Arc<Mutex<Option<HandlerId>>>,
        registry: std::sync::Weak<Registry<u32, Logged>>,
    }
    impl Handler<u32> for Logged {
        fn call(&self, event: &u32) -> Result<(), HandlerError> {
            self.log.lock().unwrap().push(format!("{}{event}", self.name));
            match self.act {
                1 => Err(HandlerError),
                2 => panic!("{} panics", self.name),
                3 => {
                    if let Some(victim) = self.victim.lock().unwrap().take() {
                        assert!(self.registry.upgrade().unwrap().unregister(victim));
                    }
                    Ok(())
                }
                _ => Ok(()),
            }
        }
        fn call_once(&self, event: &u32) -> Result<(), HandlerError> {
            self.log.lock().unwrap().push(format!("once:{}", self.name));
            self.call(event)
        }
    }
    impl Drop for Logged {
        fn drop(&mut self) {
            self.log.lock().unwrap().push(format!("drop:{}", self.name));
        }
    }

    let log = Arc::new(Mutex::new(Vec::new()));
    let victim = Arc::new(Mutex::new(None));
    let reg = Arc::new(Registry::<u32, Logged>::empty());
    let make = |name, act| Logged {
        name,
        act,
        log: Arc::clone(&log),
        victim: Arc::clone(&victim),
        registry: Arc::downgrade(&reg),
    };
    reg.register_handler(0, make("ok", 0));
    reg.register_handler(5, make("fail", 1));
    reg.register_handler(-1, make("panic", 2));
    reg.register_handler(10, make("killer", 3));
    *victim.lock().unwrap() = Some(reg.register_handler(-5, make("victim", 0)));
    reg.register_handler_once(1, make("first", 0));
    assert_eq!(reg.len(), 6);

    assert_eq!(reg.notify(&1), report(3, 1, 1));
    assert_eq!(reg.notify(&2), report(2, 1, 1));
    assert_eq!(reg.panics(), 2);
    assert_eq!(
        *log.lock().unwrap(),
        [
            "killer1",
            "fail1",
            "once:first",
            "first1",
            "ok1",
            "panic1",
            "drop:first",
            "drop:victim",
            "killer2",
            "fail2",
            "ok2",
            "panic2",
        ]
    );
    assert_eq!(reg.len(), 4);
    assert!(Registry::<u32, Logged>::empty_with_max_depth(0).is_err());
    drop(reg);
    assert_eq!(log.lock().unwrap().len(), 16);
}
