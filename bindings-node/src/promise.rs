//! Promises settled from pool threads (`src/pool.rs`).
//!
//! Settling one first delivers the wake-ups recorded for waiting receives
//! (`ready::flush`): a pool job that published (`publishAsync`) may have
//! made receives ready, and once its Promise settles, nothing may be left
//! to keep the event loop alive for them (see `src/ready.rs`).

use charter_core::{Error as CoreError, Result as CoreResult};
use napi::bindgen_prelude::{Either, Env, Object, ToNapiValue, Undefined};
use napi::{JsDeferred, JsError};

use crate::error::{from_core, from_napi, Result};
use crate::{pool, ready};

type Settled<T> = Either<T, Undefined>;
type Resolver<T> = Box<dyn FnOnce(Env) -> napi::Result<Settled<T>> + Send>;

/// Settles one Promise, on its JS thread, exactly once: with a value built
/// there, or rejected with a Charter error. Dropped unsettled (its job
/// panicked, or never ran because no thread could be started), it resolves
/// the Promise with `undefined`, which the JS layer reports as an
/// `InternalError`: a Promise left pending would keep its ref'd thread-safe
/// function, and so the process, alive forever.
pub struct Settle<T: ToNapiValue + 'static>(Option<JsDeferred<Settled<T>, Resolver<T>>>);

impl<T: ToNapiValue + 'static> Settle<T> {
    /// A new Promise and the handle that settles it from any thread.
    pub fn new(env: &Env) -> Result<(Settle<T>, Object<'_>)> {
        let (deferred, promise) = env.create_deferred().map_err(from_napi)?;
        Ok((Settle(Some(deferred)), promise))
    }

    /// Resolves with what `value` builds on the JS thread.
    pub fn resolve(mut self, value: impl FnOnce(&Env) -> napi::Result<T> + Send + 'static) {
        if let Some(deferred) = self.0.take() {
            deferred.resolve(Box::new(move |env| {
                ready::flush(&env);
                value(&env).map(Either::A)
            }));
        }
    }

    /// Rejects with the Charter error for `e`, `code` and all.
    pub fn reject(mut self, e: CoreError) {
        if let Some(deferred) = self.0.take() {
            deferred.resolve(Box::new(move |env| {
                ready::flush(&env);
                Err(napi::Error::from(JsError::from(from_core(e)).into_unknown(env)))
            }));
        }
    }
}

impl<T: ToNapiValue + 'static> Drop for Settle<T> {
    fn drop(&mut self) {
        if let Some(deferred) = self.0.take() {
            deferred.resolve(Box::new(|_| Ok(Either::B(()))));
        }
    }
}

/// Runs `work` on a pool thread and returns a Promise of its outcome:
/// resolved with `into(value)`, built on the JS thread, or rejected with
/// the Charter error. Fails only when no pool thread can be started.
pub fn on_pool<'env, V, T>(
    env: &'env Env,
    work: impl FnOnce() -> CoreResult<V> + Send + 'static,
    into: impl FnOnce(V) -> T + Send + 'static,
) -> Result<Object<'env>>
where
    V: Send + 'static,
    T: ToNapiValue + 'static,
{
    let (settle, promise) = Settle::<T>::new(env)?;
    let job = move || match work() {
        Ok(value) => settle.resolve(move |_| Ok(into(value))),
        Err(e) => settle.reject(e),
    };
    pool::run(Box::new(job))?;
    Ok(promise)
}
