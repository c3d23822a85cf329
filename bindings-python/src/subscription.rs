//! `charter.Subscription`: receiving (blocking, non-blocking, iterating,
//! awaiting) and ending.
//!
//! # Waiting
//!
//! A blocking receive releases the GIL and waits on the core's readiness,
//! which a message, the subscription's end or the deadline wakes at once:
//! off the main thread in the core's cancellable receive; on the main
//! thread (the only one where Python runs signal handlers) with
//! `poll_recv` and a notify, waking also every [`SIGNAL_CHECK`] to run the
//! handlers, and running them before it takes a message, so Ctrl-C
//! interrupts it and a message that comes with the Ctrl-C stays queued.
//! That wake-up only looks for signals, never for messages. A wait that
//! ends without a message consumes nothing.
//!
//! An asyncio receive (`charter/_aio.py`) never blocks: it asks the core
//! with [`_poll`](Subscription::_poll), which takes a message or arms the
//! loop's waiter (see [`reactor`](crate::reactor)), and awaits the wake-up.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use charter_core::bus::{self, Cancel, Notify, Polled, SubscriptionRef};
use charter_core::ErrorKind;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyList, PyString, PyTuple};
use pyo3::PyTraverseError;

use crate::aio;
use crate::callback::lock;
use crate::errors::{new_err, to_pyerr};
use crate::gate::{Gate, Owner};
use crate::message::Message;
use crate::options::optional_duration;
use crate::reactor::Waiter;
use crate::shutdown;
use crate::signals::{on_main_thread, SIGNAL_CHECK};
use crate::stats::SubscriptionStats;

/// The most messages `recv_many` makes room for before it receives: a
/// batch up to this size fills its vector without growing it, and a large
/// `max` on a nearly empty queue allocates no more than this.
const PREALLOCATED: usize = 256;

/// Where a blocking receive on the main thread sleeps until the core's
/// notify (or the signal check) wakes it.
#[derive(Default)]
struct Parker {
    woken: Mutex<bool>,
    changed: Condvar,
}

impl Parker {
    fn wake(&self) {
        *lock(&self.woken) = true;
        self.changed.notify_one();
    }

    /// Sleeps until woken or `wait` has passed.
    fn park(&self, wait: Duration) {
        let woken = lock(&self.woken);
        let (mut woken, _) = self
            .changed
            .wait_timeout_while(woken, wait, |woken| !*woken)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *woken = false;
    }
}

/// A subscription to a topic pattern; see the package docs for the API.
#[pyclass(frozen, module = "charter")]
pub struct Subscription {
    /// The `Bus` (kept alive while the subscription is) and its shared
    /// state.
    bus: Py<PyAny>,
    gate: Arc<Gate>,
    view: SubscriptionRef,
    /// Taken by the first `close`.
    owner: Mutex<Option<Owner>>,
    /// Whether a publish may wait on it: `Block`, or a session's handler
    /// thread (see `Gate::blocking`).
    blocks: bool,
}

impl Subscription {
    pub(crate) fn new(
        bus: Py<PyAny>,
        gate: Arc<Gate>,
        view: SubscriptionRef,
        owner: Owner,
        blocks: bool,
    ) -> Subscription {
        Subscription { bus, gate, view, owner: Mutex::new(Some(owner)), blocks }
    }

    /// Takes the next message, waiting up to `limit` (`None`: no limit);
    /// `Ok(None)` when none came. The outer error is a Python exception
    /// raised by a signal handler; the wait then consumed nothing.
    pub(crate) fn receive(
        &self,
        py: Python<'_>,
        limit: Option<Duration>,
    ) -> PyResult<charter_core::Result<Option<bus::Message>>> {
        // First without releasing the GIL: that costs more than a receive.
        match self.view.try_recv() {
            Ok(None) if limit != Some(Duration::ZERO) => {}
            done => return Ok(done),
        }
        let deadline = limit.and_then(|limit| Instant::now().checked_add(limit));
        if on_main_thread(py)? {
            return self.receive_interruptibly(py, deadline);
        }
        // No signal handler can run on this thread: wait for the message.
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match shutdown::detach(py, || self.view.recv_cancellable(left, &Cancel::new())) {
            Ok(message) => Ok(Ok(Some(message))),
            Err(e) if matches!(e.kind(), ErrorKind::Timeout | ErrorKind::WouldBlock) => Ok(Ok(None)),
            Err(e) => Ok(Err(e)),
        }
    }

