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
//! * Rounds reach entries only through snapshots. A round reads the
//!   snapshot in `shared` with that lock read-held until it ends, or,
//!   while `shared` is behind `latest` (a write has not been applied to it
//!   yet), holds a counted reference to `latest`'s snapshot. So once an
//!   entry is out of `latest` and `shared` has caught up, its reference
//!   count falls to the holder's own reference exactly when no round can
//!   still reach it; [`Table::wait_until_unused`] relies on this.
//! * `shared` is caught up (the old snapshot taken out and dropped, outside
//!   every lock) by whoever finds it stale with no round reading it: the
//!   writer itself when no round is in progress, else the last round to
//!   end, or a waiter. So a removed handler is dropped when the last round
//!   holding it ends, as before.
//!
//! Why: a round's fixed cost is the hottest path of the registry. Holding
//! `shared` read-locked costs a round two atomic read-modify-writes (the
//! read lock in and out), where cloning `latest` under its lock costs four
//! (the lock in and out, the count up and down); each is tens of cycles.
//! A write never waits for `shared` (it only tries its write lock), so a
//! handler may register or unregister in its own round, and a round may
//! nest in another on the same thread (no writer ever waits for the lock,
//! so a read lock never queues behind one). arc-swap's guard was dearer
//! still (about 55 instructions: a thread-local debt slot taken and paid
//! back, docs/BENCHMARKS.md), and a per-thread cached snapshot would keep
//! removed handlers alive in threads that stop notifying.
//!
//! The stale flag and the read lock meet the way a hazard pointer does: a
//! writer sets the flag (sequentially consistent, then a fence), then
//! tries the write lock; a round releases its read lock (a release
//! read-modify-write of the lock word), fences, then loads the flag. If
//! the writer's try fails because the round still reads, the round's load
//! sees the flag, and it catches `shared` up itself. The round's fence is
//! what the language's memory model asks for: without it the argument
//! would rest on each CPU's mapping of a sequentially consistent load
//! (x86 and ARMv8 would hold, 32-bit ARM's trailing-fence mapping would
//! not), and it costs about 2 ns of the 6 a round saves
//! (docs/BENCHMARKS.md, instruction budgets, round 10). Any later round,
//! write or waiter catches up a stale `shared` too.

use std::any::Any;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use parking_lot::{Mutex as SnapshotLock, RwLock, RwLockReadGuard};

use super::handler::{Entry, Ids};
use super::panic_info::PanicInfo;
use super::HandlerId;

pub(crate) type Slot<H> = Arc<Entry<H>>;
/// What a write replaced: `latest`'s snapshot, and `shared`'s if it was
/// caught up at once.
type Replaced<H> = (Arc<Snapshot<H>>, Option<Arc<Snapshot<H>>>);
/// A round's read of `shared`.
pub(crate) type Reading<'a, H> = RwLockReadGuard<'a, Arc<Snapshot<H>>>;

