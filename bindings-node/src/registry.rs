//! `NativeRegistry`: the core's handler registry, holding JS functions.
//!
//! The public `Registry` class (`lib/registry.js`) wraps this one: it turns
//! native errors into `CharterError` subclasses, adds `Symbol.dispose`, and
//! calls `notify` through a bound function (see `bound`), the hot path.
//!
//! A handler may call back into the same registry (register, unregister,
//! notify, close, set `onError`) while `notify` is running, so every method
//! takes `&self`, state uses interior mutability, and no borrow is held
//! across a call into JS.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use charter_core::registry::MAX_THREAD_NESTING;
use charter_core::{ErrorKind, HandlerError, HandlerId, HandlerResult};
use napi::bindgen_prelude::{Env, ToNapiValue, Unknown};
use napi::{sys, JsValue, ValueType};
use napi_derive::napi;

use crate::bound;
use crate::callback::{call_value, undefined, CallError, JsFunction};
use crate::error::{boundary, error, from_core, from_napi, Result};

/// Ids and priorities must survive the trip through a JS number exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// What one `notify` hands to every handler: the caller's environment and
/// event value, and where to report a handler's exception.
///
/// It only lives for the duration of one `notify` call on the JS thread, so
/// the raw pointers are valid whenever a handler sees it.
struct JsEvent {
    env: sys::napi_env,
    /// `undefined`, fetched once per round: handlers get it as `this`.
    undefined: sys::napi_value,
    value: sys::napi_value,
    on_error: *const ErrorHook,
}

/// The `onError` slot of one registry.
#[derive(Default)]
struct ErrorHook(RefCell<Option<JsFunction>>);

impl ErrorHook {
    /// Passes a handler's exception to the hook, if one is set. Whatever the
    /// hook throws is swallowed: it must not affect the other handlers.
    fn report(&self, env: sys::napi_env, id: HandlerId, exception: sys::napi_value) {
        // Resolve the hook to a value and release the borrow before calling
        // it: the hook may replace `onError` while it runs.
        let Some(hook) = self.0.borrow().as_ref().and_then(|f| f.get(env)) else {
            return;
        };
        // SAFETY: `env` is the current env; `id` is exact as a double.
        let mut id_value = std::ptr::null_mut();
        if unsafe { sys::napi_create_double(env, id.get() as f64, &mut id_value) }
            != sys::Status::napi_ok
        {
            return;
        }
        let _ = call_value(env, undefined(env), hook, &[id_value, exception]);
    }
}

/// A registered JS handler.
struct JsHandler {
    function: JsFunction,
    /// The registration's id, for `onError`. It is only known once the core
    /// has registered the handler, so it is filled in right after; the
    /// handler cannot run before then (same thread).
    id: Arc<AtomicU64>,
}

impl JsHandler {
    #[inline]
    fn invoke(&self, event: &JsEvent) -> HandlerResult {
        match self
            .function
            .call(event.env, event.undefined, &[event.value])
        {
            Ok(()) => Ok(()),
            Err(CallError::Threw(exception)) => {
                let id = HandlerId::from_raw(self.id.load(Ordering::Relaxed));
                // SAFETY: see `JsEvent`: the hook outlives the `notify` call.
                unsafe { &*event.on_error }.report(event.env, id, exception);
                Err(HandlerError)
            }
            Err(CallError::NotRun) => Err(HandlerError),
        }
    }
}

/// How one `notify` round went. Counts are exact up to 2^53.
#[napi(object)]
pub struct NotifyReport {
    /// Handlers that returned normally.
    pub delivered: f64,
    /// Handlers that threw.
    pub failed: f64,
    /// Handlers whose native glue panicked (a bug in Charter); the panic
    /// was caught.
    pub panicked: f64,
}

/// The state behind one registry, shared by the `NativeRegistry` object
/// and its bound `notify` function.
struct Shared {
    core: charter_core::Registry<JsEvent>,
    on_error: ErrorHook,
    closed: Cell<bool>,
}

impl Shared {
    fn check_open(&self) -> Result<()> {
        if self.closed.get() {
            return Err(error(ErrorKind::Closed, "the registry is closed"));
        }
        Ok(())
    }

