//! What a bridge carries, where, and how it authenticates.

use std::sync::Arc;
use std::time::Duration;

use charter_core::audit::Recorder;
use charter_core::bus::DEFAULT_REQUEST_TIMEOUT;
use charter_core::capability::{Authority, KeyPair, Session, Token};
use charter_core::{Error, ErrorKind, Result};

use crate::seal::Credentials;
use crate::verify::VerifyOptions;

/// How long [`Bridge::flush`](crate::Bridge::flush) waits when its caller
/// names no timeout. A flush is a round trip to the server, a request in
/// all but name, so it waits as long as a request waits for its reply: the
/// core's `DEFAULT_REQUEST_TIMEOUT`. Bindings map an omitted timeout here.
pub const DEFAULT_FLUSH_TIMEOUT: Duration = DEFAULT_REQUEST_TIMEOUT;

/// An import: NATS subjects matching `pattern` are published on the local
/// bus. With a queue group, each message goes to one member of the group
/// (NATS load balancing across processes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The NATS subject pattern (Charter's topic grammar is NATS's).
    pub pattern: String,
    /// The queue group to join, if any.
    pub queue_group: Option<String>,
    /// Whether another bridge on the same bus may carry what this import
    /// delivers (a sidecar relaying between a trusted local NATS and a
    /// shared one). Off by default: an imported message is then marked
    /// with its sender's origin and no bridge exports it again, which
    /// rules out loops whatever the topology. A relayed message is still
    /// never exported by the bridge that imported it.
    pub relay: bool,
}

impl Import {
    /// An import of `pattern` without a queue group.
    pub fn new(pattern: &str) -> Import {
        Import { pattern: pattern.into(), queue_group: None, relay: false }
    }

    /// An import of `pattern` as a member of queue group `group`.
    pub fn queued(pattern: &str, group: &str) -> Import {
        Import { pattern: pattern.into(), queue_group: Some(group.into()), relay: false }
    }

    /// This import, relayed (see [`relay`](Self::relay)).
    pub fn relayed(mut self) -> Import {
        self.relay = true;
        self
    }
}

/// A durable import through JetStream, for subscribers that must lose
/// nothing: the subjects matching `pattern` are kept in `stream` (created,
/// capturing `pattern`, when it does not exist yet), and the bridge reads
/// them through the durable pull consumer `durable`, acknowledging each
/// only after the local publish accepted it. That gives at-least-once
/// delivery: a message the bridge took but did not acknowledge (it was
/// killed, or the acknowledgement was lost) is delivered again after
/// `ack_wait`, marked `Charter-Delivered`. Several bridges binding the same
/// durable share its messages (as a queue group does for core NATS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurableImport {
    /// The subject pattern the stream captures and the consumer filters.
    pub pattern: String,
    /// The JetStream stream's name.
    pub stream: String,
    /// The durable consumer's name: its progress outlives the bridge.
    pub durable: String,
    /// How long the server waits for an acknowledgement before it
    /// delivers a message again.
    pub ack_wait: Duration,
    /// The most messages delivered to the bridge and not yet acknowledged:
    /// this bounds what the bridge holds (and what a crash redelivers).
    pub max_ack_pending: usize,
    /// As [`Import::relay`].
    pub relay: bool,
    /// The application's committed position, part one: every stream
    /// sequence at or below it is never delivered (it was handled before).
    /// The largest `Charter-Stream-Floor` among the messages the
    /// application handled; 0 for none.
    pub handled_through: u64,
    /// The application's committed position, part two: the stream
    /// sequences above `handled_through` it has handled (their
    /// `Charter-Stream-Seq`), never delivered again. Delivery is not in
    /// stream order (a message handed back, or left unacknowledged by a
    /// killed bridge, comes again after newer ones), so a position is a
    /// floor and a set, not one number. At most [`MAX_HANDLED`].
    pub handled: Vec<u64>,
    /// With verification, the application's committed position, part
    /// three: the largest `Charter-Seal-Floor` among the messages it
    /// handled (milliseconds since the Unix epoch; 0 for none). Nothing
    /// sealed before it is delivered again.
    pub sealed_through: u64,
    /// With verification, part four: the `Charter-Seal-Id` of each message
    /// it handled whose `Charter-Seal-Time` is at or after
    /// `sealed_through`. A stored copy of one of them, at any stream
    /// sequence, is refused as `replayed`. At most [`MAX_SEALED`](crate::MAX_SEALED).
    pub sealed: Vec<u64>,
}

/// The most sequence numbers a [`DurableImport::handled`] may hold.
pub const MAX_HANDLED: usize = 1 << 20;

