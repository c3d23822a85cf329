//! The short spin of a blocking receive before it parks.
//!
//! A receiver that finds its queue empty looks again for up to [`SPIN`]
//! before it parks on the queue's condition variable. A message that
//! follows within microseconds (a reply, the next hop of a pipeline such
//! as a pair of NATS bridges) is then taken by a thread that is still
//! running: the publisher makes no wake-up system call, and the
//! receiver's core has not gone idle. Waking an idle core costs tens of
//! microseconds on a virtual machine whose idle cores halt
//! (docs/BENCHMARKS.md, "NATS bridge", round 19), more than the whole
//! hop. The spin is bounded: a receive spins once, so a receiver that
//! waits longer costs at most [`SPIN`] of CPU per message it waited for,
//! and nothing while it stays parked.
//!
//! After its first few microseconds the spin yields its core between
//! looks, so a thread waiting for that core runs first. A receiver that
//! yields is still runnable, though: on cores busy with other work it may
//! get its core back only at the scheduler's next turn, which costs a few
//! microseconds of latency under load (docs/BENCHMARKS.md, "NATS bridge",
//! round 19). A back-off that stopped spinning after a long gap between
//! looks was tried there and dropped: on a mostly idle machine it stopped
//! the spin where it helps.

use std::time::{Duration, Instant};

/// How long a blocking receive looks before it parks: about the time a
/// message takes through a pair of NATS bridges on an idle machine once
/// no thread on its way has to be woken from an idle core.
pub(crate) const SPIN: Duration = Duration::from_micros(50);

/// How long the spin only pauses (`spin_loop`) between looks before it
/// starts yielding its core to any thread waiting for it.
const PAUSED: Duration = Duration::from_micros(5);

/// The pause hints between two looks while the spin only pauses: a few
/// hundred nanoseconds, so that the receiver's looks (each takes the
/// queue's lock) leave the publisher's turns at the lock free.
const PAUSES: u32 = 64;

/// Calls `look` until it gives something, for up to [`SPIN`] and never
/// past `until` (`None`: no deadline of the caller's own); `None` once
/// the spin is over without it. `look` is called at least once.
pub(crate) fn spin<T>(until: Option<Instant>, mut look: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    let end = start.checked_add(SPIN).map_or(until, |end| Some(until.map_or(end, |u| u.min(end))));
    loop {
        if let Some(found) = look() {
            return Some(found);
        }
        let now = Instant::now();
        if end.is_none_or(|end| now >= end) {
            return None;
        }
        if now - start < PAUSED {
            for _ in 0..PAUSES {
                std::hint::spin_loop();
            }
        } else {
            std::thread::yield_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_first_look_finds_is_returned_without_a_second() {
        let mut looks = 0;
        let found = spin(None, || {
            looks += 1;
            Some(7)
        });
        assert_eq!((found, looks), (Some(7), 1));
    }

    #[test]
    fn it_looks_again_until_something_is_found() {
        let mut looks = 0;
        let found = spin(None, || {
            looks += 1;
            (looks == 3).then_some(looks)
        });
        assert_eq!(found, Some(3));
    }

    #[test]
    fn nothing_found_ends_the_spin_no_sooner_than_its_bound() {
        let start = Instant::now();
        let mut looks = 0u32;
        let found: Option<()> = spin(None, || {
            looks += 1;
            None
        });
        assert_eq!(found, None);
        assert!(looks > 1, "it looked more than once");
        assert!(start.elapsed() >= SPIN);
    }

    #[test]
    fn a_deadline_sooner_than_the_bound_is_waited_for() {
        let until = Instant::now() + SPIN / 5;
        let found: Option<()> = spin(Some(until), || None);
        assert_eq!(found, None);
        assert!(Instant::now() >= until);
    }

    /// The deadline, not the bound, ends a spin that has one sooner: here
    /// the first look is the last.
    #[test]
    fn a_deadline_already_past_still_looks_once() {
        let mut looks = 0;
        let found = spin(Some(Instant::now()), || {
            looks += 1;
            None::<()>
        });
        assert_eq!((found, looks), (None, 1));
    }
}
