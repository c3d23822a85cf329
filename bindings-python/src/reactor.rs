//! How an asyncio event loop waits for subscriptions without a thread.
//!
//! Each event loop that awaits a receive gets one [`Reactor`]: a connected
//! pair of non-blocking Unix sockets whose reading end the loop watches
//! (`loop.add_reader`, in `charter/_aio.py`). A receive that finds nothing
//! leaves a [`Waiter`]'s notify armed with the core
//! ([`SubscriptionRef::poll_recv`](charter_core::bus::SubscriptionRef::poll_recv)).
//! When the subscription becomes readable, the core calls it on the
//! publishing (or closing) thread, outside every lock: it records the
//! waiter's key in the reactor's ready list and, unless a wake-up is already
//! on its way, writes one byte. The loop's reader callback then drains the
//! socket, takes the list, and wakes those receives, which ask the core
//! again. Nothing here receives a message: that stays the core's counted
//! operation, done by the awaiting coroutine itself.
//!
//! No wake-up is lost: a notify pushes its key before it looks at
//! `signalled`, and [`Reactor::drain`] clears `signalled` before it takes
//! the list. A key pushed after the take finds `signalled` clear and writes;
//! one pushed before is in the list taken.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use charter_core::bus::Notify;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;

use crate::callback::lock;

/// What the notifies share with the loop's side: they hold it weakly, so a
/// notify left armed after its loop is gone does nothing.
struct Shared {
    write: UnixStream,
    /// Keys of the waiters whose subscription became readable.
    ready: Mutex<Vec<u64>>,
    /// A byte has been written and not yet drained.
    signalled: AtomicBool,
}

impl Shared {
    fn wake(&self, key: u64) {
        lock(&self.ready).push(key);
        if !self.signalled.swap(true, Ordering::AcqRel) {
            // Full (the loop is gone or far behind): a byte is already
            // waiting to be read, which is all a wake-up needs.
            let _ = (&self.write).write(&[1]);
        }
    }
}

/// One event loop's wake-up socket and ready list.
#[pyclass(frozen, module = "charter._native", name = "_Reactor")]
pub struct Reactor {
    shared: Arc<Shared>,
    read: UnixStream,
    next_key: AtomicU64,
}

#[pymethods]
impl Reactor {
    #[new]
    fn new() -> PyResult<Reactor> {
        let (read, write) = UnixStream::pair().map_err(|e| PyOSError::new_err(e.to_string()))?;
        read.set_nonblocking(true).map_err(|e| PyOSError::new_err(e.to_string()))?;
        write.set_nonblocking(true).map_err(|e| PyOSError::new_err(e.to_string()))?;
        let shared = Shared { write, ready: Mutex::default(), signalled: AtomicBool::new(false) };
        Ok(Reactor { shared: Arc::new(shared), read, next_key: AtomicU64::new(1) })
    }

    /// The descriptor the event loop watches for reading.
    fn fileno(&self) -> i32 {
        self.read.as_raw_fd()
    }

    /// A new waiter, with a key of its own within this reactor.
    fn waiter(&self) -> Waiter {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let shared: Weak<Shared> = Arc::downgrade(&self.shared);
        let notify: Notify = Arc::new(move || {
            if let Some(shared) = shared.upgrade() {
                shared.wake(key);
            }
        });
        Waiter { key, notify }
    }

    /// Empties the socket and returns the keys of the waiters woken since
    /// the last drain (a key may appear more than once).
    fn drain(&self) -> Vec<u64> {
        let mut buffer = [0u8; 256];
        loop {
            match (&self.read).read(&mut buffer) {
                Ok(n) if n == buffer.len() => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                _ => break,
            }
        }
        self.shared.signalled.store(false, Ordering::SeqCst);
        std::mem::take(&mut *lock(&self.shared.ready))
    }
}

/// A notify the core can arm, named by a key its reactor reports.
#[pyclass(frozen, module = "charter._native", name = "_Waiter")]
pub struct Waiter {
    key: u64,
    notify: Notify,
}

impl Waiter {
    pub(crate) fn notify(&self) -> &Notify {
        &self.notify
    }
}

#[pymethods]
impl Waiter {
    #[getter]
    fn key(&self) -> u64 {
        self.key
    }
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Reactor>()?;
    m.add_class::<Waiter>()
}
