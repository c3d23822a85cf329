//! Calling Python callables as handlers: what the registry and the bus share.
//!
//! A handler that raises an `Exception` has failed: the exception goes to
//! the owner's `on_error` hook and the caller never sees it. With no hook
//! it goes to `sys.unraisablehook`, as an exception in a `__del__` or a
//! thread does: a failure is never silent. Anything else
//! (`KeyboardInterrupt`, `SystemExit`, ...) is an interrupt: the round the
//! handler ran in still finishes, then the call that started the round
//! raises it, so Ctrl-C inside a handler is never swallowed. A handler with
//! no such caller (one on a thread of its own) hands interrupts to the hook.

use std::cell::RefCell;
use std::sync::{Mutex, MutexGuard, PoisonError};

use charter_core::{HandlerError, HandlerResult};
use pyo3::exceptions::{PyException, PyRecursionError, PyTypeError};
use pyo3::gc::PyVisit;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyo3::PyTraverseError;

/// Locks `mutex`, ignoring poisoning: nothing that can panic runs under the
/// binding's locks, and the data they guard is consistent at every step.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `handler`, if callable; anything else is a `TypeError`.
pub(crate) fn callable<'a, 'py>(handler: &'a Bound<'py, PyAny>) -> PyResult<&'a Bound<'py, PyAny>> {
    if handler.is_callable() {
        Ok(handler)
    } else {
        Err(PyTypeError::new_err(format!("handler must be callable, not {}", handler.get_type().name()?)))
    }
}

/// A callable, or `None`; anything else is a `TypeError`.
pub(crate) fn optional_callable(value: Option<Bound<'_, PyAny>>, what: &str) -> PyResult<Option<Py<PyAny>>> {
    match value {
        Some(v) if !v.is_callable() => Err(PyTypeError::new_err(format!(
            "{what} must be callable or None, not {}",
            v.get_type().name()?
        ))),
        v => Ok(v.map(Bound::unbind)),
    }
}

/// An `on_error` hook, `hook(id, exception)`, shared by an owner and all of
/// its handlers.
///
/// The mutex is held only to read or swap the slot, never while the hook
/// runs, and a replaced hook is dropped after the mutex is released, so a
/// hook may itself set `on_error`.
pub(crate) struct ErrorHook(Mutex<Option<Py<PyAny>>>);

impl ErrorHook {
    pub(crate) fn new(hook: Option<Py<PyAny>>) -> ErrorHook {
        ErrorHook(Mutex::new(hook))
    }

    pub(crate) fn get(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        lock(&self.0).as_ref().map(|hook| hook.clone_ref(py))
    }

    pub(crate) fn replace(&self, hook: Option<Py<PyAny>>) -> Option<Py<PyAny>> {
        std::mem::replace(&mut *lock(&self.0), hook)
    }

    /// Passes a handler's exception, traceback attached, to the hook, or,
    /// with no hook, to `sys.unraisablehook` naming `handler`. An exception
    /// raised by the hook itself goes to `sys.unraisablehook` too, naming
    /// the hook: the caller must not see it, and library code never
    /// prints.
    ///
    /// A handler that failed close to the recursion limit (a
    /// `RecursionError`, or any exception raised at that depth) leaves the
    /// hook no room to run: its call would fail with `RecursionError` too
    /// and the report would vanish. The hook is then called once more with
    /// [`HOOK_HEADROOM`] more levels, as CPython gives its own error
    /// handling, and the limit is put back.
    pub(crate) fn report(&self, py: Python<'_>, id: u64, err: PyErr, handler: &Bound<'_, PyAny>) {
        let Some(hook) = self.get(py) else {
            err.write_unraisable(py, Some(handler));
            return;
        };
        let exception = err.into_value(py);
        let failed = match hook.call1(py, (id, exception.clone_ref(py))) {
            Err(e) if e.is_instance_of::<PyRecursionError>(py) => {
                with_headroom(py, || hook.call1(py, (id, exception))).err()
            }
            result => result.err(),
        };
        if let Some(e) = failed {
            e.write_unraisable(py, Some(hook.bind(py)));
        }
    }

    /// [`report`](Self::report), or, with no hook, `sys.unraisablehook`:
    /// for failures of async handlers, which no caller ever sees.
    pub(crate) fn report_or_unraisable(&self, py: Python<'_>, id: u64, err: PyErr) {
        if self.get(py).is_some() {
            self.report(py, id, err, &py.None().into_bound(py));
        } else {
            err.write_unraisable(py, None);
        }
    }

    /// Shows the hook to the garbage collector. The lock is never held
    /// while Python code runs, so it is free here; if it were not, skipping
    /// the hook would only delay collection, never free it while in use.
    pub(crate) fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Ok(hook) = self.0.try_lock() {
            visit.call(hook.as_ref())?;
        }
        Ok(())
    }
}

/// How many more recursion levels the `on_error` hook gets when a handler
/// failed too close to the limit for the hook to run.
const HOOK_HEADROOM: i32 = 200;

/// Runs `f` with the recursion limit raised by [`HOOK_HEADROOM`], then puts
/// the limit back (even if `f` failed).
fn with_headroom<R>(py: Python<'_>, f: impl FnOnce() -> PyResult<R>) -> PyResult<R> {
    let sys = py.import("sys")?;
    let limit: i32 = sys.call_method0("getrecursionlimit")?.extract()?;
    sys.call_method1("setrecursionlimit", (limit.saturating_add(HOOK_HEADROOM),))?;
    let out = f();
    sys.call_method1("setrecursionlimit", (limit,))?;
    out
}

