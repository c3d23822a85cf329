//! `NativeSubscription`: one subscription of a `NativeBus`, wrapped by the
//! public `Subscription` (`lib/subscription.js`).
//!
//! Lifetimes differ by kind. A pull subscription ends when its handle is
//! collected: nothing could receive from it any more, and its queue would
//! only hold messages. A callback subscription stays until it is closed or
//! its bus is, like an `EventEmitter` listener: a program that drops the
//! handle still expects its handler to run.
//!
//! Once ended by `close` or its bus's, a subscription releases all it owns
//! (`src/release.rs`), its handler's JS side included. Only the core's view
//! of it stays: its accounting stays exact, counting the messages of a
//! publish still in flight as it closed.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use charter_core::bus::{Client, Message, Notify, Polled, Subscription, SubscriptionId, SubscriptionRef};
use charter_core::ErrorKind;
use napi::bindgen_prelude::{BufferSlice, Either3, Env, FnArgs, Function, Null, Unknown};
use napi_derive::napi;

use crate::error::{boundary, error, from_core, from_napi, throw, Result};
use crate::handler::{Gate, HandlerParts};
use crate::message::Converter;
use crate::packed;
use crate::ready::{self, NativeWaker};
use crate::release::Release;
use crate::stats::SubscriptionStats;

/// One subscription; see the module docs.
#[napi]
pub struct NativeSubscription {
    state: Rc<State>,
}

/// The core's view of a subscription, and what it owns while open.
struct State {
    view: SubscriptionRef,
    live: RefCell<Option<Live>>,
}

/// What an open subscription owns.
struct Live {
    /// The client it was made through: the only one that may end it.
    client: Client,
    converter: Arc<Converter>,
    /// A callback subscription's gate and handler (`src/handler.rs`);
    /// `None` for pull.
    callback: Option<(Arc<Gate>, HandlerParts)>,
    /// What `poll` leaves armed: made on first use, the same one after, so
    /// the core keeps at most one arm per subscription (`src/ready.rs`).
    notify: Option<Notify>,
    id: SubscriptionId,
}

impl Live {
    /// A callback's handler loses its JS side (its function references and
    /// thread-safe function): only when the subscription is closed, never
    /// when its handle is merely collected.
    fn release_handler(&self) {
        if let Some((_, parts)) = &self.callback {
            let js = parts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
            drop(js);
        }
    }
}

impl Drop for Live {
    /// A pull subscription ends with its last owner. A callback one ends
    /// only when closed (see the module docs): a collected handle leaves
    /// its handler to the core, which keeps it while subscribed.
    fn drop(&mut self) {
        if self.callback.is_none() {
            let _ = self.client.unsubscribe(self.id);
        }
    }
}

impl State {
    /// The view and converter, cloned out, so that no borrow is held while
    /// JS runs; once released, the core's error for an ended subscription.
    fn reading(&self) -> charter_core::Result<(SubscriptionRef, Arc<Converter>)> {
        match self.live.borrow().as_ref() {
            Some(live) => Ok((self.view.clone(), Arc::clone(&live.converter))),
            None => Err(self.view.try_recv().err().unwrap_or_else(|| {
                charter_core::Error::new(ErrorKind::Closed, "the subscription has ended")
            })),
        }
    }
}

impl Release for State {
    fn release(&self) {
        let taken = self.live.borrow_mut().take();
        if let Some(live) = &taken {
            live.release_handler();
        }
        drop(taken);
    }
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
        handler: HandlerParts,
    ) -> NativeSubscription {
        NativeSubscription::new(client, converter, subscription, Some((gate, handler)))
    }

    fn new(
        client: &Client,
        converter: &Arc<Converter>,
        subscription: Subscription,
        callback: Option<(Arc<Gate>, HandlerParts)>,
    ) -> NativeSubscription {
        let view = SubscriptionRef::clone(&subscription);
        subscription.detach();
        let live = Live {
            client: client.clone(),
            converter: Arc::clone(converter),
            callback,
            notify: None,
            id: view.id(),
        };
        NativeSubscription { state: Rc::new(State { view, live: RefCell::new(Some(live)) }) }
    }

    /// What its bus's `close` releases (`src/release.rs`).
    pub fn releaser(&self) -> Weak<dyn Release> {
        let weak: Weak<State> = Rc::downgrade(&self.state);
        weak
    }
}

#[napi]
impl NativeSubscription {
    /// The id: random, unique among the bus's live subscriptions, found on no other bus.
    #[napi(getter)]
    pub fn id(&self) -> f64 {
        self.state.view.id().get() as f64
    }

    #[napi(getter)]
    pub fn pattern(&self) -> String {
        self.state.view.pattern().to_owned()
    }

    /// Whether the subscription has ended, however it ended (`close`, the
    /// bus closing, idle eviction).
    #[napi(getter)]
    pub fn ended(&self) -> bool {
        self.state.view.is_closed()
    }

