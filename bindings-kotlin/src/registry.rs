//! The core handler registry. Events stay on the Kotlin side: the core
//! carries a 64-bit token for each `notify`, and the Kotlin `Registry<E>`
//! hands its handlers the event that token stands for.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use charter_core::{HandlerError, HandlerId, HandlerResult, NotifyReport};

use crate::error::{closed, Result};

type Core = charter_core::Registry<i64>;

/// A Kotlin handler. It returns `false` when the Kotlin code threw: the
/// exception was already reported there, the core counts a failure.
#[uniffi::export(with_foreign)]
pub trait EventHandler: Send + Sync {
    /// Runs the handler for the event `token` stands for.
    fn on_event(&self, token: i64) -> bool;
}

/// What a `notify` did.
#[derive(uniffi::Record)]
pub struct Report {
    /// Handlers that returned normally.
    pub delivered: u64,
    /// Handlers that threw.
    pub failed: u64,
    /// Handlers whose Rust side panicked (Kotlin code cannot cause it).
    pub panicked: u64,
}

impl From<NotifyReport> for Report {
    fn from(r: NotifyReport) -> Report {
        Report { delivered: r.delivered, failed: r.failed, panicked: r.panicked }
    }
}

fn run(handler: &dyn EventHandler, token: i64) -> HandlerResult {
    if handler.on_event(token) {
        Ok(())
    } else {
        Err(HandlerError)
    }
}

/// A handler registry. Handlers may use it re-entrantly, so closing is a
/// flag and a `clear`, never a lock held across `notify`.
#[derive(uniffi::Object)]
pub struct Registry {
    core: Core,
    closed: AtomicBool,
}

impl Registry {
    fn open(&self) -> Result<&Core> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed("registry"));
        }
        Ok(&self.core)
    }
}

#[uniffi::export]
impl Registry {
    /// A registry bounding nested `notify` on one thread to `max_depth`.
    #[uniffi::constructor]
    pub fn new(max_depth: Option<u32>) -> Result<Arc<Registry>> {
        let core = match max_depth {
            None => Core::new(),
            Some(depth) => Core::with_max_depth(depth as usize)?,
        };
        Ok(Arc::new(Registry { core, closed: AtomicBool::new(false) }))
    }

    /// Registers `handler`; higher priorities fire first.
    pub fn register(&self, handler: Arc<dyn EventHandler>, priority: i32) -> Result<i64> {
        let id = self.open()?.register_with_priority(priority, move |t| run(&*handler, *t));
        Ok(id.get() as i64)
    }

    /// Registers `handler` to run once.
    pub fn register_once(&self, handler: Arc<dyn EventHandler>, priority: i32) -> Result<i64> {
        let id = self.open()?.register_once_with_priority(priority, move |t| run(&*handler, *t));
        Ok(id.get() as i64)
    }

    /// Whether `id` was registered.
    pub fn unregister(&self, id: i64) -> Result<bool> {
        Ok(self.open()?.unregister(HandlerId::from_raw(id as u64)))
    }

    /// As `unregister`, then waits until no `notify` can still run it.
    pub fn unregister_and_wait(&self, id: i64) -> Result<bool> {
        Ok(self.open()?.unregister_and_wait(HandlerId::from_raw(id as u64)))
    }

    /// Whether `id` is registered.
    pub fn contains(&self, id: i64) -> Result<bool> {
        Ok(self.open()?.contains(HandlerId::from_raw(id as u64)))
    }

    /// The number of handlers.
    pub fn len(&self) -> Result<u64> {
        Ok(self.open()?.len() as u64)
    }

    /// Removes every handler.
    pub fn clear(&self) -> Result<()> {
        self.open()?.clear();
        Ok(())
    }

    /// Removes every handler and waits for their running calls.
    pub fn clear_and_wait(&self) -> Result<()> {
        self.open()?.clear_and_wait();
        Ok(())
    }

    /// Calls every handler with the event `token` stands for.
    pub fn notify(&self, token: i64) -> Result<Report> {
        Ok(self.open()?.try_notify(&token).map_err(charter_core::Error::from)?.into())
    }

    /// The nesting bound.
    pub fn max_depth(&self) -> u32 {
        self.core.max_depth() as u32
    }

    /// Releases every handler; later calls fail with `CLOSED`. Idempotent.
    pub fn end(&self) {
        self.closed.store(true, Ordering::Release);
        self.core.clear();
    }

    /// Whether `close` was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}
