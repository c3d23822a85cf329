//! `NativeSubscription`: one subscription of a `NativeBus`, wrapped by the
//! public `Subscription` (`lib/subscription.js`).
//!
//! Lifetimes differ by kind. A pull subscription ends when its handle is
//! collected: nothing could receive from it any more, and its queue would
//! only hold messages. A callback subscription stays until it is closed or
//! its bus is, like an `EventEmitter` listener: a program that drops the
//! handle still expects its handler to run.

use std::cell::RefCell;
use std::sync::Arc;

use charter_core::bus::{Client, Notify, Polled, Subscription, SubscriptionRef};
use napi::bindgen_prelude::{Either3, Env, Function, Null, Unknown};
use napi_derive::napi;

use crate::error::{boundary, from_core, from_napi, throw, Result};
use crate::handler::Gate;
use crate::message::Converter;
use crate::ready::{self, NativeWaker};
use crate::stats::SubscriptionStats;

/// One subscription; see the module docs.
#[napi]
pub struct NativeSubscription {
    /// The client it was made through: the only one that may end it.
    client: Client,
    converter: Arc<Converter>,
    view: SubscriptionRef,
    /// A callback subscription's gate (`src/handler.rs`); `None` for pull.
    gate: Option<Arc<Gate>>,
    /// What `poll` leaves armed: made on first use, the same one after, so
    /// the core keeps at most one arm per subscription (`src/ready.rs`).
    notify: RefCell<Option<Notify>>,
}

impl NativeSubscription {
    /// Wraps a pull subscription; it ends when this is dropped.
    pub fn pull(
        client: &Client,
        converter: &Arc<Converter>,
        subscription: Subscription,
    ) -> NativeSubscription {
        NativeSubscription::new(client, converter, subscription, None)
    }

    /// Wraps a callback subscription; it ends only when closed.
    pub fn callback(
        client: &Client,
        converter: &Arc<Converter>,
        subscription: Subscription,
        gate: Arc<Gate>,
    ) -> NativeSubscription {
        NativeSubscription::new(client, converter, subscription, Some(gate))
    }

    fn new(
        client: &Client,
        converter: &Arc<Converter>,
        subscription: Subscription,
        gate: Option<Arc<Gate>>,
    ) -> NativeSubscription {
        let view = SubscriptionRef::clone(&subscription);
        subscription.detach();
        NativeSubscription {
            client: client.clone(),
            converter: Arc::clone(converter),
            view,
            gate,
            notify: RefCell::default(),
        }
    }
}

#[napi]
impl NativeSubscription {
    /// The id: random, unique among the bus's live subscriptions, found on no other bus.
    #[napi(getter)]
    pub fn id(&self) -> f64 {
        self.view.id().get() as f64
    }

    #[napi(getter)]
    pub fn pattern(&self) -> String {
        self.view.pattern().to_owned()
    }

    /// Whether the subscription has ended, however it ended (`close`, the
    /// bus closing, idle eviction).
    #[napi(getter)]
    pub fn ended(&self) -> bool {
        self.view.is_closed()
    }

    /// A function `() => message | null`: the next queued message, without
    /// waiting. Made once by the JS layer, it is the hot path of receiving
    /// (`src/notify.rs` says why a function made from a closure).
    #[napi(ts_return_type = "() => unknown")]
    pub fn receiver<'env>(&self, env: &'env Env) -> Result<Function<'env, (), Option<Unknown<'static>>>> {
        let (view, converter) = (self.view.clone(), Arc::clone(&self.converter));
        env.create_function_from_closure("tryRecv", move |call| {
            let env = &*call.env;
            boundary(|| match view.try_recv() {
                Ok(Some(m)) => converter.to_js(env, &m).map(Some).map_err(from_napi),
                Ok(None) => Ok(None),
                Err(e) => Err(from_core(e)),
            })
            .or_else(|e| throw(env, e))
        })
        .map_err(from_napi)
    }

    /// A function `() => message | null | number` that polls: it returns the
    /// next message, taken and counted as delivered, if one is queued.
    /// Otherwise it leaves this subscription's notify armed, so that
    /// `waker` is called with `key` once the subscription becomes readable
    /// (`src/ready.rs`), and returns `null`, or the milliseconds until its
    /// session expires: poll again by then. It throws once the subscription
    /// has ended. Made once by the JS layer, a function made from a closure
    /// like `receiver`, since a burst polls once per message.
    #[napi(ts_return_type = "() => unknown")]
    pub fn poller<'env>(
        &self,
        env: &'env Env,
        waker: &NativeWaker,
        key: f64,
    ) -> Result<Function<'env, (), Either3<Unknown<'static>, Null, f64>>> {
        let notify = Notify::clone(self.notify.borrow_mut().get_or_insert_with(|| waker.notify(key)));
        let (view, converter) = (self.view.clone(), Arc::clone(&self.converter));
        env.create_function_from_closure("poll", move |call| {
            let env = &*call.env;
            boundary(|| match view.poll_recv(&notify).map_err(from_core)? {
                Polled::Ready(m) => converter.to_js(env, &m).map(Either3::A).map_err(from_napi),
                Polled::Pending { recheck: None } => Ok(Either3::B(Null)),
                Polled::Pending { recheck: Some(left) } => Ok(Either3::C(left.as_secs_f64() * 1000.0)),
            })
            .or_else(|e| throw(env, e))
        })
        .map_err(from_napi)
    }

    /// Takes back what the poller armed, when no receive waits any more.
    #[napi]
    pub fn disarm(&self) {
        if let Some(notify) = self.notify.borrow().as_ref() {
            self.view.disarm(notify);
        }
    }

    /// Counts a failure its inline handler's Promise reported after the
    /// publish returned.
    #[napi]
    pub fn record_handler_failure(&self) {
        self.view.record_handler_failure();
    }

    #[napi]
    pub fn stats(&self) -> SubscriptionStats {
        self.view.stats().into()
    }

    /// Ends the subscription: queued messages are dropped (and counted),
    /// pending receives fail with `CLOSED`. Idempotent.
    #[napi]
    pub fn close(&self, env: &Env) -> Result<()> {
        boundary(|| {
            let id = self.view.id();
            if self.gate.as_ref().is_none_or(|gate| gate.end(&self.client, id)) {
                // Already ended by the core (its session did): nothing to refuse.
                let _ = self.client.unsubscribe(id);
            }
            ready::flush(env);
            Ok(())
        })
    }
}

impl Drop for NativeSubscription {
    fn drop(&mut self) {
        if self.gate.is_none() {
            let _ = self.client.unsubscribe(self.view.id());
        }
    }
}
