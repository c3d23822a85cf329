//! `NativeBus`: the core's topic bus, wrapped by the public `Bus` and
//! `Client` (`lib/bus.js`), which keep what is only about JS values
//! (messages as objects, the `onError` hook, argument checks).
//!
//! Every method that publishes, subscribes or requests takes an optional
//! session and makes the call through the core's `Client` for it: the
//! core decides what a caller without a session (refused everything on a
//! bus with an authority) or the holder of one may do. A subscription
//! keeps the client it was made through, the only one that may end it.
//!
//! `close` releases at once all the bus owns, its clients' publishers and
//! its subscriptions included (`src/release.rs`): a closed bus keeps only
//! its last accounting.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Weak};

use charter_core::bus::{self as core_bus, Bus, Client, Dispatch, SubscriptionId};
use charter_core::{Error, ErrorKind};
use napi::bindgen_prelude::{Buffer, BufferSlice, Either, Env, Function, Object};
use napi_derive::napi;

use crate::audit::NativeAuditLog;
use crate::authority::{NativeAuthority, NativeSession};
use crate::error::{boundary, from_core, from_napi, throw, Result};
use crate::handler::{with_env, Ending, Gate, Guarded, JsHandler};
use crate::message::{self, Converter, Factory, Headers, Outcome, Payload, Report};
use crate::options::{millis, LimitsSpec, SubscribeSpec};
use crate::promise::on_pool;
use crate::ready;
use crate::release::{Owned, Releases};
use crate::stats::BusStats;
use crate::subscription::NativeSubscription;

/// The core's bus; see the module docs.
#[napi]
pub struct NativeBus {
    /// `None` once closed.
    open: RefCell<Option<Open>>,
    /// The accounting at `close`: what `stats` reports after.
    last: Cell<core_bus::BusStats>,
    /// The publishers' clients and the subscriptions, released at `close`.
    releases: Releases,
    /// The gates of this bus's callback subscriptions: ended before the
    /// bus closes or is dropped, so that no handler thread being joined is
    /// left waiting for this thread (`src/handler.rs`). The core's last
    /// handle, whose drop joins them too, can only go after this one.
    gates: RefCell<Vec<(SubscriptionId, Weak<Gate>, Client)>>,
}

