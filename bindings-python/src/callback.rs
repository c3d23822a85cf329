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
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyo3::PyTraverseError;

/// Locks `mutex`, ignoring poisoning: nothing that can panic runs under the
/// binding's locks, and the data they guard is consistent at every step.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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

/// Who hears about an interrupt a handler raises.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interrupts {
    /// The call that ran the handler raises it when it is done.
    ToCaller,
    /// The `on_error` hook receives it, like an exception.
    ToHook,
}

/// Calls `callable(*args)` as the handler `id`; see the module docs.
pub(crate) fn call(
    py: Python<'_>,
    callable: &Bound<'_, PyAny>,
    args: &Bound<'_, PyTuple>,
    hook: &ErrorHook,
    id: u64,
    interrupts: Interrupts,
) -> HandlerResult {
    match callable.call(args, None) {
        Ok(_) => Ok(()),
        Err(err) if interrupts == Interrupts::ToHook || err.is_instance_of::<PyException>(py) => {
            hook.report(py, id, err, callable);
            Err(HandlerError)
        }
        Err(interrupt) => {
            INTERRUPT.with(|slot| {
                slot.borrow_mut().get_or_insert(interrupt);
            });
            Err(HandlerError)
        }
    }
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