    /// The body of the bound `notify` function. Returns the number of
    /// handlers that ran when all of them returned normally, otherwise a
    /// `NotifyReport`: the common case then allocates no JS object.
    fn notify(&self, env: sys::napi_env, event: sys::napi_value) -> Result<sys::napi_value> {
        self.check_open()?;
        let event = JsEvent {
            env,
            undefined: undefined(env),
            value: event,
            on_error: &self.on_error,
        };
        let report = self
            .core
            .try_notify(&event)
            .map_err(|e| from_core(e.into()))?;
        // SAFETY: `env` is the current env.
        unsafe {
            if report.failed == 0 && report.panicked == 0 {
                f64::to_napi_value(env, report.delivered as f64)
            } else {
                NotifyReport::to_napi_value(
                    env,
                    NotifyReport {
                        delivered: report.delivered as f64,
                        failed: report.failed as f64,
                        panicked: report.panicked as f64,
                    },
                )
            }
        }
        .map_err(from_napi)
    }
}

/// A set of JS handlers notified together; see the module docs.
#[napi]
pub struct NativeRegistry {
    shared: Rc<Shared>,
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
                None => charter_core::Registry::new(),
                Some(v) => {
                    let depth = integer(&v, "maxDepth", 1.0, MAX_THREAD_NESTING as f64)?;
                    charter_core::Registry::with_max_depth(depth as usize).map_err(from_core)?
                }
            };
            Ok(NativeRegistry {
                shared: Rc::new(Shared {
                    core,
                    on_error: ErrorHook::default(),
                    closed: Cell::new(false),
                }),
            })
        })
    }

    /// A function `(event) => number | NotifyReport` that calls every
    /// handler with `event`, synchronously, in firing order. It returns the
    /// count of handlers when all returned normally, a full report
    /// otherwise. Bound once by the JS layer, it is the hot path.
    #[napi(ts_return_type = "(event?: unknown) => number | NotifyReport")]
    pub fn notifier<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        boundary(|| {
            let func = bound::function(
                env.raw(),
                c"notify",
                Rc::clone(&self.shared),
                Shared::notify,
            )
            .map_err(from_napi)?;
            // SAFETY: a live function value of the current env.
            Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), func) })
        })
    }

    /// Registers `handler`; higher `priority` fires first, equal priorities
    /// in registration order. Returns the registration's id.
    #[napi(ts_args_type = "handler: (event: unknown) => unknown, priority?: number")]
    pub fn register(&self, env: Env, handler: Unknown, priority: Option<Unknown>) -> Result<f64> {
        boundary(|| {
            self.shared.check_open()?;
            let function = function(env, &handler, "handler")?
                .ok_or_else(|| error(ErrorKind::NullArgument, "handler is required"))?;
            let priority = match priority {
                None => 0,
                Some(v) => integer(&v, "priority", i32::MIN.into(), i32::MAX.into())? as i32,
            };
            let id_slot = Arc::new(AtomicU64::new(0));
            let handler = JsHandler {
                function,
                id: Arc::clone(&id_slot),
            };
            let id = self
                .shared
                .core
                .register_with_priority(priority, move |event| handler.invoke(event));
            id_slot.store(id.get(), Ordering::Relaxed);
            Ok(id.get() as f64)
        })
    }

    /// Removes the registration `id`; returns whether it was registered.
    #[napi(ts_args_type = "id: number")]
    pub fn unregister(&self, id: Unknown) -> Result<bool> {
        boundary(|| {
            self.shared.check_open()?;
            Ok(self.shared.core.unregister(handler_id(&id)?))
        })
    }

    /// Whether `id` is currently registered.
    #[napi(ts_args_type = "id: number")]
    pub fn contains(&self, id: Unknown) -> Result<bool> {
        boundary(|| {
            self.shared.check_open()?;
            Ok(self.shared.core.contains(handler_id(&id)?))
        })
    }

    /// How many handlers are registered.
    #[napi(getter)]
    pub fn size(&self) -> Result<u32> {
        boundary(|| {
            self.shared.check_open()?;
            Ok(u32::try_from(self.shared.core.len()).unwrap_or(u32::MAX))
        })
    }

    /// The bound on nested `notify` calls of this registry on one thread.
    #[napi(getter)]
    pub fn max_depth(&self) -> Result<u32> {
        boundary(|| {
            self.shared.check_open()?;
            Ok(self.shared.core.max_depth() as u32)
        })
    }

    /// Removes every handler.
    #[napi]
    pub fn clear(&self) -> Result<()> {
        boundary(|| {
            self.shared.check_open()?;
            self.shared.core.clear();
            Ok(())
        })
    }

    /// The hook that receives `(handlerId, error)` for every handler that
    /// throws, or `null`.
    #[napi(
        getter,
        ts_return_type = "((handlerId: number, error: unknown) => unknown) | null"
    )]
    pub fn get_on_error<'env>(&self, env: &'env Env) -> Result<Option<Unknown<'env>>> {
        boundary(|| {
            self.shared.check_open()?;
            let hook = self
                .shared
                .on_error
                .0
                .borrow()
                .as_ref()
                .and_then(|f| f.get(env.raw()));
            // SAFETY: a live value of the current env.
            Ok(hook.map(|value| unsafe { Unknown::from_raw_unchecked(env.raw(), value) }))
        })
    }

    /// Sets or (with `null`/`undefined`) removes the `onError` hook.
    #[napi(
        setter,
        ts_args_type = "hook: ((handlerId: number, error: unknown) => unknown) | null | undefined"
    )]
    pub fn set_on_error(&self, env: Env, hook: Unknown) -> Result<()> {
        boundary(|| {
            self.shared.check_open()?;
            let hook = function(env, &hook, "onError")?;
            // Swap, then drop the old hook after the borrow ends.
            let old = self.shared.on_error.0.replace(hook);
            drop(old);
            Ok(())
        })
    }

    /// Whether `close` has been called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.shared.closed.get()
    }

    /// Releases every handler and the hook; later calls throw `ClosedError`.
    /// Closing twice is a no-op. Inside a handler, the round in progress
    /// runs no further handler.
    #[napi]
    pub fn close(&self) -> Result<()> {
        boundary(|| {
            if !self.shared.closed.replace(true) {
                self.shared.core.clear();
                let hook = self.shared.on_error.0.take();
                drop(hook);
            }
            Ok(())
        })
    }
}

