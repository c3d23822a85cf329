//! The import task: NATS messages published into the local bus, a burst at
//! a time.
//!
//! What the client already holds is taken without waiting, up to
//! [`IMPORT_BATCH`] messages, checked one by one (loops, verification) and
//! handed to the core in one `publish_each_copied` (which matches a run of
//! one subject and one header list once): one lock and one wake-up per
//! local subscriber per burst instead of per message. Each message is
//! still its own publish, counted on its own.

use std::ops::Range;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::StreamExt;
use tokio::sync::watch;

use charter_core::bus::PublishBatch;

use crate::bridge::Shared;
use crate::headers::{self, ListBuffer};
use crate::stats::Counters;
use crate::verify::Expect;
use crate::wire;

/// At most how many NATS messages an import publishes at once: a burst
/// crosses each local queue once, and a batch held while it is checked
/// stays a small, bounded number of messages.
const IMPORT_BATCH: usize = 64;

/// An import's buffers, kept from one burst to the next so that a burst
/// allocates nothing of its own once they have grown.
#[derive(Default)]
struct Burst {
    messages: Vec<async_nats::Message>,
    /// One message's headers as received.
    received: ListBuffer,
    /// Every admitted publish's local headers, one after the other.
    local: ListBuffer,
    /// Each admitted publish: its message, and its headers in `local`.
    admitted: Vec<(usize, Range<usize>)>,
    /// The proven principals of admitted publishes (verifying bridges).
    principals: Vec<String>,
    /// Where each of `principals` goes in `local`.
    proven: Vec<(usize, usize)>,
    outcomes: PublishBatch,
}

impl Burst {
    /// Moves the messages `subscriber` has ready into the burst, up to
    /// `most`: ready (with whether the subscription ended) once it took
    /// any or the subscription ended, pending (the task woken by the
    /// client) when none was ready.
    fn take_ready(
        &mut self,
        subscriber: &mut async_nats::Subscriber,
        most: usize,
        cx: &mut Context<'_>,
    ) -> Poll<bool> {
        while self.messages.len() < most {
            match subscriber.poll_next_unpin(cx) {
                Poll::Ready(Some(message)) => self.messages.push(message),
                Poll::Ready(None) => return Poll::Ready(true),
                Poll::Pending => break,
            }
        }
        if self.messages.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(false)
        }
    }
}

impl Shared {
    /// Carries NATS messages to the local bus until the bridge stops.
    pub(crate) async fn import(
        self: Arc<Self>,
        mut subscriber: async_nats::Subscriber,
        relay: bool,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut burst = Burst::default();
        // A verifying import publishes each message once it is verified:
        // its verification (an Ed25519 check, tens of microseconds) dwarfs
        // the publish, and a burst would hold verified messages back.
        let most = if self.verifier.is_some() { 1 } else { IMPORT_BATCH };
        loop {
            // What the client holds, taken in one poll of the task's own
            // context (no stream future or no-op context per message): up
            // to a batch, until none is ready, the subscription ends, or the
            // task's cooperative budget runs out (then the next poll is
            // pending, and the select sees a stop).
            let taken = std::future::poll_fn(|cx| burst.take_ready(&mut subscriber, most, cx));
            let ended = tokio::select! {
                ended = taken => ended,
                _ = stop.changed() => return,
            };
            if !burst.messages.is_empty() {
                self.deliver(relay, &mut burst);
            }
            if ended {
                return;
            }
        }
    }

    /// Checks and publishes a burst of NATS messages: each not this
    /// bridge's own and verified when the bridge verifies (a refusal is
    /// counted by `admit`), a request asked locally on its own task, the
    /// rest published into the bus together.
    fn deliver(self: &Arc<Self>, relay: bool, burst: &mut Burst) {
        let Burst { messages, received, local, admitted, principals, proven, outcomes } = burst;
        let mut list = received.take();
        let mut out = local.take();
        // The local headers of a publish without headers, when the bridge
        // does not verify: the import's marks alone, the same for each such
        // message of the burst, so built once (it claims no origin, so it
        // is no loop, and needs no check). The core sees the same list
        // again and shares its text.
        let mut marks: Option<Range<usize>> = None;
        for (i, message) in messages.iter().enumerate() {
            let reply = message.reply.as_ref().map(|r| r.as_str());
            if message.headers.is_none() && reply.is_none() && self.verifier.is_none() {
                let marks = marks.get_or_insert_with(|| {
                    let start = out.len();
                    self.extend_local(&mut out, &[], None, relay, None);
                    start..out.len()
                });
                admitted.push((i, marks.clone()));
                continue;
            }
            headers::from_map_into(message.headers.as_ref(), &mut list);
            let expect = if reply.is_some() { Expect::Request } else { Expect::Publish };
            let origin = wire::origin_of(&list);
            let Ok(principal) = self.admit(origin, &message.subject, reply, &list, &message.payload, expect)
            else {
                continue;
            };
            if let Some(reply) = reply {
                self.ask_locally(message, reply, &list, relay, principal.as_deref());
                continue;
            }
            let start = out.len();
            // A principal's text is owned by `principals`, which must stop
            // growing before the list borrows from it: a place-holder now,
            // the text below.
            self.extend_local(&mut out, &list, origin, relay, principal.as_ref().map(|_| ""));
            if let Some(principal) = principal {
                proven.push((out.len() - 1, principals.len()));
                principals.push(principal);
            }
            admitted.push((i, start..out.len()));
        }
        for &(at, which) in proven.iter() {
            out[at].1 = &principals[which];
        }
        // Payloads are copied into the bodies' kept buffers: the payload is
        // the client's `Bytes`, which the bus cannot keep as its shared
        // buffer, and a copy of one of at most 1 KiB allocates nothing.
        let batch = admitted.iter().map(|(i, headers)| {
            let message = &messages[*i];
            (message.subject.as_str(), &message.payload[..], &out[headers.clone()])
        });
        self.local.publish_each_copied(batch, outcomes);
        let refused = outcomes.results().iter().filter(|outcome| outcome.is_err()).count();
        let delivered = admitted.len() - refused;
        Counters::add_many(&self.counters.imported, delivered as u64);
        Counters::add_many(&self.counters.local_refused, refused as u64);
        received.keep(list);
        local.keep(out);
        admitted.clear();
        proven.clear();
        principals.clear();
        messages.clear();
    }

    /// A NATS request admitted by `deliver`: asked on the local bus on its
    /// own task (bounded by the requests in flight), the reply sent back.
    fn ask_locally(
        self: &Arc<Self>,
        message: &async_nats::Message,
        reply: &str,
        received: &[(&str, &str)],
        relay: bool,
        principal: Option<&str>,
    ) {
        let Ok(permit) = Arc::clone(&self.in_flight).try_acquire_owned() else {
            return Counters::add(&self.counters.requests_busy);
        };
        let local: Vec<(String, String)> = self
            .local_headers(received, relay, principal)
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let asked = Arc::clone(self).request_in(
            message.subject.to_string(),
            reply.to_owned(),
            local,
            message.payload.clone(),
        );
        tokio::spawn(async move {
            asked.await;
            drop(permit);
        });
    }
}
