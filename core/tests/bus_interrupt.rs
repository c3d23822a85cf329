//! A `BLOCK` publisher's wait can be interrupted by a check that a
//! language runtime installs (Python's Ctrl-C), and only by that.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use charter_core::bus::{interruptible, Bus, BusLimits, Overflow, SubscribeOptions, INTERRUPT_CHECK};
use charter_core::{Error, ErrorKind};

fn full_block_queue(wait: Duration) -> (Bus, charter_core::bus::Subscription) {
    let bus = Bus::new(BusLimits::default()).unwrap();
    let sub =
        bus.subscribe("q", SubscribeOptions::new().capacity(1).overflow(Overflow::Block(wait))).unwrap();
    bus.publish("q", &b"fills it"[..], &[]).unwrap();
    (bus, sub)
}

#[test]
fn a_failing_check_ends_a_block_wait_and_counts_the_message() {
    for wait in [Duration::from_secs(30), Duration::MAX] {
        let (bus, sub) = full_block_queue(wait);
        let calls = Rc::new(Cell::new(0));
        let counted = Rc::clone(&calls);
        let started = Instant::now();
        let err = interruptible(
            move || {
                counted.set(counted.get() + 1);
                if counted.get() == 2 {
                    Err(Error::new(ErrorKind::Cancelled, "interrupted"))
                } else {
                    Ok(())
                }
            },
            || bus.publish("q", &b"waits"[..], &[]),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Cancelled);
        assert_eq!(calls.get(), 2);
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
        assert!(started.elapsed() >= INTERRUPT_CHECK, "the check runs between slices, not at once");
        let stats = sub.stats();
        assert_eq!((stats.received, stats.delivered, stats.queued, stats.dropped.timeout), (2, 0, 1, 1));
    }
}

#[test]
fn a_passing_check_leaves_the_wait_to_room_and_outside_it_nothing_is_installed() {
    let (bus, sub) = full_block_queue(Duration::from_millis(250));
    let err = interruptible(|| Ok(()), || bus.publish("q", &b"times out"[..], &[])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    // Room wakes the wait at once, check or not.
    let drainer = {
        let sub = bus.subscription(sub.id()).unwrap();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            sub.try_recv().unwrap().unwrap();
        })
    };
    interruptible(|| Ok(()), || bus.publish("q", &b"gets room"[..], &[])).unwrap();
    drainer.join().unwrap();
    assert_eq!(sub.stats().dropped.timeout, 1);
}

/// The check runs with the queue's lock released, so the subscription can
/// end meanwhile (Python: a signal handler, or another thread, closes it).
/// Closing empties the queue; the waiting message must then count as
/// dropped for `closed`, never land in the closed queue as delivered.
#[test]
fn a_subscription_closed_while_the_check_runs_drops_the_waiting_message() {
    for wait in [Duration::from_secs(30), Duration::MAX] {
        let (bus, sub) = full_block_queue(wait);
        let (id, closer) = (sub.id(), bus.clone());
        let report = interruptible(
            move || {
                closer.unsubscribe(id)?;
                Ok(())
            },
            || bus.publish("q", &b"waits"[..], &[]),
        )
        .unwrap();
        assert_eq!((report.matched, report.delivered, report.dropped), (1, 0, 1));
        let stats = sub.stats();
        assert_eq!((stats.received, stats.delivered, stats.queued, stats.dropped.closed), (2, 0, 0, 2));
    }
}