#[napi]
impl NativeBus {
    /// `factory` is `lib/message.js`'s `message`, which makes a `Message`
    /// from its parts, and `scratch` the buffer small payloads pass through
    /// (`src/message.rs`). With an `authority`, every call needs a session
    /// it opened. With an `audit` log, the decisions `auditScope` selects
    /// (`"denials"`, the default, or `"all"`) are recorded in it.
    #[napi(
        constructor,
        ts_args_type = "limits: LimitsSpec, factory: (seq: number, topic: string, payload: number | Buffer, headers: string[] | null, replyTo: string | null) => unknown, scratch: Buffer, authority?: NativeAuthority | null, audit?: NativeAuditLog | null, auditScope?: string | null"
    )]
    pub fn new(
        limits: LimitsSpec,
        factory: Factory<'_>,
        scratch: Buffer,
        authority: Option<&NativeAuthority>,
        audit: Option<&NativeAuditLog>,
        audit_scope: Option<String>,
    ) -> Result<Self> {
        boundary(|| {
            let authority = authority.map(|a| a.authority.clone());
            let bus = match (audit, authority) {
                (Some(log), authority) => {
                    Bus::with_recorder(limits.limits(), authority, log.recorder(audit_scope.as_deref())?)
                }
                (None, None) => Bus::new(limits.limits()),
                (None, Some(authority)) => Bus::with_authority(limits.limits(), authority),
            }
            .map_err(from_core)?;
            let converter = Arc::new(Converter::new(&factory, scratch).map_err(from_napi)?);
            Ok(NativeBus {
                open: RefCell::new(Some(Open { bus, converter })),
                last: Cell::default(),
                releases: Releases::default(),
                gates: RefCell::default(),
            })
        })
    }

    /// A function `(topic, payload, headers) => number | Report` that
    /// publishes on this thread; inline handlers run inside it. It returns
    /// the count of subscriptions when all accepted the message, the full
    /// report otherwise. Made once by the JS layer, it is the hot path
    /// (`src/notify.rs` says why a function made from a closure).
    #[napi(
        ts_return_type = "(topic: string, payload: string | Uint8Array, headers: string[] | undefined) => number | Report"
    )]
    pub fn publisher<'env>(
        &self,
        env: &'env Env,
        session: Option<&NativeSession>,
    ) -> Result<Function<'env, (), Outcome>> {
        let caller = Owned::new(self.caller(session)?);
        self.releases.add(caller.releaser());
        env.create_function_from_closure("publish", move |call| {
            let env = *call.env;
            boundary(|| {
                let (topic, payload, headers) = message::send_args(&call)?;
                // Cloned out: inline handlers may close the bus.
                let caller = caller.with(Client::clone).ok_or_else(closed)?;
                let report = with_env(&env, || caller.publish(&topic, payload, &headers.pairs()));
                ready::flush(&env);
                report.map(message::outcome).map_err(from_core)
            })
            .or_else(|e| throw(&env, e))
        })
        .map_err(from_napi)
    }

    /// Publishes on a pool thread, where a `block` queue may make it wait
    /// without blocking this one; inline handlers are relayed back to this
    /// thread. Resolves like the publisher function returns.
    #[napi(
        ts_args_type = "topic: string, payload: string | Uint8Array, headers?: string[] | null, session?: NativeSession | null",
        ts_return_type = "Promise<number | Report | undefined>"
    )]
    pub fn publish_async<'env>(
        &self,
        env: &'env Env,
        topic: String,
        payload: Payload,
        headers: Option<Vec<String>>,
        session: Option<&NativeSession>,
    ) -> Result<Object<'env>> {
        boundary(|| {
            let (caller, payload, headers) =
                (self.caller(session)?, message::payload(&payload), Headers::new(headers));
            on_pool(env, move || caller.publish(&topic, payload, &headers.pairs()), message::outcome)
        })
    }

    /// A function `(topic, packed, count, headers) => number | Batch` that
    /// publishes each of `count` payloads on `topic` with the same
    /// `headers`, in order, each as the publisher function would, on this
    /// thread (the core's `publish_many`). The payloads come packed in one
    /// buffer after their lengths (`lib/pack.js`): one value to read,
    /// however many payloads. Every payload is checked against the bus's
    /// payload limit first: one too large fails with nothing published.
    /// After that, the first message that fails stops the batch; the
    /// outcome says how many went before it, and why it failed. A batch
    /// that every subscription took whole returns the count of deliveries
    /// alone, as the publisher function does (see [`message::outcome`]):
    /// no JS object made here. Made once by the JS layer on first use, a
    /// function made from a closure, like `publisher`: a class method's
    /// glue costs about 500 ns a call (`src/notify.rs`).
    #[napi(
        ts_return_type = "(topic: string, packed: Uint8Array, count: number, headers: string[] | undefined) => number | Batch"
    )]
    pub fn batch_publisher<'env>(
        &self,
        env: &'env Env,
        session: Option<&NativeSession>,
    ) -> Result<Function<'env, (), Either<f64, Batch>>> {
        let caller = Owned::new(self.caller(session)?);
        self.releases.add(caller.releaser());
        env.create_function_from_closure("publishMany", move |call| {
            let env = *call.env;
            boundary(|| {
                let topic = call.get::<String>(0).map_err(from_napi)?;
                let packed = call.get::<BufferSlice>(1).map_err(from_napi)?;
                let count = call.get::<u32>(2).map_err(from_napi)?;
                let headers = Headers::new(call.get::<Option<Vec<String>>>(3).map_err(from_napi)?);
                // Cloned out: inline handlers may close the bus.
                let caller = caller.with(Client::clone).ok_or_else(closed)?;
                let bodies =
                    message::batch_payloads(&packed, count, |len| caller.limits().check_payload(len))?;
                let count = bodies.len();
                // Borrowed from the packed buffer and copied by the core:
                // into the pooled bodies' kept buffers when at most 1 KiB.
                let outcome = with_env(&env, || caller.publish_many_copied(&topic, bodies, &headers.pairs()));
                ready::flush(&env);
                Ok(match outcome {
                    Ok(report) if report.dropped == 0 => Either::A(report.delivered as f64),
                    Ok(report) => Either::B(Batch::new(count, report, None)),
                    Err(e) => {
                        let (published, report) = (e.published, e.report);
                        Either::B(Batch::new(published, report, Some(Error::from(e))))
                    }
                })
            })
            .or_else(|e| throw(&env, e))
        })
        .map_err(from_napi)
    }

    /// Subscribes to `pattern` with a queue to receive from.
    #[napi]
    pub fn subscribe(
        &self,
        pattern: String,
        spec: SubscribeSpec,
        session: Option<&NativeSession>,
    ) -> Result<NativeSubscription> {
        boundary(|| {
            let caller = self.caller(session)?;
            let subscription = caller.subscribe(&pattern, spec.options()).map_err(from_core)?;
            Ok(self.track(NativeSubscription::pull(&caller, &self.converter()?, subscription)))
        })
    }

    /// Subscribes to `pattern` with `guarded`, a guarded handler made by
    /// `lib/bus.js` (`src/handler.rs` says what it does), run inline or on
    /// a thread of the subscription's own (`spec.dispatch`).
    #[napi(
        ts_args_type = "pattern: string, spec: SubscribeSpec, guarded: (seq: number, topic: string, payload: number | Buffer | null, headers: string[] | null, replyTo: string | null) => boolean | Promise<boolean>, session?: NativeSession | null"
    )]
    pub fn subscribe_with(
        &self,
        env: &Env,
        pattern: String,
        spec: SubscribeSpec,
        guarded: Guarded<'_>,
        session: Option<&NativeSession>,
    ) -> Result<NativeSubscription> {
        boundary(|| {
            let options = spec.options();
            let gate = Arc::new(Gate::new(options.dispatch == Dispatch::Thread));
            let converter = self.converter()?;
            let handler = JsHandler::new(env, &converter, &guarded, Arc::clone(&gate)).map_err(from_napi)?;
            let caller = self.caller(session)?;
            let parts = handler.parts();
            let subscription =
                caller.subscribe_with(&pattern, options, move |m| handler.call(m)).map_err(from_core)?;
            let mut gates = self.gates.borrow_mut();
            gates.retain(|(_, g, _)| g.strong_count() > 0);
            gates.push((subscription.id(), Arc::downgrade(&gate), caller.clone()));
            Ok(self.track(NativeSubscription::callback(&caller, &converter, subscription, gate, parts)))
        })
    }

    /// Publishes a request on this thread (inline responders answer inside
    /// it) and returns the subscription its reply arrives on. Fails with
    /// `NOT_FOUND` when nothing subscribes to `topic`.
    #[napi(
        ts_args_type = "topic: string, payload: string | Uint8Array, headers?: string[] | null, session?: NativeSession | null"
    )]
    pub fn request_start(
        &self,
        env: &Env,
        topic: String,
        payload: Payload,
        headers: Option<Vec<String>>,
        session: Option<&NativeSession>,
    ) -> Result<NativeSubscription> {
        boundary(|| {
            let (caller, headers) = (self.caller(session)?, Headers::new(headers));
            let inbox =
                with_env(env, || caller.request_start(&topic, message::payload(&payload), &headers.pairs()));
            ready::flush(env);
            let inbox = inbox.map_err(from_core)?;
            Ok(self.track(NativeSubscription::pull(&caller, &self.converter()?, inbox)))
        })
    }

    /// Answers the request whose reply inbox is `inbox`, for the holder of
    /// `session` or a caller without one.
    #[napi(
        ts_args_type = "inbox: string, payload: string | Uint8Array, headers?: string[] | null, session?: NativeSession | null"
    )]
    pub fn reply(
        &self,
        env: &Env,
        inbox: String,
        payload: Payload,
        headers: Option<Vec<String>>,
        session: Option<&NativeSession>,
    ) -> Result<Report> {
        boundary(|| {
            let headers = Headers::new(headers);
            let report = self.caller(session)?.reply(&inbox, message::payload(&payload), &headers.pairs());
            ready::flush(env);
            report.map(Report::from).map_err(from_core)
        })
    }

    /// The accounting over the bus's whole life; once closed, as it was then.
    #[napi]
    pub fn stats(&self) -> BusStats {
        let bus = self.open.borrow().as_ref().map(|open| open.bus.clone());
        bus.map_or_else(|| self.last.get(), |bus| bus.stats()).into()
    }

    /// Ends every pull subscription idle past its `idleTtlMs`; returns how
    /// many ended.
    #[napi]
    pub fn evict_idle(&self) -> Result<f64> {
        boundary(|| Ok(self.bus()?.evict_idle() as f64))
    }

    /// Closes the bus: every subscription ends; then releases all the bus
    /// owns (see the module docs). Idempotent.
    #[napi]
    pub fn close(&self, env: &Env) -> Result<()> {
        boundary(|| {
            let Ok(bus) = self.bus() else { return Ok(()) };
            let endings = self.end_gates();
            bus.close();
            drop(endings);
            ready::flush(env);
            self.last.set(bus.stats());
            self.releases.release_all();
            let open = self.open.borrow_mut().take();
            drop((open, bus));
            Ok(())
        })
    }
}