    /// A function `() => message | null`: the next queued message, without
    /// waiting. Made once by the JS layer, it is the hot path of receiving
    /// (`src/notify.rs` says why a function made from a closure).
    #[napi(ts_return_type = "() => unknown")]
    pub fn receiver<'env>(&self, env: &'env Env) -> Result<Function<'env, (), Option<Unknown<'static>>>> {
        let state = Rc::clone(&self.state);
        env.create_function_from_closure("tryRecv", move |call| {
            let env = &*call.env;
            boundary(|| {
                let (view, converter) = state.reading().map_err(from_core)?;
                match view.try_recv() {
                    Ok(Some(m)) => converter.to_js(env, &m).map(Some).map_err(from_napi),
                    Ok(None) => Ok(None),
                    Err(e) => Err(from_core(e)),
                }
            })
            .or_else(|e| throw(env, e))
        })
        .map_err(from_napi)
    }

    /// A function `(max, buffer) => items`: up to `max` (at least 1) queued
    /// messages, taken under one lock, without waiting, and written into
    /// `buffer` for JS to make the `Message`s (`src/packed.rs` has the
    /// layout); none when none is queued. What `recvMany` takes at once
    /// when messages are queued, or behind the message it waited for.
    /// `buffer` must have room for the numbers of `max` messages.
    #[napi(ts_return_type = "(max: number, buffer: Uint8Array) => Array<string | unknown>")]
    pub fn batch_receiver<'env>(
        &self,
        env: &'env Env,
    ) -> Result<Function<'env, FnArgs<(f64, BufferSlice<'static>)>, packed::Items>> {
        let state = Rc::clone(&self.state);
        // The messages of the last batch, cleared: kept so that a warm
        // batch allocates no vector. Taken out while in use, so that a call
        // made meanwhile (from JS run by `pack`) gets a vector of its own.
        let kept = RefCell::new(Vec::new());
        env.create_function_from_closure("recvMany", move |call| {
            let env = &*call.env;
            boundary(|| {
                let max = call.get::<f64>(0).map_err(from_napi)? as usize;
                let mut buffer = call.get::<BufferSlice>(1).map_err(from_napi)?;
                if buffer.len() < packed::payloads_start(max) {
                    return Err(error(ErrorKind::Internal, "the batch buffer is too small for max"));
                }
                let (view, converter) = state.reading().map_err(from_core)?;
                let mut messages = kept.take();
                view.try_recv_many_into(&mut messages, max).map_err(from_core)?;
                let items = packed::pack(env, &converter, &messages, max, &mut buffer).map_err(from_napi);
                // Copied out: their bodies go back to the core's pool together.
                Message::drop_all(&mut messages);
                kept.replace(messages);
                items
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
        let notify = match self.state.live.borrow_mut().as_mut() {
            Some(live) => Notify::clone(live.notify.get_or_insert_with(|| waker.notify(key))),
            None => waker.notify(key),
        };
        let state = Rc::clone(&self.state);
        env.create_function_from_closure("poll", move |call| {
            let env = &*call.env;
            boundary(|| {
                let (view, converter) = state.reading().map_err(from_core)?;
                match view.poll_recv(&notify).map_err(from_core)? {
                    Polled::Ready(m) => converter.to_js(env, &m).map(Either3::A).map_err(from_napi),
                    Polled::Pending { recheck: None } => Ok(Either3::B(Null)),
                    Polled::Pending { recheck: Some(left) } => Ok(Either3::C(left.as_secs_f64() * 1000.0)),
                }
            })
            .or_else(|e| throw(env, e))
        })
        .map_err(from_napi)
    }

    /// Takes back what the poller armed, when no receive waits any more.
    #[napi]
    pub fn disarm(&self) {
        if let Some(notify) = self.state.live.borrow().as_ref().and_then(|live| live.notify.as_ref()) {
            self.state.view.disarm(notify);
        }
    }

    /// Counts a failure its inline handler's Promise reported after the
    /// publish returned.
    #[napi]
    pub fn record_handler_failure(&self) {
        self.state.view.record_handler_failure();
    }

    #[napi]
    pub fn stats(&self) -> SubscriptionStats {
        self.state.view.stats().into()
    }

    /// Ends the subscription: queued messages are dropped (and counted),
    /// pending receives fail with `CLOSED`; then releases what it owns.
    /// Idempotent.
    #[napi]
    pub fn close(&self, env: &Env) -> Result<()> {
        boundary(|| {
            let live = self.state.live.borrow();
            let owned =
                live.as_ref().map(|l| (l.client.clone(), l.callback.as_ref().map(|(g, _)| Arc::clone(g))));
            drop(live);
            if let Some((client, gate)) = owned {
                let id = self.state.view.id();
                let ending = gate.map(|gate| gate.end(&client, id));
                // Refused only once its session has ended, which ended it.
                let _ = client.unsubscribe(id);
                drop(ending);
            }
            ready::flush(env);
            self.state.release();
            Ok(())
        })
    }
}
