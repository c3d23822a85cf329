//! `charter.Subscription`: receiving (blocking, non-blocking, iterating,
//! awaiting) and ending.
//!
//! # Waiting
//!
//! A blocking receive releases the GIL and waits in slices of [`SLICE`],
//! taking the GIL back between slices to run signal handlers, so Ctrl-C
//! interrupts it. A wait that ends without a message consumes nothing: the
//! core's timed receive never does. The asyncio receive (`charter/_aio.py`)
//! runs the same slices in a worker thread; see [`handback`](crate::handback)
//! for what happens when its task is cancelled.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use charter_core::bus::{self, SubscriptionRef};
use charter_core::ErrorKind;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use pyo3::PyTraverseError;

use crate::aio;
use crate::bus::Bus;
use crate::callback::lock;
use crate::errors::{new_err, to_pyerr};
use crate::handback::{Handback, Turn};
use crate::message::Message;
use crate::options::optional_duration;
use crate::shutdown;
use crate::stats::SubscriptionStats;

/// The longest a receive waits without checking for signals, and the
/// longest an asyncio receive's worker thread waits at a time.
const SLICE: Duration = Duration::from_millis(50);

/// What ends a subscription.
pub(crate) enum Owner {
    /// A queue the program receives from: ends when this handle does.
    Pull(bus::Subscription),
    /// A handler subscription, owned by its bus (so that it lives on when
    /// the program drops its handle) and ended through the client that
    /// made it.
    Handler { threaded: bool, client: bus::Client },
}

/// A subscription to a topic pattern; see the package docs for the API.
#[pyclass(frozen, module = "charter")]
pub struct Subscription {
    bus: Py<Bus>,
    view: SubscriptionRef,
    handback: Handback,
    /// Taken by the first `close`.
    owner: Mutex<Option<Owner>>,
    /// Whether a publish may wait on it: `Block`, or a session's handler
    /// thread (see `Bus::blocking`).
    blocks: bool,
}

impl Subscription {
    pub(crate) fn new(bus: Py<Bus>, view: SubscriptionRef, owner: Owner, blocks: bool) -> Subscription {
        Subscription { bus, view, handback: Handback::default(), owner: Mutex::new(Some(owner)), blocks }
    }

    /// Takes the next message, waiting up to `wait` for one. Run with the
    /// GIL released unless `wait` is zero.
    fn receive_once(&self, wait: Duration) -> charter_core::Result<Option<bus::Message>> {
        if let Some(message) = self.handed_back(wait) {
            return Ok(message);
        }
        match self.view.recv_timeout(wait) {
            Ok(message) => Ok(Some(message)),
            Err(e) if matches!(e.kind(), ErrorKind::Timeout | ErrorKind::WouldBlock) => Ok(None),
            // A message handed back meanwhile is still to be received.
            Err(e) if e.kind() == ErrorKind::Closed => self.handed_back(wait).ok_or(e),
            Err(e) => Err(e),
        }
    }

    /// A handed-back message, or nothing after waiting up to `wait` for an
    /// abandoned wait to settle; `None` when the queue's turn has come.
    fn handed_back(&self, wait: Duration) -> Option<Option<bus::Message>> {
        match self.handback.turn() {
            Turn::Take(message) => Some(Some(message)),
            Turn::Wait => {
                self.handback.wait(wait);
                Some(None)
            }
            Turn::Queue => None,
        }
    }

    /// Takes the next message, waiting until `end` at most. Run with the
    /// GIL released.
    fn receive_until(&self, end: Instant) -> charter_core::Result<Option<bus::Message>> {
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if let Some(message) = self.receive_once(left)? {
                return Ok(Some(message));
            }
            if left.is_zero() {
                return Ok(None);
            }
        }
    }

    /// Takes the next message, waiting up to `limit` (`None`: no limit);
    /// `Ok(None)` when none came. The outer error is a Python exception
    /// raised by a signal handler.
    pub(crate) fn receive(
        &self,
        py: Python<'_>,
        limit: Option<Duration>,
    ) -> PyResult<charter_core::Result<Option<bus::Message>>> {
        // First without releasing the GIL: that costs more than a receive.
        match self.receive_once(Duration::ZERO) {
            Ok(None) if limit != Some(Duration::ZERO) => {}
            done => return Ok(done),
        }
        let deadline = limit.and_then(|limit| Instant::now().checked_add(limit));
        loop {
            let slice_end = Instant::now() + SLICE;
            let end = deadline.map_or(slice_end, |d| d.min(slice_end));
            let done = match shutdown::detach(py, || self.receive_until(end)) {
                Ok(None) if deadline.is_none_or(|d| Instant::now() < d) => None,
                done => Some(done),
            };
            // A signal that came during the wait raises now, even if a
            // message came too: that message goes back for the next receive.
            if let Err(interrupted) = py.check_signals() {
                if let Some(Ok(Some(message))) = done {
                    self.handback.put_back(message);
                }
                return Err(interrupted);
            }
            if let Some(done) = done {
                return Ok(done);
            }
        }
    }

    fn bus(&self) -> &Bus {
        self.bus.get()
    }
}

