//! Messages: what a publish hands to every matching subscription.

use std::fmt;
use std::sync::Arc;

pub(crate) use super::header_text::HeaderText;
use super::pool;

/// The longest borrowed payload a message copies into its body's kept
/// buffer; a longer one is copied into a shared buffer of its own, as
/// every payload was before. The bound keeps the pool's memory bounded:
/// a kept body holds a buffer of at most this many bytes.
pub const COPY_KEEP: usize = 1024;

/// A publish's payload, as the body takes it: a shared buffer to keep a
/// reference to, or borrowed bytes to copy. A trait rather than an enum
/// of the two, so that a publish knows which at compile time: the enum's
/// tag and its payload went through the stack from step to step of the
/// publish into the body, and were tested there.
pub(crate) trait Bytes {
    /// The bytes.
    fn as_slice(&self) -> &[u8];
    /// The bytes as a shared buffer, copied into one when borrowed: for a
    /// route's kept message (`dispatch`), which takes a shared buffer.
    fn into_shared(self) -> Arc<[u8]>;
    /// Puts the bytes in `body`, known to be clear.
    fn put(self, body: &mut Body);
}

impl Bytes for Arc<[u8]> {
    #[inline(always)]
    fn as_slice(&self) -> &[u8] {
        self
    }

    #[inline(always)]
    fn into_shared(self) -> Arc<[u8]> {
        self
    }

    /// The body is clear (see [`Body::fill`]), so its `shared` is `None`:
    /// the store forgets it rather than testing it for a buffer to
    /// release, as an assignment would (callgrind, `budget_loop bus 1`:
    /// 318 -> 306 instructions a publish and receive, the fan-out to 16
    /// 1,521 -> 1,494).
    #[inline(always)]
    fn put(self, body: &mut Body) {
        debug_assert!(body.shared.is_none(), "a body filled before it was cleared");
        std::mem::forget(body.shared.replace(self));
    }
}

impl Bytes for &[u8] {
    #[inline(always)]
    fn as_slice(&self) -> &[u8] {
        self
    }

    #[inline(always)]
    fn into_shared(self) -> Arc<[u8]> {
        Arc::from(self)
    }

    #[inline(always)]
    fn put(self, body: &mut Body) {
        body.copy(self);
    }
}

/// A payload handed to a publish, measured before it is taken: the
/// public `Payload` types, which the bus turns into a shared buffer, or a
/// borrowed slice the body copies (`publish_copied`). One generic path
/// for both, since the blanket [`Payload`](super::Payload) cannot tell a
/// borrowed slice from a shared buffer.
pub(crate) trait Carry<'a> {
    /// The payload once taken: a shared buffer or the borrowed slice, so
    /// that a batch's chunk of shared payloads stays one of pointers.
    type Taken: Bytes;
    /// The payload's length, checked before it is taken.
    fn len(&self) -> usize;
    /// The payload, taken once it is known to fit.
    fn taken(self) -> Self::Taken;
}

/// A [`Payload`](super::Payload) as given: shared, or turned into a
/// shared buffer.
pub(crate) struct Given<P>(pub(crate) P);

impl<P: super::Payload> Carry<'static> for Given<P> {
    type Taken = Arc<[u8]>;

    #[inline(always)]
    fn len(&self) -> usize {
        self.0.as_ref().len()
    }

    #[inline(always)]
    fn taken(self) -> Arc<[u8]> {
        self.0.into()
    }
}

/// A payload taken already (see `Bus::send`), passed on as it is.
pub(crate) struct Taken<B>(pub(crate) B);

impl<B: Bytes> Carry<'_> for Taken<B> {
    type Taken = B;

    #[inline(always)]
    fn len(&self) -> usize {
        self.0.as_slice().len()
    }

    #[inline(always)]
    fn taken(self) -> B {
        self.0
    }
}

/// A borrowed payload, copied into the body's kept buffer.
pub(crate) struct Copied<'a>(pub(crate) &'a [u8]);

impl<'a> Carry<'a> for Copied<'a> {
    type Taken = &'a [u8];

    #[inline(always)]
    fn len(&self) -> usize {
        self.0.len()
    }

    #[inline(always)]
    fn taken(self) -> &'a [u8] {
        self.0
    }
}

