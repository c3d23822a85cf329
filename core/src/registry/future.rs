//! The async registry: handlers return futures, and a round is a future
//! that any executor can drive.
//!
//! The core has no runtime. [`AsyncRegistry::notify`] and
//! [`AsyncRegistry::notify_sequential`] return plain [`Future`]s; the
//! caller's executor polls them, and they wake through the caller's waker.
//!
//! Invariants:
//!
//! * A round does nothing until first polled. On that poll, `notify` calls
//!   every live handler in firing order to build its future, then polls all
//!   of them, each time it is polled, until all are done;
//!   `notify_sequential` builds and completes one handler's future before
//!   it calls the next handler.
//! * Building and polling each future run inside `catch_unwind`: a panic
//!   in either is counted in the round's report (once per handler) and
//!   shown to the hook, and the round goes on. A panic in a future's
//!   destructor, which runs after its outcome was counted, and in a panic
//!   payload's destructor, is contained and not counted again.
//! * Apart from the boxes holding the handlers' own futures, a round
//!   allocates nothing: `notify` keeps its first pending future inline and
//!   the others in a buffer reused from earlier rounds (proved by a dhat
//!   test).
//! * A handler unregistered before a round reaches it is not called by that
//!   round. A future already built runs to completion (or until the round
//!   is dropped, which drops it).

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};

use super::guard::{HandlerGuard, Unregister};
use super::handler::Entry;
use super::panic_info::PanicInfo;
use super::table::{Snapshot, Table};
use super::{HandlerError, HandlerId, HandlerResult, NotifyReport};
use crate::panic::{drop_contained, CatchScope};

/// A handler's future, boxed so handlers of different types share a list.
pub type HandlerFuture = Pin<Box<dyn Future<Output = HandlerResult> + Send + 'static>>;

type AsyncHandler<E> = Box<dyn Fn(&E) -> HandlerFuture + Send + Sync>;

/// The most spare buffers kept for concurrent rounds: enough for that many
/// `notify` rounds in flight at once to allocate nothing.
const SPARE_BUFFERS: usize = 16;

/// A pending handler future of a concurrent round.
struct Pending {
    id: HandlerId,
    future: HandlerFuture,
}

/// A set of handlers that return futures, notified together.
///
/// Ordering, ids, guards and the panic hook behave as in
/// [`Registry`](super::Registry). Handlers receive the event by reference
/// and return a `'static` future, so a future that needs the event copies
/// what it uses.
///
/// ```
/// use charter_core::{AsyncRegistry, NotifyReport};
///
/// let registry: AsyncRegistry<u32> = AsyncRegistry::new();
/// registry.register(|n: &u32| {
///     let n = *n;
///     async move { if n > 0 { Ok(()) } else { Err(charter_core::HandlerError) } }
/// });
/// // Any executor will do; this one polls until ready.
/// let report = futures_lite_block_on(registry.notify(&7));
/// assert_eq!(report, NotifyReport { delivered: 1, failed: 0, panicked: 0 });
/// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// ```
pub struct AsyncRegistry<E: ?Sized> {
    table: Table<AsyncHandler<E>>,
    /// Buffers of finished concurrent rounds, kept for the next ones.
    spare: Mutex<Vec<Vec<Pending>>>,
}

impl<E: ?Sized> AsyncRegistry<E> {
    /// An empty registry.
    pub fn new() -> AsyncRegistry<E> {
        AsyncRegistry { table: Table::new(), spare: Mutex::new(Vec::new()) }
    }

    /// An empty registry whose first concurrent round has room for
    /// `capacity` handler futures without growing its buffer.
    pub fn with_capacity(capacity: usize) -> AsyncRegistry<E> {
        let registry = AsyncRegistry::new();
        registry.lock_spare().push(Vec::with_capacity(capacity));
        registry
    }

    /// Registers `handler` with priority 0.
    pub fn register<F, Fut>(&self, handler: F) -> HandlerId
    where
        F: Fn(&E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.register_with_priority(0, handler)
    }

    /// Registers `handler`; higher priorities are built (and, with
    /// `notify_sequential`, run) first.
    pub fn register_with_priority<F, Fut>(&self, priority: i32, handler: F) -> HandlerId
    where
        F: Fn(&E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.table.insert(
            priority,
            false,
            Box::new(move |event: &E| Box::pin(handler(event)) as HandlerFuture),
        )
    }

