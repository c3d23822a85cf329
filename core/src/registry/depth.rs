//! Bounding how deeply `notify` may nest on one thread.
//!
//! A handler may call `notify` again; without a bound, two handlers that
//! notify each other would overflow the stack. Each thread keeps a small,
//! fixed stack of the registries it is currently notifying, so the check
//! allocates nothing and costs a few loads.

use std::cell::Cell;

/// The most `notify` calls, over all registries, that may be active at once
/// on one thread. Per-registry limits are checked below this.
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
        STACK.with(|s| s.len.set(s.len.get() - 1));
    }
}

/// Whether a `notify` is running on this thread; its handlers' panics are
/// caught, so the quiet panic hook keeps them silent.
#[inline]
pub(crate) fn active() -> bool {
    STACK.with(|s| s.len.get() > 0)
}

/// Takes a nesting level for the registry identified by `key`, unless that
/// registry is already active `max` times on this thread or the thread's
/// stack is full.
#[inline]
pub(crate) fn enter(key: usize, max: usize) -> Option<Level> {
    STACK.with(|s| {
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
        Some(Level(()))
    })
}