/// The shared reference to a body: `triomphe`'s `Arc`, which has no weak
/// references, so that `get_mut` (a body's uniqueness, tested when it is
/// released and again when it is taken for a publish) is one load of the
/// count rather than std's compare-exchange on the weak count and store
/// back: two atomic read-modify-writes fewer in every message's life,
/// in safe code (std's `Arc` cannot say "no weak references" without
/// the exchange, and a count of our own would need `unsafe`).
pub(crate) type BodyArc = triomphe::Arc<Body>;

/// One published message. Cloning it is cheap: a message is one shared
/// reference, so its topic, payload and headers are shared by every
/// subscriber, never copied per subscriber.
///
/// The reference is an `Option` only so that the last reference's drop
/// can move it into the pool (a drop has `&mut self` alone): a message
/// is vacant (`None`) only inside the queue's ring, where a vacant
/// message marks an empty slot, and while it is dropped; every message a
/// caller holds has its body. Moved, the reference needs no second one
/// for the pool and no count down of its own: two atomic
/// read-modify-writes fewer in every message's life.
#[derive(Clone)]
pub struct Message {
    body: Option<BodyArc>,
}

/// What a message holds, in a body of the [`pool`], reused once the
/// last reference to the message is gone.
pub(crate) struct Body {
    seq: u64,
    /// The bytes the message counts against a queue's byte limit,
    /// measured once per publish.
    size: usize,
    topic: Arc<str>,
    /// The payload when it is shared (given as a shared buffer, or copied
    /// but longer than [`COPY_KEEP`]); `None` while the body waits in the
    /// pool: a kept body does not hold on to a shared payload.
    shared: Option<Arc<[u8]>>,
    /// The payload when it was copied into this body (`shared` is then
    /// `None`): a buffer the body keeps, emptied, between publishes, so a
    /// warm publish of a borrowed payload copies without allocating. Its
    /// capacity never exceeds [`COPY_KEEP`].
    copied: Vec<u8>,
    headers: Option<HeaderText>,
    reply_to: Option<Arc<str>>,
}

impl Message {
    /// A message in a body of the pool: a kept one when there is one, so
    /// a warm publish allocates nothing. A kept body that last carried the
    /// same `topic` (the same `Arc`, from the match cache) keeps it without
    /// a count up and down. Always inlined: the publishes' common path,
    /// which a cold caller (`replace`) would otherwise take out of line.
    #[inline(always)]
    pub(crate) fn new(
        seq: u64,
        topic: &Arc<str>,
        payload: impl Bytes,
        headers: Option<HeaderText>,
        reply_to: Option<Arc<str>>,
    ) -> Message {
        let size = size_of(topic, payload.as_slice(), headers.as_ref());
        // A kept body is unshared once the message that returned it is gone
        // (see `recycle`): `get_mut` says so.
        if let Some(mut kept) = pool::take() {
            if let Some(body) = BodyArc::get_mut(&mut kept) {
                body.fill(seq, size, topic, payload, headers, reply_to);
                return Message { body: Some(kept) };
            }
        }
        let mut body = Body::empty(topic);
        body.fill(seq, size, topic, payload, headers, reply_to);
        Message { body: Some(BodyArc::new(body)) }
    }

    /// [`new`](Self::new) without headers or a reply inbox, the common
    /// publish: their empty values are not moved from step to step of the
    /// publish into the body (callgrind, `budget_loop bus 1` with a topic
    /// not known at compile time: 421 -> 407 instructions).
    #[inline(always)]
    pub(crate) fn bare(seq: u64, topic: &Arc<str>, payload: impl Bytes) -> Message {
        let size = topic.len() + payload.as_slice().len();
        if let Some(mut kept) = pool::take() {
            if let Some(body) = BodyArc::get_mut(&mut kept) {
                body.fill_bare(seq, size, topic, payload);
                return Message { body: Some(kept) };
            }
        }
        Message::fresh(seq, size, topic, payload)
    }

