//! `charter.BridgeVerifier`: the checks a receiving bridge makes on every
//! sealed message, on their own (the `charter-bridge` crate's `Verifier`).
//! For a message that reached a program from NATS some other way, and for
//! the shared vectors. It maps arguments and the refusal to Python and
//! decides nothing of its own.

use std::sync::Arc;

use charter_bridge::verify::{Expect, Inbound};
use charter_bridge::{Verifier, VerifyOptions};
use charter_core::ErrorKind;
use pyo3::prelude::*;

use crate::audit::{recorder, AuditLog};
use crate::authority::Authority;
use crate::errors::{new_err, to_pyerr};

/// Verifies sealed bridge messages; see the package docs.
#[pyclass(frozen, module = "charter")]
pub struct BridgeVerifier(Verifier);

#[pymethods]
impl BridgeVerifier {
    #[new]
    #[pyo3(signature = (authority, *, max_skew=30.0, fixed_time_ms=None, audit=None, audit_scope="denials"))]
    fn new(
        py: Python<'_>,
        authority: PyRef<'_, Authority>,
        max_skew: f64,
        fixed_time_ms: Option<u64>,
        audit: Option<PyRef<'_, AuditLog>>,
        audit_scope: &str,
    ) -> PyResult<BridgeVerifier> {
        let mut options = VerifyOptions::new(authority.0.clone());
        options.max_skew = std::time::Duration::try_from_secs_f64(max_skew).map_err(|_| {
            new_err(py, ErrorKind::InvalidArgument, "max_skew must be a non-negative number of seconds")
        })?;
        options.recorder = recorder(py, audit, audit_scope)?;
        if let Some(now) = fixed_time_ms {
            options.clock = Some(Arc::new(move || now));
        }
        Ok(BridgeVerifier(Verifier::new(options)))
    }

    /// Checks one message as it arrived from NATS; returns the proven
    /// sender's principal id, or raises the refusal's error with its
    /// `reason` (``"bad_proof"``, ``"replayed"``, ...).
    #[pyo3(signature = (
        subject, payload, headers=Vec::new(), *, reply=None, expect="publish",
        request=None, inbox=None, nonce=None, sent_ms=0,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        py: Python<'_>,
        subject: &str,
        payload: &[u8],
        headers: Vec<(String, String)>,
        reply: Option<&str>,
        expect: &str,
        request: Option<&str>,
        inbox: Option<&str>,
        nonce: Option<&str>,
        sent_ms: u64,
    ) -> PyResult<String> {
        let expect = match expect {
            "publish" => Expect::Publish,
            "request" => Expect::Request,
            "reply" => Expect::Reply {
                subject: reply_field(py, request, "request")?,
                inbox: reply_field(py, inbox, "inbox")?,
                nonce: reply_field(py, nonce, "nonce")?,
                sent_ms,
            },
            other => {
                return Err(new_err(
                    py,
                    ErrorKind::InvalidArgument,
                    format!(
                        "expect must be \"publish\", \"request\" or \"reply\", not {}",
                        charter_core::quote(other)
                    ),
                ))
            }
        };
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let inbound = Inbound { subject, reply, headers: &pairs, payload };
        match self.0.check(&inbound, expect) {
            Ok(principal) => Ok(principal.to_text()),
            Err(refusal) => {
                let err = to_pyerr(py, &refusal.error);
                err.value(py).setattr("reason", refusal.reason.name())?;
                Err(err)
            }
        }
    }

    /// The messages refused so far, by reason, zeros included.
    fn refused(&self) -> std::collections::HashMap<&'static str, u64> {
        self.0.refused().iter().map(|(r, n)| (r.name(), *n)).collect()
    }
}

/// A field `expect="reply"` needs.
fn reply_field<'a>(py: Python<'_>, value: Option<&'a str>, name: &str) -> PyResult<&'a str> {
    value.ok_or_else(|| new_err(py, ErrorKind::InvalidArgument, format!("expect=\"reply\" needs {name}")))
}

pub(crate) fn add_to(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<BridgeVerifier>()
}
