//! The handler registry: register callbacks, then `notify` them all.
//!
//! # Design
//!
//! The registered handlers live in an immutable, sorted snapshot. `notify`
//! read-locks the snapshot for its round (two atomic read-modify-writes),
//! then calls each handler in turn. Writers (`register`, `unregister`,
//! `clear`) are serialized by a mutex, build a new snapshot and swap it in
//! without ever waiting for a round: when a round is reading the old one,
//! the swap is left to the last such round, and rounds that start
//! meanwhile take a counted reference to the new one. Replaced snapshots
//! are dropped after every lock is released, so a handler's destructor may
//! itself use the registry (table.rs explains the details).
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
//! * **Removal.** [`unregister`](Registry::unregister) stops new calls at
//!   once; [`unregister_and_wait`](Registry::unregister_and_wait) also waits
//!   for calls already running on other threads.
//! * **Ids.** A [`HandlerId`] includes a random per-registry key, so an id
//!   from another registry, a stale id or a guessed one matches nothing.
//!
//! [`AsyncRegistry`] offers the same over handlers that return futures,
//! with no runtime of its own. docs/registry.md compares both with
//! registry-io.

mod dispatch;
mod future;
mod guard;
mod handler;
mod panic_info;
mod report;
mod table;

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::depth;
use crate::{Error, ErrorKind};
use handler::LIVE;
use table::Table;

pub use crate::depth::MAX_THREAD_NESTING;
pub use dispatch::{BoxedHandler, Handler};
pub use future::{AsyncRegistry, HandlerFuture, Notify, NotifySequential};
pub use guard::HandlerGuard;
pub use handler::{HandlerError, HandlerId, HandlerResult};
pub use panic_info::PanicInfo;
pub use report::NotifyReport;

/// The default bound on nested `notify` calls of one registry on one thread.
pub const DEFAULT_MAX_DEPTH: usize = 8;

/// A set of handlers for events of type `E`, notified together.
///
/// `E` may be unsized, so a `Registry<[u8]>` dispatches byte slices without
/// copying them. `H` is the type the handlers are stored as: boxed
/// closures by default, registered with [`register`](Registry::register)
/// and its siblings; a registry of another [`Handler`] type (the C ABI's
/// registry holds C functions with their user data) takes its handlers
/// through [`register_handler`](Registry::register_handler) and is made
/// with [`empty`](Registry::empty). Every rule of a round is the same for
/// every handler type.
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
pub struct Registry<E: ?Sized, H = BoxedHandler<E>> {
    table: Table<H>,
    max_depth: usize,
    depth_exceeded: AtomicU64,
    /// The events the handlers take; a function of them, so that the
    /// registry is `Send` and `Sync` whatever `E` is.
    events: PhantomData<fn(&E)>,
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
        Registry::empty()
    }

    /// The same as [`new`](Registry::new). The handlers live in an
    /// exactly sized snapshot that every change replaces, so there is no
    /// buffer a capacity could size; the method exists so code written for
    /// registries that take a capacity hint keeps compiling.
    pub fn with_capacity(capacity: usize) -> Registry<E> {
        let _ = capacity;
        Registry::new()
    }

    /// An empty registry whose `notify` may nest at most `max_depth` levels
    /// on one thread. `max_depth` must be between 1 and
    /// [`MAX_THREAD_NESTING`].
    pub fn with_max_depth(max_depth: usize) -> crate::Result<Registry<E>> {
        Registry::empty_with_max_depth(max_depth)
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
        self.register_handler(priority, Box::new(handler))
    }

    /// Registers `handler` (priority 0) to run once: the first round that
    /// reaches it calls it and removes it, even when rounds race on several
    /// threads and even if it panics. The handler is consumed by its call,
    /// so it may move what it captured. It holds no reference to the
    /// registry, so it never keeps the registry alive; if it never runs,
    /// it is dropped with the registry, by `clear`, or by `unregister`.
    pub fn register_once<F>(&self, handler: F) -> HandlerId
    where
        F: FnOnce(&E) -> HandlerResult + Send + 'static,
    {
        self.register_once_with_priority(0, handler)
    }

    /// [`register_once`](Registry::register_once) with a priority.
    pub fn register_once_with_priority<F>(&self, priority: i32, handler: F) -> HandlerId
    where
        F: FnOnce(&E) -> HandlerResult + Send + 'static,
    {
        // Only the round that claims the entry calls this, so the lock is
        // never contended; it only turns the `FnOnce` into a `Fn`.
        let slot = Mutex::new(Some(handler));
        self.register_handler_once(
            priority,
            Box::new(move |event: &E| {
                let handler = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
                handler.map_or(Ok(()), |handler| handler(event))
            }),
        )
    }

    /// Registers `handler` (priority 0) for as long as the returned guard
    /// lives. The guard holds the registry weakly: it never keeps it alive,
    /// and dropping it after the registry is gone does nothing.
    pub fn register_guard<F>(self: &Arc<Self>, handler: F) -> HandlerGuard
    where
        E: 'static,
        F: Fn(&E) -> HandlerResult + Send + Sync + 'static,
    {
        self.register_guard_with_priority(0, handler)
    }

    /// [`register_guard`](Registry::register_guard) with a priority.
    pub fn register_guard_with_priority<F>(self: &Arc<Self>, priority: i32, handler: F) -> HandlerGuard
    where
        E: 'static,
        F: Fn(&E) -> HandlerResult + Send + Sync + 'static,
    {
        let id = self.register_with_priority(priority, handler);
        let weak: std::sync::Weak<dyn guard::Unregister> = Arc::downgrade(self) as _;
        HandlerGuard::new(id, weak)
    }
}