    /// [`receive`](Self::receive) on the main thread: signal handlers run
    /// before every take, so a Ctrl-C that comes with a message leaves the
    /// message queued. The wait wakes for a message or the end at once
    /// (the core's notify), and every [`SIGNAL_CHECK`] to run handlers.
    fn receive_interruptibly(
        &self,
        py: Python<'_>,
        deadline: Option<Instant>,
    ) -> PyResult<charter_core::Result<Option<bus::Message>>> {
        let parker = Arc::new(Parker::default());
        let woken = Arc::clone(&parker);
        let notify: Notify = Arc::new(move || woken.wake());
        let outcome = (|| loop {
            py.check_signals()?;
            let recheck = match self.view.poll_recv(&notify) {
                Ok(Polled::Ready(message)) => return Ok(Ok(Some(message))),
                Ok(Polled::Pending { recheck }) => recheck,
                Err(e) => return Ok(Err(e)),
            };
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                return Ok(Ok(None));
            }
            let wait = [left, recheck.map(|r| r.max(Duration::from_millis(1)))]
                .into_iter()
                .flatten()
                .fold(SIGNAL_CHECK, Duration::min);
            shutdown::detach(py, || parker.park(wait));
        })();
        self.view.disarm(&notify);
        outcome
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
    fn recv(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::when::optional_seconds)] timeout: Option<f64>,
    ) -> PyResult<Message> {
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

    /// Waits as `recv` does for the next message, then takes the messages
    /// already queued behind it, without waiting, up to `max` in all (at
    /// least 1): a list of 1 to `max` messages, in order. Raises as `recv`
    /// does when none comes.
    #[pyo3(signature = (max, timeout = None))]
    fn recv_many<'py>(
        &self,
        py: Python<'py>,
        max: i64,
        #[pyo3(from_py_with = crate::when::optional_seconds)] timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyList>> {
        // A negative max is as invalid as 0, which the core refuses.
        let max = usize::try_from(max).unwrap_or(0);
        optional_duration(py, timeout, "timeout")?;
        // What is queued now, without releasing the GIL, into a vector
        // made to its likely size (the core's own grows from empty: four
        // reallocations for a batch of 64); the list is made straight from
        // it, with no vector of `Message`s in between.
        let mut batch = Vec::with_capacity(max.min(PREALLOCATED));
        match self.view.recv_many_into(&mut batch, max, Some(Duration::ZERO)) {
            Ok(_) => return PyList::new(py, batch.into_iter().map(Message::new)),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(to_pyerr(py, &e)),
        }
        let first = self.recv(py, timeout)?;
        // Whatever came behind it; an empty or ended queue adds nothing to
        // the message already taken.
        if max > 1 {
            let _ = self.view.recv_many_into(&mut batch, max - 1, Some(Duration::ZERO));
        }
        PyList::new(py, std::iter::once(first).chain(batch.into_iter().map(Message::new)))
    }

    /// `recv_many` for asyncio: waits for the first message without
    /// blocking the event loop.
    #[pyo3(signature = (max, timeout = None))]
    fn recv_many_async<'py>(
        slf: &Bound<'py, Self>,
        max: i64,
        #[pyo3(from_py_with = crate::when::optional_seconds)] timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        optional_duration(py, timeout, "timeout")?;
        aio::coroutine(py, "receive_many", (slf, max, timeout))
    }

    /// How many messages are queued now (as `queue.Queue.qsize`: another
    /// thread may change it at once): the core's count, 0 once the
    /// subscription has ended. For a handler on a thread of its own, the
    /// messages waiting for it.
    fn qsize(&self) -> u64 {
        self.view.stats().queued
    }

    /// Whether no message is queued now (`qsize() == 0`).
    fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// The next message if one is queued, else `None`, without waiting.
    fn try_recv(&self, py: Python<'_>) -> PyResult<Option<Message>> {
        match self.view.try_recv() {
            Ok(message) => Ok(message.map(Message::new)),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// `recv` for asyncio: waits without blocking the event loop. Cancelling
    /// the awaiting task consumes nothing.
    #[pyo3(signature = (timeout = None))]
    fn recv_async<'py>(
        slf: &Bound<'py, Self>,
        #[pyo3(from_py_with = crate::when::optional_seconds)] timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
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
    /// On the main thread Ctrl-C interrupts the wait for a busy handler
    /// thread; the subscription ends in the background.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let Some(owner) = lock(&self.owner).take() else {
            return Ok(());
        };
        let ended = match owner {
            // Without a handler thread to wait for, ending is quick.
            Owner::Pull(subscription) => {
                subscription.close();
                Ok(())
            }
            Owner::Handler { threaded, client } => {
                self.gate.end_handler(py, self.view.id(), threaded, &client)
            }
        };
        if self.blocks {
            self.gate.forget_blocking();
        }
        ended
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, py: Python<'_>, _exc_info: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.close(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let pattern = PyString::new(py, self.pattern()).repr()?;
        let state = if self.closed() { " closed" } else { "" };
        Ok(format!("<charter.Subscription id={} pattern={pattern}{state}>", self.id()))
    }

    /// For `charter._aio`: takes the next message, or arms `waiter` and
    /// returns how many seconds may pass before asking again (the time left
    /// to the subscription's session; `inf` when nothing else can end it).
    fn _poll(&self, py: Python<'_>, waiter: PyRef<'_, Waiter>) -> PyResult<Py<PyAny>> {
        match self.view.poll_recv(waiter.notify()) {
            Ok(Polled::Ready(message)) => Ok(Bound::new(py, Message::new(message))?.into_any().unbind()),
            Ok(Polled::Pending { recheck }) => {
                let seconds = recheck.map_or(f64::INFINITY, |d| d.as_secs_f64());
                Ok(PyFloat::new(py, seconds).into_any().unbind())
            }
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// For `charter._aio`: a receiver that gave up forgets its arm.
    fn _disarm(&self, waiter: PyRef<'_, Waiter>) -> bool {
        self.view.disarm(waiter.notify())
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
            self.gate.forget_blocking();
        }
    }
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Subscription>()
}