impl NativeBus {
    /// The core's bus, for a bridge that carries it (`src/bridge.rs`);
    /// `ClosedError` once the bus is closed.
    pub(crate) fn core(&self) -> Result<Bus> {
        self.bus()
    }

    /// Who a call is made as: a caller without a session, or the holder
    /// of `session`.
    fn caller(&self, session: Option<&NativeSession>) -> Result<Client> {
        Ok(self.bus()?.client(session.map(|s| &s.session)))
    }

    /// The open bus (a handle of its own); `CLOSED` once closed.
    fn bus(&self) -> Result<Bus> {
        self.open.borrow().as_ref().map(|open| open.bus.clone()).ok_or_else(closed)
    }

    fn converter(&self) -> Result<Arc<Converter>> {
        self.open.borrow().as_ref().map(|open| Arc::clone(&open.converter)).ok_or_else(closed)
    }

    /// Registers `subscription` to be released when the bus closes.
    fn track(&self, subscription: NativeSubscription) -> NativeSubscription {
        self.releases.add(subscription.releaser());
        subscription
    }

    /// Ends the gates of the callback subscriptions still alive; the bus
    /// then ends the subscriptions and drops the endings (`src/handler.rs`).
    fn end_gates(&self) -> Vec<Ending> {
        let gates = std::mem::take(&mut *self.gates.borrow_mut());
        gates.into_iter().filter_map(|(id, gate, client)| Some(gate.upgrade()?.end(&client, id))).collect()
    }
}