    /// Registers `handler` (priority 0) for as long as the returned guard
    /// lives; see [`HandlerGuard`].
    pub fn register_guard<F, Fut>(self: &Arc<Self>, handler: F) -> HandlerGuard
    where
        E: 'static,
        F: Fn(&E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.register_guard_with_priority(0, handler)
    }

    /// [`register_guard`](AsyncRegistry::register_guard) with a priority.
    pub fn register_guard_with_priority<F, Fut>(self: &Arc<Self>, priority: i32, handler: F) -> HandlerGuard
    where
        E: 'static,
        F: Fn(&E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        let id = self.register_with_priority(priority, handler);
        let weak: Weak<dyn Unregister> = Arc::downgrade(self) as _;
        HandlerGuard::new(id, weak)
    }

    /// Removes the registration `id`; returns whether it was registered.
    /// Rounds that have not yet reached the handler skip it; a future it
    /// already returned runs on.
    pub fn unregister(&self, id: HandlerId) -> bool {
        self.table.remove(id).is_some()
    }

    /// Removes every handler, as [`unregister`](AsyncRegistry::unregister)
    /// does one.
    pub fn clear(&self) {
        drop(self.table.clear());
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

    /// Sets the hook that sees every handler panic, whether raised while
    /// the handler built its future or while the future was polled. It runs
    /// inside the round, on the thread polling it.
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

    /// How many handler panics were caught over the registry's life.
    pub fn panics(&self) -> u64 {
        self.table.panics()
    }

    /// A round that runs every handler's future concurrently: when first
    /// polled it calls the handlers in firing order, then polls all their
    /// futures until every one is done. Resolves to the round's report.
    pub fn notify<'a>(&'a self, event: &'a E) -> Notify<'a, E> {
        Notify {
            registry: self,
            event: Some(event),
            first: None,
            pending: Vec::new(),
            report: NotifyReport::default(),
        }
    }

    /// A round that runs the handlers one at a time in firing order: each
    /// handler is called, and its future completed, before the next is
    /// called. Resolves to the round's report.
    pub fn notify_sequential<'a>(&'a self, event: &'a E) -> NotifySequential<'a, E> {
        NotifySequential {
            registry: self,
            event,
            snapshot: None,
            next: 0,
            current: None,
            report: NotifyReport::default(),
        }
    }

    fn lock_spare(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Pending>>> {
        self.spare.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Calls `entry`'s handler to build its future; a panic is counted in `report` and
    /// reported, and gives no future.
    fn build(&self, entry: &Entry<AsyncHandler<E>>, event: &E, report: &mut NotifyReport) -> Option<Pending> {
        let handler = &entry.handler;
        match catch_unwind(AssertUnwindSafe(|| handler(event))) {
            Ok(future) => Some(Pending { id: entry.id, future }),
            Err(payload) => {
                report.panicked += 1;
                self.table.report_panic(entry.id, payload);
                None
            }
        }
    }

    /// Polls one handler future, counting its outcome in `report` once it
    /// is done. Returns whether it is done (a panic is done).
    fn poll_one(&self, pending: &mut Pending, cx: &mut Context<'_>, report: &mut NotifyReport) -> bool {
        match catch_unwind(AssertUnwindSafe(|| pending.future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => false,
            Ok(Poll::Ready(Ok(()))) => {
                report.delivered += 1;
                true
            }
            Ok(Poll::Ready(Err(HandlerError))) => {
                report.failed += 1;
                true
            }
            Err(payload) => {
                report.panicked += 1;
                self.table.report_panic(pending.id, payload);
                true
            }
        }
    }
}

impl<E: ?Sized> Unregister for AsyncRegistry<E> {
    fn unregister_id(&self, id: HandlerId) -> bool {
        self.unregister(id)
    }
}

impl<E: ?Sized> Default for AsyncRegistry<E> {
    fn default() -> AsyncRegistry<E> {
        AsyncRegistry::new()
    }
}

impl<E: ?Sized> fmt::Debug for AsyncRegistry<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncRegistry").field("len", &self.len()).field("panics", &self.panics()).finish()
    }
}

/// The future of [`AsyncRegistry::notify`].
#[must_use = "a round does nothing until it is polled"]
pub struct Notify<'a, E: ?Sized> {
    registry: &'a AsyncRegistry<E>,
    /// Taken by the first poll, which builds the handlers' futures.
    event: Option<&'a E>,
    /// The first pending future, kept inline so that a round with one
    /// handler needs no buffer.
    first: Option<Pending>,
    /// The others, in a buffer borrowed from the registry's spares.
    pending: Vec<Pending>,
    report: NotifyReport,
}

impl<E: ?Sized> Future for Notify<'_, E> {
    type Output = NotifyReport;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<NotifyReport> {
        let this = self.get_mut();
        let registry = this.registry;
        let event = this.event.take();
        if event.is_some() && registry.table.len() == 0 {
            return Poll::Ready(this.report);
        }
        let _scope = CatchScope::enter();
        if let Some(event) = event {
            let snapshot = registry.table.load_full();
            for entry in snapshot.entries.iter() {
                if !entry.claim() {
                    continue;
                }
                let Some(pending) = registry.build(entry, event, &mut this.report) else {
                    continue;
                };
                if this.first.is_none() {
                    this.first = Some(pending);
                } else {
                    if this.pending.capacity() == 0 {
                        this.pending = registry.lock_spare().pop().unwrap_or_default();
                    }
                    this.pending.push(pending);
                }
            }
        }
        if let Some(first) = this.first.as_mut() {
            if registry.poll_one(first, cx, &mut this.report) {
                drop_quietly(this.first.take());
            }
        }
        let mut at = 0;
        while at < this.pending.len() {
            if registry.poll_one(&mut this.pending[at], cx, &mut this.report) {
                // Order among the pending does not matter once all are built.
                drop_quietly(this.pending.swap_remove(at));
            } else {
                at += 1;
            }
        }
        if this.first.is_none() && this.pending.is_empty() {
            Poll::Ready(this.report)
        } else {
            Poll::Pending
        }
    }
}

