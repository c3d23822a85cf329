//! JS handlers of callback subscriptions, as the core calls them.
//!
//! The core calls a handler on the thread that publishes (inline dispatch)
//! or on the subscription's own thread (thread dispatch). A JS function can
//! only run on its home thread, so a [`JsHandler`] has two ways in:
//!
//! - **Direct**, when the core calls it on the home thread inside a native
//!   call of this addon that published (`publish`, `request`): the call's
//!   environment is known ([`with_env`]) and the handler runs synchronously,
//!   so the publish report counts it exactly, as `Registry.notify` does.
//! - **Relayed**, from any other thread (a thread-dispatch worker, a
//!   `publishAsync` job): the message is queued to the home thread through
//!   a thread-safe function and the calling thread waits for the handler's
//!   outcome. Waiting keeps the core's guarantees: one message in flight per
//!   subscription, its queue (and overflow policy) absorbing the backlog,
//!   and failures counted where they happen. The thread-safe function is
//!   unref'd (`weak::<true>()`): a delivery in flight never keeps the event
//!   loop alive, and if the process exits first, it is not run.
//!
//! A thread handler that returns a Promise is awaited: its guarded handler
//! returns a Promise of its outcome, which never rejects, and the relayed
//! call's outcome is that Promise's value. The subscription's thread waits
//! for it as for a synchronous outcome, so one message is in flight at a
//! time and a rejection counts as a handler failure. An inline handler
//! cannot be awaited (`publish` is synchronous): its guarded handler
//! returns `true` at once and passes a later rejection to `onError` itself.
//!
//! A relayed wait must end when the subscription does: ending a thread
//! subscription joins its worker, which may be the very thread waiting for
//! the home thread, and the home thread may be the one ending it (a handler
//! closing its own subscription, or the bus). So every way a subscription
//! ends in this addon goes through [`Gate::end`] first; see
//! `NativeSubscription::close` and `NativeBus`. What holds once a
//! subscription is closed (`close` on it or on its bus has returned):
//!
//! - no handler of it runs any more, not even for a message relayed before
//!   (it reaches the home thread with a `null` payload, which the guarded
//!   handler skips);
//! - of the messages the close found queued or in flight, at most one
//!   counts as delivered: the one the thread subscription's worker held or
//!   was taking as its gate ended. The worker ends the subscription itself
//!   before it takes another, so every other one counts as dropped
//!   (`closed`), and `received == delivered + dropped` holds exactly.
//!
//! A bus collected without `close` only ends its gates: until the core's
//! bus ends their subscriptions (when its last handle goes), their workers
//! may take more messages, counted as delivered, without calling JS.

use std::cell::Cell;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use charter_core::bus::{Client, Message, SubscriptionId};
use charter_core::capability::Session;
use charter_core::{HandlerError, HandlerResult};
use napi::bindgen_prelude::{Either, Env, FnArgs, Function, FunctionRef, PromiseRaw};
use napi::threadsafe_function::{ThreadsafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode};

use crate::callback::call_guarded;
use crate::message::{Args, Converter};

/// A guarded handler made by `lib/bus.js`: called with a message as
/// arguments (`src/message.rs`), the payload `null` when the message could
/// not be converted or arrived after the subscription ended; returns whether
/// the user's handler returned normally. It never throws: it passes what the
/// handler threw to the bus's `onError` hook itself (`src/callback.rs` says
/// why). For a thread handler that returned a Promise, it returns a Promise
/// of that outcome instead (see the module docs).
pub type Guarded<'env> = Function<'env, Args, Outcome>;

/// What a guarded handler returns: whether the handler succeeded, now or
/// once its Promise settles.
pub type Outcome = Either<bool, PromiseRaw<'static, bool>>;

thread_local! {
    /// The environment of the innermost native call of this addon that is
    /// publishing on this thread.
    static CURRENT: Cell<Option<Env>> = const { Cell::new(None) };
}

/// Runs `f` (which publishes) with `env` as the environment in which inline
/// handlers of this thread are called directly. Nests.
pub fn with_env<R>(env: &Env, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Env>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.replace(Some(*env))));
    f()
}

