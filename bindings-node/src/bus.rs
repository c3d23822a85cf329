//! `NativeBus`: the core's topic bus, wrapped by the public `Bus`
//! (`lib/bus.js`), which keeps what is only about JS values (messages as
//! objects, the `onError` hook, argument checks).

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use charter_core::bus::{Bus, Dispatch, SubscriptionId};
use napi::bindgen_prelude::{Buffer, Env, Function, Object};
use napi_derive::napi;

use crate::error::{boundary, from_core, from_napi, throw, Result};
use crate::handler::{with_env, Gate, Guarded, JsHandler};
use crate::message::{self, Converter, Factory, Headers, Outcome, Payload, Report};
use crate::options::{LimitsSpec, SubscribeSpec};
use crate::pool;
use crate::promise::Settle;
use crate::stats::BusStats;
use crate::subscription::NativeSubscription;
use crate::wait::cannot_start;

/// The core's bus; see the module docs.
#[napi]
pub struct NativeBus {
    bus: Bus,
    /// Hands messages over to JS (`src/message.rs`).
    converter: Arc<Converter>,
    /// The gates of this bus's callback subscriptions: ended before the
    /// bus closes or is dropped, so that no handler thread being joined is
    /// left waiting for this thread (`src/handler.rs`). The core's last
    /// handle, whose drop joins them too, can only go after this one.
    gates: RefCell<Vec<(SubscriptionId, Weak<Gate>)>>,
}

#[napi]
impl NativeBus {
    /// `factory` is `lib/message.js`'s `message`, which makes a `Message`
    /// from its parts, and `scratch` the buffer small payloads pass through
    /// (`src/message.rs`).
    #[napi(
        constructor,
        ts_args_type = "limits: LimitsSpec, factory: (seq: number, topic: string, payload: number | Buffer, headers: string[] | null, replyTo: string | null) => unknown, scratch: Buffer"
    )]
    pub fn new(limits: LimitsSpec, factory: Factory<'_>, scratch: Buffer) -> Result<Self> {
        boundary(|| {
            let bus = Bus::new(limits.limits()).map_err(from_core)?;
            let converter = Arc::new(Converter::new(&factory, scratch).map_err(from_napi)?);
            Ok(NativeBus { bus, converter, gates: RefCell::default() })
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
    pub fn publisher<'env>(&self, env: &'env Env) -> Result<Function<'env, (), Outcome>> {
        let bus = self.bus.clone();
        env.create_function_from_closure("publish", move |call| {
            let env = *call.env;
            boundary(|| {
                let (topic, payload, headers) = message::send_args(&call)?;
                let report = with_env(&env, || bus.publish(&topic, payload, &headers.pairs()));
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
        ts_args_type = "topic: string, payload: string | Uint8Array, headers?: string[] | null",
        ts_return_type = "Promise<number | Report | undefined>"
    )]
    pub fn publish_async<'env>(
        &self,
        env: &'env Env,
        topic: String,
        payload: Payload,
        headers: Option<Vec<String>>,
    ) -> Result<Object<'env>> {
        boundary(|| {
            let (settle, promise) = Settle::<Outcome>::new(env)?;
            let (bus, payload, headers) =
                (self.bus.clone(), message::payload(&payload), Headers::new(headers));
            let job = move || match bus.publish(&topic, payload, &headers.pairs()) {
                Ok(report) => settle.resolve(move |_| Ok(message::outcome(report))),
                Err(e) => settle.reject(e),
            };
            pool::run(Box::new(job)).map_err(cannot_start)?;
            Ok(promise)
        })
    }

    /// Subscribes to `pattern` with a queue to receive from.
    #[napi]
    pub fn subscribe(&self, pattern: String, spec: SubscribeSpec) -> Result<NativeSubscription> {
        boundary(|| {
            let subscription = self.bus.subscribe(&pattern, spec.options()).map_err(from_core)?;
            Ok(NativeSubscription::pull(&self.bus, &self.converter, subscription))
        })
    }

    /// Subscribes to `pattern` with `guarded`, a guarded handler made by
    /// `lib/bus.js` (`src/handler.rs` says what it does), run inline or on
    /// a thread of the subscription's own (`threaded`).
    #[napi(
        ts_args_type = "pattern: string, spec: SubscribeSpec, guarded: (seq: number, topic: string, payload: number | Buffer | null, headers: string[] | null, replyTo: string | null) => boolean, threaded: boolean"
    )]
    pub fn subscribe_with(
        &self,
        env: &Env,
        pattern: String,
        spec: SubscribeSpec,
        guarded: Guarded<'_>,
        threaded: bool,
    ) -> Result<NativeSubscription> {
        boundary(|| {
            let gate = Arc::new(Gate::new(threaded));
            let handler =
                JsHandler::new(env, &self.converter, &guarded, Arc::clone(&gate)).map_err(from_napi)?;
            let dispatch = if threaded { Dispatch::Thread } else { Dispatch::Inline };
            let options = spec.options().dispatch(dispatch);
            let subscription =
                self.bus.subscribe_with(&pattern, options, move |m| handler.call(m)).map_err(from_core)?;
            let mut gates = self.gates.borrow_mut();
            gates.retain(|(_, g)| g.strong_count() > 0);
            gates.push((subscription.id(), Arc::downgrade(&gate)));
            Ok(NativeSubscription::callback(&self.bus, &self.converter, subscription, gate))
        })
    }

    /// Publishes a request on this thread (inline responders answer inside
    /// it) and returns the subscription its reply arrives on. Fails with
    /// `NOT_FOUND` when nothing subscribes to `topic`.
    #[napi(ts_args_type = "topic: string, payload: string | Uint8Array, headers?: string[] | null")]
    pub fn request_start(
        &self,
        env: &Env,
        topic: String,
        payload: Payload,
        headers: Option<Vec<String>>,
    ) -> Result<NativeSubscription> {
        boundary(|| {
            let headers = Headers::new(headers);
            let inbox = with_env(env, || {
                self.bus.request_start(&topic, message::payload(&payload), &headers.pairs())
            })
            .map_err(from_core)?;
            Ok(NativeSubscription::pull(&self.bus, &self.converter, inbox))
        })
    }

    /// Answers the request whose reply inbox is `inbox`.
    #[napi(ts_args_type = "inbox: string, payload: string | Uint8Array, headers?: string[] | null")]
    pub fn reply(&self, inbox: String, payload: Payload, headers: Option<Vec<String>>) -> Result<Report> {
        boundary(|| {
            let headers = Headers::new(headers);
            let report = self.bus.reply(&inbox, message::payload(&payload), &headers.pairs());
            report.map(Report::from).map_err(from_core)
        })
    }

    #[napi]
    pub fn stats(&self) -> BusStats {
        self.bus.stats().into()
    }

    /// Ends every pull subscription idle past its `idleTtlMs`; returns how
    /// many ended.
    #[napi]
    pub fn evict_idle(&self) -> Result<f64> {
        boundary(|| Ok(self.bus.evict_idle() as f64))
    }

    /// Closes the bus: every subscription ends. Idempotent.
    #[napi]
    pub fn close(&self) -> Result<()> {
        boundary(|| {
            self.end_gates();
            self.bus.close();
            Ok(())
        })
    }
}

impl NativeBus {
    fn end_gates(&self) {
        let gates = std::mem::take(&mut *self.gates.borrow_mut());
        for (id, gate) in gates {
            if let Some(gate) = gate.upgrade() {
                gate.end(&self.bus, id);
            }
        }
    }
}

impl Drop for NativeBus {
    fn drop(&mut self) {
        self.end_gates();
    }
}