#[pymethods]
impl Subscription {
    /// The subscription's id, unique within its bus.
    #[getter]
    fn id(&self) -> u64 {
        self.view.id().get()
    }

    /// The pattern it was made with.
    #[getter]
    fn pattern(&self) -> &str {
        self.view.pattern()
    }

    /// Whether it has ended: closed, its bus closed, or evicted as idle.
    #[getter]
    fn closed(&self) -> bool {
        lock(&self.owner).is_none() || self.view.is_closed()
    }

    /// Waits up to `timeout` seconds (`None`: no limit) for the next
    /// message. Raises `TimeoutError` when none came, and `ClosedError`
    /// once the subscription has ended and nothing is left to receive.
    #[pyo3(signature = (timeout = None))]
    fn recv(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Message> {
        let limit = optional_duration(py, timeout, "timeout")?;
        match self.receive(py, limit)? {
            Ok(Some(message)) => Ok(Message::new(message)),
            Ok(None) => Err(new_err(
                py,
                ErrorKind::Timeout,
                format!("no message within {:?} s", timeout.unwrap_or_default()),
            )),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// The next message if one is queued, else `None`, without waiting.
    fn try_recv(&self, py: Python<'_>) -> PyResult<Option<Message>> {
        match self.receive_once(Duration::ZERO) {
            Ok(message) => Ok(message.map(Message::new)),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// `recv` for asyncio: waits without blocking the event loop. Cancelling
    /// the awaiting task consumes nothing.
    #[pyo3(signature = (timeout = None))]
    fn recv_async<'py>(slf: &Bound<'py, Self>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        optional_duration(py, timeout, "timeout")?;
        aio::coroutine(py, "receive", (slf, timeout))
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// The next message; iteration ends when the subscription does.
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Message>> {
        match self.receive(py, None)? {
            Ok(message) => Ok(message.map(Message::new)),
            Err(e) if e.kind() == ErrorKind::Closed => Ok(None),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    fn __aiter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __anext__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        aio::coroutine(slf.py(), "next_message", (slf,))
    }

    /// The subscription's accounting (still readable once it has ended).
    fn stats(&self) -> SubscriptionStats {
        self.view.stats().into()
    }

    /// Ends the subscription: queued messages are dropped (and counted),
    /// blocked receivers get `ClosedError`, a handler is released. For a
    /// handler on its own thread, waits for a call in progress to return
    /// (unless called from that handler). Idempotent.
    fn close(&self, py: Python<'_>) {
        let Some(owner) = lock(&self.owner).take() else {
            return;
        };
        match owner {
            // Without a handler thread to wait for, ending is quick.
            Owner::Pull(subscription) => subscription.close(),
            Owner::Handler { threaded, client } => {
                self.bus().end_handler(py, self.view.id(), threaded, &client)
            }
        }
        if self.blocks {
            self.bus().forget_blocking();
        }
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, py: Python<'_>, _exc_info: &Bound<'_, PyTuple>) {
        self.close(py);
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let pattern = PyString::new(py, self.pattern()).repr()?;
        let state = if self.closed() { " closed" } else { "" };
        Ok(format!("<charter.Subscription id={} pattern={pattern}{state}>", self.id()))
    }

    /// Waits up to `seconds`, at most one slice, with the GIL released:
    /// the worker-thread half of `recv_async`.
    fn _wait(&self, py: Python<'_>, seconds: f64) -> PyResult<Option<Message>> {
        let wait = Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(SLICE).min(SLICE);
        let end = Instant::now() + wait;
        match shutdown::detach(py, || self.receive_until(end)) {
            Ok(message) => Ok(message.map(Message::new)),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// A `_wait` whose awaiting task was cancelled is still running.
    fn _abandon(&self) {
        self.handback.abandon();
    }

    /// Whether an abandoned `_wait` is still running.
    fn _settling(&self) -> bool {
        self.handback.settling()
    }

    /// The abandoned `_wait` ended, with what it took.
    fn _give_back(&self, message: Option<PyRef<'_, Message>>) {
        self.handback.give_back(message.map(|m| m.core().clone()));
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.bus)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // A pull subscription ends with its handle (its `bus::Subscription`
        // does that); a handler subscription lives on, owned by its bus.
        let owner = self.owner.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.blocks && matches!(owner, Some(Owner::Pull(_))) {
            self.bus.get().forget_blocking();
        }
    }
}
