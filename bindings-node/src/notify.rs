//! The native `notify` function, the hot path.
//!
//! napi-rs (3.16) wraps every `#[napi]` function and method that takes an
//! argument in glue that tracks borrows of native values: per call, a
//! heap-allocated scope and several thread-local stacks, plus, for class
//! methods, a process-wide mutex-guarded table shared by all workers (an
//! `External` argument is looked up in another such table). Measured on an empty registry,
//! a call costs about 110 ns made this way, 270 ns as a free function taking
//! the registry as an `External`, and 550 ns as a class method (see
//! docs/BENCHMARKS.md). A function made by `Env::create_function_from_closure`
//! has none of that glue: the closure owns what it needs (the registry), so
//! a call only reads its call info and runs the closure.

use std::rc::Rc;

use napi::bindgen_prelude::{Either, Env, Function};
use napi_derive::napi;

use crate::error::{boundary, from_core, from_napi, throw, Result};
use crate::registry::Core;

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

/// The count of handlers when every one returned normally, otherwise the
/// full report: the common case creates no JS object here.
pub type Outcome = Either<f64, NotifyReport>;

/// A JS function `() => number | NotifyReport` that runs one round of
/// `core` on the calling thread. The event is not an argument: the JS layer
/// holds it for the guarded handlers to read (see `callback`).
pub fn function(env: &Env, core: Rc<Core>) -> Result<Function<'_, (), Outcome>> {
    env.create_function_from_closure("notify", move |call| {
        let env = &*call.env;
        boundary(|| round(&core, env)).or_else(|e| throw(env, e))
    })
    .map_err(from_napi)
}

fn round(core: &Core, env: &Env) -> Result<Outcome> {
    let report = core.try_notify(env).map_err(|e| from_core(e.into()))?;
    Ok(if report.failed == 0 && report.panicked == 0 {
        Either::A(report.delivered as f64)
    } else {
        Either::B(NotifyReport {
            delivered: report.delivered as f64,
            failed: report.failed as f64,
            panicked: report.panicked as f64,
        })
    })
}
