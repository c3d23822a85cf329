//! `charter.Registry`: the core handler registry, holding Python callables.
//!
//! # Threads and the GIL
//!
//! Every method runs with the GIL held, including the core calls that take
//! the registry's writer lock (`register`, `unregister`, `clear`). That
//! cannot deadlock: the core never runs handler code or drops a handler
//! while it holds that lock, so no thread ever waits for the GIL while
//! holding it, and the lock is only ever taken in the order GIL, then lock.
//! Keeping the GIL has two further uses: a handler's id is recorded before
//! any thread can run the handler (a handler needs the GIL to run), and a
//! Python callable is always released with the GIL, at once, on the thread
//! that ended its registration.
//!
//! Handlers run on the thread that calls `notify`, with the GIL held and no
//! Rust lock held, so they may call back into the registry.
//!
//! Because the GIL is held, checking `closed` and acting on the core is one
//! step as far as other threads can tell: `close` cannot slip in between.
//!
//! Every call that can run Python code (handlers, hooks, finalizers of
//! released callables) holds a [`Busy`], so that interpreter exit can keep
//! other threads out of it (see `shutdown`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use charter_core::registry::MAX_THREAD_NESTING;
use charter_core::{ErrorKind, HandlerId, HandlerResult};
use pyo3::exceptions::PyTypeError;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyTuple};
use pyo3::PyTraverseError;

use crate::aio;
use crate::callback::{self, lock, optional_callable, ErrorHook, Interrupts};
use crate::errors::{new_err, to_pyerr};
use crate::report::{self, NotifyReport};
use crate::shutdown::Busy;

/// Events travel to handlers as the one-element argument tuple they are
/// called with: the very tuple `notify` was called with, shared by every
/// handler, so a round allocates no tuple of its own.
type Core = charter_core::Registry<Py<PyTuple>>;

/// One registered Python callable.
struct Handler {
    /// The core's id for this registration, set right after `register`
    /// returns and before any thread can run the handler (see module docs).
    id: AtomicU64,
    callable: Py<PyAny>,
    on_error: Arc<ErrorHook>,
}

impl Handler {
    fn call(&self, args: &Py<PyTuple>) -> HandlerResult {
        // The core calls handlers from `notify`, which holds the GIL, so
        // this attach only bumps a thread-local count.
        Python::attach(|py| {
            let id = self.id.load(Ordering::Relaxed);
            callback::collect(py, &self.on_error, id, || {
                callback::call_returning(
                    py,
                    self.callable.bind(py),
                    args.bind(py),
                    &self.on_error,
                    id,
                    Interrupts::ToCaller,
                )
            })
        })
    }
}

/// A set of handlers notified together; see the package docs for the API.
#[pyclass(frozen, weakref, module = "charter")]
pub struct Registry {
    /// Emptied, not dropped, by `close`: a round running when a handler
    /// closes the registry still needs it (and skips the handlers left).
    core: Core,
    closed: AtomicBool,
    on_error: Arc<ErrorHook>,
    /// The registered handlers by id. The core cannot list its handlers,
    /// and the garbage collector must see every callable we hold to break
    /// cycles such as a handler that refers to its own registry. Shared with
    /// run-once handlers, which take themselves out after their call.
    handlers: Arc<Mutex<HashMap<u64, Arc<Handler>>>>,
}

impl Registry {
    /// The core, or `ClosedError` once closed.
    fn open(&self, py: Python<'_>) -> PyResult<&Core> {
        if self.closed.load(Ordering::Acquire) {
            return Err(new_err(py, ErrorKind::Closed, "the registry is closed"));
        }
        Ok(&self.core)
    }

    /// `handler`, if callable, as the registry keeps it, with its id still
    /// to be set.
    fn handler(&self, handler: &Bound<'_, PyAny>) -> PyResult<Arc<Handler>> {
        Ok(Arc::new(Handler {
            id: AtomicU64::new(0),
            callable: callback::callable(handler)?.clone().unbind(),
            on_error: Arc::clone(&self.on_error),
        }))
    }

    /// Releases every handler and the hook. The Python objects are dropped
    /// here, with the GIL and no lock held.
    fn release(&self) {
        self.closed.store(true, Ordering::Release);
        self.core.clear();
        let handlers = std::mem::take(&mut *lock(&self.handlers));
        let hook = self.on_error.replace(None);
        drop((handlers, hook));
    }
}

/// A handler id argument: an `int`. Ints no registration could have (such
/// as negative ones) are valid and simply match nothing.
fn handler_id(value: &Bound<'_, PyAny>) -> PyResult<Option<HandlerId>> {
    let id = value.cast::<PyInt>()?;
    Ok(id.extract::<u64>().ok().map(HandlerId::from_raw))
}

