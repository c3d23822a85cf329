//! Threads Charter starts in the background, made safe across `fork()`.
//!
//! `fork()` copies only the thread that calls it. In the child, the handle
//! of a thread the parent started names a thread that does not exist
//! there: joining it panics ("threads should not terminate unexpectedly")
//! or waits for ever. A [`Background`] thread remembers the process that
//! started it, and in any other process neither joins nor detaches it: the
//! handle is forgotten (its few bytes stay allocated in the child), which
//! makes no system call and so cannot fail.
//!
//! # Invariant
//!
//! A background thread is joined only by the process that started it; in a
//! forked child, ending or dropping its owner does nothing but forget it.
//! The owners ([`Subscription`](crate::bus::Subscription)s with
//! `Dispatch::Thread`, audit logs with `FsyncPolicy::Interval`) ask
//! [`in_owner`] before relying on the thread, and refuse in a child with
//! a `CLOSED` error that says why.

use std::sync::{Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::{Error, ErrorKind};

/// A thread started by this library, with the process that started it.
pub(crate) struct Background {
    handle: Option<JoinHandle<()>>,
    pid: u32,
}

impl Background {
    /// Starts `body` on a thread called `name`.
    pub(crate) fn spawn(name: String, body: impl FnOnce() + Send + 'static) -> std::io::Result<Background> {
        let handle = std::thread::Builder::new().name(name).spawn(body)?;
        Ok(Background { handle: Some(handle), pid: std::process::id() })
    }

    /// Waits for the thread to end, in the process that started it; in a
    /// forked child, where the thread does not exist, forgets it.
    pub(crate) fn join(mut self) {
        if let Some(handle) = self.handle.take() {
            if self.pid == std::process::id() {
                // A panic on that thread has nothing to hand back here.
                let _ = handle.join();
            } else {
                std::mem::forget(handle);
            }
        }
    }
}

impl Drop for Background {
    /// Detaches the thread (it ends on its own), or in a forked child
    /// forgets it.
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            if self.pid != std::process::id() {
                std::mem::forget(handle);
            }
        }
    }
}

/// The stop flag of a background thread that wakes every so often: setting
/// it wakes the thread at once, so its owner never waits out a period.
#[derive(Default)]
pub(crate) struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    /// Sleeps for `period`, or until [`stop`](Self::stop) is called;
    /// whether it was.
    pub(crate) fn sleep(&self, period: Duration) -> bool {
        let stopped = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        let (stopped, _) = self
            .wake
            .wait_timeout_while(stopped, period, |stopped| !*stopped)
            .unwrap_or_else(PoisonError::into_inner);
        *stopped
    }

    /// Sets the flag and wakes the thread.
    pub(crate) fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.wake.notify_all();
    }
}

/// Whether this is process `pid`, the one that started a background thread.
pub(crate) fn in_owner(pid: u32) -> bool {
    pid == std::process::id()
}

/// The error for using, in a forked child, an object whose background
/// thread (`what`) stayed in the parent.
pub(crate) fn forked(what: &str) -> Error {
    Error::new(
        ErrorKind::Closed,
        format!("{what} runs on a thread of the parent process, which a forked child does not have; create it again in the child"),
    )
}