    /// A bare message in a new body (the pool had none to give), out of
    /// line.
    #[inline(never)]
    fn fresh(seq: u64, size: usize, topic: &Arc<str>, payload: impl Bytes) -> Message {
        let mut body = Body::empty(topic);
        body.fill_bare(seq, size, topic, payload);
        Message { body: Some(BodyArc::new(body)) }
    }

    /// [`new`](Self::new) in `kept`, a body taken from the pool already
    /// (a batch takes its messages' bodies together). A separate function
    /// rather than `new` given an optional body: that form cost the single
    /// publish 12 instructions (`budget_loop bus 1`: 444 -> 456).
    #[inline(always)]
    pub(crate) fn in_body(
        mut kept: BodyArc,
        seq: u64,
        topic: &Arc<str>,
        payload: impl Bytes,
        headers: Option<HeaderText>,
    ) -> Message {
        // Unshared once the message that returned it is gone (see `recycle`).
        match BodyArc::get_mut(&mut kept) {
            Some(body) => {
                let size = size_of(topic, payload.as_slice(), headers.as_ref());
                body.fill(seq, size, topic, payload, headers, None);
                Message { body: Some(kept) }
            }
            None => Message::new(seq, topic, payload, headers, None),
        }
    }

    /// Makes this message the one of a new publish: in place when no other
    /// reference to it is left, else in a body from the pool. For a message
    /// kept between publishes (see `dispatch::Spare`).
    #[inline]
    pub(crate) fn renew(
        &mut self,
        seq: u64,
        topic: &Arc<str>,
        payload: Arc<[u8]>,
        headers: Option<HeaderText>,
        reply_to: Option<Arc<str>>,
    ) {
        match self.body.as_mut().and_then(BodyArc::get_mut) {
            Some(body) => {
                let size = size_of(topic, payload.as_slice(), headers.as_ref());
                body.fill(seq, size, topic, payload, headers, reply_to)
            }
            None => self.replace(seq, topic, payload, headers, reply_to),
        }
    }

    /// [`renew`](Self::renew) of a message still shared, out of line so
    /// that the publishes inlining `new` keep it inlined.
    #[cold]
    #[inline(never)]
    fn replace(
        &mut self,
        seq: u64,
        topic: &Arc<str>,
        payload: Arc<[u8]>,
        headers: Option<HeaderText>,
        reply_to: Option<Arc<str>>,
    ) {
        *self = Message::new(seq, topic, payload, headers, reply_to);
    }

    /// Releases the payload, headers and reply inbox at once, as the last
    /// reference's drop does, if this is the last reference; says whether.
    #[inline]
    pub(crate) fn release(&mut self) -> bool {
        self.body.as_mut().and_then(BodyArc::get_mut).map(Body::clear).is_some()
    }

    /// A vacant message: the mark of an empty slot of the queue's ring
    /// (`fifo`), never handed to a caller.
    #[inline(always)]
    pub(crate) const fn vacant() -> Message {
        Message { body: None }
    }

    /// Whether this is a [`vacant`](Self::vacant) message.
    #[inline(always)]
    pub(crate) fn is_vacant(&self) -> bool {
        self.body.is_none()
    }

    /// This message, or `None` when it is vacant.
    #[inline(always)]
    pub(crate) fn occupied(self) -> Option<Message> {
        if self.is_vacant() {
            None
        } else {
            Some(self)
        }
    }

    /// The body. Every message outside the ring's empty slots has one;
    /// a vacant message is never read, so the panic is unreachable.
    #[inline]
    fn body(&self) -> &Body {
        match &self.body {
            Some(body) => body,
            None => unreachable!("a vacant message was read"),
        }
    }

    /// The bus-wide sequence number: increasing in publish order.
    pub fn seq(&self) -> u64 {
        self.body().seq
    }

    /// The topic it was published on.
    pub fn topic(&self) -> &str {
        &self.body().topic
    }

    /// The payload bytes.
    pub fn payload(&self) -> &[u8] {
        let body = self.body();
        match &body.shared {
            Some(shared) => shared,
            None => &body.copied,
        }
    }

