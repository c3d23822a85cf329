//! The bridge: a NATS connection and the tasks that carry messages across
//! it, on a tokio runtime the bridge owns.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use async_nats::client::PublishErrorKind;
use async_nats::client::RequestErrorKind;
use async_nats::{ConnectOptions, Request};
use bytes::{Bytes, BytesMut};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::runtime::Runtime;
use tokio::sync::{watch, Notify as Wake, Semaphore};

use charter_core::bus::{topic, Bus, Client, Message, SubscribeOptions, Subscription, SubscriptionRef};
use charter_core::{Error, ErrorKind, Result};

use crate::context::outside_runtime;
use crate::headers::{self, names, Outgoing};
use crate::options::BridgeOptions;
use crate::recv::{recv_reply, waker};
use crate::seal::{now_ms, Seal, Sealer, Unsealed};
use crate::stats::{BridgeStats, Counters};
use crate::subject::LastSubject;
use crate::verify::{Expect, Inbound, Verifier};
use crate::wire;

/// At most how many queued local messages an export takes at once: enough
/// to take a burst under one lock, few enough that the ones held while the
/// client's queue is full stay a small, bounded number.
const EXPORT_BATCH: usize = 64;

/// Payloads of at most this many bytes an unsealed export copies into its
/// own buffer instead of sharing the message's: a copy of a few hundred
/// bytes costs less than the owner box `Bytes::from_owner` allocates and
/// frees, and the two counts on the payload's reference count, which the
/// publisher's thread changes too (round 17).
const COPY_AT_MOST: usize = 256;

/// How much buffer the export takes at a time for copied payloads: one
/// allocation for many small messages, freed once the client has written
/// every one cut from it. The payloads the client holds unwritten (its
/// channel's 2,048 commands at most) keep at most about 33 buffers alive.
const COPY_BUFFER: usize = 16 << 10;

/// A publish an export hands to the client: no headers at all (`None`) is
/// a plain `PUB`.
struct Publish {
    subject: async_nats::Subject,
    headers: Option<async_nats::HeaderMap>,
    payload: Bytes,
}

/// Why an inbound message was not admitted (already counted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dropped {
    /// It carries this bridge's own origin: a loop.
    OwnOrigin,
    /// The verifier refused it.
    Refused,
}

/// A running bridge between a local bus and NATS. Dropping it (or
/// [`close`](Bridge::close)) stops every task and the connection.
pub struct Bridge {
    shared: Arc<Shared>,
    exports: Vec<Subscription>,
    stop: watch::Sender<bool>,
    runtime: Option<Runtime>,
}

pub(crate) struct Shared {
    pub(crate) nats: async_nats::Client,
    /// The client's counters: `connects` tells when the server (and so its
    /// max payload) may have changed.
    pub(crate) nats_stats: Arc<async_nats::Statistics>,
    /// The server's max payload as last read, and the connect count then.
    pub(crate) max_payload: AtomicU64,
    pub(crate) max_payload_connects: AtomicU64,
    pub(crate) local: Client,
    pub(crate) origin: String,
    pub(crate) sealer: Option<Sealer>,
    pub(crate) verifier: Option<Verifier>,
    pub(crate) request_timeout: Duration,
    pub(crate) random: SystemRandom,
    pub(crate) counters: Arc<Counters>,
    /// Requests in flight across the bridge, both ways: bounded, since each
    /// holds a task and a subscription until its reply or timeout.
    pub(crate) in_flight: Arc<Semaphore>,
    /// How many messages this bridge has exported, for their message ids.
    pub(crate) exported_ids: AtomicU64,
    /// Whether exported publishes go without the bridge's own headers
    /// (`BridgeOptions::bare_exports`).
    pub(crate) bare_exports: bool,
}