/// Where relayed calls wait for their outcome; see the module docs.
pub struct Gate {
    /// Whether its handler runs on the subscription's own thread.
    threaded: bool,
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Default)]
struct GateState {
    ended: bool,
    next: u64,
    /// Outcomes of relayed calls not yet collected by their waiter.
    finished: Vec<(u64, bool)>,
    /// While a thread subscription is being ended ([`Gate::end`]), how its
    /// worker ends it itself: taken by the worker when it finds the gate
    /// ended.
    ending: Option<(Client, SubscriptionId)>,
}

impl Gate {
    pub fn new(threaded: bool) -> Gate {
        Gate { threaded, state: Mutex::default(), changed: Condvar::new() }
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A ticket for one relayed call; `None` once the gate has ended.
    fn ticket(&self) -> Option<u64> {
        let mut state = self.lock();
        if state.ended {
            return None;
        }
        state.next += 1;
        Some(state.next)
    }

    fn finish(&self, ticket: u64, ok: bool) {
        let mut state = self.lock();
        if !state.ended {
            state.finished.push((ticket, ok));
            drop(state);
            self.changed.notify_all();
        }
    }

    /// Waits for the outcome of `ticket`, or for the gate to end (which is
    /// not the handler's failure: it may still be running).
    fn wait(&self, ticket: u64) -> HandlerResult {
        let mut state = self.lock();
        loop {
            if let Some(i) = state.finished.iter().position(|&(t, _)| t == ticket) {
                let (_, ok) = state.finished.swap_remove(i);
                return if ok { Ok(()) } else { Err(HandlerError) };
            }
            if state.ended {
                drop(state);
                return self.ended();
            }
            state = self.changed.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// What a relayed call does once the gate has ended: return, calling
    /// nothing. A thread subscription's worker first ends its subscription
    /// itself, if it is still being ended (see [`Gate::end`]): on its own
    /// thread the core closes the queue and does not join, so the worker
    /// takes no further message.
    fn ended(&self) -> HandlerResult {
        let ending = if self.threaded { self.lock().ending.take() } else { None };
        if let Some((client, id)) = ending {
            // Once its session has ended, the core ends it itself (on the
            // worker's next receive, before it takes anything); an
            // unsubscribe would only be refused, and counted as a denial.
            if client.session().is_none_or(Session::is_active) {
                let _ = client.unsubscribe(id);
            }
        }
        Ok(())
    }

    /// Ends the gate as subscription `id`, made through `client`, is about
    /// to end: waiting relayed calls return, later ones return at once
    /// without calling JS. The caller then ends the subscription (its
    /// unsubscribe, or its bus's close) and drops the [`Ending`].
    ///
    /// Until then, a thread subscription's worker that finds the gate
    /// ended ends the subscription itself before it returns for another
    /// message. So after the gate ends, the worker takes at most one more
    /// message: the one it holds or is taking, counted as delivered though
    /// no handler runs. Whoever ends the subscription first, the worker or
    /// the caller, the other returns with its queue closed (the core's
    /// rule), so once the caller's call returns, every other message is
    /// counted as dropped. Neither waits for the other: the caller's call
    /// may join the worker, which never waits for the home thread once the
    /// gate has ended.
    pub fn end(self: &Arc<Gate>, client: &Client, id: SubscriptionId) -> Ending {
        let mut state = self.lock();
        if !state.ended {
            state.ended = true;
            state.finished.clear();
            if self.threaded {
                state.ending = Some((client.clone(), id));
            }
        }
        drop(state);
        self.changed.notify_all();
        Ending(Arc::clone(self))
    }

    fn is_ended(&self) -> bool {
        self.lock().ended
    }
}

/// A gate ended while its subscription ends (see [`Gate::end`]): dropped
/// once the subscription has ended, it takes back the worker's means to
/// end it (a client, which holds the bus).
#[must_use = "drop it once the subscription has ended"]
pub struct Ending(Arc<Gate>);

impl Drop for Ending {
    fn drop(&mut self) {
        let ending = self.0.lock().ending.take();
        drop(ending);
    }
}

/// Calls back into JS from other threads: unref'd, with the message as the
/// value; its JS side returns whether the handler succeeded.
type Relay = ThreadsafeFunction<Message, Outcome, Args, napi::Status, false, true>;

/// A JS handler as the core holds it; see the module docs.
pub struct JsHandler {
    /// The home thread's environment, as an address: only compared.
    home: usize,
    js: HandlerParts,
    gate: Arc<Gate>,
}

/// What a handler holds of JS: shared with its `NativeSubscription`, which
/// releases it when the subscription or its bus closes, since the core
/// keeps the handler itself as long as the subscription is referenced.
/// A handler released calls nothing, as an ended gate does.
pub type HandlerParts = Arc<Mutex<Option<Parts>>>;

pub struct Parts {
    converter: Arc<Converter>,
    direct: FunctionRef<Args, Outcome>,
    relay: Relay,
}

/// A relayed message as the guarded handler's arguments, on the home
/// thread; a `null` payload when it cannot be handed over.
fn relayed_args(gate: &Gate, converter: &Converter, ctx: &ThreadsafeCallContext<Message>) -> Args {
    let args = if gate.is_ended() { None } else { converter.args(&ctx.env, &ctx.value).ok() };
    args.unwrap_or_else(|| FnArgs::from((0.0, String::new(), None, None, None)))
}

impl JsHandler {
    /// Holds `guarded`, to be called on this thread (`env`'s) directly or
    /// through `gate` from elsewhere.
    pub fn new(
        env: &Env,
        converter: &Arc<Converter>,
        guarded: &Guarded<'_>,
        gate: Arc<Gate>,
    ) -> napi::Result<JsHandler> {
        let (relayed, relay_converter) = (Arc::clone(&gate), Arc::clone(converter));
        let relay = guarded
            .build_threadsafe_function::<Message>()
            .weak::<true>()
            .callee_handled::<false>()
            // Never `Err`: napi-rs would make that a fatal exception.
            .build_callback(move |ctx| Ok(relayed_args(&relayed, &relay_converter, &ctx)))?;
        let parts = Parts { converter: Arc::clone(converter), direct: guarded.create_ref()?, relay };
        Ok(JsHandler { home: env.raw() as usize, js: Arc::new(Mutex::new(Some(parts))), gate })
    }

    /// What the subscription releases when it closes.
    pub fn parts(&self) -> HandlerParts {
        Arc::clone(&self.js)
    }

    /// The core's entry: called for every message, on any thread.
    pub fn call(&self, message: &Message) -> HandlerResult {
        match CURRENT.with(Cell::get) {
            Some(env) if env.raw() as usize == self.home => self.call_here(&env, message),
            _ => self.call_home(message),
        }
    }

    fn call_here(&self, env: &Env, message: &Message) -> HandlerResult {
        // Taken out under the lock, which is not held while JS runs (the
        // handler may close its subscription).
        let guarded = {
            let js = self.js.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(js) = js.as_ref() else { return Ok(()) };
            let args = js.converter.args(env, message).map_err(|_| HandlerError)?;
            (js.direct.borrow_back(env).map_err(|_| HandlerError)?, args)
        };
        call_guarded(env, &guarded.0, guarded.1)
    }

    fn call_home(&self, message: &Message) -> HandlerResult {
        let Some(ticket) = self.gate.ticket() else { return self.gate.ended() };
        let gate = Arc::clone(&self.gate);
        let js = self.js.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(relay) = js.as_ref().map(|js| &js.relay) else {
            // Released: only after its gate ended.
            drop(js);
            return self.gate.ended();
        };
        let status = relay.call_with_return_value(
            message.clone(),
            ThreadsafeFunctionCallMode::NonBlocking,
            move |returned, _| {
                match returned {
                    Ok(Either::A(ok)) => gate.finish(ticket, ok),
                    Ok(Either::B(promise)) => {
                        let settled = Arc::clone(&gate);
                        let awaited = promise.then(move |ctx| {
                            settled.finish(ticket, ctx.value);
                            Ok(())
                        });
                        if awaited.is_err() {
                            gate.finish(ticket, false);
                        }
                    }
                    Err(_) => gate.finish(ticket, false),
                }
                Ok(())
            },
        );
        // Not held while waiting: the JS thread may be releasing it.
        drop(js);
        if status != napi::Status::Ok {
            // The environment is closing: the handler can no longer run.
            return Err(HandlerError);
        }
        self.gate.wait(ticket)
    }
}
