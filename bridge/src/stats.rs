//! The bridge's accounting: what it carried, and every drop with its reason.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::refusal::Reason;

macro_rules! counters {
    ($($(#[$doc:meta])+ $name:ident),* $(,)?) => {
        /// Live counters, shared by the bridge's tasks.
        #[derive(Default)]
        pub(crate) struct Counters {
            $(pub(crate) $name: AtomicU64,)*
        }

        /// What a bridge carried and dropped, by reason. Refusals of
        /// inbound messages by the verifier are in `refused`.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct BridgeStats {
            $($(#[$doc])+ pub $name: u64,)*
            /// Inbound messages refused by the verifier, per reason.
            pub refused: Vec<(Reason, u64)>,
            /// Local publishes dropped by the exports' own queues while
            /// NATS was slower than the publishers (the core's count).
            pub export_queue_dropped: u64,
        }

        impl Counters {
            pub(crate) fn snapshot(&self) -> BridgeStats {
                BridgeStats { $($name: self.$name.load(Ordering::Relaxed),)* ..BridgeStats::default() }
            }
        }
    };
}

counters! {
    /// Local messages published to NATS.
    exported,
    /// NATS messages published on the local bus.
    imported,
    /// Local requests carried to NATS whose reply came back.
    requests_out,
    /// NATS requests answered by a local responder.
    requests_in,
    /// Local messages not exported because they came from NATS (loops).
    not_reexported,
    /// NATS messages dropped because they carry this bridge's own origin.
    own_origin,
    /// Messages NATS would not take: larger than the server's max payload.
    max_payload,
    /// Messages the client failed to send (connection closed).
    send_failed,
    /// Headers NATS cannot carry (a name or value outside its grammar).
    bad_header,
    /// Messages that could not be sealed (the key failed, a field too long).
    seal_failed,
    /// NATS messages the local bus refused (denied, over a limit, closed).
    local_refused,
    /// Requests not carried because `max_requests_in_flight` were already
    /// waiting for their replies.
    requests_busy,
    /// Requests that NATS answered with no-responders.
    no_responders,
    /// Requests whose reply did not come in time (either direction).
    reply_timeout,
    /// NATS messages the client dropped because an import's queue
    /// (`import_capacity`) was full: the client reports each, but may lose
    /// reports under a flood, so this is a lower bound.
    slow_consumer,
    /// Durable imports: messages the local bus could not take at once (a
    /// full queue refused them), handed back to JetStream to be delivered
    /// again shortly (a negative acknowledgement): delayed, not lost.
    redelivery_requested,
    /// Durable imports: messages JetStream delivered again after the bridge
    /// had already published and acknowledged them (the acknowledgement was
    /// lost or late), or that the application's committed position covers,
    /// acknowledged and not published (again).
    duplicate_suppressed,
    /// Durable imports: messages the bridge will never deliver (the local
    /// bus refused them for good, or the verifier did): terminated on
    /// JetStream, which keeps them in the stream but stops redelivering.
    durable_terminated,
    /// Durable imports: attempts to bind the stream and durable consumer
    /// that failed (no server yet, JetStream disabled, a bad config); the
    /// bridge retries every second.
    durable_bind_failed,
    /// Durable imports: acknowledgements the client failed to send (the
    /// message is delivered again after its ack wait, then suppressed).
    ack_failed,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n` at once: a burst's outcomes in one atomic operation each.
    pub(crate) fn add_many(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }
}
