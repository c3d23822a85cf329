//! A bridge's counters as a uniffi record, and its refusals by reason.

use std::collections::HashMap;

use charter_bridge::Reason;

/// What a bridge carried, and every drop by its reason (docs/bridge.md).
#[derive(uniffi::Record)]
pub struct BridgeStats {
    /// Local messages published to NATS.
    pub exported: i64,
    /// NATS messages published on the local bus.
    pub imported: i64,
    /// Local requests carried to NATS whose reply came back.
    pub requests_out: i64,
    /// NATS requests answered by a local responder.
    pub requests_in: i64,
    /// Local messages not exported because they came from NATS (loops).
    pub not_reexported: i64,
    /// NATS messages dropped because they carry this bridge's own origin.
    pub own_origin: i64,
    /// Messages larger than the server's max payload.
    pub max_payload: i64,
    /// Messages the client failed to send.
    pub send_failed: i64,
    /// Headers NATS cannot carry.
    pub bad_header: i64,
    /// Messages that could not be sealed.
    pub seal_failed: i64,
    /// NATS messages the local bus refused.
    pub local_refused: i64,
    /// Requests not carried: too many in flight.
    pub requests_busy: i64,
    /// Requests NATS answered with no-responders.
    pub no_responders: i64,
    /// Requests whose reply did not come in time.
    pub reply_timeout: i64,
    /// NATS messages the client dropped: an import's queue was full.
    pub slow_consumer: i64,
    /// Local publishes dropped by the exports' own queues.
    pub export_queue_dropped: i64,
    /// Durable imports: messages handed back to JetStream (a full queue).
    pub redelivery_requested: i64,
    /// Durable imports: redeliveries, or covered positions, not published.
    pub duplicate_suppressed: i64,
    /// Durable imports: messages terminated on JetStream.
    pub durable_terminated: i64,
    /// Durable imports: failed binds of the stream and consumer.
    pub durable_bind_failed: i64,
    /// Durable imports: acknowledgements the client failed to send.
    pub ack_failed: i64,
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl From<&charter_bridge::BridgeStats> for BridgeStats {
    fn from(s: &charter_bridge::BridgeStats) -> BridgeStats {
        BridgeStats {
            exported: count(s.exported),
            imported: count(s.imported),
            requests_out: count(s.requests_out),
            requests_in: count(s.requests_in),
            not_reexported: count(s.not_reexported),
            own_origin: count(s.own_origin),
            max_payload: count(s.max_payload),
            send_failed: count(s.send_failed),
            bad_header: count(s.bad_header),
            seal_failed: count(s.seal_failed),
            local_refused: count(s.local_refused),
            requests_busy: count(s.requests_busy),
            no_responders: count(s.no_responders),
            reply_timeout: count(s.reply_timeout),
            slow_consumer: count(s.slow_consumer),
            export_queue_dropped: count(s.export_queue_dropped),
            redelivery_requested: count(s.redelivery_requested),
            duplicate_suppressed: count(s.duplicate_suppressed),
            durable_terminated: count(s.durable_terminated),
            durable_bind_failed: count(s.durable_bind_failed),
            ack_failed: count(s.ack_failed),
        }
    }
}

/// Refusal counts by reason name, every reason present (zeros included).
pub(crate) fn by_reason<'a>(counts: impl IntoIterator<Item = &'a (Reason, u64)>) -> HashMap<String, i64> {
    let mut out: HashMap<String, i64> = Reason::ALL.iter().map(|r| (r.name().to_owned(), 0)).collect();
    out.extend(counts.into_iter().map(|(r, n)| (r.name().to_owned(), count(*n))));
    out
}

/// Every refusal reason's name, in check order.
#[uniffi::export]
pub fn bridge_refusal_reasons() -> Vec<String> {
    Reason::ALL.iter().map(|r| r.name().to_owned()).collect()
}
