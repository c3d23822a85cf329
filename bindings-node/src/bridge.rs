//! `NativeBridge` and `NativeBridgeVerifier`, wrapped by the public
//! `Bridge` and `BridgeVerifier` (`lib/bridge.js`).
//!
//! The bridge is the `charter-bridge` crate (docs/bridge.md); this module
//! maps its options and counters to JS and decides nothing of its own.
//! Starting, flushing and closing wait on the network, so they run on a
//! pool thread (`src/pool.rs`) and return Promises: the JS thread never
//! blocks, and never runs on one of the bridge's own threads. The bridge's
//! threads are not libuv handles: a running bridge does not keep the event
//! loop alive by itself.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use charter_bridge::verify::{Expect, Inbound};
use charter_bridge::DEFAULT_FLUSH_TIMEOUT;
use charter_bridge::{Bridge, BridgeOptions, DurableImport, Import, Reason, Verifier, VerifyOptions};
use charter_core::ErrorKind;
use napi::bindgen_prelude::{BufferSlice, Env, Object};
use napi_derive::napi;

use crate::audit::NativeAuditLog;
use crate::authority::{NativeAuthority, NativeSession};
use crate::bus::NativeBus;
use crate::error::{boundary, error, from_core, Result};
use crate::keys::NativeKeyPair;
use crate::options::millis;
use crate::promise::on_pool;
use crate::token::NativeToken;

/// One import: a NATS subject pattern, optionally in a queue group.
#[napi(object)]
pub struct ImportSpec {
    pub pattern: String,
    pub queue_group: Option<String>,
    /// Whether another bridge on the same bus may carry what it delivers.
    pub relay: Option<bool>,
}

/// One durable import through JetStream (docs/bridge.md, "Durable
/// import"), with the application's committed position.
#[napi(object)]
pub struct DurableSpec {
    pub pattern: String,
    pub stream: String,
    pub durable: String,
    pub ack_wait_ms: Option<f64>,
    pub max_ack_pending: Option<f64>,
    pub relay: Option<bool>,
    pub handled_through: Option<f64>,
    pub handled: Option<Vec<f64>>,
    pub sealed_through: Option<f64>,
    /// Seal ids in decimal: 64 bits do not fit a JavaScript number, so
    /// `lib/bridge.js` passes the caller's bigints as text.
    pub sealed: Option<Vec<String>>,
}

impl DurableSpec {
    fn core(self) -> Result<DurableImport> {
        let mut import = DurableImport::new(&self.pattern, &self.stream, &self.durable);
        if let Some(ms) = self.ack_wait_ms {
            import.ack_wait = millis(ms);
        }
        if let Some(n) = self.max_ack_pending {
            import.max_ack_pending = n as usize;
        }
        import.relay = self.relay.unwrap_or(false);
        import.handled_through = self.handled_through.map_or(0, |n| n as u64);
        import.handled = self.handled.unwrap_or_default().into_iter().map(|n| n as u64).collect();
        import.sealed_through = self.sealed_through.map_or(0, |n| n as u64);
        import.sealed = self
            .sealed
            .unwrap_or_default()
            .iter()
            .map(|id| id.parse().map_err(|_| invalid("a seal id is an unsigned 64-bit integer")))
            .collect::<Result<_>>()?;
        Ok(import)
    }
}

/// `Bridge.start(bus, {...})`'s plain options; absent ones keep the
/// crate's defaults.
#[napi(object)]
pub struct BridgeSpec {
    pub servers: Vec<String>,
    pub name: Option<String>,
    pub exports: Vec<String>,
    pub imports: Vec<ImportSpec>,
    pub durable_imports: Vec<DurableSpec>,
    pub max_skew_ms: Option<f64>,
    pub request_timeout_ms: Option<f64>,
    pub export_capacity: Option<f64>,
    pub export_max_bytes: Option<f64>,
    pub import_capacity: Option<f64>,
    pub max_requests_in_flight: Option<f64>,
    pub worker_threads: Option<f64>,
    /// Exported publishes with their application headers only
    /// (`BridgeOptions::bare_exports`).
    pub bare_exports: Option<bool>,
    /// Which checks an audit log records: `"denials"` or `"all"`.
    pub audit_scope: Option<String>,
}

