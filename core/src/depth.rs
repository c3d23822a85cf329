//! Bounding how deeply callbacks may nest on one thread, over every bus and
//! registry together.
//!
//! A registry handler may call `notify` again and a bus handler may publish
//! again, to the same object or another one. Without a bound, two handlers
//! that feed each other (on one object, or ping-ponging between two buses,
//! or a bus and a registry) recurse until the native stack overflows.
//!
//! Invariants:
//!
//! * Each thread keeps one small, fixed stack of the objects (registries
//!   and buses, each identified by the address of its shared state) whose
//!   `notify` or publish is running on it. Taking a level allocates nothing
//!   and costs a few loads.
//! * At most [`MAX_THREAD_NESTING`] levels are active on a thread at once,
//!   whatever objects they belong to; each object also bounds its own
//!   levels below that (a registry by its `max_depth`, a bus by
//!   [`crate::bus::MAX_NESTING`]).
//! * A level is given back when its [`Level`] is dropped, so the stack is
//!   balanced even when a handler panics (the panic is caught above it).
//!
//! The bounds are chosen so that the deepest nesting Charter allows fits the
//! smallest stack it runs on (a 2 MiB thread running Python or JavaScript
//! handlers) with room to spare.

use std::cell::Cell;

/// The most `notify` and publish calls, over all registries and buses, that
/// may be active at once on one thread. Per-object limits are checked below
/// this.
pub const MAX_THREAD_NESTING: usize = 64;

struct Stack {
    len: Cell<usize>,
    keys: [Cell<usize>; MAX_THREAD_NESTING],
}

thread_local! {
    static STACK: Stack = const {
        Stack { len: Cell::new(0), keys: [const { Cell::new(0) }; MAX_THREAD_NESTING] }
    };
}

/// Proof that a nesting level was taken; gives it back when dropped.
pub(crate) struct Level(());

impl Drop for Level {
    #[inline]
    fn drop(&mut self) {
        // A thread being torn down has no stack left to balance.
        let _ = STACK.try_with(|s| s.len.set(s.len.get() - 1));
    }
}

/// Whether a `notify` or publish is running on this thread; the handlers it
/// runs have their panics caught, so the quiet panic hook keeps them silent.
#[inline]
pub(crate) fn active() -> bool {
    STACK.try_with(|s| s.len.get() > 0).unwrap_or(false)
}

/// Whether the object identified by `key` has a level on this thread: the
/// caller runs inside one of its callbacks.
#[inline]
pub(crate) fn inside(key: usize) -> bool {
    STACK.try_with(|s| s.keys[..s.len.get()].iter().any(|k| k.get() == key)).unwrap_or(false)
}

/// Whether the object identified by `key` had a level on this thread
/// below the last one taken: what [`enter_counting`]'s flag said when that
/// level was taken, asked again later by a caller that did not keep it (a
/// publish's rare slow path, so that its common path keeps no flag).
pub(crate) fn inside_below_last(key: usize) -> bool {
    STACK
        .try_with(|s| s.keys[..s.len.get().saturating_sub(1)].iter().any(|k| k.get() == key))
        .unwrap_or(false)
}

/// Takes a nesting level for the object identified by `key`, unless that
/// object is already active `max` times on this thread or the thread's
/// stack is full (or is being torn down).
///
/// While the thread has fewer levels than `max`, the object cannot have
/// `max` of them, so the level is taken without looking for the object's
/// (a registry's common case: one thread-local load, a compare, two
/// stores).
#[inline]
pub(crate) fn enter(key: usize, max: usize) -> Option<Level> {
    let taken = STACK
        .try_with(|s| {
            let len = s.len.get();
            if len < max.min(MAX_THREAD_NESTING) {
                s.keys[len].set(key);
                s.len.set(len + 1);
                true
            } else {
                false
            }
        })
        .unwrap_or(false);
    if taken {
        Some(Level(()))
    } else {
        enter_deep(key, max)
    }
}

/// [`enter`] once the thread has at least `max` levels: counts the
/// object's. Out of line: only nested callbacks come here.
#[cold]
#[inline(never)]
fn enter_deep(key: usize, max: usize) -> Option<Level> {
    enter_counting(key, max).map(|(level, _)| level)
}

/// [`enter`], also saying whether the object already had a level on this
/// thread (the caller is inside one of its callbacks), from the same look
/// at the stack: a flag rather than the count, so that the first level's
/// constant `false` folds into the publish instead of being tested. A thread with no level yet (a publish from
/// outside every handler, the common case) takes the first without
/// counting or bounds checks (callgrind, `budget_loop bus 1`: 332 -> 329
/// instructions a publish and receive; the publish among 10,000
/// subscriptions 361 -> 355).
#[inline]
pub(crate) fn enter_counting(key: usize, max: usize) -> Option<(Level, bool)> {
    STACK
        .try_with(|s| {
            if s.len.get() == 0 && max > 0 {
                s.keys[0].set(key);
                s.len.set(1);
                return Some((Level(()), false));
            }
            enter_nested(s, key, max)
        })
        .ok()
        .flatten()
}

/// [`enter_counting`] on a thread that already has a level: counts the
/// object's. Out of line, so that the publish inlines only the first
/// level's test and stores: inlined, the compiler tested the stack's
/// bound before the empty stack (callgrind, `budget_loop bus 1`).
#[cold]
#[inline(never)]
fn enter_nested(s: &Stack, key: usize, max: usize) -> Option<(Level, bool)> {
    let len = s.len.get();
    if len == MAX_THREAD_NESTING {
        return None;
    }
    let active = s.keys[..len].iter().filter(|k| k.get() == key).count();
    if active >= max {
        return None;
    }
    s.keys[len].set(key);
    s.len.set(len + 1);
    Some((Level(()), active > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flag says whether the object already had a level on the thread,
    /// at the first level (taken inline) and at later ones (counted out of
    /// line), and the object's own bound holds at later levels.
    #[test]
    fn enter_counting_says_whether_the_object_is_already_inside() {
        let (first, inside) = enter_counting(1, 2).unwrap();
        assert!(!inside);
        let (other, inside) = enter_counting(2, 2).unwrap();
        assert!(!inside, "another object's level is not this one's");
        let (second, inside) = enter_counting(1, 2).unwrap();
        assert!(inside);
        assert!(enter_counting(1, 2).is_none(), "a third level of object 1 is past its bound");
        drop((second, other, first));
        assert!(!active());
        let (_again, inside) = enter_counting(1, 2).unwrap();
        assert!(!inside, "every level was given back");
    }

    /// Asked later, the answer is the flag's at the last level taken.
    #[test]
    fn inside_below_last_repeats_the_last_levels_flag() {
        assert!(!inside_below_last(1), "no level at all");
        let first = enter_counting(1, 2).unwrap().0;
        assert!(!inside_below_last(1));
        let other = enter_counting(2, 2).unwrap().0;
        assert!(inside_below_last(1), "object 1 has a level below object 2's");
        assert!(!inside_below_last(2));
        let second = enter_counting(2, 2).unwrap().0;
        assert!(inside_below_last(2));
        drop((second, other, first));
        assert!(!inside_below_last(1));
    }
}
