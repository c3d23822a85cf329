//! Keeping other threads out of Python while the interpreter exits.
//!
//! Up to CPython 3.13, a thread that wants the GIL back after finalization
//! has begun is ended with `pthread_exit`, which unwinds its stack. When
//! that thread is inside Charter, the unwind meets a Rust `catch_unwind`
//! frame (the core's, or PyO3's), which cannot let it pass, and the whole
//! process aborts. So, from an `atexit` hook, that is before finalization:
//!
//! * a thread (other than the one exiting) that enters a call which may run
//!   Python code is parked for good, with the GIL released: it is a daemon
//!   thread about to be abandoned, and CPython 3.14 parks them the same way;
//!   calls nested in one already running go on, so that it can finish;
//! * a Python thread that released the GIL inside Charter (a blocking
//!   receive, say) parks for good instead of taking it back ([`detach`]);
//! * a thread of Charter's own (a subscription's handler thread) skips the
//!   Python callback instead ([`attach`]): it must stay joinable;
//! * the hook waits, briefly and with the GIL released, for the threads
//!   inside such calls, or about to take the GIL, to be done.
//!
//! A thread counts itself in before it checks the flag, and the hook sets
//! the flag before it reads the count (both sequentially consistent), so
//! either the thread sees the flag or the hook waits for the thread.

use std::cell::Cell;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyTuple};

/// How long exit waits for calls in progress; a handler still running after
/// that (say, one sleeping) is left to CPython.
const DRAIN_LIMIT: Duration = Duration::from_secs(1);

static EXITING: AtomicBool = AtomicBool::new(false);
/// Threads inside at least one call that may run Python code (and holding
/// the GIL), plus threads about to take the GIL: exit waits for it to fall
/// to zero.
static THREADS_INSIDE: AtomicUsize = AtomicUsize::new(0);
/// The thread that runs the `atexit` hooks; it must never be parked.
static EXIT_THREAD: OnceLock<ThreadId> = OnceLock::new();

thread_local! {
    /// How many such calls this thread is inside (they nest via handlers).
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Whether this thread released the GIL in [`detach`] and has not taken
    /// it back for a callback.
    static DETACHED: Cell<bool> = const { Cell::new(false) };
}

/// A call in progress that may run Python code. Dropping it leaves.
pub(crate) struct Busy(());

impl Busy {
    /// Enters, or parks this thread for good if the interpreter is exiting,
    /// this is not the thread running the exit and it is not already inside.
    #[inline]
    pub(crate) fn enter(py: Python<'_>) -> Busy {
        let depth = DEPTH.get();
        if depth == 0 {
            if EXITING.load(Ordering::SeqCst) && !is_exit_thread() {
                park_forever(py);
            }
            THREADS_INSIDE.fetch_add(1, Ordering::SeqCst);
        }
        DEPTH.set(depth + 1);
        Busy(())
    }
}

impl Drop for Busy {
    #[inline]
    fn drop(&mut self) {
        let depth = DEPTH.get() - 1;
        DEPTH.set(depth);
        if depth == 0 {
            count_out();
        }
    }
}

/// Runs `f` with the GIL released, like `py.detach`. Meanwhile the thread
/// does not count as inside, so exit does not wait for a blocked receive
/// or publish; before taking the GIL back it counts itself in again, or,
/// if the interpreter is exiting, parks for good instead.
pub(crate) fn detach<T, F>(py: Python<'_>, f: F) -> T
where
    F: Send + FnOnce() -> T,
    T: Send,
{
    let inside = DEPTH.get() > 0;
    if inside {
        count_out();
    }
    let out = py.detach(|| {
        let was = DETACHED.replace(true);
        let out = f();
        DETACHED.set(was);
        if !count_in_to_attach() {
            park_detached();
        }
        out
    });
    if !inside {
        count_out();
    }
    out
}

/// Runs `f`, a Python callback that the core calls on this thread, with
/// the GIL (taken if this thread does not hold it). Returns `None` without
/// running it on a thread of Charter's own while the interpreter exits.
pub(crate) fn attach<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
    let depth = DEPTH.get();
    if depth > 0 && !DETACHED.get() {
        // Called back inside a call from Python that kept the GIL: taking
        // it again only counts.
        return Some(Python::attach(f));
    }
    if !count_in_to_attach() {
        if depth > 0 {
            // A Python thread inside `detach`: it can never go back.
            park_detached();
        }
        return None;
    }
    let was = DETACHED.replace(false);
    DEPTH.set(depth + 1);
    let out = Python::try_attach(f);
    DEPTH.set(depth);
    DETACHED.set(was);
    count_out();
    out
}

/// Counts this thread in before it takes the GIL. `false`, counted out
/// again, when the interpreter is exiting and this is not its thread.
fn count_in_to_attach() -> bool {
    THREADS_INSIDE.fetch_add(1, Ordering::SeqCst);
    if EXITING.load(Ordering::SeqCst) && !is_exit_thread() {
        count_out();
        return false;
    }
    true
}

fn count_out() {
    THREADS_INSIDE.fetch_sub(1, Ordering::SeqCst);
}

fn is_exit_thread() -> bool {
    EXIT_THREAD.get() == Some(&thread::current().id())
}

#[cold]
fn park_forever(py: Python<'_>) -> ! {
    match py.detach(|| -> Infallible { park_detached() }) {}
}

/// Parks this thread, which holds no GIL and is not counted, for good.
#[cold]
fn park_detached() -> ! {
    loop {
        thread::park();
    }
}

fn at_exit(py: Python<'_>) {
    EXIT_THREAD.get_or_init(|| thread::current().id());
    EXITING.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + DRAIN_LIMIT;
    py.detach(|| {
        while THREADS_INSIDE.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
    });
}

/// Registers the exit hook with `atexit`.
pub(crate) fn install(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let hook = PyCFunction::new_closure(
        py,
        Some(c"_charter_at_exit"),
        Some(c"Keeps other threads out of Charter's callbacks while Python exits."),
        |args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>| at_exit(args.py()),
    )?;
    py.import("atexit")?.call_method1("register", (hook,))?;
    Ok(())
}
