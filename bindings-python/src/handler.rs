//! A bus handler: the Python callable of a handler subscription, called
//! by the core for each message (on the publishing thread, or on the
//! subscription's own), and for an `async def` handler, the event loop its
//! coroutines run on.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use charter_core::bus;
use charter_core::{HandlerError, HandlerResult};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::aio;
use crate::callback::{self, lock, ErrorHook, Interrupts};
use crate::message::Message;
use crate::shutdown;

/// A handler subscription's Python callable.
pub(crate) struct Handler {
    /// The subscription's id, recorded before the handler can run (it
    /// needs the GIL, which `subscribe` holds until then).
    pub(crate) id: AtomicU64,
    /// Taken out, to be released with the GIL, when the subscription ends.
    pub(crate) callable: Mutex<Option<Py<PyAny>>>,
    on_error: Arc<ErrorHook>,
    interrupts: Interrupts,
    /// For an async handler: the event loop its coroutines run on (the one
    /// running when it subscribed), and what its thread awaits now.
    pub(crate) awaiting: Option<Awaiting>,
}

/// How the thread of an async handler awaits its coroutines.
pub(crate) struct Awaiting {
    event_loop: Py<PyAny>,
    /// The running coroutine's `concurrent.futures.Future`.
    in_flight: Mutex<Option<Py<PyAny>>>,
    /// Set when the subscription ends: no coroutine starts after that.
    stopped: AtomicBool,
}

thread_local! {
    /// Whether this handler thread has its Python name yet.
    static NAMED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Names the handler thread of subscription `id` for Python, once:
/// `threading.current_thread().name` is then `charter-sub-<id>` (as the OS
/// thread is named), not `Dummy-3`, in logs and tracebacks. A failure to
/// name it changes nothing else.
fn name_thread(py: Python<'_>, id: u64) {
    if NAMED.with(|named| named.replace(true)) {
        return;
    }
    let _ = py
        .import("threading")
        .and_then(|threading| threading.call_method0("current_thread"))
        .and_then(|thread| thread.setattr("name", format!("charter-sub-{id}")));
}

impl Handler {
    /// The handler of a subscription to be added: `threaded` when it runs
    /// on a thread of its own; `event_loop` for an async handler.
    pub(crate) fn new(
        callable: Py<PyAny>,
        on_error: Arc<ErrorHook>,
        threaded: bool,
        event_loop: Option<Py<PyAny>>,
    ) -> Handler {
        Handler {
            id: AtomicU64::new(0),
            callable: Mutex::new(Some(callable)),
            on_error,
            // A handler thread has no caller to raise an interrupt in.
            interrupts: if threaded { Interrupts::ToHook } else { Interrupts::ToCaller },
            awaiting: event_loop.map(|event_loop| Awaiting {
                event_loop,
                in_flight: Mutex::new(None),
                stopped: AtomicBool::new(false),
            }),
        }
    }

    pub(crate) fn call(&self, message: &bus::Message) -> HandlerResult {
        // Skipped (and counted as failed) on a handler thread while the
        // interpreter exits.
        shutdown::attach(|py| {
            let Some(callable) = lock(&self.callable).as_ref().map(|c| c.clone_ref(py)) else {
                // Released: the subscription ended while this publish was
                // already delivering to it.
                return Ok(());
            };
            let id = self.id.load(Ordering::Relaxed);
            if self.interrupts == Interrupts::ToHook {
                name_thread(py, id);
            }
            let args = match Bound::new(py, Message::new(message.clone())).and_then(|m| PyTuple::new(py, [m]))
            {
                Ok(args) => args,
                Err(err) => {
                    self.on_error.report(py, id, err, callable.bind(py));
                    return Err(HandlerError);
                }
            };
            let returned =
                callback::call_returning(py, callable.bind(py), &args, &self.on_error, id, self.interrupts)?;
            match (returned, &self.awaiting) {
                (None, _) => Ok(()),
                (Some(coroutine), Some(awaiting)) => awaiting.run(py, coroutine, &self.on_error, id),
                (Some(awaitable), None) => callback::refuse(
                    py,
                    awaitable,
                    &self.on_error,
                    id,
                    "subscribe an async def handler from a running event loop to have it awaited there",
                ),
            }
        })
        .unwrap_or(Err(HandlerError))
    }

    pub(crate) fn release(&self) -> Option<Py<PyAny>> {
        lock(&self.callable).take()
    }

    /// The subscription is ending: an async handler's thread stops
    /// waiting for its loop (which may be the thread ending it).
    pub(crate) fn stop(&self, py: Python<'_>) {
        if let Some(awaiting) = &self.awaiting {
            awaiting.stopped.store(true, Ordering::Release);
            // Taken out first: the lock must not be held while `cancel`
            // runs Python code (the handler's thread takes it with the GIL).
            let running = lock(&awaiting.in_flight).take();
            if let Some(running) = running {
                let _ = running.call_method0(py, "cancel");
            }
        }
    }
}

impl Awaiting {
    /// Runs `coroutine` on the handler's loop and waits for it (on the
    /// subscription's thread, the GIL released while it waits): an
    /// exception it raises is the handler's failure, counted by the core.
    fn run(&self, py: Python<'_>, coroutine: Bound<'_, PyAny>, hook: &ErrorHook, id: u64) -> HandlerResult {
        if self.stopped.load(Ordering::Acquire) {
            return callback::refuse(py, coroutine, hook, id, "its subscription has ended");
        }
        let outcome =
            aio::coroutine(py, "start_handler", (self.event_loop.bind(py), &coroutine)).and_then(|running| {
                *lock(&self.in_flight) = Some(running.clone().unbind());
                let outcome = running.call_method0("result");
                lock(&self.in_flight).take();
                outcome
            });
        match outcome {
            Ok(_) => Ok(()),
            Err(err) => {
                if let Ok(close) = coroutine.getattr("close") {
                    let _ = close.call0();
                }
                hook.report_or_unraisable(py, id, err);
                Err(HandlerError)
            }
        }
    }
}