impl DurableImport {
    /// A durable import of `pattern` through `stream` and durable consumer
    /// `durable`, with a 30 s ack wait and 1024 messages pending at most.
    pub fn new(pattern: &str, stream: &str, durable: &str) -> DurableImport {
        DurableImport {
            pattern: pattern.into(),
            stream: stream.into(),
            durable: durable.into(),
            ack_wait: Duration::from_secs(30),
            max_ack_pending: 1024,
            relay: false,
            handled_through: 0,
            handled: Vec::new(),
            sealed_through: 0,
            sealed: Vec::new(),
        }
    }

    /// Checks what `Bridge::start` cannot leave to the running import.
    pub(crate) fn validate(&self) -> Result<()> {
        DurableImport::check_handled(self.handled.len())?;
        DurableImport::check_sealed(self.sealed.len())
    }

    /// Whether [`sealed`](Self::sealed) may hold `count` seal ids (at most
    /// [`MAX_SEALED`](crate::MAX_SEALED)): bindings ask before they copy a
    /// caller's list.
    pub fn check_sealed(count: usize) -> Result<()> {
        if count > crate::MAX_SEALED {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("a durable import's sealed set has {count} ids; the limit is {}", crate::MAX_SEALED),
            ));
        }
        Ok(())
    }

    /// Whether [`handled`](Self::handled) may hold `count` sequences (at
    /// most [`MAX_HANDLED`]): bindings ask before they copy a caller's
    /// list.
    pub fn check_handled(count: usize) -> Result<()> {
        if count > MAX_HANDLED {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("a durable import's handled set has {count} sequences; the limit is {MAX_HANDLED}"),
            ));
        }
        Ok(())
    }
}

/// A bridge's configuration.
#[derive(Clone)]
pub struct BridgeOptions {
    /// NATS server URLs (`nats://127.0.0.1:4222`); the client reconnects
    /// among them.
    pub servers: Vec<String>,
    /// The connection's name, as the server shows it.
    pub name: String,
    /// Local topic patterns whose publishes (and requests) go to NATS.
    pub exports: Vec<String>,
    /// NATS subject patterns published (and requested) on the local bus.
    pub imports: Vec<Import>,
    /// JetStream subjects published on the local bus at least once (see
    /// [`DurableImport`]).
    pub durable_imports: Vec<DurableImport>,
    /// When set, every message and reply this bridge sends is sealed
    /// with this token and key.
    pub credentials: Option<Credentials>,
    /// When set, every message and reply this bridge receives must be
    /// sealed by a token of these roots with a fitting grant, or it is
    /// refused.
    pub verify: Option<VerifyOptions>,
    /// The local session the bridge acts as on a bus that enforces an
    /// authority (it subscribes to the exports and publishes the imports).
    pub local_session: Option<Session>,
    /// How long a request carried across the bridge waits for its reply
    /// (default: the core's `DEFAULT_REQUEST_TIMEOUT`).
    pub request_timeout: Duration,
    /// The queue capacity, in messages, of each export's local
    /// subscription: while NATS is slower than the local publishers, the
    /// oldest messages beyond it (or beyond `export_max_bytes`) are dropped
    /// and counted. This bounds the bridge's memory under a slow link.
    pub export_capacity: usize,
    /// The same queue's capacity in bytes (at most the bus's limit).
    pub export_max_bytes: usize,
    /// The queue capacity, in messages, of each import between the NATS
    /// client and the local bus: beyond it the client drops messages
    /// (counted as `slow_consumer`).
    pub import_capacity: usize,
    /// The most requests waiting for a reply across the bridge at once
    /// (both ways); more are dropped and counted as `requests_busy`.
    pub max_requests_in_flight: usize,
    /// The worker threads of the bridge's runtime (at least 1). One keeps
    /// every hop on one thread; more verify on several cores at once only
    /// when there are several imports.
    pub worker_threads: usize,
    /// Off by default. When set, an exported publish goes to NATS with its
    /// application headers only: no `Nats-Msg-Id` and no origin, so one
    /// without application headers has no header at all (a NATS header
    /// costs both bridges about half their CPU per message). It gives up
    /// what those headers give: a relay loop through two bridges is no
    /// longer stopped by origin, and a JetStream stream capturing the
    /// subject gets no dedup id (docs/bridge.md, "Bare exports"). Requests
    /// and replies keep their headers. Sealing needs the headers, so it
    /// cannot go with [`credentials`](Self::credentials).
    pub bare_exports: bool,
}

