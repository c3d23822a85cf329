//! A bridge's plain options as uniffi records, mapped onto the bridge
//! crate's `BridgeOptions`. An option left `None` is left at the crate's
//! default; the crate judges every value (patterns, the token with its key,
//! an audit log with an authority). Only what uniffi cannot type is
//! refused here: a negative count, duration or stream sequence.

use charter_bridge::{BridgeOptions, DurableImport, Import};

use crate::bus::size_of;
use crate::error::Result;
use crate::time;

/// An import: NATS subjects matching `pattern` are published on the bus.
#[derive(uniffi::Record)]
pub struct BridgeImport {
    /// The NATS subject pattern.
    pub pattern: String,
    /// The queue group to join (NATS load balancing), if any.
    #[uniffi(default = None)]
    pub queue_group: Option<String>,
    /// Whether another bridge on the same bus may carry what it delivers.
    #[uniffi(default = false)]
    pub relay: bool,
}

/// A durable import through JetStream, with the application's committed
/// position (`handled_through`, `handled`) and, with verification, its
/// seal position (`sealed_through`, `sealed`).
#[derive(uniffi::Record)]
pub struct BridgeDurableImport {
    /// The subject pattern the stream captures and the consumer filters.
    pub pattern: String,
    /// The JetStream stream's name.
    pub stream: String,
    /// The durable consumer's name.
    pub durable: String,
    /// How long the server waits for an acknowledgement; `None`: the crate's.
    pub ack_wait_nanos: Option<i64>,
    /// The most messages pending acknowledgement; `None`: the crate's.
    pub max_ack_pending: Option<i64>,
    /// Whether another bridge on the same bus may carry what it delivers.
    pub relay: bool,
    /// No stream sequence at or below it is delivered.
    pub handled_through: i64,
    /// Stream sequences above `handled_through` never delivered.
    pub handled: Vec<i64>,
    /// With verification: the largest `Charter-Seal-Floor` handled
    /// (milliseconds since the Unix epoch); nothing sealed before it is
    /// delivered again.
    pub sealed_through: i64,
    /// With verification: the `Charter-Seal-Id`s handled, sealed at or after
    /// `sealed_through`; a stored copy of one is refused as `replayed`.
    pub sealed: Vec<u64>,
}

/// A stream sequence or a time in milliseconds as the crate takes it;
/// negative is refused.
fn non_negative(value: i64, what: &str) -> Result<u64> {
    Ok(size_of(value, what)? as u64)
}

impl BridgeDurableImport {
    fn to_core(&self) -> Result<DurableImport> {
        let mut import = DurableImport::new(&self.pattern, &self.stream, &self.durable);
        if let Some(nanos) = self.ack_wait_nanos {
            import.ack_wait = time::duration(nanos, "ackWait")?;
        }
        if let Some(n) = self.max_ack_pending {
            import.max_ack_pending = size_of(n, "maxAckPending")?;
        }
        import.relay = self.relay;
        import.handled_through = non_negative(self.handled_through, "handledThrough")?;
        DurableImport::check_handled(self.handled.len())?;
        import.handled =
            self.handled.iter().map(|&s| non_negative(s, "a handled sequence")).collect::<Result<_>>()?;
        import.sealed_through = non_negative(self.sealed_through, "sealedThrough")?;
        DurableImport::check_sealed(self.sealed.len())?;
        import.sealed = self.sealed.clone();
        Ok(import)
    }
}

/// `Bridge.start`'s plain options: `server` and the extra `servers`, what
/// to carry, and the tuning; every `None` is the crate's default.
#[derive(uniffi::Record)]
pub struct BridgeSettings {
    /// The NATS server URL.
    pub server: String,
    /// More server URLs to reconnect among.
    pub servers: Vec<String>,
    /// The connection's name on the server.
    pub name: Option<String>,
    /// Local topic patterns carried to NATS.
    pub exports: Vec<String>,
    /// NATS subject patterns carried onto the bus.
    pub imports: Vec<BridgeImport>,
    /// JetStream subjects carried onto the bus at least once.
    pub durable_imports: Vec<BridgeDurableImport>,
    /// The freshness window of a verifying bridge.
    pub max_skew_nanos: Option<i64>,
    /// How long a request crossing the bridge waits for its reply.
    pub request_timeout_nanos: Option<i64>,
    /// Each export's local queue, in messages.
    pub export_capacity: Option<i64>,
    /// Each export's local queue, in bytes.
    pub export_max_bytes: Option<i64>,
    /// Each import's queue in the NATS client, in messages.
    pub import_capacity: Option<i64>,
    /// Requests waiting for a reply across the bridge at once.
    pub max_requests_in_flight: Option<i64>,
    /// The bridge runtime's threads.
    pub worker_threads: Option<i64>,
    /// Exported publishes with their application headers only
    /// (`BridgeOptions::bare_exports`).
    pub bare_exports: bool,
}

impl BridgeSettings {
    /// The crate's options for these settings, credentials and verification
    /// still unset.
    pub(crate) fn to_core(&self) -> Result<BridgeOptions> {
        let mut options = BridgeOptions::new(&self.server);
        options.servers.extend(self.servers.iter().cloned());
        if let Some(name) = &self.name {
            options.name.clone_from(name);
        }
        options.exports.clone_from(&self.exports);
        options.imports = self
            .imports
            .iter()
            .map(|i| Import {
                pattern: i.pattern.clone(),
                queue_group: i.queue_group.clone(),
                relay: i.relay,
            })
            .collect();
        options.durable_imports =
            self.durable_imports.iter().map(BridgeDurableImport::to_core).collect::<Result<_>>()?;
        if let Some(nanos) = self.request_timeout_nanos {
            options.request_timeout = time::duration(nanos, "requestTimeout")?;
        }
        for (slot, value, what) in [
            (&mut options.export_capacity, self.export_capacity, "exportCapacity"),
            (&mut options.export_max_bytes, self.export_max_bytes, "exportMaxBytes"),
            (&mut options.import_capacity, self.import_capacity, "importCapacity"),
            (&mut options.max_requests_in_flight, self.max_requests_in_flight, "maxRequestsInFlight"),
            (&mut options.worker_threads, self.worker_threads, "workerThreads"),
        ] {
            if let Some(v) = value {
                *slot = size_of(v, what)?;
            }
        }
        options.bare_exports = self.bare_exports;
        Ok(options)
    }
}