/// The verify options for `authority`, recording in `audit` when given.
fn verify_options(
    authority: &NativeAuthority,
    audit: Option<&NativeAuditLog>,
    audit_scope: Option<&str>,
    max_skew_ms: Option<f64>,
) -> Result<VerifyOptions> {
    let mut verify = VerifyOptions::new(authority.authority.clone());
    if let Some(ms) = max_skew_ms {
        verify.max_skew = millis(ms);
    }
    if let Some(log) = audit {
        verify.recorder = Some(log.recorder(audit_scope)?);
    }
    Ok(verify)
}

fn invalid(message: &str) -> crate::error::Error {
    error(ErrorKind::InvalidArgument, message)
}

/// A running bridge; `None` once closed.
#[napi]
pub struct NativeBridge {
    bridge: Arc<RwLock<Option<Bridge>>>,
    origin: String,
}

/// Starts a bridge for `bus` on a pool thread.
#[napi(ts_return_type = "Promise<NativeBridge | undefined>")]
#[allow(clippy::too_many_arguments)]
pub fn start_bridge<'env>(
    env: &'env Env,
    bus: &NativeBus,
    spec: BridgeSpec,
    token: Option<&NativeToken>,
    key: Option<&NativeKeyPair>,
    authority: Option<&NativeAuthority>,
    audit: Option<&NativeAuditLog>,
    session: Option<&NativeSession>,
) -> Result<Object<'env>> {
    boundary(|| {
        let first = spec.servers.first().ok_or_else(|| invalid("servers must name at least one server"))?;
        let mut options = BridgeOptions::new(first);
        options.servers = spec.servers.clone();
        if let Some(name) = spec.name {
            options.name = name;
        }
        options.exports = spec.exports;
        options.imports = spec
            .imports
            .into_iter()
            .map(|i| Import {
                pattern: i.pattern,
                queue_group: i.queue_group,
                relay: i.relay.unwrap_or(false),
            })
            .collect();
        options.durable_imports =
            spec.durable_imports.into_iter().map(DurableSpec::core).collect::<Result<_>>()?;
        options
            .set_credentials(token.map(|t| t.token.clone()), key.map(|k| Arc::clone(&k.pair)))
            .map_err(from_core)?;
        let recorder = audit.map(|log| log.recorder(spec.audit_scope.as_deref())).transpose()?;
        let verify =
            options.set_verification(authority.map(|a| a.authority.clone()), recorder).map_err(from_core)?;
        if let (Some(verify), Some(ms)) = (verify, spec.max_skew_ms) {
            verify.max_skew = millis(ms);
        }
        options.local_session = session.map(|s| s.session.clone());
        if let Some(ms) = spec.request_timeout_ms {
            options.request_timeout = millis(ms);
        }
        let size = |value: Option<f64>, default: usize| value.map_or(default, |v| v as usize);
        options.export_capacity = size(spec.export_capacity, options.export_capacity);
        options.export_max_bytes = size(spec.export_max_bytes, options.export_max_bytes);
        options.import_capacity = size(spec.import_capacity, options.import_capacity);
        options.max_requests_in_flight = size(spec.max_requests_in_flight, options.max_requests_in_flight);
        options.worker_threads = size(spec.worker_threads, options.worker_threads);
        options.bare_exports = spec.bare_exports.unwrap_or(false);
        let core = bus.core()?;
        on_pool(
            env,
            move || Bridge::start(&core, options),
            |bridge| {
                let origin = bridge.origin().to_owned();
                NativeBridge { bridge: Arc::new(RwLock::new(Some(bridge))), origin }
            },
        )
    })
}

fn closed() -> charter_core::Error {
    charter_core::Error::new(ErrorKind::Closed, "the bridge is closed")
}

impl NativeBridge {
    fn snapshot(&self) -> Result<charter_bridge::BridgeStats> {
        let guard = self.bridge.read().unwrap_or_else(PoisonError::into_inner);
        Ok(guard.as_ref().ok_or_else(|| from_core(closed()))?.stats())
    }
}