impl Bridge {
    /// Starts a bridge for `bus`: connects (retrying in the background
    /// while no server answers, so a server that is down at start is not
    /// an error), subscribes to every export locally and every import on
    /// NATS, and starts carrying. Fails on bad options: a bad pattern, a
    /// key that is not the token's subject, a local subscription refused.
    ///
    /// It blocks while it subscribes, so it fails with `WOULD_BLOCK` when
    /// called from inside a tokio runtime, a handler a bridge runs included
    /// (start it from a plain thread, e.g. `spawn_blocking`).
    pub fn start(bus: &Bus, options: BridgeOptions) -> Result<Bridge> {
        outside_runtime("started")?;
        options.validate()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.worker_threads.max(1))
            .thread_name("charter-bridge")
            .enable_all()
            .build()
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot start the bridge's runtime: {e}")))?;
        let random = SystemRandom::new();
        let mut origin = [0u8; 16];
        random
            .fill(&mut origin)
            .map_err(|_| Error::new(ErrorKind::Internal, "the system random source failed"))?;
        let sealer = options.credentials.as_ref().map(|c| Sealer::new(origin, c)).transpose()?;
        let durable_patterns = options.durable_imports.iter().map(|d| &d.pattern);
        for pattern in
            options.imports.iter().map(|i| &i.pattern).chain(durable_patterns).chain(&options.exports)
        {
            topic::validate_pattern(pattern)?;
        }
        for durable in &options.durable_imports {
            durable.validate()?;
        }
        let counters = Arc::new(Counters::default());
        let events = Arc::clone(&counters);
        let connect = ConnectOptions::new()
            .subscription_capacity(options.import_capacity.max(1))
            .event_callback(move |event| {
                if let async_nats::Event::SlowConsumer(_) = event {
                    Counters::add(&events.slow_consumer);
                }
                std::future::ready(())
            })
            .name(&options.name)
            .retry_on_initial_connect()
            .max_reconnects(None)
            .no_echo()
            .request_timeout(Some(options.request_timeout));
        let nats = runtime.block_on(connect.connect(options.servers.as_slice())).map_err(|e| {
            Error::new(ErrorKind::InvalidArgument, format!("cannot use the NATS servers: {e}"))
        })?;
        let shared = Arc::new(Shared {
            nats_stats: nats.statistics(),
            max_payload: AtomicU64::new(0),
            max_payload_connects: AtomicU64::new(0),
            nats,
            local: bus.client(options.local_session.as_ref()),
            origin: wire::hex16(&origin),
            sealer,
            verifier: options.verify.clone().map(Verifier::new),
            request_timeout: options.request_timeout,
            random,
            counters,
            in_flight: Arc::new(Semaphore::new(options.max_requests_in_flight.max(1))),
            exported_ids: AtomicU64::new(0),
            bare_exports: options.bare_exports,
        });
        let (stop, stopped) = watch::channel(false);
        let mut bridge = Bridge { shared: Arc::clone(&shared), exports: Vec::new(), stop, runtime: None };
        for import in &options.imports {
            let subscriber = runtime
                .block_on(async {
                    match &import.queue_group {
                        Some(group) => {
                            shared.nats.queue_subscribe(import.pattern.clone(), group.clone()).await
                        }
                        None => shared.nats.subscribe(import.pattern.clone()).await,
                    }
                })
                .map_err(|e| Error::new(ErrorKind::Closed, format!("cannot subscribe on NATS: {e}")))?;
            runtime.spawn(Arc::clone(&shared).import(subscriber, import.relay, stopped.clone()));
        }
        for durable in &options.durable_imports {
            runtime.spawn(Arc::clone(&shared).durable_import(durable.clone(), stopped.clone()));
        }
        for pattern in &options.exports {
            let options =
                SubscribeOptions::new().capacity(options.export_capacity).max_bytes(options.export_max_bytes);
            let subscription = shared.local.subscribe(pattern, options)?;
            let wake = Arc::new(Wake::new());
            subscription.set_watch(Some(waker(&wake)))?;
            runtime.spawn(Arc::clone(&shared).export(
                SubscriptionRef::clone(&subscription),
                wake,
                stopped.clone(),
            ));
            bridge.exports.push(subscription);
        }
        bridge.runtime = Some(runtime);
        Ok(bridge)
    }

    /// This bridge's origin id (32 hex digits), fresh at every start.
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }

    /// Waits up to `timeout` until the server has seen everything sent so
    /// far (the imports' subscriptions included): `TIMEOUT` while no server
    /// answers. A caller without a timeout of its own passes
    /// [`DEFAULT_FLUSH_TIMEOUT`](crate::DEFAULT_FLUSH_TIMEOUT).
    /// Like [`start`](Self::start), it blocks, so it is refused inside a
    /// tokio runtime (`WOULD_BLOCK`).
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        outside_runtime("flushed")?;
        let runtime =
            self.runtime.as_ref().ok_or_else(|| Error::new(ErrorKind::Closed, "the bridge is closed"))?;
        match runtime.block_on(async { tokio::time::timeout(timeout, round_trip(&self.shared.nats)).await }) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::new(ErrorKind::Closed, format!("the NATS connection failed: {e}"))),
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("the NATS server did not answer within {} ms", timeout.as_millis()),
            )),
        }
    }

    /// Whether the client is connected to a server now.
    pub fn is_connected(&self) -> bool {
        self.shared.nats.connection_state() == async_nats::connection::State::Connected
    }

    /// What the bridge carried and dropped so far.
    pub fn stats(&self) -> BridgeStats {
        let mut stats = self.shared.counters.snapshot();
        if let Some(verifier) = &self.shared.verifier {
            stats.refused = verifier.refused().to_vec();
        }
        stats.export_queue_dropped = self.exports.iter().map(|s| s.stats().dropped.total()).sum();
        stats
    }

    /// Stops carrying, sends what the client still buffers (for up to a
    /// second; not when called from inside a tokio runtime, where the
    /// bridge cannot block), and closes the connection.
    pub fn close(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        let _ = self.stop.send(true);
        for subscription in self.exports.drain(..) {
            subscription.close();
        }
        let Some(runtime) = self.runtime.take() else { return };
        if tokio::runtime::Handle::try_current().is_ok() {
            // Closed from inside another tokio runtime, where blocking on
            // ours is not allowed: stop without the final flush.
            runtime.shutdown_background();
            return;
        }
        let nats = &self.shared.nats;
        let _ = runtime.block_on(async { tokio::time::timeout(Duration::from_secs(1), nats.flush()).await });
        runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The payload of `message` as the client takes it: a small one copied
/// into `copies` and cut off (the buffer shared by the payloads cut from
/// it, and replaced when it runs out), a larger one shared.
fn payload_of(message: &Message, copies: &mut BytesMut) -> Bytes {
    let payload = message.payload();
    if payload.len() > COPY_AT_MOST {
        return Bytes::from_owner(message.shared_payload());
    }
    if copies.capacity() < payload.len() {
        copies.reserve(COPY_BUFFER);
    }
    copies.extend_from_slice(payload);
    copies.split().freeze()
}

/// Sets `future` into `slot`, pinned in the calling task's state, and
/// awaits it there. A client's publish awaited where it is called is moved
/// twice, a copy of a few hundred bytes each (into `into_future`, then to
/// its place in the task's state); set into a slot the task keeps, once:
/// 88 instructions a message fewer (docs/BENCHMARKS.md, "NATS bridge",
/// round 14). The slot keeps the finished future until the next `set`.
fn in_slot<'a, F: Future + 'a>(
    mut slot: Pin<&'a mut Option<F>>,
    future: F,
) -> impl Future<Output = F::Output> + 'a {
    slot.set(Some(future));
    poll_fn(move |cx| match slot.as_mut().as_pin_mut() {
        Some(future) => future.poll(cx),
        // Never: set just above, and never emptied.
        None => Poll::Pending,
    })
}

