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
//!   acknowledged again, not published twice (within a bounded window);
//! * at or below the application's `handled_through`, or in its `handled`
//!   set (its committed position) → acknowledged, never published: this is
//!   what makes delivery exactly-once for an application that commits its
//!   position with its results;
//! * with verification, checked as a stored message (the token valid now
//!   and when it was sealed, not revoked, and not delivered before by its
//!   seal id or seal floor: [`crate::sealed`]), instead of by the live
//!   skew and sequence window, so a sealed backlog is delivered; its seal
//!   id is recorded only once the local bus took it, so a message handed
//!   back is verified again on its redelivery, and accepted.
//!
//! Each message published carries `Charter-Stream-Floor`: the consumer's
//! acknowledgement floor as last read from the server (every sequence at
//! or below it is acknowledged, so never delivered again), or
//! `handled_through` if higher. It is read at bind and again every
//! [`FLOOR_REFRESH`] while messages flow; a stale floor is only lower, so
//! the application's set is larger, never wrong.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy};
use async_nats::jetstream::{self, stream, AckKind};
use futures_util::StreamExt;
use tokio::sync::watch;

use charter_core::ErrorKind;

use crate::bridge::Shared;
use crate::dedup::Recent;
use crate::headers;
use crate::options::DurableImport;
use crate::sealed::SealedReplay;
use crate::stats::Counters;
use crate::verify::Inbound;
use crate::wire;

/// What a durable import remembers between deliveries.
struct Progress {
    /// Stream messages published and acknowledged lately.
    recent: Recent,
    /// With verification: the sealed messages delivered.
    sealed: SealedReplay,
    /// How long the next message handed back waits: doubled at each one
    /// handed back, reset by each one published, so a subscriber that
    /// stays full costs fewer and fewer redeliveries.
    redelivery_delay: Duration,
    /// The application's committed position: never delivered.
    handled_through: u64,
    handled: HashSet<u64>,
    /// The floor each published message carries (`Charter-Stream-Floor`).
    floor: u64,
    /// Whether a message came since the floor was last read.
    moved: bool,
}

impl Progress {
    /// Whether the application's committed position says it handled `seq`.
    fn handled(&self, seq: u64) -> bool {
        seq <= self.handled_through || self.handled.contains(&seq)
    }

    /// The consumer's acknowledgement floor, as just read from the server.
    fn acknowledged_through(&mut self, ack_floor: u64, skew_ms: u64) {
        self.floor = self.floor.max(ack_floor);
        self.sealed.acknowledged_through(ack_floor, skew_ms);
    }
}