#[napi]
impl NativeBridge {
    /// The bridge's origin id (32 hex digits), fresh at every start.
    #[napi(getter)]
    pub fn origin(&self) -> String {
        self.origin.clone()
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.bridge.read().unwrap_or_else(PoisonError::into_inner).is_none()
    }

    /// Whether the bridge is connected to a NATS server now; `CLOSED` once
    /// closed.
    #[napi]
    pub fn connected(&self) -> Result<bool> {
        boundary(|| {
            let guard = self.bridge.read().unwrap_or_else(PoisonError::into_inner);
            Ok(guard.as_ref().ok_or_else(|| from_core(closed()))?.is_connected())
        })
    }

    /// Every counter by name (camelCase).
    #[napi(ts_return_type = "Record<string, number>")]
    pub fn stats(&self) -> Result<HashMap<String, f64>> {
        boundary(|| {
            let s = self.snapshot()?;
            Ok([
                ("exported", s.exported),
                ("imported", s.imported),
                ("requestsOut", s.requests_out),
                ("requestsIn", s.requests_in),
                ("notReexported", s.not_reexported),
                ("ownOrigin", s.own_origin),
                ("maxPayload", s.max_payload),
                ("sendFailed", s.send_failed),
                ("badHeader", s.bad_header),
                ("sealFailed", s.seal_failed),
                ("localRefused", s.local_refused),
                ("requestsBusy", s.requests_busy),
                ("noResponders", s.no_responders),
                ("replyTimeout", s.reply_timeout),
                ("slowConsumer", s.slow_consumer),
                ("exportQueueDropped", s.export_queue_dropped),
                ("redeliveryRequested", s.redelivery_requested),
                ("duplicateSuppressed", s.duplicate_suppressed),
                ("durableTerminated", s.durable_terminated),
                ("durableBindFailed", s.durable_bind_failed),
                ("ackFailed", s.ack_failed),
            ]
            .into_iter()
            .map(|(name, n)| (name.to_owned(), n as f64))
            .collect())
        })
    }

    /// The refusals by reason name (`"bad_proof"`, ...), zeros included.
    #[napi(ts_return_type = "Record<string, number>")]
    pub fn refused(&self) -> Result<HashMap<String, f64>> {
        boundary(|| {
            let s = self.snapshot()?;
            let mut out: HashMap<String, f64> =
                Reason::ALL.iter().map(|r| (r.name().to_owned(), 0.0)).collect();
            out.extend(s.refused.iter().map(|(r, n)| (r.name().to_owned(), *n as f64)));
            Ok(out)
        })
    }

    /// Waits on a pool thread until the server has seen everything sent
    /// so far. A flush is a round trip to the server: with no `timeoutMs`
    /// it waits the bridge's `DEFAULT_FLUSH_TIMEOUT` (as long as a request).
    #[napi(ts_return_type = "Promise<boolean | undefined>")]
    pub fn flush<'env>(&self, env: &'env Env, timeout_ms: Option<f64>) -> Result<Object<'env>> {
        boundary(|| {
            let timeout = timeout_ms.map_or(DEFAULT_FLUSH_TIMEOUT, millis);
            let bridge = Arc::clone(&self.bridge);
            let flush = move || {
                let guard = bridge.read().unwrap_or_else(PoisonError::into_inner);
                guard.as_ref().ok_or_else(closed).and_then(|b| b.flush(timeout))
            };
            on_pool(env, flush, |()| true)
        })
    }

    /// Stops the bridge on a pool thread (a flush in progress finishes
    /// first); resolves `true` once stopped. Idempotent.
    #[napi(ts_return_type = "Promise<boolean | undefined>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        boundary(|| {
            let bridge = Arc::clone(&self.bridge);
            let close = move || {
                let taken = bridge.write().unwrap_or_else(PoisonError::into_inner).take();
                if let Some(bridge) = taken {
                    bridge.close();
                }
                Ok(())
            };
            on_pool(env, close, |()| true)
        })
    }
}

impl Drop for NativeBridge {
    /// A bridge that was never closed stops when it is collected, on a
    /// thread of its own: stopping waits for the network, and the JS
    /// thread must not.
    fn drop(&mut self) {
        let taken = self.bridge.write().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(bridge) = taken {
            let _ =
                std::thread::Builder::new().name("charter-bridge-stop".into()).spawn(move || bridge.close());
        }
    }
}

