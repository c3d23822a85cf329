//! What a bus shares with its subscriptions and clients: the core, the
//! handlers, and when a call must release the GIL. `Bus`, `Client` and
//! `Subscription` each hold it, so that none of them depends on another
//! to end a subscription or publish (the module graph runs one way:
//! `gate`, then `subscription`, `calls`, `client`, `bus`).
//!
//! # Threads and the GIL
//!
//! A handler on a thread of its own (`dispatch="thread"`) needs the GIL to
//! run, and ending its subscription (or the bus) joins that thread. So
//! every call that can join one releases the GIL first: closing the bus or
//! such a subscription, and dropping the bus. A publish can wait too, for
//! room in a `Block` queue that some Python thread must drain, or, on an
//! enforcing bus, to join the thread of a handler whose session has ended
//! (the core ends such subscriptions as publishes meet them), or, on a bus
//! that records its decisions (`Bus(audit=...)`), for an audit record's
//! append and fsync. So it releases the GIL on a recording bus, and while
//! the bus has subscriptions of either kind; otherwise it keeps it, as
//! releasing costs more than a whole publish. Receives release it while
//! they wait (see `subscription`).
//!
//! Every call is made through a core [`bus::Client`]: the bus's own, with
//! no session, or a `Client`'s, which names the
//! session the core checks it against. The core decides every rule; the
//! binding only passes the caller on.
//!
//! `subscribe` keeps the GIL, so a handler cannot run before its id is
//! recorded (on a recording bus, then, a subscribe's audit record is
//! appended with the GIL held). `close` marks the bus closed under the GIL before the core
//! closes, and `subscribe` checks the mark under the GIL, so the core never
//! closes while a subscription is being added (it would join the new
//! handler thread, maybe while the subscribing thread holds the GIL).
//!
//! Inline handlers run on the publishing thread, inside `publish`, with no
//! lock of the core or the binding held, so they may use the bus freely.
//! Every call that can run Python code holds a [`Busy`] (see `shutdown`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use charter_core::bus::{self, Dispatch, SubscribeOptions, SubscriptionId};
use charter_core::ErrorKind;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::PyTraverseError;

use crate::callback::{self, catching_interrupts, lock, ErrorHook};
use crate::errors::{new_err, to_pyerr};
use crate::handler::Handler;
use crate::interrupt;
use crate::message::{self, header_refs};
use crate::shutdown::{self, Busy};
use crate::signals::on_main_thread;

/// What ends a subscription.
pub(crate) enum Owner {
    /// A queue the program receives from: ends when this handle does.
    Pull(bus::Subscription),
    /// A handler subscription, owned by its bus (so that it lives on when
    /// the program drops its handle) and ended through the client that
    /// made it.
    Handler { threaded: bool, client: bus::Client },
}

/// A bus's shared state; see the module docs.
pub(crate) struct Gate {
    core: bus::Bus,
    /// Set under the GIL before the core closes (see module docs).
    closed: AtomicBool,
    /// Live subscriptions a publish may wait on, or more (one the core
    /// ended itself is not noticed): those whose overflow policy is `Block`,
    /// and a session's handler subscriptions with a thread of their own.
    /// While there are none, no publish can wait and it keeps the GIL.
    pub(crate) blocking: AtomicUsize,
    /// Whether decisions are recorded in an audit log: a publish or a
    /// request may then wait for an append (and its fsync).
    recording: bool,
    pub(crate) on_error: Arc<ErrorHook>,
    /// The handlers of live handler subscriptions, by subscription id: the
    /// garbage collector must see them, and ending a subscription releases
    /// its handler at once, with the GIL.
    handlers: Mutex<HashMap<u64, Arc<Handler>>>,
}

impl Gate {
    /// The state of a new bus, over `core`.
    pub(crate) fn new(core: bus::Bus, recording: bool, on_error: Option<Py<PyAny>>) -> Gate {
        Gate {
            core,
            closed: AtomicBool::new(false),
            recording,
            blocking: AtomicUsize::new(0),
            on_error: Arc::new(ErrorHook::new(on_error)),
            handlers: Mutex::default(),
        }
    }

    pub(crate) fn core(&self) -> &bus::Bus {
        &self.core
    }

    /// The core, unless the bus is closed.
    pub(crate) fn open(&self, py: Python<'_>) -> PyResult<&bus::Bus> {
        if self.closed.load(Ordering::Acquire) {
            return Err(new_err(py, ErrorKind::Closed, "the bus is closed"));
        }
        Ok(&self.core)
    }

    /// A subscription a publish may wait on ended.
    pub(crate) fn forget_blocking(&self) {
        self.blocking.fetch_sub(1, Ordering::AcqRel);
    }

    /// Runs `f`, a core call that delivers, without the GIL if it could
    /// wait (see `blocking` and `recording`).
    pub(crate) fn delivering<T: Send>(&self, py: Python<'_>, f: impl Send + FnOnce() -> T) -> T {
        if self.recording || self.blocking.load(Ordering::Acquire) > 0 {
            shutdown::detach(py, f)
        } else {
            f()
        }
    }

