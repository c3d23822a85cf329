//! `charter.Bus`: the core topic bus, with Python handlers.
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
//! no session, or a [`Client`](crate::client::Client)'s, which names the
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
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use charter_core::bus::{self, BusLimits, Dispatch, SubscribeOptions, SubscriptionId};
use charter_core::capability;
use charter_core::{ErrorKind, HandlerError, HandlerResult};
use pyo3::exceptions::PyTypeError;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::PyTuple;
use pyo3::PyTraverseError;

use crate::aio;
use crate::audit::{self, AuditLog};
use crate::authority::{Authority, Session};
use crate::callback::{self, catching_interrupts, lock, optional_callable, ErrorHook, Interrupts};
use crate::client::Client;
use crate::errors::{new_err, to_pyerr};
use crate::interrupt;
use crate::message::{self, header_refs, Message};
use crate::options::{self, optional_duration, Overflow};
use crate::shutdown::{self, Busy};
use crate::stats::{self, BusStats, PublishReport};
use crate::subscription::{on_main_thread, Owner, Subscription};

/// A handler subscription's Python callable.
struct Handler {
    /// The subscription's id, recorded before the handler can run (it
    /// needs the GIL, which `subscribe` holds until then).
    id: AtomicU64,
    /// Taken out, to be released with the GIL, when the subscription ends.
    callable: Mutex<Option<Py<PyAny>>>,
    on_error: Arc<ErrorHook>,
    interrupts: Interrupts,
    /// For an async handler: the event loop its coroutines run on (the one
    /// running when it subscribed), and what its thread awaits now.
    awaiting: Option<Awaiting>,
}

