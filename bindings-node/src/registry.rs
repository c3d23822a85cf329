//! `NativeRegistry`: the core's handler registry, holding JS functions.
//!
//! The public `Registry` class (`lib/registry.js`) wraps this one and keeps
//! everything that is only about JS values: the event of the round in
//! progress, what handlers throw, the `onError` hook and the closed state.
//! This side keeps the handlers themselves, in the core, with the core's
//! guarantees (order, isolation, re-entrancy and the nesting bound).
//!
//! A handler may call back into the same registry while `notify` is running,
//! so every method takes `&self` and the core needs no outer lock.

use std::rc::Rc;

use charter_core::registry::MAX_THREAD_NESTING;
use charter_core::{ErrorKind, HandlerId};
use napi::bindgen_prelude::{Env, Function, Unknown};
use napi::{JsValue, ValueType};
use napi_derive::napi;

use crate::callback::{invoke, Callback};
use crate::error::{boundary, error, from_core, from_napi, Result};
use crate::notify::{self, Outcome};

/// The core registry as this addon uses it. The "event" the core hands to
/// each handler is the environment of the notifying call: the event value
/// itself stays in JS (see `callback`).
pub type Core = charter_core::Registry<Env>;

/// Ids and priorities must survive the trip through a JS number exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A set of JS handlers notified together; see the module docs.
#[napi]
pub struct NativeRegistry {
    /// Shared with the `notify` function (see `notifier`).
    core: Rc<Core>,
}

#[napi]
impl NativeRegistry {
    /// `maxDepth` bounds how deeply `notify` may nest on one thread
    /// (1..=64); `undefined` or `null` means the default, 8.
    #[napi(constructor, ts_args_type = "maxDepth?: number")]
    pub fn new(max_depth: Option<Unknown>) -> Result<Self> {
        boundary(|| {
            // napi-rs passes `undefined` and `null` as `None`.
            let core = match max_depth {
                None => Core::new(),
                Some(v) => {
                    let depth = integer(&v, "maxDepth", 1.0, MAX_THREAD_NESTING as f64)?;
                    Core::with_max_depth(depth as usize).map_err(from_core)?
                }
            };
            Ok(NativeRegistry { core: Rc::new(core) })
        })
    }

    /// A function `() => number | NotifyReport` that calls every handler,
    /// synchronously, in firing order. It returns the count of handlers
    /// when all returned normally, a full report otherwise. Made once by
    /// the JS layer, it is the hot path.
    #[napi(ts_return_type = "() => number | NotifyReport")]
    pub fn notifier<'env>(&self, env: &'env Env) -> Result<Function<'env, (), Outcome>> {
        boundary(|| notify::function(env, Rc::clone(&self.core)))
    }

    /// Registers `handler`, a guarded handler made by `lib/registry.js`
    /// (`src/callback.rs` says what it does); higher `priority` fires first,
    /// equal priorities in registration order. Returns the registration's id.
    #[napi(ts_args_type = "handler: () => boolean, priority?: number")]
    pub fn register(&self, handler: Callback, priority: Option<Unknown>) -> Result<f64> {
        boundary(|| {
            let id =
                self.core.register_with_priority(priority_of(priority)?, move |env| invoke(&handler, env));
            Ok(id.get() as f64)
        })
    }

    /// Registers `handler` like `register`, to run once: the first round
    /// that reaches it calls it, removes it and releases it, even if it
    /// throws.
    #[napi(ts_args_type = "handler: () => boolean, priority?: number")]
    pub fn register_once(&self, handler: Callback, priority: Option<Unknown>) -> Result<f64> {
        boundary(|| {
            let id = self
                .core
                .register_once_with_priority(priority_of(priority)?, move |env| invoke(&handler, env));
            Ok(id.get() as f64)
        })
    }

    /// Removes the registration `id`; returns whether it was registered.
    #[napi(ts_args_type = "id: number")]
    pub fn unregister(&self, id: Unknown) -> Result<bool> {
        boundary(|| Ok(self.core.unregister(handler_id(&id)?)))
    }

    /// Removes the registration `id` and waits until no round can still be
    /// running it (the core's `unregister_and_wait`). A registry lives on
    /// one JS thread, so only a round in progress on this thread could be,
    /// and from inside one the core does not wait: this never blocks. It
    /// releases the handler at once unless a round still holds it.
    #[napi(ts_args_type = "id: number")]
    pub fn unregister_and_wait(&self, id: Unknown) -> Result<bool> {
        boundary(|| Ok(self.core.unregister_and_wait(handler_id(&id)?)))
    }

    /// Whether `id` is currently registered.
    #[napi(ts_args_type = "id: number")]
    pub fn contains(&self, id: Unknown) -> Result<bool> {
        boundary(|| Ok(self.core.contains(handler_id(&id)?)))
    }

    /// How many handlers are registered.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        u32::try_from(self.core.len()).unwrap_or(u32::MAX)
    }

    /// The bound on nested `notify` calls of this registry on one thread.
    #[napi(getter)]
    pub fn max_depth(&self) -> u32 {
        u32::try_from(self.core.max_depth()).unwrap_or(u32::MAX)
    }

    /// Removes every handler. Inside a handler, the round in progress runs
    /// no further handler.
    #[napi]
    pub fn clear(&self) -> Result<()> {
        boundary(|| {
            self.core.clear();
            Ok(())
        })
    }

    /// Removes every handler and waits as `unregister_and_wait` does.
    #[napi]
    pub fn clear_and_wait(&self) -> Result<()> {
        boundary(|| {
            self.core.clear_and_wait();
            Ok(())
        })
    }
}

/// An integral number within `min..=max`.
fn integer(value: &Unknown, what: &str, min: f64, max: f64) -> Result<f64> {
    let invalid =
        || error(ErrorKind::InvalidArgument, format!("{what} must be an integer between {min} and {max}"));
    if value.get_type().map_err(from_napi)? != ValueType::Number {
        return Err(invalid());
    }
    let n = value.coerce_to_number().and_then(|n| n.get_double()).map_err(from_napi)?;
    if n.fract() != 0.0 || !(min..=max).contains(&n) {
        return Err(invalid());
    }
    Ok(n)
}

fn handler_id(value: &Unknown) -> Result<HandlerId> {
    Ok(HandlerId::from_raw(integer(value, "id", 0.0, MAX_SAFE_INTEGER)? as u64))
}

/// A registration's priority: 0 when absent, else an `i32`.
fn priority_of(value: Option<Unknown>) -> Result<i32> {
    match value {
        None => Ok(0),
        Some(v) => Ok(integer(&v, "priority", i32::MIN.into(), i32::MAX.into())? as i32),
    }
}