/// How long a message the local bus could not take waits before JetStream
/// delivers it again: at first, and at most.
const REDELIVERY_DELAY: Duration = Duration::from_millis(100);
const MAX_REDELIVERY_DELAY: Duration = Duration::from_secs(2);
/// How long the bridge waits before it tries to bind the stream and
/// consumer again.
const REBIND_DELAY: Duration = Duration::from_secs(1);
/// How often the consumer's acknowledgement floor is read again while
/// messages flow: the lag bounds how many sequences an application keeps
/// above the floor it stores.
const FLOOR_REFRESH: Duration = Duration::from_millis(100);

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
            sealed: SealedReplay::new(import.sealed_through, &import.sealed),
            redelivery_delay: REDELIVERY_DELAY,
            handled_through: import.handled_through,
            handled: import.handled.iter().copied().collect(),
            floor: import.handled_through,
            moved: false,
        };
        let skew_ms = self.verifier.as_ref().map_or(0, |v| v.skew_ms());
        let mut refresh = tokio::time::interval(FLOOR_REFRESH);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let bound = tokio::select! {
                bound = bind(&context, &import) => bound,
                _ = stop.changed() => return,
            };
            match bound {
                Ok((mut consumer, mut messages)) => {
                    progress.acknowledged_through(consumer.cached_info().ack_floor.stream_sequence, skew_ms);
                    loop {
                        tokio::select! {
                            next = messages.next() => match next {
                                Some(Ok(message)) => {
                                    progress.moved = true;
                                    self.deliver_durable(message, &import, &mut progress).await;
                                }
                                Some(Err(e)) if ends_binding(e.kind()) => break,
                                // A missed heartbeat or a failed pull: the
                                // client pulls again by itself.
                                Some(Err(_)) => {}
                                None => break,
                            },
                            _ = refresh.tick(), if progress.moved => {
                                progress.moved = false;
                                let read = tokio::time::timeout(self.request_timeout, consumer.info()).await;
                                // A failed read keeps the older floor: lower, still true.
                                if let Ok(Ok(info)) = read {
                                    progress.acknowledged_through(info.ack_floor.stream_sequence, skew_ms);
                                }
                            }
                            _ = stop.changed() => return,
                        }
                    }
                }
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
        // Whatever its delivery count says: after a restart, the server was
        // seen to deliver a sequence once more with a count of 1 after this
        // bridge had published and acknowledged its redelivery (count 2).
        let kind = if progress.handled(seq) || progress.recent.contains(seq) {
            Counters::add(&self.counters.duplicate_suppressed);
            AckKind::Ack
        } else {
            let at = Delivery { seq, delivered, floor: progress.floor };
            let kind = self.publish_durable(&message, import, at, &mut progress.sealed);
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
        at: Delivery,
        sealed: &mut SealedReplay,
    ) -> AckKind {
        let received = headers::from_map(message.headers.as_ref());
        if self.own_origin(&received) {
            return AckKind::Ack;
        }
        let Some(verifier) = &self.verifier else {
            return self.publish_admitted(message, import, at, &received, None);
        };
        let inbound = Inbound {
            subject: message.subject.as_str(),
            reply: None,
            headers: &received,
            payload: &message.payload,
        };
        let Ok(stored) = verifier.check_stored(&inbound, sealed) else { return self.terminate() };
        let proof = Proof {
            principal: stored.principal.to_text(),
            id: stored.id,
            time_ms: stored.time_ms,
            floor_ms: sealed.floor_ms(),
        };
        let kind = self.publish_admitted(message, import, at, &received, Some(&proof));
        if matches!(kind, AckKind::Ack) {
            sealed.delivered(at.seq, stored.id, stored.time_ms, verifier.now_ms());
        }
        kind
    }

    /// Publishes an admitted stream message locally; how to acknowledge it.
    fn publish_admitted(
        &self,
        message: &async_nats::Message,
        import: &DurableImport,
        at: Delivery,
        received: &[(&str, &str)],
        proof: Option<&Proof>,
    ) -> AckKind {
        let subject = message.subject.as_str();
        let (seq_text, delivered_text, floor_text) =
            (at.seq.to_string(), at.delivered.to_string(), at.floor.to_string());
        let principal = proof.map(|p| p.principal.as_str());
        let mut local = self.local_headers(received, import.relay, principal);
        local.push((wire::STREAM_SEQ, &seq_text));
        local.push((wire::STREAM_FLOOR, &floor_text));
        if at.delivered > 1 {
            local.push((wire::DELIVERED, &delivered_text));
        }
        let seal_texts = proof.map(|p| [p.id.to_string(), p.time_ms.to_string(), p.floor_ms.to_string()]);
        if let Some([id, time, floor]) = &seal_texts {
            local.extend([
                (wire::SEAL_ID, id.as_str()),
                (wire::SEAL_TIME, time.as_str()),
                (wire::SEAL_FLOOR, floor.as_str()),
            ]);
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

/// What verification proved of a stored message, for its local headers:
/// its sender, its seal id and time, and the import's seal floor.
struct Proof {
    principal: String,
    id: u64,
    time_ms: u64,
    floor_ms: u64,
}

/// Where one stream message stands: its stream sequence, how many times
/// JetStream delivered it, and the floor it is published with.
#[derive(Clone, Copy)]
struct Delivery {
    seq: u64,
    delivered: i64,
    floor: u64,
}

/// Binds `import`'s stream (created, capturing its pattern, if missing)
/// and durable consumer (created with its options, if missing), and starts
/// pulling.
async fn bind(
    context: &jetstream::Context,
    import: &DurableImport,
) -> std::result::Result<(jetstream::consumer::Consumer<pull::Config>, pull::Stream), async_nats::Error> {
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
    let messages = consumer.messages().await?;
    Ok((consumer, messages))
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