    /// The payload as a shared buffer, to keep or republish without
    /// copying. A payload the publisher lent (a borrowed slice through the
    /// C ABI or a binding) was copied into the message's body, and is
    /// copied again into a new buffer here.
    pub fn shared_payload(&self) -> Arc<[u8]> {
        match &self.body().shared {
            Some(payload) => Arc::clone(payload),
            None => Arc::from(self.payload()),
        }
    }

    /// The checked text of the headers, for a batch to share with the
    /// next message that gives the same ones.
    pub(crate) fn header_text(&self) -> Option<&HeaderText> {
        self.body().headers.as_ref()
    }

    /// The headers, in the order they were given.
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        HeaderText::iter(self.body().headers.as_ref())
    }

    /// The value of the first header called `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// The reply inbox of a request, if this message is one.
    pub fn reply_to(&self) -> Option<&str> {
        self.body().reply_to.as_deref()
    }

    /// The bytes this message counts against a queue's byte limit.
    #[inline]
    pub(crate) fn size(&self) -> usize {
        self.body().size
    }
}

impl Drop for Message {
    /// The last reference returns the body to the pool, releasing the
    /// payload, headers and reply inbox at once; any other reference is
    /// one count down, decided in line. Two last references dropped at the
    /// same instant on two threads may each see the other: then the body
    /// is freed rather than kept, and the pool allocates another later
    /// (never a wrong count, and never a body reused while it is read).
    /// The test is a relaxed load: a stale count only sends the last
    /// reference down the count-down path, and the body is reused only
    /// after `get_mut`'s acquire load (in `recycle`) finds it unshared.
    #[inline]
    fn drop(&mut self) {
        if self.body.as_ref().is_some_and(|body| BodyArc::strong_count(body) == 1) {
            self.recycle();
        }
    }
}

impl Message {
    /// [`drop`](Drop::drop) of the last reference: the reference itself
    /// moves into the pool, leaving the message vacant, so neither a second
    /// reference for the pool nor this one's count down is needed.
    #[inline(never)]
    fn recycle(&mut self) {
        if let Some(body) = self.take_released() {
            pool::give_back(body);
        }
    }

    /// Drops this message and returns its body, released, when this was
    /// its last reference, for the pool to keep with others of a batch
    /// (`pool::give_back_many`).
    #[inline]
    pub(crate) fn into_body(mut self) -> Option<BodyArc> {
        self.take_released()
    }

    /// The body, released and moved out (the message left vacant), when
    /// this is its last reference.
    #[inline(always)]
    fn take_released(&mut self) -> Option<BodyArc> {
        if self.release() {
            self.body.take()
        } else {
            None
        }
    }
}

/// The bytes a message counts against a queue's byte limit.
#[inline]
fn size_of(topic: &str, payload: &[u8], headers: Option<&HeaderText>) -> usize {
    topic.len() + payload.len() + headers.map_or(0, HeaderText::bytes)
}

impl Body {
    /// Makes this body, known to be clear, the one of a new publish. Both
    /// callers' bodies are: the pool takes only released bodies, and a
    /// route's kept message is released after each publish or dropped
    /// (`dispatch::Claimed`). Most messages have neither headers nor a
    /// reply inbox, and then write nothing there.
    #[inline(always)]
    fn fill(
        &mut self,
        seq: u64,
        size: usize,
        topic: &Arc<str>,
        payload: impl Bytes,
        headers: Option<HeaderText>,
        reply_to: Option<Arc<str>>,
    ) {
        self.fill_bare(seq, size, topic, payload);
        if headers.is_some() || reply_to.is_some() {
            self.headers = headers;
            self.reply_to = reply_to;
        }
    }

    /// [`fill`](Self::fill) without headers or a reply inbox.
    #[inline(always)]
    fn fill_bare(&mut self, seq: u64, size: usize, topic: &Arc<str>, payload: impl Bytes) {
        self.seq = seq;
        self.size = size;
        if !Arc::ptr_eq(&self.topic, topic) {
            self.topic = Arc::clone(topic);
        }
        payload.put(self);
    }