thread_local! {
    /// The first interrupt raised by a handler during the call running on
    /// this thread (see [`catching_interrupts`]).
    static INTERRUPT: RefCell<Option<PyErr>> = const { RefCell::new(None) };
}

/// Sets `interrupt` aside for the call that is running on this thread to
/// raise when it is done (the first one wins), as a handler's interrupt is.
pub(crate) fn set_aside(interrupt: PyErr) {
    INTERRUPT.with(|slot| {
        slot.borrow_mut().get_or_insert(interrupt);
    });
}

/// Who hears about an interrupt a handler raises.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interrupts {
    /// The call that ran the handler raises it when it is done.
    ToCaller,
    /// The `on_error` hook receives it, like an exception.
    ToHook,
}

/// Calls `callable(*args)` as the handler `id` (see the module docs) and
/// returns what it returned if that is an awaitable (an `async def` handler's coroutine),
/// for the caller to run; `None` otherwise.
pub(crate) fn call_returning<'py>(
    py: Python<'py>,
    callable: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
    hook: &ErrorHook,
    id: u64,
    interrupts: Interrupts,
) -> Result<Option<Bound<'py, PyAny>>, HandlerError> {
    let returned = callable.call(args, None);
    match returned {
        Ok(value) if value.is_none() => Ok(None),
        Ok(value) => Ok(value.hasattr(intern!(py, "__await__")).unwrap_or(false).then_some(value)),
        Err(err) => Err(failed(py, err, hook, id, interrupts, callable)),
    }
}

/// Counts and routes a handler's exception: to the hook, or (an
/// interrupt, with a caller to raise it) set aside for the caller.
pub(crate) fn failed(
    py: Python<'_>,
    err: PyErr,
    hook: &ErrorHook,
    id: u64,
    interrupts: Interrupts,
    handler: &Bound<'_, PyAny>,
) -> HandlerError {
    if interrupts == Interrupts::ToHook || err.is_instance_of::<PyException>(py) {
        hook.report(py, id, err, handler);
    } else {
        INTERRUPT.with(|slot| {
            slot.borrow_mut().get_or_insert(err);
        });
    }
    HandlerError
}

/// A handler returned an awaitable where nothing can await it: it fails,
/// explicitly. The awaitable is closed (so Python does not warn that it
/// was never awaited) and a `TypeError` saying what to do instead goes to
/// the hook.
pub(crate) fn refuse(
    py: Python<'_>,
    awaitable: Bound<'_, PyAny>,
    hook: &ErrorHook,
    id: u64,
    instead: &str,
) -> HandlerResult {
    if let Ok(close) = awaitable.getattr(intern!(py, "close")) {
        let _ = close.call0();
    }
    let kind = awaitable.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    let why = format!("handler {id} returned an awaitable ({kind}) that nothing here can await; {instead}");
    hook.report(py, id, PyTypeError::new_err(why), &awaitable);
    Err(HandlerError)
}

/// Runs `f`, a call that may run handlers on this thread, and returns the
/// first interrupt they raised. One pending for an enclosing call (this
/// call runs inside one of its handlers) is set aside meanwhile, so each
/// call raises its own.
pub(crate) fn catching_interrupts<R>(f: impl FnOnce() -> R) -> (R, Option<PyErr>) {
    let outer = INTERRUPT.with(|slot| slot.borrow_mut().take());
    let out = f();
    let mine = INTERRUPT.with(|slot| slot.replace(outer));
    (out, mine)
}

/// The awaitables returned by handlers during one `notify_async` round, by
/// handler id.
pub(crate) type Awaitables = Vec<(u64, Py<PyAny>)>;

thread_local! {
    /// Where a registry handler puts the awaitable it returns: `Some` only
    /// while a `notify_async` round runs its handlers on this thread, and
    /// set aside while each handler runs, so nothing nested collects.
    static AWAITABLES: RefCell<Option<Awaitables>> = const { RefCell::new(None) };
}

/// Runs `f`, a registry round, collecting the awaitables its handlers
/// return (see [`collect`]).
pub(crate) fn collecting_awaitables<R>(f: impl FnOnce() -> R) -> (R, Awaitables) {
    let outer = AWAITABLES.with(|slot| slot.replace(Some(Vec::new())));
    let out = f();
    let mine = AWAITABLES.with(|slot| slot.replace(outer));
    (out, mine.unwrap_or_default())
}

/// Runs `call`, a registry handler's call: it sees no collector (a round
/// it runs itself collects nothing for this one), and what it returns goes
/// to this round's collector if there is one. Without one, an awaitable
/// is refused: a plain `notify` cannot await.
pub(crate) fn collect<'py>(
    py: Python<'py>,
    hook: &ErrorHook,
    id: u64,
    call: impl FnOnce() -> Result<Option<Bound<'py, PyAny>>, HandlerError>,
) -> HandlerResult {
    let collector = AWAITABLES.with(|slot| slot.borrow_mut().take());
    let returned = call();
    let collecting = collector.is_some();
    AWAITABLES.with(|slot| *slot.borrow_mut() = collector);
    match returned? {
        None => Ok(()),
        Some(awaitable) if collecting => {
            AWAITABLES.with(|slot| {
                if let Some(list) = slot.borrow_mut().as_mut() {
                    list.push((id, awaitable.unbind()));
                }
            });
            Ok(())
        }
        Some(awaitable) => refuse(py, awaitable, hook, id, "await registry.notify_async(event) to run it"),
    }
}
