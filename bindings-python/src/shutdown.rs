//! Keeping other threads out of Python callbacks while the interpreter exits.
//!
//! Up to CPython 3.13, a thread that wants the GIL back after finalization
//! has begun is ended with `pthread_exit`, which unwinds its stack. When
//! that thread is running a handler for Charter, the unwind meets a Rust
//! `catch_unwind` frame (the core's, or PyO3's), which cannot let it pass,
//! and the whole process aborts. So, from an `atexit` hook, that is before
//! finalization:
//!
//! * a thread (other than the one exiting) that enters a call which may run
//!   Python code is parked for good, with the GIL released: it is a daemon
//!   thread about to be abandoned, and CPython 3.14 parks them the same way;
//!   calls nested in one already running go on, so that it can finish;
//! * the hook waits, briefly and with the GIL released, for the threads
//!   inside such calls to leave them.
//!
//! Threads enter and leave under the GIL, so none can slip in between the
//! hook setting the flag and reading the count.

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
/// Threads inside at least one call that may run Python code.
static THREADS_INSIDE: AtomicUsize = AtomicUsize::new(0);
/// The thread that runs the `atexit` hooks; it must never be parked.
static EXIT_THREAD: OnceLock<ThreadId> = OnceLock::new();

thread_local! {
    /// How many such calls this thread is inside (they nest via handlers).
    static DEPTH: Cell<usize> = const { Cell::new(0) };
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
            if EXITING.load(Ordering::Acquire) && EXIT_THREAD.get() != Some(&thread::current().id()) {
                park_forever(py);
            }
            THREADS_INSIDE.fetch_add(1, Ordering::AcqRel);
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
            THREADS_INSIDE.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cold]
fn park_forever(py: Python<'_>) -> ! {
    match py.detach(|| -> Infallible {
        loop {
            thread::park();
        }
    }) {}
}

fn at_exit(py: Python<'_>) {
    EXIT_THREAD.get_or_init(|| thread::current().id());
    EXITING.store(true, Ordering::Release);
    let deadline = Instant::now() + DRAIN_LIMIT;
    py.detach(|| {
        while THREADS_INSIDE.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
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