/// `new BridgeVerifier(authority, {...})`'s plain options.
#[napi(object)]
pub struct VerifierSpec {
    pub max_skew_ms: Option<f64>,
    /// A fixed time to judge messages' times by, in ms since the epoch
    /// (tests and vectors); absent for the system clock.
    pub fixed_time_ms: Option<f64>,
    pub audit_scope: Option<String>,
}

/// What a checked message must be.
#[napi(object)]
pub struct ExpectSpec {
    /// `"publish"`, `"request"` or `"reply"`.
    pub kind: String,
    /// For a reply: the request's subject, inbox, nonce and sealing time.
    pub subject: Option<String>,
    pub inbox: Option<String>,
    pub nonce: Option<String>,
    pub sent_ms: Option<f64>,
}

/// A field a reply's expectation needs.
fn reply_field<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str> {
    value.as_deref().ok_or_else(|| invalid(&format!("expect.{name} is required for a reply")))
}

/// A check's outcome: the proven principal, or the refusal's reason,
/// status name and message (the JS layer throws it).
#[napi(object, object_from_js = false)]
pub struct CheckOutcome {
    pub principal: Option<String>,
    pub reason: Option<String>,
    pub code: Option<String>,
    pub message: Option<String>,
}

/// The bridge's import checks on their own (see `charter_bridge::Verifier`).
#[napi]
pub struct NativeBridgeVerifier {
    verifier: Verifier,
}

#[napi]
impl NativeBridgeVerifier {
    #[napi(constructor)]
    pub fn new(
        authority: &NativeAuthority,
        spec: VerifierSpec,
        audit: Option<&NativeAuditLog>,
    ) -> Result<NativeBridgeVerifier> {
        boundary(|| {
            let mut verify = verify_options(authority, audit, spec.audit_scope.as_deref(), spec.max_skew_ms)?;
            if let Some(now) = spec.fixed_time_ms {
                let now = now as u64;
                verify.clock = Some(Arc::new(move || now));
            }
            Ok(NativeBridgeVerifier { verifier: Verifier::new(verify) })
        })
    }

    /// Checks one message; `headers` is flat: name, value, name, value...
    #[napi(
        ts_args_type = "subject: string, reply: string | null, headers: string[], payload: Uint8Array, expect: ExpectSpec"
    )]
    pub fn check(
        &self,
        subject: String,
        reply: Option<String>,
        headers: Vec<String>,
        payload: BufferSlice,
        expect: ExpectSpec,
    ) -> Result<CheckOutcome> {
        boundary(|| {
            let pairs: Vec<(&str, &str)> =
                headers.chunks_exact(2).map(|pair| (pair[0].as_str(), pair[1].as_str())).collect();
            let expect = match expect.kind.as_str() {
                "publish" => Expect::Publish,
                "request" => Expect::Request,
                "reply" => Expect::Reply {
                    subject: reply_field(&expect.subject, "subject")?,
                    inbox: reply_field(&expect.inbox, "inbox")?,
                    nonce: reply_field(&expect.nonce, "nonce")?,
                    sent_ms: expect.sent_ms.unwrap_or(0.0) as u64,
                },
                _ => return Err(invalid("expect.kind must be 'publish', 'request' or 'reply'")),
            };
            let inbound =
                Inbound { subject: &subject, reply: reply.as_deref(), headers: &pairs, payload: &payload };
            Ok(match self.verifier.check(&inbound, expect) {
                Ok(principal) => CheckOutcome {
                    principal: Some(principal.to_text()),
                    reason: None,
                    code: None,
                    message: None,
                },
                Err(refusal) => CheckOutcome {
                    principal: None,
                    reason: Some(refusal.reason.name().to_owned()),
                    code: Some(refusal.error.kind().name().to_owned()),
                    message: Some(refusal.error.message().to_string()),
                },
            })
        })
    }
}

/// Every refusal reason's name, in check order.
#[napi]
pub fn bridge_reasons() -> Vec<String> {
    Reason::ALL.iter().map(|r| r.name().to_owned()).collect()
}
