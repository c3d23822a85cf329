//! The calls `Bus` and `Client` share, made for a caller: the bus's own
//! (no session) or a client's. The core decides every rule; these only
//! read Python arguments, pass the caller on and wrap what comes back.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use charter_core::bus::{self, Dispatch};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::aio;
use crate::callback;
use crate::errors::to_pyerr;
use crate::gate::{Gate, Owner};
use crate::message::{self, header_refs, Message};
use crate::options::{self, optional_duration};
use crate::stats::{self, PublishReport};
use crate::subscription::Subscription;

/// A bus as one caller sees it: the bus object (which the subscriptions
/// it makes keep alive), its shared state, and the core client every call
/// is made through.
pub(crate) struct Caller<'a, 'py> {
    pub(crate) bus: &'a Bound<'py, PyAny>,
    pub(crate) gate: &'a Arc<Gate>,
    pub(crate) client: &'a bus::Client,
}

impl<'py> Caller<'_, 'py> {
    fn subscription(&self, view: bus::SubscriptionRef, owner: Owner, blocks: bool) -> Subscription {
        Subscription::new(self.bus.clone().unbind(), Arc::clone(self.gate), view, owner, blocks)
    }

    /// `subscribe`.
    pub(crate) fn subscribe(
        &self,
        pattern: &str,
        handler: Option<Bound<'py, PyAny>>,
        options: options::Subscribe<'_>,
    ) -> PyResult<Subscription> {
        let py = self.bus.py();
        let (gate, caller) = (self.gate, self.client);
        if let Some(h) = &handler {
            callback::callable(h)?;
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
            gate.blocking.fetch_add(1, Ordering::AcqRel);
        }
        let added = gate.add(py, caller, pattern, options, handler.map(Bound::unbind), event_loop);
        if added.is_err() && blocks {
            gate.forget_blocking();
        }
        let (view, owner) = added?;
        Ok(self.subscription(view, owner, blocks))
    }

    /// `publish`.
    pub(crate) fn publish(
        &self,
        topic: &str,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PublishReport>> {
        let (py, caller) = (self.bus.py(), self.client);
        // `bytes` cannot change, and `payload` holds it for the call: the
        // core copies it straight into the message (into a pooled body's
        // kept buffer when at most 1 KiB), without a copy of our own.
        if let Ok(bytes) = payload.cast::<pyo3::types::PyBytes>() {
            let (lent, headers) = (bytes.as_bytes(), message::headers(headers)?);
            let published =
                self.gate.publishing(py, || caller.publish_copied(topic, lent, &header_refs(&headers)));
            return reported(py, published?);
        }
        let payload = message::payload(payload)?;
        let headers = message::headers(headers)?;
        reported(py, self.gate.publishing(py, || caller.publish(topic, payload, &header_refs(&headers)))?)
    }

    /// `publish_many`: every argument is read and every payload checked
    /// against the bus's limit first, so that a bad one publishes nothing.
    /// A message that fails then stops the batch; its exception carries
    /// `published` (how many went out before it) and `report` (theirs,
    /// added up).
    pub(crate) fn publish_many(
        &self,
        topic: &str,
        payloads: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PublishReport>> {
        let (py, caller) = (self.bus.py(), self.client);
        if payloads.is_instance_of::<pyo3::types::PyBytes>()
            || payloads.is_instance_of::<pyo3::types::PyString>()
        {
            return Err(PyTypeError::new_err(
                "payloads must be an iterable of bytes-like payloads, not one payload",
            ));
        }
        // `bytes` objects are lent as they are (they cannot change, and
        // `read` holds them for the call); any other bytes-like payload is
        // copied here first, into `mixed`, which stays empty (unallocated)
        // when every payload is `bytes`.
        let read = read_payloads(payloads)?;
        let bytes = read.all_bytes();
        let mixed = match bytes {
            Some(_) => Vec::new(),
            None => read.held()?,
        };
        let lent: Vec<&[u8]> = match &bytes {
            Some(bytes) => bytes.iter().map(|b| b.as_bytes()).collect(),
            None => mixed.iter().map(Held::bytes).collect(),
        };
        for payload in &lent {
            caller.limits().check_payload(payload.len()).map_err(|e| to_pyerr(py, &e))?;
        }
        let small = lent.iter().all(|payload| payload.len() <= bus::COPY_KEEP);
        let headers = message::headers(headers)?;
        let stopped = |stopped: bus::BatchError| {
            let counts = (stopped.published, stopped.report);
            (charter_core::Error::from(stopped), counts)
        };
        let published = if small {
            // Each copied by the core into a pooled body's kept buffer.
            self.gate.publishing(py, || {
                caller.publish_many_copied(topic, lent, &header_refs(&headers)).map_err(stopped)
            })
        } else {
            // A longer payload: each in a shared buffer, the same object
            // again (one payload repeated) sharing the one before's.
            let mut previous: Option<(*const u8, Arc<[u8]>)> = None;
            let shared: Vec<Arc<[u8]>> = match bytes {
                Some(_) => lent.iter().map(|bytes| shared(bytes, &mut previous)).collect(),
                None => mixed.iter().map(|h| h.shared(&mut previous)).collect(),
            };
            self.gate.publishing(py, || {
                caller.publish_many(topic, shared, &header_refs(&headers)).map_err(stopped)
            })
        };
        match published? {
            Ok(report) => stats::report(py, report),
            Err((e, (published, report))) => {
                let err = to_pyerr(py, &e);
                let value = err.value(py);
                value.setattr("published", published)?;
                value.setattr("report", stats::report(py, report)?)?;
                Err(err)
            }
        }
    }

    /// `request`.
    pub(crate) fn request(
        &self,
        topic: &str,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<Message> {
        let py = self.bus.py();
        let limit = optional_duration(py, timeout, "timeout")?;
        let replies = self.request_start(topic, payload, headers)?;
        match replies.receive(py, limit)? {
            Ok(Some(reply)) => Ok(Message::new(reply)),
            Ok(None) => Err(to_pyerr(py, &bus::no_reply(topic, limit.unwrap_or_default()))),
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// `respond`.
    pub(crate) fn respond(
        &self,
        request: &Message,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PublishReport>> {
        let payload = message::payload(payload)?;
        let headers = message::headers(headers)?;
        let (py, caller) = (self.bus.py(), self.client);
        // Replies go to a reply inbox, which never blocks or runs handlers.
        // An unpickled request has no core message, only its inbox (none:
        // the core refuses the empty name as it refuses every non-inbox).
        let answered = match request.core() {
            Some(core) => caller.respond(core, payload, &header_refs(&headers)),
            None => caller.reply(request.reply_to().unwrap_or_default(), payload, &header_refs(&headers)),
        };
        reported(py, answered)
    }

    /// `_request_start`: publishes a request and returns the subscription
    /// its reply comes to.
    pub(crate) fn request_start(
        &self,
        topic: &str,
        payload: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Subscription> {
        let inbox = self.gate.start_request(self.bus.py(), self.client, topic, payload, headers)?;
        Ok(self.subscription((*inbox).clone(), Owner::Pull(inbox), false))
    }
}

/// A publish's outcome as Python sees it: its report, or the core's error
/// raised.
fn reported(
    py: Python<'_>,
    outcome: charter_core::Result<bus::PublishReport>,
) -> PyResult<Py<PublishReport>> {
    stats::report(py, outcome.map_err(|e| to_pyerr(py, &e))?)
}

/// The payloads of `publish_many` as read from Python.
enum Read<'py> {
    /// A list or tuple, as one tuple whose items the batch borrows:
    /// `PyList_AsTuple` takes every reference in one C call, where reading
    /// a list item by item takes and drops each through the stable ABI's
    /// functions (and the general iterator path asks `operator.length_hint`
    /// each time its vector grows).
    Tuple(Bound<'py, PyTuple>),
    /// Any other iterable, each payload held as it came.
    Items(Vec<Owned<'py>>),
}

/// A payload of a general iterable: a `bytes` object, or a copy of any
/// other bytes-like object made as it came (a generator may change one
/// buffer between items).
enum Owned<'py> {
    Bytes(Bound<'py, PyBytes>),
    Copied(Arc<[u8]>),
}

/// The payloads of `publish_many`. Not a subclass of list or tuple, whose
/// `__iter__` may differ.
fn read_payloads<'py>(payloads: &Bound<'py, PyAny>) -> PyResult<Read<'py>> {
    if let Ok(tuple) = payloads.cast_exact::<PyTuple>() {
        return Ok(Read::Tuple(tuple.clone()));
    }
    if let Ok(list) = payloads.cast_exact::<PyList>() {
        return Ok(Read::Tuple(list.to_tuple()));
    }
    let items = payloads.try_iter()?.map(|payload| {
        Ok(match payload?.cast_into::<PyBytes>() {
            Ok(bytes) => Owned::Bytes(bytes),
            Err(other) => Owned::Copied(message::payload(&other.into_inner())?),
        })
    });
    Ok(Read::Items(items.collect::<PyResult<_>>()?))
}

impl<'py> Read<'py> {
    /// Each payload, borrowed, when every one is a `bytes` object (the
    /// common case), else `None`: a vector of pointers, where [`Held`]'s
    /// enum was built on the stack and copied into its vector, a stalled
    /// store forward (about 4% of a batch's CPU time by `perf`).
    fn all_bytes(&self) -> Option<Vec<Borrowed<'_, 'py, PyBytes>>> {
        match self {
            Read::Tuple(tuple) => {
                let mut bytes = Vec::with_capacity(tuple.len());
                for item in tuple.iter_borrowed() {
                    bytes.push(item.cast::<PyBytes>().ok()?);
                }
                Some(bytes)
            }
            Read::Items(items) => items
                .iter()
                .map(|item| match item {
                    Owned::Bytes(bytes) => Some(bytes.as_borrowed()),
                    Owned::Copied(_) => None,
                })
                .collect(),
        }
    }

    /// Each payload, borrowed from what was read, in a vector of their number.
    fn held(&self) -> PyResult<Vec<Held<'_, 'py>>> {
        match self {
            Read::Tuple(tuple) => {
                let mut held = Vec::with_capacity(tuple.len());
                for item in tuple.iter_borrowed() {
                    held.push(match item.cast::<PyBytes>() {
                        Ok(bytes) => Held::Lent(bytes),
                        Err(_) => Held::Copied(message::payload(&item)?),
                    });
                }
                Ok(held)
            }
            Read::Items(items) => Ok(items
                .iter()
                .map(|item| match item {
                    Owned::Bytes(bytes) => Held::Lent(bytes.as_borrowed()),
                    Owned::Copied(copy) => Held::Copied(Arc::clone(copy)),
                })
                .collect()),
        }
    }
}

/// A payload of a batch as read: a `bytes` object, lent as it is, or a
/// copy of any other bytes-like object.
enum Held<'a, 'py> {
    Lent(Borrowed<'a, 'py, PyBytes>),
    Copied(Arc<[u8]>),
}

impl Held<'_, '_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Held::Lent(bytes) => bytes.as_bytes(),
            Held::Copied(copy) => copy,
        }
    }

    /// A shared buffer of these bytes: the copy already made, or [`shared`]'s.
    fn shared(&self, previous: &mut Option<(*const u8, Arc<[u8]>)>) -> Arc<[u8]> {
        match self {
            Held::Copied(copy) => Arc::clone(copy),
            Held::Lent(bytes) => shared(bytes.as_bytes(), previous),
        }
    }
}

/// A shared buffer of a lent `bytes` object's contents: a new one unless
/// `previous` is of the same object (the address of its contents, held by
/// the batch, so not reused meanwhile).
fn shared(bytes: &[u8], previous: &mut Option<(*const u8, Arc<[u8]>)>) -> Arc<[u8]> {
    let at = bytes.as_ptr();
    if let Some((seen, shared)) = previous {
        if *seen == at {
            return Arc::clone(shared);
        }
    }
    let shared: Arc<[u8]> = Arc::from(bytes);
    *previous = Some((at, Arc::clone(&shared)));
    shared
}