/// A function argument: `None` for `null`/`undefined`.
fn function(env: Env, value: &Unknown, what: &str) -> Result<Option<JsFunction>> {
    match value.get_type().map_err(from_napi)? {
        ValueType::Undefined | ValueType::Null => Ok(None),
        ValueType::Function => JsFunction::new(env.raw(), value.raw())
            .map(Some)
            .map_err(from_napi),
        other => Err(error(
            ErrorKind::InvalidArgument,
            format!("{what} must be a function, got {}", type_name(other)),
        )),
    }
}

/// An integral number within `min..=max`.
fn integer(value: &Unknown, what: &str, min: f64, max: f64) -> Result<f64> {
    let invalid = || {
        error(
            ErrorKind::InvalidArgument,
            format!("{what} must be an integer between {min} and {max}"),
        )
    };
    if value.get_type().map_err(from_napi)? != ValueType::Number {
        return Err(invalid());
    }
    let n = value
        .coerce_to_number()
        .and_then(|n| n.get_double())
        .map_err(from_napi)?;
    if n.fract() != 0.0 || !(min..=max).contains(&n) {
        return Err(invalid());
    }
    Ok(n)
}

fn handler_id(value: &Unknown) -> Result<HandlerId> {
    Ok(HandlerId::from_raw(
        integer(value, "id", 0.0, MAX_SAFE_INTEGER)? as u64,
    ))
}

fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Undefined => "undefined",
        ValueType::Null => "null",
        ValueType::Boolean => "boolean",
        ValueType::Number => "number",
        ValueType::String => "string",
        ValueType::Symbol => "symbol",
        ValueType::Object => "object",
        ValueType::Function => "function",
        ValueType::BigInt => "bigint",
        _ => "value",
    }
}
