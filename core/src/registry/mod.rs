//! The handler registry: register callbacks, then `notify` them all.
//!
//! # Design
//!
//! The registered handlers live in an immutable, sorted snapshot behind an
//! [`ArcSwap`]. `notify` borrows the current snapshot without a lock and
//! without touching a shared reference count, then calls each handler in
//! turn. Writers (`register`, `unregister`, `clear`) are serialized by a
//! mutex, build a new snapshot, swap it in and drop the old one after the
//! mutex is released, so a handler's destructor may itself use the registry.
//!
//! Guarantees:
//!
//! * **Order.** Higher priority fires first; equal priorities fire in
//!   registration order.
//! * **Isolation.** Each handler runs inside `catch_unwind`. A panic is
//!   counted, reported to the [`on_panic`](Registry::on_panic) hook, and
//!   never reaches siblings or the caller.
//! * **Re-entrancy.** A handler may register, unregister (itself included)
//!   and notify. A handler unregistered during a round is not called later
//!   in that round; one registered during a round is first called in the
//!   next. Nested `notify` on one thread is bounded (default 8 levels).
//! * **No allocation.** `notify` allocates nothing (proved by a dhat test).

mod handler;
mod report;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::{ArcSwap, ArcSwapOption};

use crate::depth;
use crate::panic::message_of;
use crate::{Error, ErrorKind};
use handler::Entry;

pub use crate::depth::MAX_THREAD_NESTING;
pub use handler::{HandlerError, HandlerId, HandlerResult};
pub use report::NotifyReport;

/// The default bound on nested `notify` calls of one registry on one thread.
pub const DEFAULT_MAX_DEPTH: usize = 8;

type Handler<E> = dyn Fn(&E) -> HandlerResult + Send + Sync;
type Slot<E> = Arc<Entry<Handler<E>>>;
type PanicHook = Box<dyn Fn(HandlerId, &str) + Send + Sync>;

/// The handlers in firing order. Never mutated once published.
struct Snapshot<E: ?Sized> {
    entries: Box<[Slot<E>]>,
}

/// A set of handlers for events of type `E`, notified together.
///
/// `E` may be unsized, so a `Registry<[u8]>` dispatches byte slices without
/// copying them.
///
/// ```
/// use charter_core::{Registry, NotifyReport};
///
/// let registry: Registry<str> = Registry::new();
/// let id = registry.register(|event: &str| {
///     assert_eq!(event, "config reloaded");
///     Ok(())
/// });
/// let report = registry.notify("config reloaded");
/// assert_eq!(report, NotifyReport { delivered: 1, failed: 0, panicked: 0 });
/// assert!(registry.unregister(id));
/// ```
pub struct Registry<E: ?Sized> {
    snapshot: ArcSwap<Snapshot<E>>,
    /// Serializes writers; holds the next id to hand out.
    writer: Mutex<u64>,
    len: AtomicUsize,
    max_depth: usize,
    on_panic: ArcSwapOption<PanicHook>,
    panics: AtomicU64,
    depth_exceeded: AtomicU64,
}

/// Returned by [`Registry::try_notify`] when the nesting bound was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepthExceeded {
    /// The registry's bound on nested `notify` calls.
    pub max_depth: usize,
}

impl From<DepthExceeded> for Error {
    fn from(e: DepthExceeded) -> Error {
        Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "notify nested more than {} levels deep on this thread (or more than {} \
                 notify calls of all registries active at once); the call was counted, not run",
                e.max_depth, MAX_THREAD_NESTING
            ),
        )
    }
}

impl<E: ?Sized> Registry<E> {
    /// An empty registry with the default nesting bound.
    pub fn new() -> Registry<E> {
        Registry {
            snapshot: ArcSwap::from_pointee(Snapshot { entries: Box::new([]) }),
            writer: Mutex::new(1),
            len: AtomicUsize::new(0),
            max_depth: DEFAULT_MAX_DEPTH,
            on_panic: ArcSwapOption::empty(),
            panics: AtomicU64::new(0),
            depth_exceeded: AtomicU64::new(0),
        }
    }