impl BridgeOptions {
    /// A bridge to `server` that carries nothing yet, unauthenticated.
    pub fn new(server: &str) -> BridgeOptions {
        BridgeOptions {
            servers: vec![server.into()],
            name: "charter-bridge".into(),
            exports: Vec::new(),
            imports: Vec::new(),
            durable_imports: Vec::new(),
            credentials: None,
            verify: None,
            local_session: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            export_capacity: 65_536,
            export_max_bytes: 16 << 20,
            import_capacity: 65_536,
            worker_threads: 1,
            max_requests_in_flight: 1024,
            bare_exports: false,
        }
    }

    /// Checks the options that exclude each other, once for every binding
    /// (each passes its fields through unchecked). `Bridge::start` calls
    /// it; a config checker may call it before starting anything.
    pub fn validate(&self) -> Result<()> {
        if self.bare_exports && self.credentials.is_some() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "bare exports carry no seal: a bridge with credentials cannot send them",
            ));
        }
        Ok(())
    }

    /// Seals with `token` and `key` when both are given, and leaves the
    /// bridge unauthenticated when neither is. One alone is refused here,
    /// once for every binding that takes the two apart.
    pub fn set_credentials(&mut self, token: Option<Token>, key: Option<Arc<KeyPair>>) -> Result<()> {
        self.credentials = match (token, key) {
            (None, None) => None,
            (Some(token), Some(key)) => Some(Credentials { token, key }),
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "token and key go together: give both to seal, or neither",
                ))
            }
        };
        Ok(())
    }

    /// Verifies what arrives against `authority` when one is given, each
    /// refusal recorded by `recorder`, and returns the verification's
    /// options for the caller to tune; with neither, nothing is verified.
    /// A recorder without an authority is refused here, once for every
    /// binding: refusals are all it would record.
    pub fn set_verification(
        &mut self,
        authority: Option<Authority>,
        recorder: Option<Recorder>,
    ) -> Result<Option<&mut VerifyOptions>> {
        self.verify = match (authority, recorder) {
            (None, None) => None,
            (Some(authority), recorder) => Some(VerifyOptions { recorder, ..VerifyOptions::new(authority) }),
            (None, Some(_)) => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "an audit recorder needs an authority: it records refusals",
                ))
            }
        };
        Ok(self.verify.as_mut())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use charter_core::audit::{AuditLog, AuditOptions, Recorder, Scope};
    use charter_core::capability::{Authority, AuthorityOptions, Grant, KeyPair, Token};
    use charter_core::ErrorKind;

    use super::BridgeOptions;

    fn token_for(key: &KeyPair) -> Token {
        let root = KeyPair::generate().unwrap();
        Token::mint(&root, &key.public_key(), &[Grant::parse("publish a").unwrap()], 0, 60).unwrap()
    }

    #[test]
    fn token_and_key_go_together() {
        let key = Arc::new(KeyPair::generate().unwrap());
        let token = token_for(&key);
        let mut options = BridgeOptions::new("nats://127.0.0.1:4222");
        for (token, key) in [(Some(token.clone()), None), (None, Some(Arc::clone(&key)))] {
            let error = options.set_credentials(token, key).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidArgument);
            assert_eq!(error.message(), "token and key go together: give both to seal, or neither");
            assert!(options.credentials.is_none());
        }
        options.set_credentials(Some(token), Some(key)).unwrap();
        assert!(options.credentials.is_some());
        options.set_credentials(None, None).unwrap();
        assert!(options.credentials.is_none());
    }

    #[test]
    fn bare_exports_cannot_be_sealed() {
        let key = Arc::new(KeyPair::generate().unwrap());
        let token = token_for(&key);
        let mut options = BridgeOptions::new("nats://127.0.0.1:4222");
        assert!(!options.bare_exports, "off by default");
        options.bare_exports = true;
        options.validate().unwrap();
        options.set_credentials(Some(token), Some(key)).unwrap();
        let error = options.validate().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        assert_eq!(error.message(), "bare exports carry no seal: a bridge with credentials cannot send them");
        options.bare_exports = false;
        options.validate().unwrap();
    }

    #[test]
    fn a_recorder_needs_an_authority() {
        let root = KeyPair::generate().unwrap();
        let authority = Authority::new([root.public_key()], AuthorityOptions::default());
        let recorder =
            || Some(Recorder::new(AuditLog::in_memory(AuditOptions::default()).unwrap(), Scope::Denials));
        let mut options = BridgeOptions::new("nats://127.0.0.1:4222");
        let error = options.set_verification(None, recorder()).err().unwrap();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        assert_eq!(error.message(), "an audit recorder needs an authority: it records refusals");
        assert!(options.verify.is_none());
        let verify = options.set_verification(Some(authority), recorder()).unwrap().unwrap();
        assert!(verify.recorder.is_some());
        assert!(options.set_verification(None, None).unwrap().is_none());
        assert!(options.verify.is_none());
    }
}
