//! Durable import: a JetStream stream read through a durable pull consumer,
//! each message acknowledged only once the local bus took it, so that
//! nothing is lost while the bridge is down, slow or killed.
//!
//! What happens to each message, and why (docs/bridge.md, "Durable
//! import"):
//! * published locally (or no subscriber matched) → acknowledged;
//! * every matching local queue refused it (full, with overflow `ERROR`,
//!   `BLOCK` or `DROP_NEWEST`) → handed back (`-NAK` with a delay that
//!   doubles, from 100 ms to 2 s, while the bus keeps refusing):
//!   the stream keeps it and delivers it again, so a slow consumer slows
//!   the import instead of losing messages, and the bridge holds no more
//!   than `max_ack_pending`;
//! * refused for good (denied, over a bus limit, refused by the verifier)
//!   → terminated (`+TERM`): counted, kept in the stream, not redelivered;
//! * delivered again after the bridge had published and acknowledged it →
//!   acknowledged again, not published twice (within a bounded window).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy};
use async_nats::jetstream::{self, stream, AckKind};
use futures_util::StreamExt;
use tokio::sync::watch;

use charter_core::ErrorKind;

use crate::bridge::{Dropped, Shared};
use crate::dedup::Recent;
use crate::handback::{self, HandedBack};
use crate::headers;
use crate::options::DurableImport;
use crate::stats::Counters;
use crate::verify::Expect;
use crate::wire;

/// What a durable import remembers between deliveries.
struct Progress {
    /// Stream messages published and acknowledged lately.
    recent: Recent,
    /// Verified messages handed back, awaiting their redelivery.
    handed_back: HandedBack,
    /// How long the next message handed back waits: doubled at each one
    /// handed back, reset by each one published, so a subscriber that
    /// stays full costs fewer and fewer redeliveries.
    redelivery_delay: Duration,
}

/// How long a message the local bus could not take waits before JetStream
/// delivers it again: at first, and at most.
const REDELIVERY_DELAY: Duration = Duration::from_millis(100);
const MAX_REDELIVERY_DELAY: Duration = Duration::from_secs(2);
/// How long the bridge waits before it tries to bind the stream and
/// consumer again.
const REBIND_DELAY: Duration = Duration::from_secs(1);

impl Shared {
    /// Carries `import` until the bridge stops, binding (and after a
    /// failure, binding again) its stream and durable consumer.
    pub(crate) async fn durable_import(
        self: Arc<Self>,
        import: DurableImport,
        mut stop: watch::Receiver<bool>,
    ) {
        let context = jetstream::new(self.nats.clone());
        let window = import.max_ack_pending.saturating_mul(4).max(4096);
        let mut progress = Progress {
            recent: Recent::new(window),
            handed_back: HandedBack::new(window),
            redelivery_delay: REDELIVERY_DELAY,
        };
        loop {
            let bound = tokio::select! {
                bound = bind(&context, &import) => bound,
                _ = stop.changed() => return,
            };
            match bound {
                Ok(mut messages) => loop {
                    tokio::select! {
                        next = messages.next() => match next {
                            Some(Ok(message)) => self.deliver_durable(message, &import, &mut progress).await,
                            Some(Err(e)) if ends_binding(e.kind()) => break,
                            // A missed heartbeat or a failed pull: the
                            // client pulls again by itself.
                            Some(Err(_)) => {}
                            None => break,
                        },
                        _ = stop.changed() => return,
                    }
                },
                Err(_) => Counters::add(&self.counters.durable_bind_failed),
            }
            tokio::select! {
                () = tokio::time::sleep(REBIND_DELAY) => {}
                _ = stop.changed() => return,
            }
        }
    }

    async fn deliver_durable(
        &self,
        message: jetstream::Message,
        import: &DurableImport,
        progress: &mut Progress,
    ) {
        let (seq, delivered) = match message.info() {
            Ok(info) => (info.stream_sequence, info.delivered),
            // Not from a consumer (no ack subject): nothing to acknowledge.
            Err(_) => return Counters::add(&self.counters.local_refused),
        };
        let kind = if delivered > 1 && progress.recent.contains(seq) {
            Counters::add(&self.counters.duplicate_suppressed);
            AckKind::Ack
        } else {
            let kind = self.publish_durable(&message, import, (seq, delivered), &mut progress.handed_back);
            match kind {
                AckKind::Ack => {
                    progress.recent.insert(seq);
                    progress.redelivery_delay = REDELIVERY_DELAY;
                    kind
                }
                AckKind::Nak(_) => {
                    let delay = progress.redelivery_delay;
                    progress.redelivery_delay = (delay * 2).min(MAX_REDELIVERY_DELAY);
                    AckKind::Nak(Some(delay))
                }
                _ => kind,
            }
        };
        if message.ack_with(kind).await.is_err() {
            Counters::add(&self.counters.ack_failed);
        }
    }