#[pymethods]
impl Registry {
    #[new]
    #[pyo3(
        signature = (max_depth = None, *, on_error = None),
        text_signature = "(max_depth=8, *, on_error=None)"
    )]
    fn new(
        py: Python<'_>,
        max_depth: Option<&Bound<'_, PyInt>>,
        on_error: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Registry> {
        let core = match max_depth.map(|d| (d, d.extract::<usize>())) {
            None => Core::new(),
            Some((_, Ok(depth))) => Core::with_max_depth(depth).map_err(|e| to_pyerr(py, &e))?,
            // Negative and huge ints are out of range just as 0 is.
            Some((depth, Err(_))) => {
                return Err(new_err(
                    py,
                    ErrorKind::InvalidArgument,
                    format!("max_depth must be between 1 and {MAX_THREAD_NESTING}, got {depth}"),
                ))
            }
        };
        let hook = optional_callable(on_error, "on_error")?;
        Ok(Registry {
            core,
            closed: AtomicBool::new(false),
            on_error: Arc::new(ErrorHook::new(hook)),
            handlers: Arc::default(),
        })
    }

    /// Registers `handler`; returns its id. Higher priorities fire first.
    #[pyo3(signature = (handler, priority = 0))]
    fn register(&self, py: Python<'_>, handler: Bound<'_, PyAny>, priority: i32) -> PyResult<u64> {
        let handler = self.handler(&handler)?;
        let core = self.open(py)?;
        let registered = Arc::clone(&handler);
        let id = core.register_with_priority(priority, move |args| registered.call(args)).get();
        handler.id.store(id, Ordering::Relaxed);
        lock(&self.handlers).insert(id, handler);
        Ok(id)
    }

    /// Registers `handler` to run once: the first round that reaches it
    /// calls it and removes it, even if it raises and even when rounds race
    /// on several threads. Returns its id.
    #[pyo3(signature = (handler, priority = 0))]
    fn register_once(&self, py: Python<'_>, handler: Bound<'_, PyAny>, priority: i32) -> PyResult<u64> {
        let handler = self.handler(&handler)?;
        let core = self.open(py)?;
        let (registered, handlers) = (Arc::clone(&handler), Arc::clone(&self.handlers));
        let id = core
            .register_once_with_priority(priority, move |args| {
                let result = registered.call(args);
                // Runs with the GIL held (inside `notify`), so the callable
                // is released with it, after the map's lock is let go.
                let own = lock(&handlers).remove(&registered.id.load(Ordering::Relaxed));
                drop((own, registered));
                result
            })
            .get();
        handler.id.store(id, Ordering::Relaxed);
        lock(&self.handlers).insert(id, handler);
        Ok(id)
    }

    /// Removes registration `id`; returns whether it was registered.
    fn unregister(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<bool> {
        let core = self.open(py)?;
        let _busy = Busy::enter(py);
        let Some(id) = handler_id(id)? else {
            return Ok(false);
        };
        let removed = core.unregister(id);
        // Dropped at the end of this function, after the lock is released:
        // releasing the callable can run arbitrary Python code.
        let _handler = lock(&self.handlers).remove(&id.get());
        Ok(removed)
    }

    /// Removes registration `id` like `unregister`, then waits, with the
    /// GIL released, until no `notify` on any thread can still be running
    /// the handler. Inside a handler of this registry it does not wait.
    fn unregister_and_wait(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<bool> {
        let core = self.open(py)?;
        let _busy = Busy::enter(py);
        let Some(id) = handler_id(id)? else {
            return Ok(false);
        };
        let removed = crate::shutdown::detach(py, || core.unregister_and_wait(id));
        let _handler = lock(&self.handlers).remove(&id.get());
        Ok(removed)
    }

    /// Whether `id` is registered.
    fn contains(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<bool> {
        let core = self.open(py)?;
        Ok(handler_id(id)?.is_some_and(|id| core.contains(id)))
    }

    fn __contains__(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<bool> {
        let core = self.open(py)?;
        // `x in registry` is False for a non-int, as for other containers.
        Ok(handler_id(id).ok().flatten().is_some_and(|id| core.contains(id)))
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.open(py)?.len())
    }

    /// Removes every handler.
    fn clear(&self, py: Python<'_>) -> PyResult<()> {
        let _busy = Busy::enter(py);
        self.open(py)?.clear();
        let handlers = std::mem::take(&mut *lock(&self.handlers));
        drop(handlers);
        Ok(())
    }

    /// Removes every handler like `clear`, then waits, with the GIL
    /// released, until no `notify` on any thread can still be running any
    /// of them. Inside a handler of this registry it does not wait.
    fn clear_and_wait(&self, py: Python<'_>) -> PyResult<()> {
        let _busy = Busy::enter(py);
        let core = self.open(py)?;
        crate::shutdown::detach(py, || core.clear_and_wait());
        let handlers = std::mem::take(&mut *lock(&self.handlers));
        drop(handlers);
        Ok(())
    }

    /// Calls every handler with `event`, in firing order, on this thread.
    ///
    /// Declared as `*args` so Python hands over its argument tuple, which is
    /// passed on to every handler unchanged: this is the hot path.
    #[pyo3(signature = (*args), text_signature = "($self, event, /)")]
    fn notify(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<Py<NotifyReport>> {
        if args.len() != 1 {
            return Err(PyTypeError::new_err(format!(
                "notify() takes exactly one argument ({} given)",
                args.len()
            )));
        }
        let core = self.open(py)?;
        let _busy = Busy::enter(py);
        let (outcome, interrupt) = callback::catching_interrupts(|| core.try_notify(args.as_unbound()));
        if let Some(interrupt) = interrupt {
            return Err(interrupt);
        }
        match outcome {
            Ok(report) => report::to_py(py, report),
            Err(exceeded) => Err(to_pyerr(py, &exceeded.into())),
        }
    }

    /// `notify` for asyncio: calls every handler in firing order, then
    /// awaits the awaitables the async ones returned, all together or
    /// (`sequential=True`) one after another, and resolves to the round's
    /// report, which counts an awaitable that raised as failed.
    #[pyo3(signature = (event, *, sequential = false))]
    fn notify_async<'py>(
        slf: &Bound<'py, Self>,
        event: Bound<'py, PyAny>,
        sequential: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        slf.get().open(py)?;
        aio::coroutine(py, "notify", (slf, event, sequential))
    }

    /// The synchronous half of `notify_async`: runs the round, returning
    /// its report and the awaitables handlers returned, by handler id.
    fn _notify_start(
        &self,
        py: Python<'_>,
        event: Bound<'_, PyAny>,
    ) -> PyResult<(Py<NotifyReport>, callback::Awaitables)> {
        let core = self.open(py)?;
        let _busy = Busy::enter(py);
        let args = PyTuple::new(py, [event])?.unbind();
        let ((outcome, interrupt), awaitables) =
            callback::collecting_awaitables(|| callback::catching_interrupts(|| core.try_notify(&args)));
        if let Some(interrupt) = interrupt {
            return Err(interrupt);
        }
        match outcome {
            Ok(report) => Ok((report::to_py(py, report)?, awaitables)),
            Err(exceeded) => Err(to_pyerr(py, &exceeded.into())),
        }
    }

    /// An awaitable returned by handler `id` raised: the hook hears of it,
    /// or, with no hook, `sys.unraisablehook`.
    fn _handler_failed(&self, py: Python<'_>, id: u64, exception: Bound<'_, PyAny>) {
        let _busy = Busy::enter(py);
        self.on_error.report_or_unraisable(py, id, PyErr::from_value(exception));
    }

    /// The hook `(handler_id, exception)` that receives every exception a
    /// handler raises, or `None`.
    #[getter]
    fn get_on_error(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.open(py)?;
        Ok(self.on_error.get(py))
    }

    #[setter]
    fn set_on_error(&self, py: Python<'_>, hook: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        self.open(py)?;
        let _busy = Busy::enter(py);
        let old = self.on_error.replace(optional_callable(hook, "on_error")?);
        drop(old);
        Ok(())
    }

    /// The bound on nested `notify` calls of this registry on one thread.
    #[getter]
    fn max_depth(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.open(py)?.max_depth())
    }

    /// Whether `close` has been called.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Releases every handler and the hook. Idempotent.
    fn close(&self, py: Python<'_>) {
        let _busy = Busy::enter(py);
        self.release();
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().open(slf.py())?;
        Ok(slf)
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, py: Python<'_>, _exc_info: &Bound<'_, PyTuple>) {
        self.close(py);
    }

    fn __repr__(&self) -> String {
        if self.closed() {
            return "<charter.Registry closed>".to_owned();
        }
        format!("<charter.Registry len={} max_depth={}>", self.core.len(), self.core.max_depth())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // The locks are never held while Python code can run, so they are
        // free here; if one were not, skipping it would only delay
        // collection, never free something still in use.
        self.on_error.traverse(&visit)?;
        if let Ok(handlers) = self.handlers.try_lock() {
            for handler in handlers.values() {
                visit.call(&handler.callable)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        self.release();
    }
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Registry>()
}