    /// An empty registry whose `notify` may nest at most `max_depth` levels
    /// on one thread. `max_depth` must be between 1 and
    /// [`MAX_THREAD_NESTING`].
    pub fn with_max_depth(max_depth: usize) -> crate::Result<Registry<E>> {
        if !(1..=MAX_THREAD_NESTING).contains(&max_depth) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("max_depth must be between 1 and {MAX_THREAD_NESTING}, got {max_depth}"),
            ));
        }
        Ok(Registry { max_depth, ..Registry::new() })
    }

    /// Registers `handler` with priority 0.
    pub fn register<F>(&self, handler: F) -> HandlerId
    where
        F: Fn(&E) -> HandlerResult + Send + Sync + 'static,
    {
        self.register_with_priority(0, handler)
    }

    /// Registers `handler`; higher priorities fire first.
    pub fn register_with_priority<F>(&self, priority: i32, handler: F) -> HandlerId
    where
        F: Fn(&E) -> HandlerResult + Send + Sync + 'static,
    {
        let mut next_id = self.lock_writer();
        let id = HandlerId(*next_id);
        *next_id += 1;
        let handler: Box<Handler<E>> = Box::new(handler);
        let entry: Slot<E> = Arc::new(Entry { id, priority, live: AtomicBool::new(true), handler });
        let current = self.snapshot.load_full();
        let at = current.entries.iter().take_while(|e| e.fires_before(priority, id)).count();
        let mut entries = Vec::with_capacity(current.entries.len() + 1);
        entries.extend_from_slice(&current.entries[..at]);
        entries.push(entry);
        entries.extend_from_slice(&current.entries[at..]);
        let old = self.publish(entries);
        drop(next_id);
        drop((old, current));
        id
    }

    /// Removes the registration `id`. Returns whether it was registered.
    ///
    /// The handler is not called again after this returns, nor later in a
    /// round that is in progress on this thread. It is dropped once no
    /// round in progress on another thread can still be calling it.
    pub fn unregister(&self, id: HandlerId) -> bool {
        let writer = self.lock_writer();
        let current = self.snapshot.load_full();
        let Some(at) = current.entries.iter().position(|e| e.id == id) else {
            return false;
        };
        current.entries[at].live.store(false, Ordering::Release);
        let entries: Vec<Slot<E>> = current
            .entries
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != at)
            .map(|(_, e)| Arc::clone(e))
            .collect();
        let old = self.publish(entries);
        drop(writer);
        drop((old, current));
        true
    }

    /// Whether `id` is currently registered.
    pub fn contains(&self, id: HandlerId) -> bool {
        self.snapshot.load().entries.iter().any(|e| e.id == id)
    }

    /// How many handlers are registered.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Whether no handler is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every handler. Rounds in progress skip the handlers they have
    /// not reached yet.
    pub fn clear(&self) {
        let writer = self.lock_writer();
        let current = self.snapshot.load_full();
        for entry in current.entries.iter() {
            entry.live.store(false, Ordering::Release);
        }
        let old = self.publish(Vec::new());
        drop(writer);
        drop((old, current));
    }

    /// Sets the hook that receives the id and message of every handler
    /// panic, replacing any earlier hook. A panic inside the hook is
    /// swallowed.
    pub fn on_panic<F>(&self, hook: F)
    where
        F: Fn(HandlerId, &str) + Send + Sync + 'static,
    {
        self.on_panic.store(Some(Arc::new(Box::new(hook))));
    }

    /// Calls every handler with `event`, in firing order.
    ///
    /// Past the nesting bound the call runs no handler and returns an empty
    /// report; [`depth_exceeded`](Registry::depth_exceeded) counts it. Use
    /// [`try_notify`](Registry::try_notify) to see that case as an error.
    #[inline]
    pub fn notify(&self, event: &E) -> NotifyReport {
        // Checked here too, so that notifying an empty registry costs the
        // caller one load and no call.
        if self.len.load(Ordering::Acquire) == 0 {
            return NotifyReport::default();
        }
        self.try_notify(event).unwrap_or_default()
    }

    /// Like [`notify`](Registry::notify), but reports the nesting bound as
    /// an error instead of an empty report.
    pub fn try_notify(&self, event: &E) -> Result<NotifyReport, DepthExceeded> {
        let mut report = NotifyReport::default();
        if self.len.load(Ordering::Acquire) == 0 {
            return Ok(report);
        }
        let key = self as *const Self as *const () as usize;
        let Some(_level) = depth::enter(key, self.max_depth) else {
            self.depth_exceeded.fetch_add(1, Ordering::Relaxed);
            return Err(DepthExceeded { max_depth: self.max_depth });
        };
        let snapshot = self.snapshot.load();
        for entry in snapshot.entries.iter() {
            if !entry.live.load(Ordering::Acquire) {
                continue;
            }
            let handler = &entry.handler;
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(event))) {
                Ok(Ok(())) => report.delivered += 1,
                Ok(Err(HandlerError)) => report.failed += 1,
                Err(payload) => {
                    report.panicked += 1;
                    self.handle_panic(entry.id, payload);
                }
            }
        }
        Ok(report)
    }

    /// How many handler panics were caught over the registry's life.
    pub fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    /// How many `notify` calls were refused by the nesting bound.
    pub fn depth_exceeded(&self) -> u64 {
        self.depth_exceeded.load(Ordering::Relaxed)
    }

    /// The bound on nested `notify` calls of this registry on one thread.
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }

    #[cold]
    #[inline(never)]
    fn handle_panic(&self, id: HandlerId, payload: Box<dyn std::any::Any + Send>) {
        self.panics.fetch_add(1, Ordering::Relaxed);
        let message = message_of(payload);
        if let Some(hook) = self.on_panic.load_full() {
            let _ = crate::panic::catch(|| hook(id, &message));
        }
    }

    fn lock_writer(&self) -> MutexGuard<'_, u64> {
        // Nothing that can panic runs under this lock, but a poisoned lock
        // would still hold a consistent counter.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Swaps in a snapshot of `entries`; returns the old one so the caller
    /// can drop it (and perhaps the last reference to a handler) after the
    /// writer lock is released.
    fn publish(&self, entries: Vec<Slot<E>>) -> Arc<Snapshot<E>> {
        let len = entries.len();
        let old = self.snapshot.swap(Arc::new(Snapshot { entries: entries.into_boxed_slice() }));
        self.len.store(len, Ordering::Release);
        old
    }
}

impl<E: ?Sized> Default for Registry<E> {
    fn default() -> Registry<E> {
        Registry::new()
    }
}

impl<E: ?Sized> fmt::Debug for Registry<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("len", &self.len())
            .field("max_depth", &self.max_depth)
            .field("panics", &self.panics())
            .field("depth_exceeded", &self.depth_exceeded())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn registry_is_send_and_sync_for_unsized_events() {
        assert_send_sync::<Registry<[u8]>>();
        assert_send_sync::<Registry<str>>();
        assert_send_sync::<Registry<u64>>();
    }

    #[test]
    fn max_depth_is_validated() {
        assert_eq!(Registry::<u8>::with_max_depth(0).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(
            Registry::<u8>::with_max_depth(MAX_THREAD_NESTING + 1).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(Registry::<u8>::with_max_depth(3).unwrap().max_depth(), 3);
    }
}