    /// Copies `bytes` into the kept buffer, empty in a clear body, when
    /// they fit in [`COPY_KEEP`]: growing it to the next power of two (at
    /// most `COPY_KEEP`), so a body reallocates at most a few times
    /// however its payloads' lengths vary. Longer bytes get a shared
    /// buffer of their own.
    #[inline]
    fn copy(&mut self, bytes: &[u8]) {
        if bytes.len() > COPY_KEEP {
            self.shared = Some(Arc::from(bytes));
            return;
        }
        if self.copied.capacity() < bytes.len() {
            self.copied.reserve_exact(bytes.len().next_power_of_two().min(COPY_KEEP));
        }
        self.copied.extend_from_slice(bytes);
    }

    /// The capacity of the buffer kept for copied payloads.
    #[cfg(test)]
    pub(crate) fn kept_capacity(&self) -> usize {
        self.copied.capacity()
    }

    /// A clear body for `topic`, to fill.
    fn empty(topic: &Arc<str>) -> Body {
        Body {
            seq: 0,
            size: 0,
            topic: Arc::clone(topic),
            shared: None,
            copied: Vec::new(),
            headers: None,
            reply_to: None,
        }
    }

    #[inline]
    fn clear(&mut self) {
        // Released in place: taken out first, the payload's two words went
        // through the stack for its drop's slow path (callgrind).
        self.shared = None;
        self.copied.clear();
        if self.headers.is_some() | self.reply_to.is_some() {
            self.clear_extras();
        }
    }

