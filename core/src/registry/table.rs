//! The handler table that the sync and async registries share: ids, the
//! sorted snapshot, the writer lock, the panic hook and the panic count.
//!
//! Invariants:
//!
//! * A published [`Snapshot`] is never mutated; writers build a new one
//!   under the writer lock and swap it in.
//! * No handler code and no handler destructor runs under the writer lock:
//!   every write returns what it replaced, and the caller drops it after
//!   the lock is released.
//! * Rounds reach entries only through snapshots, and a round holds a
//!   counted reference to its snapshot (cloned under the snapshot lock,
//!   which is held for nothing else). So once an entry is out of the
//!   current snapshot, its reference count falls to the holder's own
//!   reference exactly when no round can still reach it;
//!   [`wait_until_unused`] relies on this.
//!
//! Why a lock and a reference count rather than arc-swap: a round's fixed
//! cost is the hottest path of the registry, and an uncontended lock plus
//! one count up and down is about 15 instructions, where arc-swap's guard
//! (a thread-local debt slot taken and paid back) was about 55 (callgrind,
//! docs/BENCHMARKS.md). The lock is parking_lot's mutex, one
//! compare-and-swap in and one out (std's read-write lock took 13
//! instructions for the pair, parking_lot's 16, this one 8): it is held
//! only while a count is added, so readers that meet on it wait a few
//! instructions, and they write the same cache line either way (a read
//! lock's reader count is a shared write too). Writers hold it only for
//! the swap itself, never while a handler or destructor runs, and nothing
//! that can panic runs under it.

use std::any::Any;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use parking_lot::Mutex as SnapshotLock;

use super::handler::{Entry, Ids};
use super::panic_info::PanicInfo;
use super::HandlerId;

pub(crate) type Slot<H> = Arc<Entry<H>>;
type PanicHook = Box<dyn Fn(&PanicInfo<'_>) + Send + Sync>;

/// The handlers in firing order. Never mutated once published.
pub(crate) struct Snapshot<H> {
    pub(crate) entries: Box<[Slot<H>]>,
}

pub(crate) struct Table<H> {
    /// The current snapshot; the lock guards only the pointer's swap.
    snapshot: SnapshotLock<Arc<Snapshot<H>>>,
    /// Serializes writers; hands out ids.
    writer: Mutex<Ids>,
    len: AtomicUsize,
    on_panic: ArcSwapOption<PanicHook>,
    panics: AtomicU64,
}

impl<H> Table<H> {
    pub(crate) fn new() -> Table<H> {
        Table {
            snapshot: SnapshotLock::new(Arc::new(Snapshot { entries: Box::new([]) })),
            writer: Mutex::new(Ids::new()),
            len: AtomicUsize::new(0),
            on_panic: ArcSwapOption::empty(),
            panics: AtomicU64::new(0),
        }
    }

    /// Adds `handler` in firing order and returns its id.
    pub(crate) fn insert(&self, priority: i32, once: bool, handler: H) -> HandlerId {
        let mut ids = self.lock_writer();
        let (seq, id) = ids.next();
        let state = Entry::<H>::initial_state(once);
        let entry = Arc::new(Entry { id, seq, priority, state, handler });
        let current = self.load_full();
        let at = current.entries.iter().take_while(|e| e.fires_before(priority, seq)).count();
        let mut entries = Vec::with_capacity(current.entries.len() + 1);
        entries.extend_from_slice(&current.entries[..at]);
        entries.push(entry);
        entries.extend_from_slice(&current.entries[at..]);
        let old = self.publish(entries);
        drop(ids);
        drop((old, current));
        id
    }

    /// Takes registration `id` out of the table and returns it, or `None`
    /// if it is not registered. Rounds in progress skip it from now on.
    pub(crate) fn remove(&self, id: HandlerId) -> Option<Slot<H>> {
        let writer = self.lock_writer();
        let current = self.load_full();
        let at = current.entries.iter().position(|e| e.id == id)?;
        let removed = Arc::clone(&current.entries[at]);
        removed.kill();
        let entries: Vec<Slot<H>> = current
            .entries
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != at)
            .map(|(_, e)| Arc::clone(e))
            .collect();
        let old = self.publish(entries);
        drop(writer);
        drop((old, current));
        Some(removed)
    }

    /// Takes every registration out of the table and returns them.
    pub(crate) fn clear(&self) -> Box<[Slot<H>]> {
        let writer = self.lock_writer();
        let current = self.load_full();
        for entry in current.entries.iter() {
            entry.kill();
        }
        let old = self.publish(Vec::new());
        drop(writer);
        drop(current);
        // Cloned so the caller holds the entries themselves, not the
        // snapshot; dropping the snapshot here runs no handler destructor.
        old.entries.clone()
    }

    pub(crate) fn contains(&self, id: HandlerId) -> bool {
        self.load_full().entries.iter().any(|e| e.id == id)
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// The current snapshot as a counted reference, held for one round.
    #[inline]
    pub(crate) fn load_full(&self) -> Arc<Snapshot<H>> {
        Arc::clone(&self.snapshot.lock())
    }

    pub(crate) fn set_hook(&self, hook: PanicHook) {
        self.on_panic.store(Some(Arc::new(hook)));
    }

    pub(crate) fn clear_hook(&self) {
        self.on_panic.store(None);
    }

    pub(crate) fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    /// Counts a handler panic, shows it to the hook, then drops the payload.
    /// A panic in the hook, or in the payload's destructor, is contained.
    #[cold]
    #[inline(never)]
    pub(crate) fn report_panic(&self, id: HandlerId, payload: Box<dyn Any + Send>) {
        self.panics.fetch_add(1, Ordering::Relaxed);
        if let Some(hook) = self.on_panic.load_full() {
            let info = PanicInfo::new(id, &*payload);
            let _scope = crate::panic::CatchScope::enter();
            if let Err(hook_payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(&info)))
            {
                crate::panic::drop_contained(hook_payload);
            }
        }
        crate::panic::drop_contained(payload);
    }

    fn lock_writer(&self) -> MutexGuard<'_, Ids> {
        // Nothing that can panic runs under this lock, but a poisoned lock
        // would still hold a consistent counter.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Swaps in a snapshot of `entries`; returns the old one so the caller
    /// can drop it (and perhaps the last reference to a handler) after the
    /// writer lock is released.
    fn publish(&self, entries: Vec<Slot<H>>) -> Arc<Snapshot<H>> {
        let len = entries.len();
        let new = Arc::new(Snapshot { entries: entries.into_boxed_slice() });
        let old = std::mem::replace(&mut *self.snapshot.lock(), new);
        self.len.store(len, Ordering::Release);
        old
    }
}

/// Blocks until no round can still reach `entry`, then drops it, and with
/// it the handler (unless a caller elsewhere kept a reference, which the
/// registries never do).
///
/// `entry` must already be out of the current snapshot. Spins briefly,
/// then yields, then sleeps up to a millisecond between checks: a round
/// that holds the entry is running a handler, which takes its own time.
pub(crate) fn wait_until_unused<H>(mut entry: Slot<H>) {
    let mut checks = 0u32;
    // `get_mut` succeeds only when this is the last reference, and it
    // synchronizes with the release of every other one: whatever the
    // rounds that held it did happens before this returns.
    while Arc::get_mut(&mut entry).is_none() {
        checks += 1;
        if checks < 64 {
            std::hint::spin_loop();
        } else if checks < 128 {
            std::thread::yield_now();
        } else {
            let micros = 1u64 << (checks - 128).min(10);
            std::thread::sleep(Duration::from_micros(micros));
        }
    }
}