    /// Adds a subscription to the core: a queue, or `handler`.
    pub(crate) fn add(
        &self,
        py: Python<'_>,
        caller: &bus::Client,
        pattern: &str,
        options: SubscribeOptions,
        handler: Option<Py<PyAny>>,
        event_loop: Option<Py<PyAny>>,
    ) -> PyResult<(bus::SubscriptionRef, Owner)> {
        self.open(py)?;
        let Some(callable) = handler else {
            let subscription = caller.subscribe(pattern, options).map_err(|e| to_pyerr(py, &e))?;
            return Ok(((*subscription).clone(), Owner::Pull(subscription)));
        };
        let threaded = options.dispatch == Dispatch::Thread;
        let handler = Arc::new(Handler::new(callable, Arc::clone(&self.on_error), threaded, event_loop));
        let called = Arc::clone(&handler);
        let run = move |m: &bus::Message| called.call(m);
        let subscription = caller.subscribe_with(pattern, options, run).map_err(|e| to_pyerr(py, &e))?;
        let view = (*subscription).clone();
        let id = subscription.detach().get();
        handler.id.store(id, Ordering::Relaxed);
        lock(&self.handlers).insert(id, handler);
        Ok((view, Owner::Handler { threaded, client: caller.clone() }))
    }

    /// Ends handler subscription `id`, made through `client`, and releases
    /// its handler. A subscription the core already ended (its session
    /// did) is gone: nothing to refuse.
    pub(crate) fn end_handler(
        &self,
        py: Python<'_>,
        id: SubscriptionId,
        threaded: bool,
        client: &bus::Client,
    ) -> PyResult<()> {
        let _busy = Busy::enter(py);
        let handler = lock(&self.handlers).get(&id.get()).cloned();
        if let Some(handler) = handler {
            handler.stop(py);
        }
        if threaded {
            let client = client.clone();
            let _ = interrupt::run(py, move || client.unsubscribe(id))?;
        } else {
            let _ = client.unsubscribe(id);
        }
        let handler = lock(&self.handlers).remove(&id.get());
        // Released here, with no lock held: that can run Python code.
        drop(handler.and_then(|h| h.release()));
        Ok(())
    }

    /// Publishes a request; returns the subscription its reply comes to.
    pub(crate) fn start_request(
        &self,
        py: Python<'_>,
        caller: &bus::Client,
        topic: &str,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bus::Subscription> {
        let payload = message::payload(payload)?;
        let headers = message::headers(headers)?;
        let _busy = Busy::enter(py);
        let (started, interrupt) = catching_interrupts(|| {
            self.delivering(py, || caller.request_start(topic, payload, &header_refs(&headers)))
        });
        if let Some(interrupt) = interrupt {
            return Err(interrupt);
        }
        started.map_err(|e| to_pyerr(py, &e))
    }

    /// Closes the core (joining handler threads, so without the GIL), then
    /// releases every handler and the hook, with the GIL. `interruptible`:
    /// Ctrl-C may interrupt the wait for busy handler threads (see
    /// `interrupt`); the close then goes on in the background, and a later
    /// `close` or the bus's collection releases the handlers.
    pub(crate) fn release(&self, py: Python<'_>, interruptible: bool) -> PyResult<()> {
        self.closed.store(true, Ordering::Release);
        let awaiting: Vec<_> =
            lock(&self.handlers).values().filter(|h| h.awaiting.is_some()).cloned().collect();
        for handler in awaiting {
            handler.stop(py);
        }
        // Only handler threads can keep a close waiting.
        let may_wait = interruptible && !lock(&self.handlers).is_empty();
        if may_wait {
            let core = self.core.clone();
            interrupt::run(py, move || core.close())?;
        } else {
            shutdown::detach(py, || self.core.close());
        }
        let handlers = std::mem::take(&mut *lock(&self.handlers));
        let callables: Vec<_> = handlers.values().filter_map(|h| h.release()).collect();
        let hook = self.on_error.replace(None);
        drop((handlers, callables, hook));
        Ok(())
    }
    /// Runs `publish`, a core call that delivers, as a publish must: see
    /// the module docs for when it releases the GIL.
    pub(crate) fn publishing<R: Send>(
        &self,
        py: Python<'_>,
        publish: impl Send + FnOnce() -> R,
    ) -> PyResult<R> {
        let _busy = Busy::enter(py);
        // A publish that may wait for room in a BLOCK queue runs signal
        // handlers while it waits, on the main thread (the only one they
        // run on): Ctrl-C ends the wait and is raised here.
        let interruptible = self.blocking.load(Ordering::Acquire) > 0 && on_main_thread(py)?;
        let (published, interrupt) = catching_interrupts(|| {
            self.delivering(py, || {
                if interruptible {
                    bus::interruptible(check_signals, publish)
                } else {
                    publish()
                }
            })
        });
        match interrupt {
            Some(interrupt) => Err(interrupt),
            None => Ok(published),
        }
    }

    /// Whether `close` has been called.
    pub(crate) fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Lets the garbage collector see the handlers and the hook.
    pub(crate) fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        // Locks are never held while Python code runs, so they are free
        // here; were one not, skipping it only delays collection.
        self.on_error.traverse(visit)?;
        if let Ok(handlers) = self.handlers.try_lock() {
            for handler in handlers.values() {
                if let Ok(callable) = handler.callable.try_lock() {
                    visit.call(callable.as_ref())?;
                }
            }
        }
        Ok(())
    }
}

/// The check a waiting BLOCK publish runs (see `bus::interruptible`):
/// Python's signal handlers, with the GIL; what they raise is set aside for
/// the publishing call to raise, and ends the wait.
fn check_signals() -> charter_core::Result<()> {
    match shutdown::attach(|py| py.check_signals()) {
        Some(Err(interrupt)) => {
            callback::set_aside(interrupt);
            Err(charter_core::Error::new(
                ErrorKind::Cancelled,
                "a signal handler raised while the publish waited for room",
            ))
        }
        _ => Ok(()),
    }
}