    /// Releases the headers and reply inbox, out of line: inlined, their
    /// releases kept two more registers saved and restored around every
    /// last reference's drop, though most messages have neither
    /// (callgrind, `budget_loop bus 1`).
    #[cold]
    #[inline(never)]
    fn clear_extras(&mut self) {
        self.headers = None;
        self.reply_to = None;
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("seq", &self.seq())
            .field("topic", &self.topic())
            .field("payload_len", &self.payload().len())
            .field("headers", &self.headers().len())
            .field("reply_to", &self.reply_to())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::thread;

    use crate::bus::{Bus, BusLimits, SubscribeOptions};

    #[test]
    fn the_last_reference_releases_the_payload_at_once() {
        let bus = Bus::new(BusLimits::default()).unwrap();
        let payload: Arc<[u8]> = Arc::from(&b"kept until the last receiver is done"[..]);
        let a = bus.subscribe("t.x", SubscribeOptions::new()).unwrap();
        let b = bus.subscribe("t.x", SubscribeOptions::new()).unwrap();
        bus.publish("t.x", Arc::clone(&payload), &[("k", "v")]).unwrap();
        let first = a.try_recv().unwrap().unwrap();
        assert_eq!(Arc::strong_count(&payload), 2);
        drop(first);
        assert_eq!(Arc::strong_count(&payload), 2, "b still has it queued");
        let second = b.try_recv().unwrap().unwrap();
        let copy = second.clone();
        drop(second);
        assert_eq!(copy.payload(), &payload[..]);
        assert_eq!(copy.header("k"), Some("v"));
        drop(copy);
        assert_eq!(Arc::strong_count(&payload), 1);
    }

    #[test]
    fn a_reused_body_never_changes_a_live_message() {
        let bus = Bus::new(BusLimits::default()).unwrap();
        let sub = bus.subscribe("t.>", SubscribeOptions::new()).unwrap();
        bus.publish("t.first", &b"one"[..], &[]).unwrap();
        let held = sub.try_recv().unwrap().unwrap();
        let also = held.clone();
        for i in 0..100u32 {
            bus.publish("t.other", &i.to_le_bytes()[..], &[("n", "1")]).unwrap();
            let m = sub.try_recv().unwrap().unwrap();
            assert_eq!(m.payload(), i.to_le_bytes());
            assert_eq!(m.topic(), "t.other");
        }
        drop(also);
        for _ in 0..10 {
            bus.publish("t.again", &b"x"[..], &[]).unwrap();
            drop(sub.try_recv().unwrap().unwrap());
        }
        assert_eq!((held.topic(), held.payload(), held.headers().len()), ("t.first", &b"one"[..], 0));
        assert_eq!(held.seq(), 1);
    }

    /// A bare publish (no headers, no reply inbox) into a body that last
    /// carried both carries neither.
    #[test]
    fn a_bare_message_in_a_reused_body_has_no_headers_or_inbox() {
        let bus = Bus::new(BusLimits::default()).unwrap();
        let sub = bus.subscribe("t.>", SubscribeOptions::new()).unwrap();
        for _ in 0..3 {
            let _inbox = bus.request_start("t.ask", &b"q"[..], &[("k", "v")]).unwrap();
            let asked = sub.try_recv().unwrap().unwrap();
            assert_eq!((asked.header("k"), asked.reply_to().is_some()), (Some("v"), true));
            drop(asked);
            bus.publish("t.bare", &b"b"[..], &[]).unwrap();
            let bare = sub.try_recv().unwrap().unwrap();
            assert_eq!((bare.topic(), bare.payload(), bare.headers().len()), ("t.bare", &b"b"[..], 0));
            assert_eq!(bare.reply_to(), None);
        }
    }

    /// Copied payloads live in their bodies' kept buffers: a message
    /// still held keeps its bytes while others are copied into reused
    /// bodies, a copied payload's `shared_payload` is a copy of the same
    /// bytes, and one longer than `COPY_KEEP` is carried whole.
    #[test]
    fn copied_payloads_stay_with_their_messages() {
        let bus = Bus::new(BusLimits::default()).unwrap();
        let sub = bus.subscribe("t.>", SubscribeOptions::new()).unwrap();
        bus.publish_copied("t.first", b"held", &[]).unwrap();
        let held = sub.try_recv().unwrap().unwrap();
        for i in 0..100u32 {
            bus.publish_many_copied("t.n", [&i.to_le_bytes()[..], &[7u8; 300][..]], &[]).unwrap();
            let m = sub.try_recv().unwrap().unwrap();
            assert_eq!((m.payload(), &m.shared_payload()[..]), (&i.to_le_bytes()[..], &i.to_le_bytes()[..]));
            assert_eq!(sub.try_recv().unwrap().unwrap().payload(), [7u8; 300]);
        }
        let long = vec![3u8; super::COPY_KEEP + 1];
        bus.publish_copied("t.long", &long, &[]).unwrap();
        assert_eq!(sub.try_recv().unwrap().unwrap().payload(), &long[..]);
        assert_eq!((held.topic(), held.payload(), held.seq()), ("t.first", &b"held"[..], 1));
    }

    #[test]
    fn a_message_outlives_its_bus() {
        let bus = Bus::new(BusLimits::default()).unwrap();
        let sub = bus.subscribe("t.x", SubscribeOptions::new()).unwrap();
        bus.request_start("t.x", &b"ask"[..], &[]).unwrap();
        let request = sub.try_recv().unwrap().unwrap();
        drop(sub);
        bus.close();
        drop(bus);
        assert_eq!(request.payload(), b"ask");
        assert!(request.reply_to().unwrap().starts_with("_charter.inbox."));
    }

    /// Messages received and dropped on other threads than their
    /// publisher's, all at once, each checked against its sequence
    /// number: a body comes back only from its last reference.
    #[test]
    fn bodies_cross_threads_intact() {
        let bus = Bus::new(BusLimits::default()).unwrap();
        let subs: Vec<_> = (0..4)
            .map(|_| bus.subscribe("t.x", SubscribeOptions::new().capacity(100_000)).unwrap())
            .collect();
        const N: u64 = 5_000;
        let receivers: Vec<_> = subs
            .into_iter()
            .map(|sub| {
                thread::spawn(move || {
                    let mut got = 0;
                    while got < N {
                        let m = sub.recv().unwrap();
                        assert_eq!(m.payload(), m.seq().to_le_bytes());
                        got += 1;
                    }
                })
            })
            .collect();
        for _ in 0..N {
            // The payload is the message's own sequence number: publishes
            // from this one thread are numbered in order.
            let next = bus.stats().published + 1;
            bus.publish("t.x", &next.to_le_bytes()[..], &[]).unwrap();
        }
        for r in receivers {
            r.join().unwrap();
        }
    }
}
