//! Ctrl-C for waits the core cannot cancel: closing a bus (or a handler
//! subscription) joins handler threads, which may be busy for as long as
//! their handler runs.
//!
//! On the main thread (the only one where Python runs signal handlers)
//! such a call runs on a helper thread of its own, and the main thread
//! waits for it with the GIL released, waking as soon as it is done and
//! every [`SIGNAL_CHECK`] to run signal handlers. If one raises, the call
//! raises it at once and the helper thread finishes the work in the
//! background. Other threads make the call themselves: no signal handler
//! could interrupt them anyway.

use std::sync::{Arc, Condvar, Mutex};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::callback::lock;
use crate::shutdown;
use crate::signals::{on_main_thread, SIGNAL_CHECK};

/// Runs `work`, which may wait long and runs no Python code on this
/// thread, so that Ctrl-C interrupts the wait (see the module docs).
pub(crate) fn run<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    if !on_main_thread(py)? {
        return Ok(shutdown::detach(py, work));
    }
    let done = Arc::new((Mutex::new(None), Condvar::new()));
    let finished = Arc::clone(&done);
    std::thread::Builder::new()
        .name("charter-interruptible".to_owned())
        .spawn(move || {
            let out = work();
            *lock(&finished.0) = Some(out);
            finished.1.notify_all();
        })
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start a thread: {e}")))?;
    loop {
        let out = shutdown::detach(py, || {
            let slot = lock(&done.0);
            let (mut slot, _) = done
                .1
                .wait_timeout_while(slot, SIGNAL_CHECK, |slot| slot.is_none())
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            slot.take()
        });
        if let Some(out) = out {
            return Ok(out);
        }
        py.check_signals()?;
    }
}
