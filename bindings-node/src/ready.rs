//! Waiting without a thread: how a pending `recv` or `request` learns that
//! its subscription became readable.
//!
//! A receive that finds nothing queued leaves the core a [`Notify`]
//! (`SubscriptionRef::poll_recv`), one per subscription, which the core
//! calls outside every lock on the thread that made the subscription
//! readable: a publisher (any thread), a closer, a revoker. The notify only
//! records the subscription's key with its environment's [`NativeWaker`] and,
//! if that list was empty, schedules one call of the waker's JS function
//! through a thread-safe function. On the JS thread that function gets
//! every key recorded so far and polls those subscriptions again
//! (`lib/receive.js`), settling their pending Promises in order.
//!
//! So a thousand waiting subscriptions cost a thousand small closures, not
//! a thousand threads, and a burst that wakes them all costs one hop to the
//! JS thread. No wake-up is lost: the core arms the notify under the same
//! lock a publish takes (see `charter_core::bus::readiness`), and a key
//! recorded while the JS function runs finds the list empty and schedules
//! another call.
//!
//! When this thread itself made a subscription readable (a publish, a
//! reply, a close), the native call that did so ends by calling the JS
//! function at once ([`flush`]), without the hop: a pending receive then
//! settles in the same turn, as an `EventEmitter` listener would run, and
//! a consumer awaiting in a loop keeps up with a producer on its own
//! thread that never yields to the event loop. The JS function only polls
//! and settles Promises; the code awaiting them runs later, as microtasks.
//!
//! The thread-safe function is unref'd (`weak::<true>()`): pending receives
//! never keep the event loop alive by themselves. A wake-up in flight does,
//! when this thread made it: a receive waiting for a message that this
//! thread has just published (or for the subscription it has just closed)
//! must settle before the process exits. So a notify that runs on the home
//! thread refs the thread-safe function until its call has run. A notify
//! on another thread cannot (Node-API allows that only on the home
//! thread). What publishes there, a `publishAsync` job on a pool thread,
//! keeps the loop alive until its own Promise settles, and settling it
//! first flushes the waker ([`flush`], `src/promise.rs`) on the JS thread:
//! otherwise libuv
//! could run that settling, find nothing else ref'd and end the loop
//! before the waker's call, queued earlier, ever ran (seen: a process
//! exiting with a woken receive still pending).

use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::{self, ThreadId};

use charter_core::bus::Notify;
use napi::bindgen_prelude::{Env, Function, FunctionRef};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::error::{boundary, from_napi, Result};

/// Calls the waker's JS function with the keys recorded so far.
type Wake = ThreadsafeFunction<(), (), Vec<f64>, napi::Status, false, true>;

thread_local! {
    /// This thread's waker, for [`flush`]; weak, so that it goes with its
    /// environment, not with the thread.
    static HOME: RefCell<Weak<Shared>> = const { RefCell::new(Weak::new()) };
}

/// One per environment (made once by `lib/receive.js`); see the module docs.
#[napi]
pub struct NativeWaker {
    shared: Arc<Shared>,
}

struct Shared {
    /// The keys of subscriptions that became readable since the JS
    /// function last ran.
    ready: Mutex<Vec<f64>>,
    /// In a lock because ref'ing and unref'ing need `&mut`; `None` only
    /// in a waker whose construction failed (and which is then dropped).
    wake: Mutex<Option<Wake>>,
    /// The JS function itself, called directly by [`flush`].
    function: FunctionRef<Vec<f64>, ()>,
    /// The JS thread, and its environment as an address (a raw pointer is
    /// not `Send`): used only on that thread, inside the native call that
    /// runs the notify.
    home: ThreadId,
    env: usize,
}

#[napi]
impl NativeWaker {
    /// `wake` is called on this thread with the keys of the subscriptions
    /// that became readable, each at least once per readiness.
    #[napi(constructor, ts_args_type = "wake: (keys: number[]) => void")]
    pub fn new(env: Env, wake: Function<'_, Vec<f64>, ()>) -> Result<NativeWaker> {
        boundary(|| {
            let function = wake.create_ref().map_err(from_napi)?;
            let mut failed = None;
            let shared = Arc::new_cyclic(|weak: &Weak<Shared>| {
                let weak = Weak::clone(weak);
                let built = wake
                    .build_threadsafe_function::<()>()
                    .weak::<true>()
                    .callee_handled::<false>()
                    // Never `Err`: napi-rs would make that a fatal exception.
                    .build_callback(move |ctx| {
                        Ok(weak.upgrade().map(|s| s.woken(&ctx.env)).unwrap_or_default())
                    });
                Shared {
                    ready: Mutex::default(),
                    wake: Mutex::new(built.map_err(|e| failed = Some(e)).ok()),
                    function,
                    home: thread::current().id(),
                    env: env.raw() as usize,
                }
            });
            if let Some(e) = failed {
                return Err(from_napi(e));
            }
            HOME.with(|home| *home.borrow_mut() = Arc::downgrade(&shared));
            Ok(NativeWaker { shared })
        })
    }
}

impl NativeWaker {
    /// The notify of the subscription `key`: records it and schedules the
    /// JS function when none is scheduled yet.
    pub fn notify(&self, key: f64) -> Notify {
        let shared = Arc::clone(&self.shared);
        Arc::new(move || shared.readable(key))
    }
}

// `refer` and `unref` are deprecated in napi-rs with a note about counting
// references, which `clone` does; they are still the only way to reach
// `napi_ref_threadsafe_function` and `napi_unref_threadsafe_function`,
// which keep the event loop alive or not, and that is what is needed here.
#[allow(deprecated)]
impl Shared {
    fn readable(&self, key: f64) {
        let mut ready = lock(&self.ready);
        let schedule = ready.is_empty();
        ready.push(key);
        drop(ready);
        let mut wake = lock(&self.wake);
        let Some(wake) = wake.as_mut() else { return };
        if thread::current().id() == self.home {
            // Fails only while the environment shuts down.
            let _ = wake.refer(&Env::from_raw(self.env as napi::sys::napi_env));
        }
        if schedule {
            // Fails only while the environment shuts down: nothing is left
            // to wake.
            let _ = wake.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// On the JS thread, as the JS function is about to run: the keys it
    /// gets. The loop no longer needs to stay alive for this call.
    fn woken(&self, env: &Env) -> Vec<f64> {
        if let Some(wake) = lock(&self.wake).as_mut() {
            let _ = wake.unref(env);
        }
        std::mem::take(&mut *lock(&self.ready))
    }
}

/// Runs this thread's JS wake function now if keys are recorded; `env` is
/// the environment of the native call in progress on this thread, which
/// calls this as it ends, after whatever it did that could make a
/// subscription readable. See the module docs.
pub fn flush(env: &Env) {
    let Some(shared) = HOME.with(|home| home.borrow().upgrade()) else { return };
    let keys = std::mem::take(&mut *lock(&shared.ready));
    if keys.is_empty() {
        return;
    }
    let called = shared.function.borrow_back(env).and_then(|f| crate::callback::call(env, &f, keys.clone()));
    if called.is_err() {
        // No room on the stack to run it: the thread-safe function
        // delivers the keys instead, so no wake-up is lost.
        for key in keys {
            shared.readable(key);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