/// Waits until the server has processed everything this client sent
/// before: the client's own flush only writes to the socket, so this asks
/// a request on a fresh inbox, which the server answers (no responders)
/// only after the operations before it.
async fn round_trip(nats: &async_nats::Client) -> std::result::Result<(), async_nats::Error> {
    nats.flush().await?;
    match nats.request(nats.new_inbox(), Bytes::new()).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == RequestErrorKind::NoResponders => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The error a request carried across a bridge fails with, for the
/// `Charter-Status` that a responding bridge answered with instead of a
/// reply (docs/formats.md, "Signed replies"): `NOT_FOUND` when nothing
/// answered on its side, `DENIED` when its answer was refused.
fn status_error(status: &str) -> Error {
    match status {
        "NOT_FOUND" => no_responder(),
        "DENIED" => refused_reply(),
        other => Error::new(
            ErrorKind::Internal,
            format!("the bridge answered with status {}", charter_core::quote(other)),
        ),
    }
}

fn no_responder() -> Error {
    Error::new(ErrorKind::NotFound, "no responder on NATS for the request")
}

fn refused_reply() -> Error {
    Error::new(ErrorKind::Denied, "the reply failed verification at the bridge")
}

impl Shared {
    /// Carries local publishes to NATS until the subscription ends or the
    /// bridge stops; woken by the core's watch, never polling.
    async fn export(
        self: Arc<Self>,
        subscription: SubscriptionRef,
        wake: Arc<Wake>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut subjects = LastSubject::default();
        let mut copies = BytesMut::new();
        let mut batch = Vec::with_capacity(EXPORT_BATCH);
        let mut plain = pin!(None);
        let mut with_headers = pin!(None);
        loop {
            // Every queued message under one lock of the core's queue,
            // then each handed to the client, whose connection task writes
            // them together and flushes when its command queue is empty.
            // A batch is handed over whole before the task looks at `stop`:
            // only a runtime shut down mid-batch drops what it holds, and
            // the bridge and its counters end with it.
            loop {
                match subscription.try_recv_many_into(&mut batch, EXPORT_BATCH) {
                    Ok(0) => break,
                    Ok(_) if self.sealer.is_some() => self.forward_sealed(&mut batch, &mut subjects).await,
                    Ok(_) => {
                        // Each message made ready first, then handed to
                        // the client with no future of the bridge's own
                        // around the client's (moved and dropped per
                        // message, it cost a tenth of the task), awaited
                        // in a slot of the task's own (`in_slot`).
                        for message in &batch {
                            let Some(publish) = self.ready(message, &mut subjects, &mut copies) else {
                                continue;
                            };
                            let sent = match publish.headers {
                                Some(headers) => {
                                    let nats = &self.nats;
                                    let publish =
                                        nats.publish_with_headers(publish.subject, headers, publish.payload);
                                    in_slot(with_headers.as_mut(), publish).await
                                }
                                None => {
                                    let publish = self.nats.publish(publish.subject, publish.payload);
                                    in_slot(plain.as_mut(), publish).await
                                }
                            };
                            self.count_sent(sent);
                        }
                        // The batch's bodies go back to the core's pool
                        // under one lock, not one lock (or spare swap) each:
                        // the pool is the process's, and the publisher and
                        // the receiver take and give back bodies on their
                        // own threads at the same time (round 17).
                        Message::drop_all(&mut batch);
                    }
                    Err(_) => return,
                }
            }
            tokio::select! {
                () = wake.notified() => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// A message to send on as a publish, or `None` when it is not one:
    /// a message that came from NATS (sending it back would loop), or a
    /// request, which is sent on its own task.
    fn exportable(self: &Arc<Self>, message: Message) -> Option<Message> {
        self.exports(&message).then_some(message)
    }

    /// Whether `message` is sent on as a publish ([`exportable`]
    /// (Self::exportable)), for a caller that keeps the message; a request
    /// is sent on its own task with a reference of its own.
    fn exports(self: &Arc<Self>, message: &Message) -> bool {
        // Most exported messages carry no header: their length says so
        // without walking them.
        if message.headers().len() != 0
            && message.headers().any(|(name, value)| {
                name == wire::ORIGIN || (name == wire::VIA && value == self.origin.as_str())
            })
        {
            // It came from NATS through a bridge (or through this one, even
            // relayed).
            Counters::add(&self.counters.not_reexported);
            return false;
        }
        if message.reply_to().is_some() {
            let Ok(permit) = Arc::clone(&self.in_flight).try_acquire_owned() else {
                Counters::add(&self.counters.requests_busy);
                return false;
            };
            let shared = Arc::clone(self);
            let message = message.clone();
            tokio::spawn(async move {
                shared.request_out(message).await;
                drop(permit);
            });
            return false;
        }
        true
    }

    /// A message id lets a JetStream stream that captures the subject
    /// store it once, whatever sends it again; a publisher's own id wins.
    fn message_id(&self, app: &[(&str, &str)]) -> Option<String> {
        (!app.iter().any(|(name, _)| name.eq_ignore_ascii_case(wire::MSG_ID)))
            .then(|| wire::msg_id(&self.origin, self.exported_ids.fetch_add(1, Ordering::Relaxed) + 1))
    }

    /// What an unsealed export publishes for `message`, or `None` when it
    /// publishes nothing (not exportable, or counted as refused). A bare
    /// export of a message without headers skips the header map and the
    /// max payload check, which the client makes for a header-less publish.
    fn ready(
        self: &Arc<Self>,
        message: &Message,
        subjects: &mut LastSubject,
        copies: &mut BytesMut,
    ) -> Option<Publish> {
        if !self.exports(message) {
            return None;
        }
        let headers = if self.bare_exports && message.headers().len() == 0 {
            None
        } else {
            let Some(app) = headers::outbound(message.headers()) else {
                Counters::add(&self.counters.bad_header);
                return None;
            };
            let headers = if self.bare_exports {
                self.bare_headers(app)
            } else {
                let id = self.message_id(&app);
                self.envelope(message.topic(), None, &app, id, message.payload())
            }?;
            if !self.fits(&headers, message.payload().len()) {
                Counters::add(&self.counters.max_payload);
                return None;
            }
            Some(headers.into_map())
        };
        Some(Publish {
            subject: subjects.get(message.topic()),
            headers,
            payload: payload_of(message, copies),
        })
    }

    /// Counts a publish's outcome.
    fn count_sent(&self, sent: std::result::Result<(), async_nats::client::PublishError>) {
        match sent {
            Ok(()) => Counters::add(&self.counters.exported),
            Err(e) => self.count_publish_error(e.kind()),
        }
    }

    /// A bare export's headers: the application's alone, without even the
    /// principal a relayed message carries, so a publish without any goes
    /// to NATS with no header (the receiving bridge takes it for a plain
    /// NATS client's). Only an unsealed bridge sends them.
    fn bare_headers(&self, mut app: Vec<(&str, &str)>) -> Option<Outgoing> {
        app.retain(|(name, _)| *name != wire::PRINCIPAL);
        self.app_headers(&app)
    }

    /// Sends a batch taken from the export's queue under one signature
    /// (docs/formats.md, "Signed batches"): each message costs the
    /// receivers an inclusion proof, the batch one signature check.
    async fn forward_sealed(self: &Arc<Self>, batch: &mut Vec<Message>, subjects: &mut LastSubject) {
        let Some(sealer) = &self.sealer else { return };
        let messages: Vec<Message> = batch.drain(..).filter_map(|m| self.exportable(m)).collect();
        let mut ready = Vec::with_capacity(messages.len());
        for message in &messages {
            let Some(app) = headers::outbound(message.headers()) else {
                Counters::add(&self.counters.bad_header);
                continue;
            };
            let Some(headers) = self.app_headers(&app) else { continue };
            ready.push((message, headers, app));
        }
        let ids: Vec<Option<String>> = ready.iter().map(|(_, _, app)| self.message_id(app)).collect();
        let covered: Vec<Vec<(&str, &str)>> =
            ready.iter().zip(&ids).map(|((_, _, app), id)| self.covered(app, id.as_deref())).collect();
        let unsealed: Vec<Unsealed<'_>> = ready
            .iter()
            .zip(&covered)
            .map(|((message, _, _), headers)| Unsealed {
                subject: message.topic(),
                reply: None,
                headers,
                payload: message.payload(),
            })
            .collect();
        let seals = sealer.seal_batch(&unsealed);
        for (((message, mut headers, _), id), seal) in ready.into_iter().zip(ids).zip(seals) {
            let Ok(seal) = seal else {
                Counters::add(&self.counters.seal_failed);
                continue;
            };
            self.finish(&mut headers, id, Some((sealer, seal)));
            self.send(message, headers, subjects).await;
        }
    }

    /// Publishes `message` on NATS with `headers`, unless it exceeds the
    /// server's max payload (counted).
    async fn send(&self, message: &Message, headers: Outgoing, subjects: &mut LastSubject) {
        if !self.fits(&headers, message.payload().len()) {
            return Counters::add(&self.counters.max_payload);
        }
        let payload = Bytes::from_owner(message.shared_payload());
        let subject = subjects.get(message.topic());
        self.count_sent(self.nats.publish_with_headers(subject, headers.into_map(), payload).await);
    }

    /// Whether a message of `payload` bytes with `headers` fits the
    /// server's max payload (headers count, as the server counts them). The
    /// client checks only header-less publishes; a message over the limit
    /// would make the server close the connection, losing what follows.
    fn fits(&self, headers: &Outgoing, payload: usize) -> bool {
        let size = (headers.wire_bytes() + payload) as u64;
        let connects = self.nats_stats.connects.load(Ordering::Relaxed);
        let mut max = self.max_payload.load(Ordering::Relaxed);
        if connects != self.max_payload_connects.load(Ordering::Relaxed) || size > max {
            max = self.nats.server_info().max_payload as u64;
            self.max_payload.store(max, Ordering::Relaxed);
            self.max_payload_connects.store(connects, Ordering::Relaxed);
        }
        max == 0 || size <= max
    }

    fn count_publish_error(&self, kind: PublishErrorKind) {
        match kind {
            PublishErrorKind::MaxPayloadExceeded => Counters::add(&self.counters.max_payload),
            PublishErrorKind::BadSubject => Counters::add(&self.counters.bad_header),
            _ => Counters::add(&self.counters.send_failed),
        }
    }

    /// The NATS headers for a message: `app`, the message id `id` if
    /// any, the origin, and the seal when the bridge has credentials.
    /// `None` (counted) when it cannot.
    fn envelope(
        &self,
        subject: &str,
        reply: Option<&str>,
        app: &[(&str, &str)],
        id: Option<String>,
        payload: &[u8],
    ) -> Option<Outgoing> {
        let mut headers = self.app_headers(app)?;
        let seal = match &self.sealer {
            Some(sealer) => {
                let covered = self.covered(app, id.as_deref());
                let Ok(seal) = sealer.seal(subject, reply, &covered, payload) else {
                    Counters::add(&self.counters.seal_failed);
                    return None;
                };
                Some((sealer, seal))
            }
            None => None,
        };
        self.finish(&mut headers, id, seal);
        Some(headers)
    }

    /// The headers a seal covers: the application's, the origin and the
    /// message id.
    fn covered<'a>(&'a self, app: &[(&'a str, &'a str)], id: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
        let mut covered = Vec::with_capacity(app.len() + 2);
        covered.extend_from_slice(app);
        covered.push((wire::ORIGIN, self.origin.as_str()));
        covered.extend(id.map(|id| (wire::MSG_ID, id)));
        covered
    }

    /// A message's application headers; `None` (counted) when NATS cannot
    /// carry one.
    fn app_headers(&self, app: &[(&str, &str)]) -> Option<Outgoing> {
        let mut headers = Outgoing::new();
        if app.iter().any(|(name, value)| headers.app(name, value).is_none()) {
            Counters::add(&self.counters.bad_header);
            return None;
        }
        Some(headers)
    }

    /// Adds the seal's envelope, the message id and the origin.
    fn finish(&self, headers: &mut Outgoing, id: Option<String>, seal: Option<(&Sealer, Seal)>) {
        let sealed = seal.is_some();
        if let Some((sealer, seal)) = seal {
            headers.own(names::SEQ, seal.seq.to_string());
            headers.own(names::TIME, seal.time_ms.to_string());
            headers.own(names::TOKEN, sealer.token_text().to_owned());
            headers.own(names::PROOF, seal.proof);
            if let Some(place) = seal.batch {
                headers.own(names::BATCH, place);
            }
        }
        // Unsealed, the bridge's own message id (`<origin>-<n>`) carries
        // the origin: one header fewer to write, parse and copy per message
        // (`wire::origin_of`). A seal's envelope always has the header.
        let origin_in_id = !sealed && id.is_some();
        if let Some(id) = id {
            headers.own(names::MSG_ID, id);
        }
        if !origin_in_id {
            headers.own(names::ORIGIN, self.origin.clone());
        }
    }

    fn nonce(&self) -> String {
        let mut nonce = [0u8; 16];
        // A failed random source leaves zeros: the reply still has to match
        // the inbox, which the client chose at random.
        let _ = self.random.fill(&mut nonce);
        wire::hex16(&nonce)
    }

    /// A local request on an exported subject: asked on NATS, the reply
    /// (verified when the bridge verifies) handed back to the local inbox.
    async fn request_out(self: Arc<Self>, message: Message) {
        let Some(local_inbox) = message.reply_to() else { return };
        let Some(mut app) = headers::outbound(message.headers()) else {
            return Counters::add(&self.counters.bad_header);
        };
        let subject = message.topic();
        let inbox = self.nats.new_inbox();
        let nonce = self.nonce();
        app.push((wire::NONCE, &nonce));
        let sent_ms = now_ms();
        let Some(headers) = self.envelope(subject, Some(&inbox), &app, None, message.payload()) else {
            return;
        };
        if !self.fits(&headers, message.payload().len()) {
            return Counters::add(&self.counters.max_payload);
        }
        let request = Request::new()
            .payload(Bytes::from_owner(message.shared_payload()))
            .headers(headers.into_map())
            .inbox(inbox.clone())
            .timeout(Some(self.request_timeout));
        let reply = match self.nats.send_request(subject.to_owned(), request).await {
            Ok(reply) => reply,
            Err(e) => {
                match e.kind() {
                    RequestErrorKind::NoResponders => {
                        Counters::add(&self.counters.no_responders);
                        let _ = self.local.fail_request(local_inbox, &no_responder());
                    }
                    RequestErrorKind::TimedOut => Counters::add(&self.counters.reply_timeout),
                    RequestErrorKind::Other => Counters::add(&self.counters.send_failed),
                }
                return;
            }
        };
        let received = headers::from_map(reply.headers.as_ref());
        let mut principal = None;
        if let Some(verifier) = &self.verifier {
            let inbound = Inbound {
                subject: reply.subject.as_str(),
                reply: reply.reply.as_ref().map(|r| r.as_str()),
                headers: &received,
                payload: &reply.payload,
            };
            let expect = Expect::Reply { subject, inbox: &inbox, nonce: &nonce, sent_ms };
            match verifier.check(&inbound, expect) {
                Ok(proven) => principal = Some(proven.to_text()),
                Err(_) => {
                    let _ = self.local.fail_request(local_inbox, &refused_reply());
                    return;
                }
            }
        }
        if let Some((_, status)) = received.iter().find(|(name, _)| *name == wire::STATUS) {
            // The responding bridge's own answer: the request failed there.
            return match self.local.fail_request(local_inbox, &status_error(status)) {
                Ok(_) => Counters::add(&self.counters.requests_out),
                Err(_) => Counters::add(&self.counters.local_refused),
            };
        }
        let mut local: Vec<(&str, &str)> = received
            .iter()
            .filter(|(name, _)| !wire::is_envelope_header(name) || *name == wire::ORIGIN)
            .filter(|(name, _)| ![wire::NONCE, wire::REQUEST, wire::PRINCIPAL].contains(name))
            .copied()
            .collect();
        if let Some(principal) = &principal {
            local.push((wire::PRINCIPAL, principal));
        }
        match self.local.reply(local_inbox, &reply.payload[..], &local) {
            Ok(_) => Counters::add(&self.counters.requests_out),
            Err(_) => Counters::add(&self.counters.local_refused),
        }
    }

    /// The checks every inbound message passes before it is published
    /// locally: not this bridge's own (a loop, counted), and verified when
    /// the bridge verifies (a refusal is counted and audited by the
    /// verifier). `origin` is the origin its headers claim
    /// (`wire::origin_of`), read once by the caller. The proven sender's
    /// principal, if any.
    pub(crate) fn admit(
        &self,
        origin: Option<&str>,
        subject: &str,
        reply: Option<&str>,
        received: &[(&str, &str)],
        payload: &[u8],
        expect: Expect<'_>,
    ) -> std::result::Result<Option<String>, Dropped> {
        if self.is_own(origin) {
            return Err(Dropped::OwnOrigin);
        }
        let Some(verifier) = &self.verifier else { return Ok(None) };
        let inbound = Inbound { subject, reply, headers: received, payload };
        match verifier.check(&inbound, expect) {
            Ok(proven) => Ok(Some(proven.to_text())),
            Err(_) => Err(Dropped::Refused),
        }
    }

    /// Whether a message with headers `received` carries this bridge's own
    /// origin: a loop, counted.
    pub(crate) fn own_origin(&self, received: &[(&str, &str)]) -> bool {
        self.is_own(wire::origin_of(received))
    }

    /// Whether the claimed `origin` (`wire::origin_of`) is this bridge's
    /// own: a loop, counted.
    fn is_own(&self, origin: Option<&str>) -> bool {
        let own = origin == Some(self.origin.as_str());
        if own {
            Counters::add(&self.counters.own_origin);
        }
        own
    }

    /// The headers an admitted message carries on the local bus: its
    /// application headers (and a request's nonce), marked as imported.
    pub(crate) fn local_headers<'a>(
        &'a self,
        received: &[(&'a str, &'a str)],
        relay: bool,
        principal: Option<&'a str>,
    ) -> Vec<(&'a str, &'a str)> {
        let mut local = Vec::with_capacity(received.len() + headers::LOCAL_EXTRA);
        self.extend_local(&mut local, received, wire::origin_of(received), relay, principal);
        local
    }

    /// Appends to `out` the headers an admitted message with headers
    /// `received` carries on the local bus (see
    /// [`local_headers`](Self::local_headers)), given the origin they claim
    /// (`wire::origin_of`); the principal, if any, last.
    pub(crate) fn extend_local<'a>(
        &'a self,
        out: &mut Vec<(&'a str, &'a str)>,
        received: &[(&'a str, &'a str)],
        origin: Option<&'a str>,
        relay: bool,
        principal: Option<&'a str>,
    ) {
        out.extend(received.iter().filter(|(name, _)| !headers::is_reserved(name) || *name == wire::NONCE));
        // Marks the message as imported, so no export (or, relayed, not
        // this bridge's) sends it back.
        out.push((wire::VIA, &self.origin));
        if !relay {
            out.push((wire::ORIGIN, origin.unwrap_or("nats")));
        }
        if let Some(principal) = principal {
            out.push((wire::PRINCIPAL, principal));
        }
    }

    /// A NATS request: asked on the local bus, the reply sealed (when the
    /// bridge has credentials) and bound to the request's inbox and nonce.
    pub(crate) async fn request_in(
        self: Arc<Self>,
        subject: String,
        inbox: String,
        local: Vec<(String, String)>,
        payload: Bytes,
    ) {
        let nonce = local.iter().find(|(n, _)| n == wire::NONCE).map(|(_, v)| v.clone());
        let local: Vec<(&str, &str)> =
            local.iter().filter(|(n, _)| n != wire::NONCE).map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let answer = match self.local.request_start(&subject, &payload[..], &local) {
            Ok(replies) => recv_reply(&replies, &subject, self.request_timeout).await,
            Err(e) => Err(e),
        };
        let (reply_payload, mut app): (Bytes, Vec<(String, String)>) = match answer {
            Ok(reply) => {
                let app = headers::outbound(reply.headers())
                    .map(|h| h.into_iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect());
                let Some(app) = app else { return Counters::add(&self.counters.bad_header) };
                (Bytes::from_owner(reply.shared_payload()), app)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                (Bytes::new(), vec![(wire::STATUS.into(), "NOT_FOUND".into())])
            }
            Err(e) if e.kind() == ErrorKind::Timeout => return Counters::add(&self.counters.reply_timeout),
            Err(_) => return Counters::add(&self.counters.local_refused),
        };
        app.push((wire::REQUEST.into(), subject.clone()));
        if let Some(nonce) = nonce {
            app.push((wire::NONCE.into(), nonce));
        }
        let app: Vec<(&str, &str)> = app.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let Some(headers) = self.envelope(&inbox, None, &app, None, &reply_payload) else { return };
        if !self.fits(&headers, reply_payload.len()) {
            return Counters::add(&self.counters.max_payload);
        }
        match self.nats.publish_with_headers(inbox, headers.into_map(), reply_payload).await {
            Ok(()) => Counters::add(&self.counters.requests_in),
            Err(e) => self.count_publish_error(e.kind()),
        }
    }
}