/// How the thread of an async handler awaits its coroutines.
struct Awaiting {
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
    fn call(&self, message: &bus::Message) -> HandlerResult {
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

    fn release(&self) -> Option<Py<PyAny>> {
        lock(&self.callable).take()
    }

    /// The subscription is ending: an async handler's thread stops
    /// waiting for its loop (which may be the thread ending it).
    fn stop(&self, py: Python<'_>) {
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

/// A topic bus; see the package docs for the API.
#[pyclass(frozen, weakref, module = "charter")]
pub struct Bus {
    core: bus::Bus,
    /// The caller without a session: the bus's own calls go through it.
    anyone: bus::Client,
    /// Set under the GIL before the core closes (see module docs).
    closed: AtomicBool,
    /// Live subscriptions a publish may wait on, or more (one the core
    /// ended itself is not noticed): those whose overflow policy is `Block`,
    /// and a session's handler subscriptions with a thread of their own.
    /// While there are none, no publish can wait and it keeps the GIL.
    blocking: AtomicUsize,
    /// Whether decisions are recorded in an audit log: a publish or a
    /// request may then wait for an append (and its fsync).
    recording: bool,
    on_error: Arc<ErrorHook>,
    /// The handlers of live handler subscriptions, by subscription id: the
    /// garbage collector must see them, and ending a subscription releases
    /// its handler at once, with the GIL.
    handlers: Mutex<HashMap<u64, Arc<Handler>>>,
}

impl Bus {
    pub(crate) fn core(&self) -> &bus::Bus {
        &self.core
    }

    fn open(&self, py: Python<'_>) -> PyResult<&bus::Bus> {
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
    fn delivering<T: Send>(&self, py: Python<'_>, f: impl Send + FnOnce() -> T) -> T {
        if self.recording || self.blocking.load(Ordering::Acquire) > 0 {
            shutdown::detach(py, f)
        } else {
            f()
        }
    }

    /// Adds a subscription to the core: a queue, or `handler`.
    fn add(
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
        let handler = Arc::new(Handler {
            id: AtomicU64::new(0),
            callable: Mutex::new(Some(callable)),
            on_error: Arc::clone(&self.on_error),
            // A handler thread has no caller to raise an interrupt in.
            interrupts: if threaded { Interrupts::ToHook } else { Interrupts::ToCaller },
            awaiting: event_loop.map(|event_loop| Awaiting {
                event_loop,
                in_flight: Mutex::new(None),
                stopped: AtomicBool::new(false),
            }),
        });
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
    fn start_request(
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
    fn release(&self, py: Python<'_>, interruptible: bool) -> PyResult<()> {
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
}

/// The calls `Bus` and `Client` share, made for a caller.
impl Bus {
    /// `subscribe`.
    pub(crate) fn subscribe_as(
        slf: &Bound<'_, Bus>,
        caller: &bus::Client,
        pattern: &str,
        handler: Option<Bound<'_, PyAny>>,
        options: options::Subscribe<'_>,
    ) -> PyResult<Subscription> {
        let py = slf.py();
        let bus = slf.get();
        if let Some(h) = handler.as_ref().filter(|h| !h.is_callable()) {
            return Err(PyTypeError::new_err(format!(
                "handler must be callable, not {}",
                h.get_type().name()?
            )));
        }
        let event_loop = match &handler {
            Some(h) => {
                aio::coroutine(py, "handler_loop", (h, options.dispatch))?.extract::<Option<Py<PyAny>>>()?
            }
            None => None,
        };
        let options = options::Subscribe {
            dispatch: options.dispatch.or(event_loop.as_ref().map(|_| "thread")),
            ..options
        };
        let options = options.to_core(py)?;
        let session_thread =
            caller.session().is_some() && handler.is_some() && options.dispatch == Dispatch::Thread;
        let blocks = matches!(options.overflow, bus::Overflow::Block(_)) || session_thread;
        // Counted first: a publish must never keep the GIL while it could
        // wait on this subscription.
        if blocks {
            bus.blocking.fetch_add(1, Ordering::AcqRel);
        }
        let added = bus.add(py, caller, pattern, options, handler.map(Bound::unbind), event_loop);
        if added.is_err() && blocks {
            bus.forget_blocking();
        }
        let (view, owner) = added?;
        Ok(Subscription::new(slf.clone().unbind(), view, owner, blocks))
    }

    /// `publish`.
    pub(crate) fn publish_as(
        &self,
        py: Python<'_>,
        caller: &bus::Client,
        topic: &str,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PublishReport>> {
        let payload = message::payload(payload)?;
        let headers = message::headers(headers)?;
        let _busy = Busy::enter(py);
        // A publish that may wait for room in a BLOCK queue runs signal
        // handlers while it waits, on the main thread (the only one they
        // run on): Ctrl-C ends the wait and is raised here.
        let interruptible = self.blocking.load(Ordering::Acquire) > 0 && on_main_thread(py)?;
        let (published, interrupt) = catching_interrupts(|| {
            self.delivering(py, || {
                let publish = || caller.publish(topic, payload, &header_refs(&headers));
                if interruptible {
                    bus::interruptible(check_signals, publish)
                } else {
                    publish()
                }
            })
        });
        if let Some(interrupt) = interrupt {
            return Err(interrupt);
        }
        match published {
            Ok(report) => stats::report(py, report),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// `request`.
    pub(crate) fn request_as(
        slf: &Bound<'_, Bus>,
        caller: &bus::Client,
        topic: &str,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Message> {
        let py = slf.py();
        let limit = optional_duration(py, timeout, "timeout")?;
        let replies = Bus::request_start_as(slf, caller, topic, payload, headers)?;
        match replies.receive(py, limit)? {
            Ok(Some(reply)) => Ok(Message::new(reply)),
            Ok(None) => Err(to_pyerr(py, &bus::no_reply(topic, limit.unwrap_or_default()))),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// `respond`.
    pub(crate) fn respond_as(
        py: Python<'_>,
        caller: &bus::Client,
        request: &Message,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PublishReport>> {
        let payload = message::payload(payload)?;
        let headers = message::headers(headers)?;
        // Replies go to a reply inbox, which never blocks or runs handlers.
        match caller.respond(request.core(), payload, &header_refs(&headers)) {
            Ok(report) => stats::report(py, report),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// `_request_start`: publishes a request and returns the subscription
    /// its reply comes to.
    pub(crate) fn request_start_as(
        slf: &Bound<'_, Bus>,
        caller: &bus::Client,
        topic: &str,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Subscription> {
        let inbox = slf.get().start_request(slf.py(), caller, topic, payload, headers)?;
        Ok(Subscription::new(slf.clone().unbind(), (*inbox).clone(), Owner::Pull(inbox), false))
    }
}

#[pymethods]
impl Bus {
    #[new]
    #[pyo3(
        signature = (
            *,
            authority = None,
            max_subscriptions = BusLimits::default().max_subscriptions,
            max_queue_messages = BusLimits::default().max_queue_messages,
            max_queue_bytes = BusLimits::default().max_queue_bytes,
            max_payload = BusLimits::default().max_payload,
            max_topic_len = BusLimits::default().max_topic_len,
            max_topic_tokens = BusLimits::default().max_topic_tokens,
            max_headers = BusLimits::default().max_headers,
            max_header_bytes = BusLimits::default().max_header_bytes,
            on_error = None,
            audit = None,
            audit_scope = "denials",
        ),
        text_signature = "(*, authority=None, max_subscriptions=65536, max_queue_messages=1048576, \
            max_queue_bytes=268435456, max_payload=1048576, max_topic_len=256, max_topic_tokens=16, \
            max_headers=64, max_header_bytes=16384, on_error=None, audit=None, audit_scope='denials')"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        authority: Option<PyRef<'_, Authority>>,
        max_subscriptions: usize,
        max_queue_messages: usize,
        max_queue_bytes: usize,
        max_payload: usize,
        max_topic_len: usize,
        max_topic_tokens: usize,
        max_headers: usize,
        max_header_bytes: usize,
        on_error: Option<Bound<'_, PyAny>>,
        audit: Option<PyRef<'_, AuditLog>>,
        audit_scope: &str,
    ) -> PyResult<Bus> {
        let limits = BusLimits {
            max_subscriptions,
            max_queue_messages,
            max_queue_bytes,
            max_payload,
            max_topic_len,
            max_topic_tokens,
            max_headers,
            max_header_bytes,
        };
        let hook = optional_callable(on_error, "on_error")?;
        let authority = authority.map(|a| capability::Authority::clone(&a.0));
        let recorder = audit::recorder(py, audit, audit_scope)?;
        let recording = recorder.is_some();
        let core = match (authority, recorder) {
            (authority, Some(recorder)) => bus::Bus::with_recorder(limits, authority, recorder),
            (Some(authority), None) => bus::Bus::with_authority(limits, authority),
            (None, None) => bus::Bus::new(limits),
        };
        let core = core.map_err(|e| to_pyerr(py, &e))?;
        Ok(Bus {
            anyone: core.client(None),
            core,
            closed: AtomicBool::new(false),
            recording,
            blocking: AtomicUsize::new(0),
            on_error: Arc::new(ErrorHook::new(hook)),
            handlers: Mutex::default(),
        })
    }

    /// The bus as seen by the holder of `session`: the same calls, each
    /// checked against the session's grants.
    fn client(slf: &Bound<'_, Self>, session: &Bound<'_, Session>) -> Client {
        Client::new(slf, session)
    }

    /// Subscribes to `pattern`. Without `handler`, messages queue for
    /// `recv` and friends; with one, `handler(message)` runs for each, on
    /// the publishing thread or on a thread of the subscription's own.
    #[pyo3(
        signature = (
            pattern,
            handler = None,
            *,
            capacity = SubscribeOptions::default().capacity,
            max_bytes = SubscribeOptions::default().max_bytes,
            overflow = None,
            ttl = None,
            idle_ttl = None,
            dispatch = None,
        ),
        text_signature = "($self, pattern, handler=None, *, capacity=1024, max_bytes=16777216, \
            overflow=None, ttl=None, idle_ttl=None, dispatch='inline')"
    )]
    #[allow(clippy::too_many_arguments)]
    fn subscribe(
        slf: &Bound<'_, Self>,
        #[pyo3(from_py_with = crate::text::utf8)] pattern: PyBackedStr,
        handler: Option<Bound<'_, PyAny>>,
        capacity: usize,
        max_bytes: usize,
        overflow: Option<Overflow>,
        #[pyo3(from_py_with = crate::when::optional_seconds)] ttl: Option<f64>,
        #[pyo3(from_py_with = crate::when::optional_seconds)] idle_ttl: Option<f64>,
        dispatch: Option<PyBackedStr>,
    ) -> PyResult<Subscription> {
        let options = options::Subscribe {
            capacity,
            max_bytes,
            overflow: overflow.unwrap_or(Overflow::DEFAULT),
            ttl,
            idle_ttl,
            dispatch: dispatch.as_deref(),
            has_handler: handler.is_some(),
        };
        Bus::subscribe_as(slf, &slf.get().anyone, &pattern, handler, options)
    }

    /// Publishes `payload` (bytes-like) on `topic` to every matching
    /// subscription, with optional `headers`.
    #[pyo3(signature = (topic, payload, headers = None))]
    fn publish(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PublishReport>> {
        self.publish_as(py, &self.anyone, &topic, payload, headers)
    }

    /// Publishes a request and waits up to `timeout` seconds (`None`: no
    /// limit) for the first reply.
    #[pyo3(
        signature = (topic, payload, headers = None, timeout = Some(5.0)),
        text_signature = "($self, topic, payload, headers=None, timeout=5.0)"
    )]
    fn request(
        slf: &Bound<'_, Self>,
        #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Message> {
        Bus::request_as(slf, &slf.get().anyone, &topic, payload, headers, timeout)
    }

    /// `request` for asyncio.
    #[pyo3(
        signature = (topic, payload, headers = None, timeout = Some(5.0)),
        text_signature = "($self, topic, payload, headers=None, timeout=5.0)"
    )]
    fn request_async<'py>(
        slf: &Bound<'py, Self>,
        #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
        payload: Bound<'py, PyAny>,
        headers: Option<Bound<'py, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        optional_duration(py, timeout, "timeout")?;
        aio::coroutine(py, "request", (slf, &*topic, payload, headers, timeout))
    }

    /// Publishes a request and returns the subscription its reply comes to:
    /// the synchronous half of `request_async`.
    #[pyo3(signature = (topic, payload, headers = None))]
    fn _request_start(
        slf: &Bound<'_, Self>,
        #[pyo3(from_py_with = crate::text::utf8)] topic: PyBackedStr,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Subscription> {
        Bus::request_start_as(slf, &slf.get().anyone, &topic, payload, headers)
    }

    /// Answers `request`, a message received with a reply inbox.
    #[pyo3(signature = (request, payload, headers = None))]
    fn respond(
        &self,
        py: Python<'_>,
        request: PyRef<'_, Message>,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PublishReport>> {
        Bus::respond_as(py, &self.anyone, &request, payload, headers)
    }

    /// The bus's accounting over its whole life.
    fn stats(&self) -> BusStats {
        self.core.stats().into()
    }

    /// Ends every subscription with an `idle_ttl` not received from for
    /// that long; returns how many ended.
    fn evict_idle(&self, py: Python<'_>) -> PyResult<usize> {
        // Only queue subscriptions have an idle_ttl: no thread to join.
        Ok(self.open(py)?.evict_idle())
    }

    /// The hook `(subscription_id, exception)` that receives every
    /// exception a handler raises, or `None`.
    #[getter]
    fn get_on_error(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.open(py)?;
        Ok(self.on_error.get(py))
    }

    #[setter]
    fn set_on_error(&self, py: Python<'_>, hook: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        self.open(py)?;
        let _busy = Busy::enter(py);
        let old = self.on_error.replace(optional_callable(hook, "on_error")?);
        drop(old);
        Ok(())
    }

    /// Whether `close` has been called.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closes the bus: every subscription ends (blocked receivers get
    /// `ClosedError`), handler threads are joined, handlers and the hook are
    /// released. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let _busy = Busy::enter(py);
        self.release(py, true)
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().open(slf.py())?;
        Ok(slf)
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, py: Python<'_>, _exc_info: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.close(py)
    }

    fn __repr__(&self) -> String {
        if self.closed() {
            return "<charter.Bus closed>".to_owned();
        }
        format!("<charter.Bus subscriptions={}>", self.core.subscription_count())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // Locks are never held while Python code runs, so they are free
        // here; were one not, skipping it only delays collection.
        self.on_error.traverse(&visit)?;
        if let Ok(handlers) = self.handlers.try_lock() {
            for handler in handlers.values() {
                if let Ok(callable) = handler.callable.try_lock() {
                    visit.call(callable.as_ref())?;
                }
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        Python::attach(|py| {
            let _ = self.release(py, false);
        });
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        // The core's own drop would join handler threads with the GIL held.
        if !self.closed() {
            Python::attach(|py| {
                let _ = self.release(py, false);
            });
        }
    }
}

/// The error a request that got no reply within `timeout` seconds raises:
/// the core's wording, for `request_async`.
#[pyfunction]
fn _no_reply(py: Python<'_>, topic: &str, timeout: f64) -> PyResult<Py<PyAny>> {
    let timeout = optional_duration(py, Some(timeout), "timeout")?.unwrap_or_default();
    Ok(to_pyerr(py, &bus::no_reply(topic, timeout)).into_value(py).into_any())
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_no_reply, m)?)?;
    m.add_class::<Bus>()?;
    m.add_class::<Subscription>()
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