/// Drops a finished future inside a round, whose `CatchScope` is already
/// entered, containing a panic from its destructor.
fn drop_quietly<T>(value: T) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        drop_contained(payload);
    }
}

impl<E: ?Sized> Drop for Notify<'_, E> {
    fn drop(&mut self) {
        if self.first.is_some() {
            drop_contained(self.first.take());
        }
        let mut pending = std::mem::take(&mut self.pending);
        if pending.capacity() == 0 {
            return;
        }
        // A round dropped before it finished drops the futures still
        // pending; their destructors may panic.
        for one in pending.drain(..) {
            drop_contained(one);
        }
        let mut spare = self.registry.lock_spare();
        if spare.len() < SPARE_BUFFERS {
            spare.push(pending);
        }
    }
}

impl<E: ?Sized> fmt::Debug for Notify<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify")
            .field("pending", &(self.pending.len() + usize::from(self.first.is_some())))
            .field("report", &self.report)
            .finish()
    }
}

/// The future of [`AsyncRegistry::notify_sequential`].
#[must_use = "a round does nothing until it is polled"]
pub struct NotifySequential<'a, E: ?Sized> {
    registry: &'a AsyncRegistry<E>,
    event: &'a E,
    /// Loaded by the first poll and held until the round ends.
    snapshot: Option<Arc<Snapshot<AsyncHandler<E>>>>,
    next: usize,
    current: Option<Pending>,
    report: NotifyReport,
}

impl<E: ?Sized> Future for NotifySequential<'_, E> {
    type Output = NotifyReport;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<NotifyReport> {
        let this = self.get_mut();
        let registry = this.registry;
        if this.next == 0 && this.snapshot.is_none() && registry.table.len() == 0 {
            return Poll::Ready(this.report);
        }
        let _scope = CatchScope::enter();
        let snapshot = this.snapshot.get_or_insert_with(|| registry.table.load_full());
        loop {
            if let Some(current) = this.current.as_mut() {
                if !registry.poll_one(current, cx, &mut this.report) {
                    return Poll::Pending;
                }
                drop_quietly(this.current.take());
            }
            let Some(entry) = snapshot.entries.get(this.next) else {
                // Let go of the handlers now rather than when dropped.
                this.snapshot = None;
                return Poll::Ready(this.report);
            };
            this.next += 1;
            if !entry.claim() {
                continue;
            }
            this.current = registry.build(entry, this.event, &mut this.report);
        }
    }
}

impl<E: ?Sized> Drop for NotifySequential<'_, E> {
    fn drop(&mut self) {
        if self.current.is_some() {
            drop_contained(self.current.take());
        }
    }
}

impl<E: ?Sized> fmt::Debug for NotifySequential<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifySequential").field("next", &self.next).field("report", &self.report).finish()
    }
}
