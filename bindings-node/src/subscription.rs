//! `NativeSubscription`: one subscription of a `NativeBus`, wrapped by the
//! public `Subscription` (`lib/subscription.js`).
//!
//! Lifetimes differ by kind. A pull subscription ends when its handle is
//! collected: nothing could receive from it any more, and its queue would
//! only hold messages. A callback subscription stays until it is closed or
//! its bus is, like an `EventEmitter` listener: a program that drops the
//! handle still expects its handler to run.

use std::sync::Arc;

use charter_core::bus::{Client, Subscription, SubscriptionRef};
use napi::bindgen_prelude::{Env, Function, Object, Unknown};
use napi_derive::napi;

use crate::error::{boundary, from_core, from_napi, throw, Result};
use crate::handler::Gate;
use crate::message::Converter;
use crate::options::millis;
use crate::stats::SubscriptionStats;
use crate::wait::{self, Canceller};

/// One subscription; see the module docs.
#[napi]
pub struct NativeSubscription {
    /// The client it was made through: the only one that may end it.
    client: Client,
    converter: Arc<Converter>,
    view: SubscriptionRef,
    /// A callback subscription's gate (`src/handler.rs`); `None` for pull.
    gate: Option<Arc<Gate>>,
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
        NativeSubscription { client: client.clone(), converter: Arc::clone(converter), view, gate }
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

    /// Waits for the next message on another thread, up to `timeoutMs`
    /// (`null`: no limit), and returns the Promise of it (`src/wait.rs`).
    #[napi(ts_return_type = "Promise<unknown>")]
    pub fn wait<'env>(
        &self,
        env: &'env Env,
        timeout_ms: Option<f64>,
        cancel: Option<&Canceller>,
    ) -> Result<Object<'env>> {
        boundary(|| {
            let converter = Arc::clone(&self.converter);
            wait::start(env, self.view.clone(), converter, timeout_ms.map(millis), cancel)
        })
    }

    #[napi]
    pub fn stats(&self) -> SubscriptionStats {
        self.view.stats().into()
    }

    /// Ends the subscription: queued messages are dropped (and counted),
    /// pending receives fail with `CLOSED`. Idempotent.
    #[napi]
    pub fn close(&self) -> Result<()> {
        boundary(|| {
            let id = self.view.id();
            if self.gate.as_ref().is_none_or(|gate| gate.end(&self.client, id)) {
                // Already ended by the core (its session did): nothing to refuse.
                let _ = self.client.unsubscribe(id);
            }
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