    /// Publishes one stream message locally; how to acknowledge it.
    fn publish_durable(
        &self,
        message: &async_nats::Message,
        import: &DurableImport,
        (seq, delivered): (u64, i64),
        handed_back: &mut HandedBack,
    ) -> AckKind {
        let received = headers::from_map(message.headers.as_ref());
        let subject = message.subject.as_str();
        let digest = || handback::digest(subject, &received, &message.payload);
        // A verified message handed back comes again unchanged: the
        // verifier would refuse it as a replay of itself.
        let verified_before = if handed_back.contains(seq) { handed_back.take(seq, &digest()) } else { None };
        let principal = match verified_before {
            Some(principal) => principal,
            None => match self.admit(subject, None, &received, &message.payload, Expect::Publish) {
                Ok(principal) => principal,
                Err(Dropped::OwnOrigin) => return AckKind::Ack,
                Err(Dropped::Refused) => return self.terminate(),
            },
        };
        let kind = self.publish_admitted(message, import, (seq, delivered), &received, principal.as_deref());
        if matches!(kind, AckKind::Nak(_)) && self.verifier.is_some() {
            handed_back.keep(seq, digest(), principal);
        }
        kind
    }

    /// Publishes an admitted stream message locally; how to acknowledge it.
    fn publish_admitted(
        &self,
        message: &async_nats::Message,
        import: &DurableImport,
        (seq, delivered): (u64, i64),
        received: &[(&str, &str)],
        principal: Option<&str>,
    ) -> AckKind {
        let subject = message.subject.as_str();
        let (seq_text, delivered_text) = (seq.to_string(), delivered.to_string());
        let mut local = self.local_headers(received, import.relay, principal);
        local.push((wire::STREAM_SEQ, &seq_text));
        if delivered > 1 {
            local.push((wire::DELIVERED, &delivered_text));
        }
        if !self.fits_locally(&message.payload, &local) {
            Counters::add(&self.counters.local_refused);
            return self.terminate();
        }
        match self.local.publish(subject, &message.payload[..], &local) {
            Ok(report) if report.matched > 0 && report.delivered == 0 => self.redeliver(),
            Ok(_) => {
                Counters::add(&self.counters.imported);
                AckKind::Ack
            }
            // The message fits the bus's limits (checked above), so these
            // say a queue is full: later it may not be.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::LimitExceeded | ErrorKind::Timeout | ErrorKind::WouldBlock
                ) =>
            {
                self.redeliver()
            }
            Err(_) => {
                Counters::add(&self.counters.local_refused);
                self.terminate()
            }
        }
    }

    /// Whether the bus's per-message limits admit the message: a message
    /// over them would be refused at every redelivery.
    fn fits_locally(&self, payload: &[u8], local: &[(&str, &str)]) -> bool {
        let limits = self.local.limits();
        let header_bytes: usize = local.iter().map(|(n, v)| n.len() + v.len()).sum();
        limits.check_payload(payload.len()).is_ok()
            && local.len() <= limits.max_headers
            && header_bytes <= limits.max_header_bytes
    }

    fn redeliver(&self) -> AckKind {
        Counters::add(&self.counters.redelivery_requested);
        // The delay is chosen by the caller, which sees the sequence.
        AckKind::Nak(None)
    }

    fn terminate(&self) -> AckKind {
        Counters::add(&self.counters.durable_terminated);
        AckKind::Term
    }
}

/// Binds `import`'s stream (created, capturing its pattern, if missing)
/// and durable consumer (created with its options, if missing), and starts
/// pulling.
async fn bind(
    context: &jetstream::Context,
    import: &DurableImport,
) -> std::result::Result<pull::Stream, async_nats::Error> {
    let stream = context
        .get_or_create_stream(stream::Config {
            name: import.stream.clone(),
            subjects: vec![import.pattern.clone()],
            ..Default::default()
        })
        .await?;
    let consumer = stream
        .get_or_create_consumer(
            &import.durable,
            pull::Config {
                durable_name: Some(import.durable.clone()),
                ack_policy: AckPolicy::Explicit,
                deliver_policy: DeliverPolicy::All,
                ack_wait: import.ack_wait,
                max_ack_pending: i64::try_from(import.max_ack_pending.max(1)).unwrap_or(i64::MAX),
                filter_subject: import.pattern.clone(),
                ..Default::default()
            },
        )
        .await?;
    Ok(consumer.messages().await?)
}

/// Whether a pull error means the consumer is gone or unusable, so the
/// bridge binds again instead of waiting for more.
fn ends_binding(kind: pull::MessagesErrorKind) -> bool {
    matches!(
        kind,
        pull::MessagesErrorKind::ConsumerDeleted
            | pull::MessagesErrorKind::PushBasedConsumer
            | pull::MessagesErrorKind::NoResponders
    )
}