type PanicHook = Box<dyn Fn(&PanicInfo<'_>) + Send + Sync>;

/// The handlers in firing order. Never mutated once published.
pub(crate) struct Snapshot<H> {
    pub(crate) entries: Box<[Slot<H>]>,
}

pub(crate) struct Table<H> {
    /// The current snapshot, as the last write left it; the lock guards
    /// only the pointer's swap and clone.
    latest: SnapshotLock<Arc<Snapshot<H>>>,
    /// The snapshot rounds read, read-locked for a whole round: `latest`'s,
    /// or an older one while `stale` is set.
    shared: RwLock<Arc<Snapshot<H>>>,
    /// Set by a write that could not update `shared` at once (a round was
    /// reading it); cleared by whoever updates it.
    stale: AtomicBool,
    /// Serializes writers; hands out ids.
    writer: Mutex<Ids>,
    len: AtomicUsize,
    on_panic: ArcSwapOption<PanicHook>,
    panics: AtomicU64,
}

impl<H> Table<H> {
    pub(crate) fn new() -> Table<H> {
        let empty = Arc::new(Snapshot { entries: Box::new([]) });
        Table {
            latest: SnapshotLock::new(Arc::clone(&empty)),
            shared: RwLock::new(empty),
            stale: AtomicBool::new(false),
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
        let (old, shared) = self.publish(Vec::new());
        drop(writer);
        drop(current);
        // Cloned so the caller holds the entries themselves, not the
        // snapshots; dropping them here runs no handler destructor.
        let entries = old.entries.clone();
        drop((old, shared));
        entries
    }

    pub(crate) fn contains(&self, id: HandlerId) -> bool {
        self.load_full().entries.iter().any(|e| e.id == id)
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// The current snapshot as a counted reference: what writers build
    /// on, and what a round holds while `shared` is stale.
    #[inline]
    pub(crate) fn load_full(&self) -> Arc<Snapshot<H>> {
        Arc::clone(&self.latest.lock())
    }

    /// Whether a write has not reached `shared` yet: a round then holds
    /// [`load_full`](Table::load_full) instead of reading `shared`.
    #[inline(always)]
    pub(crate) fn is_stale(&self) -> bool {
        self.stale.load(Ordering::SeqCst)
    }

    /// `shared`, read-locked for one round; give it back with
    /// [`release`](Table::release).
    ///
    /// A plain read lock, though rounds nest on one thread: a read lock
    /// waits only while a writer holds the lock, and writers only ever try
    /// it (never wait for it), so the lock is write-held only while no
    /// round reads it, never under a round of this thread.
    /// (`read_recursive` checks one more case for the same result.)
    #[inline(always)]
    pub(crate) fn read(&self) -> Reading<'_, H> {
        self.shared.read()
    }

    /// Ends a round's read; the last round to read a stale `shared` brings
    /// it up to date (and drops what it replaced, after every lock).
    #[inline(always)]
    pub(crate) fn release(&self, reading: Reading<'_, H>) {
        drop(reading);
        fence(Ordering::SeqCst);
        if self.stale.load(Ordering::SeqCst) {
            self.catch_up();
        }
    }

    /// Brings `shared` up to `latest` unless a round is reading it, and
    /// drops the snapshot it replaced after every lock is released (a
    /// handler's destructor may use the registry).
    #[cold]
    #[inline(never)]
    pub(crate) fn catch_up(&self) {
        let Some(mut shared) = self.shared.try_write() else {
            return;
        };
        if !self.stale.swap(false, Ordering::SeqCst) {
            return;
        }
        let latest = self.load_full();
        let old = std::mem::replace(&mut *shared, latest);
        drop(shared);
        drop(old);
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

    /// Swaps in a snapshot of `entries`, and into `shared` too unless a
    /// round is reading it (then the flag tells the rounds, and the last one
    /// reading it catches it up); returns the old ones so the caller can
    /// drop them (and perhaps the last reference to a handler) after the
    /// writer lock is released.
    fn publish(&self, entries: Vec<Slot<H>>) -> Replaced<H> {
        let len = entries.len();
        let new = Arc::new(Snapshot { entries: entries.into_boxed_slice() });
        let old = std::mem::replace(&mut *self.latest.lock(), Arc::clone(&new));
        self.len.store(len, Ordering::Release);
        self.stale.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let shared = self.shared.try_write().and_then(|mut shared| {
            // Cleared before `shared` is written: a later write sets it again.
            self.stale.swap(false, Ordering::SeqCst).then(|| std::mem::replace(&mut *shared, new))
        });
        (old, shared)
    }

    /// Blocks until no round can still reach `entry`, then drops it, and
    /// with it the handler (unless a caller elsewhere kept a reference,
    /// which the registries never do).
    ///
    /// `entry` must already be out of `latest`. Each check first catches
    /// `shared` up if no round reads it any more. Spins briefly, then
    /// yields, then sleeps up to a millisecond between checks: a round that
    /// holds the entry is running a handler, which takes its own time.
    pub(crate) fn wait_until_unused(&self, mut entry: Slot<H>) {
        let mut checks = 0u32;
        // `get_mut` succeeds only when this is the last reference, and it
        // synchronizes with the release of every other one: whatever the
        // rounds that held it did happens before this returns.
        while {
            self.catch_up();
            Arc::get_mut(&mut entry).is_none()
        } {
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
}