impl<E: ?Sized, H: Handler<E>> Registry<E, H> {
    /// An empty registry of handlers of type `H`, with the default nesting
    /// bound. ([`new`](Registry::new) is this for boxed closures.)
    pub fn empty() -> Registry<E, H> {
        Registry {
            table: Table::new(),
            max_depth: DEFAULT_MAX_DEPTH,
            depth_exceeded: AtomicU64::new(0),
            events: PhantomData,
        }
    }

    /// [`with_max_depth`](Registry::with_max_depth) for handlers of type `H`.
    pub fn empty_with_max_depth(max_depth: usize) -> crate::Result<Registry<E, H>> {
        if !(1..=MAX_THREAD_NESTING).contains(&max_depth) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("max_depth must be between 1 and {MAX_THREAD_NESTING}, got {max_depth}"),
            ));
        }
        Ok(Registry { max_depth, ..Registry::empty() })
    }

    /// Registers `handler`; higher priorities fire first. The closure
    /// methods ([`register`](Registry::register) and its siblings) come
    /// here with the closure boxed.
    pub fn register_handler(&self, priority: i32, handler: H) -> HandlerId {
        self.table.insert(priority, false, handler)
    }

    /// Registers `handler` to run once, as
    /// [`register_once`](Registry::register_once) explains: the one round
    /// that claims it calls [`Handler::call_once`], then removes it.
    pub fn register_handler_once(&self, priority: i32, handler: H) -> HandlerId {
        self.table.insert(priority, true, handler)
    }

    /// Removes the registration `id`. Returns whether it was registered.
    ///
    /// After this returns, no round that starts can call the handler, and a
    /// round in progress on this thread (the caller is a handler) skips it.
    /// A round already in progress on another thread may still be calling
    /// it, or may call it once more if it had checked it just before; use
    /// [`unregister_and_wait`](Registry::unregister_and_wait) to wait for
    /// those calls. The handler is dropped when the last such round ends.
    pub fn unregister(&self, id: HandlerId) -> bool {
        self.table.remove(id).is_some()
    }

    /// Removes the registration `id` like [`unregister`](Registry::unregister),
    /// then waits until no round on any thread can still be running its
    /// handler, and drops the handler before returning. Returns whether it
    /// was registered (`false` returns at once).
    ///
    /// Called from inside a round of this registry on the same thread (a
    /// handler removing itself or a sibling), waiting could never end, as
    /// the caller's own round holds the handler. It then does what
    /// `unregister` does and returns without waiting; the handler is
    /// dropped when the last round holding it ends. The same applies when
    /// the thread is already [`MAX_THREAD_NESTING`] notify calls deep.
    ///
    /// It blocks the thread (spinning briefly, then yielding, then sleeping
    /// up to a millisecond between checks): a handler that never returns
    /// makes it never return, and it does not belong in async code.
    pub fn unregister_and_wait(&self, id: HandlerId) -> bool {
        let Some(entry) = self.table.remove(id) else {
            return false;
        };
        if !self.in_round_on_this_thread() {
            self.table.wait_until_unused(entry);
        }
        true
    }

    /// Whether `id` is currently registered.
    pub fn contains(&self, id: HandlerId) -> bool {
        self.table.contains(id)
    }

    /// How many handlers are registered.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no handler is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every handler. Rounds in progress skip the handlers they have
    /// not reached yet; as with `unregister`, a handler may still be running
    /// on another thread when this returns.
    pub fn clear(&self) {
        drop(self.table.clear());
    }

    /// Removes every handler like [`clear`](Registry::clear), then waits
    /// until no round on any thread can still be running any of them, and
    /// drops them before returning. From inside a round of this registry on
    /// the same thread it does not wait, as
    /// [`unregister_and_wait`](Registry::unregister_and_wait) explains.
    pub fn clear_and_wait(&self) {
        let removed = self.table.clear();
        if self.in_round_on_this_thread() {
            return;
        }
        for entry in removed.into_vec() {
            self.table.wait_until_unused(entry);
        }
    }

    /// Sets the hook that sees every handler panic (the handler's id and the
    /// payload), replacing any earlier hook. A panic inside the hook is
    /// swallowed. The hook runs on the notifying thread, inside the round.
    pub fn on_panic<F>(&self, hook: F)
    where
        F: Fn(&PanicInfo<'_>) + Send + Sync + 'static,
    {
        self.table.set_hook(Box::new(hook));
    }

    /// Removes the panic hook; panics are still caught and counted.
    pub fn clear_panic_hook(&self) {
        self.table.clear_hook();
    }

    /// Calls every handler with `event`, in firing order.
    ///
    /// Past the nesting bound the call runs no handler and returns an empty
    /// report; [`depth_exceeded`](Registry::depth_exceeded) counts it. Use
    /// [`try_notify`](Registry::try_notify) to see that case as an error.
    #[inline]
    pub fn notify(&self, event: &E) -> NotifyReport {
        // Checked inline, so that notifying an empty registry costs the
        // caller one load and no call.
        if self.table.len() == 0 {
            return NotifyReport::default();
        }
        let mut report = NotifyReport::default();
        // Past the nesting bound the report stays empty.
        let _ = self.round(event, &mut report);
        report
    }

    /// Like [`notify`](Registry::notify), but reports the nesting bound as
    /// an error instead of an empty report.
    #[inline]
    pub fn try_notify(&self, event: &E) -> Result<NotifyReport, DepthExceeded> {
        if self.table.len() == 0 {
            return Ok(NotifyReport::default());
        }
        let mut report = NotifyReport::default();
        self.round(event, &mut report)?;
        Ok(report)
    }

    /// One round over the current snapshot (not empty when it was looked
    /// at, though a writer may have emptied it since), counted into
    /// `report`, which starts empty.
    ///
    /// The common handler (live, returns `Ok`) touches no counter: the
    /// loop counts only what is rare (a handler skipped, failed or
    /// panicked, each also in `delivered` until the end, which then holds
    /// every handler not delivered to) and `delivered` is worked out at the
    /// end with one subtraction, so a handler costs its state
    /// check, its call and its result's test. The report is the caller's,
    /// so it is counted in place rather than copied out.
    ///
    /// Always inlined into `notify`'s caller (the round is generic, so it
    /// is compiled in the caller's crate anyway): the round then shares
    /// the caller's frame, which saves about 24 instructions of a second
    /// frame, its saved registers and its arguments (callgrind, 1 to 64
    /// handlers) and costs an empty registry 4 (13 to 17: the caller keeps
    /// more registers); see docs/BENCHMARKS.md, round 8.
    #[inline(always)]
    fn round(&self, event: &E, report: &mut NotifyReport) -> Result<(), DepthExceeded> {
        let key = self as *const Self as *const () as usize;
        let Some(_level) = depth::enter(key, self.max_depth) else {
            return Err(self.refuse());
        };
        if self.table.is_stale() {
            self.run_counted(event, report);
            return Ok(());
        }
        let reading = self.table.read();
        self.run(&reading.entries, event, report);
        self.table.release(reading);
        Ok(())
    }

    /// A round's calls over `entries`, counted into `report`.
    #[inline(always)]
    fn run(&self, entries: &[table::Slot<H>], event: &E, report: &mut NotifyReport) {
        for entry in entries {
            if entry.state.load(Ordering::Relaxed) == LIVE {
                self.call(entry, event, report);
            } else {
                self.call_unless_dead(entry, event, report);
            }
        }
        report.delivered = entries.len() as u64 - report.delivered;
    }

    /// A round while a write has not reached the snapshot rounds read
    /// (a round on another thread was reading it): over a counted
    /// reference to the current snapshot instead, then catching the shared
    /// one up if no round reads it any more. Out of line: writes are rare
    /// next to rounds.
    #[cold]
    #[inline(never)]
    fn run_counted(&self, event: &E, report: &mut NotifyReport) {
        let snapshot = self.table.load_full();
        self.run(&snapshot.entries, event, report);
        drop(snapshot);
        self.table.catch_up();
    }

    /// Counts a `notify` refused by the nesting bound.
    #[cold]
    #[inline(never)]
    fn refuse(&self) -> DepthExceeded {
        self.depth_exceeded.fetch_add(1, Ordering::Relaxed);
        DepthExceeded { max_depth: self.max_depth }
    }

    /// Calls one handler inside its own `catch_unwind` (which costs nothing
    /// on the path that does not panic: the landing pad is off to the
    /// side) and counts a failure or a panic; a delivery is not counted
    /// here (see [`round`](Registry::round)). The handler's result is
    /// reduced to a flag inside the catch, so the common case is one test.
    #[inline(always)]
    fn call(&self, entry: &table::Slot<H>, event: &E, report: &mut NotifyReport) {
        let handler = &entry.handler;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler.call(event).is_ok()));
        self.count(entry, outcome, report);
    }

    /// Counts the outcome of one handler call (`Ok(true)`: it returned
    /// `Ok`, which is not counted here).
    #[inline(always)]
    fn count(&self, entry: &table::Slot<H>, outcome: std::thread::Result<bool>, report: &mut NotifyReport) {
        match outcome {
            Ok(true) => {}
            Ok(false) => count_failed(report),
            Err(payload) => self.count_panicked(entry, payload, report),
        }
    }

    /// Counts a handler panic (in `panicked` and, until the round's end, in
    /// `delivered`) and shows it to the hook. Out of line: it keeps the
    /// loop down to the common case.
    #[cold]
    #[inline(never)]
    fn count_panicked(
        &self,
        entry: &table::Slot<H>,
        payload: Box<dyn std::any::Any + Send>,
        report: &mut NotifyReport,
    ) {
        report.panicked += 1;
        report.delivered += 1;
        self.table.report_panic(entry.id, payload);
    }

    /// A handler that is not plainly live: calls a run-once handler if this
    /// round wins it, then removes it (also when it panicked). A handler
    /// not called (a dead one, or a run-once handler another round won) is
    /// counted in `report.delivered`, which [`round`](Registry::round)
    /// turns into the deliveries at the end. Out of line: it keeps the
    /// loop above down to the common case.
    #[cold]
    #[inline(never)]
    fn call_unless_dead(&self, entry: &table::Slot<H>, event: &E, report: &mut NotifyReport) {
        if entry.claim_once() {
            let handler = &entry.handler;
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler.call_once(event).is_ok()));
            self.count(entry, outcome, report);
            self.table.remove(entry.id);
        } else {
            report.delivered += 1;
        }
    }

    /// How many handler panics were caught over the registry's life.
    pub fn panics(&self) -> u64 {
        self.table.panics()
    }

    /// How many `notify` calls were refused by the nesting bound.
    pub fn depth_exceeded(&self) -> u64 {
        self.depth_exceeded.load(Ordering::Relaxed)
    }

    /// The bound on nested `notify` calls of this registry on one thread.
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// Whether a `notify` of this registry is running on this thread.
    fn in_round_on_this_thread(&self) -> bool {
        depth::inside(self as *const Self as *const () as usize)
    }
}

/// Counts a handler that returned an error, in `failed` and, until the
/// round's end, in `delivered` (see [`Registry::round`]). Out of line: it
/// keeps a round's loop down to the common case.
#[cold]
#[inline(never)]
fn count_failed(report: &mut NotifyReport) {
    report.failed += 1;
    report.delivered += 1;
}

impl<E: ?Sized, H: Handler<E>> guard::Unregister for Registry<E, H> {
    fn unregister_id(&self, id: HandlerId) -> bool {
        self.unregister(id)
    }
}

impl<E: ?Sized> Default for Registry<E> {
    fn default() -> Registry<E> {
        Registry::new()
    }
}

impl<E: ?Sized, H: Handler<E>> fmt::Debug for Registry<E, H> {
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
        assert_send_sync::<AsyncRegistry<[u8]>>();
        assert_send_sync::<HandlerGuard>();
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