impl Drop for NativeBus {
    /// Ends the gates only: the core's bus, whose last handle may be held
    /// elsewhere, ends the subscriptions when it goes. The endings are not
    /// kept: each holds the bus, which holds the subscription and its gate.
    fn drop(&mut self) {
        drop(self.end_gates());
    }
}

/// What `publish_many` did: how many messages went out, their reports
/// added up, and, when one failed, its status name and message.
#[napi(object)]
pub struct Batch {
    pub published: f64,
    pub report: Report,
    pub code: Option<String>,
    pub message: Option<String>,
}

impl Batch {
    fn new(published: usize, report: core_bus::PublishReport, failure: Option<Error>) -> Batch {
        Batch {
            published: published as f64,
            report: report.into(),
            code: failure.as_ref().map(|e| e.kind().name().to_owned()),
            message: failure.map(|e| e.message().to_owned()),
        }
    }
}

/// What an open bus owns.
struct Open {
    bus: Bus,
    /// Hands messages over to JS (`src/message.rs`).
    converter: Arc<Converter>,
}

fn closed() -> crate::error::Error {
    from_core(Error::new(ErrorKind::Closed, "the bus is closed"))
}

/// How long `request` waits for a reply when given no `timeoutMs`, in
/// milliseconds: the core's default, which the binding does not restate.
#[napi]
pub const DEFAULT_REQUEST_TIMEOUT_MS: u32 = {
    let ms = core_bus::DEFAULT_REQUEST_TIMEOUT.as_millis();
    assert!(ms <= u32::MAX as u128, "the default request timeout fits a u32 of milliseconds");
    ms as u32
};

/// The message of a request's `TimeoutError` when no reply to `topic` came
/// within `timeoutMs`: the core's one wording for it.
#[napi]
pub fn no_reply(topic: String, timeout_ms: f64) -> String {
    core_bus::no_reply(&topic, millis(timeout_ms)).message().to_owned()
}
