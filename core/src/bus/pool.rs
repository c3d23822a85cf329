//! The pool of message bodies: a message is one reference to a body taken
//! from here, and the body comes back when its last reference goes.
//!
//! A queued message is then one pointer, cloned for each subscriber with
//! one reference count instead of one per shared part (topic, payload,
//! headers, reply inbox), and moved as eight bytes instead of eighty-eight.
//! Reusing bodies keeps a warm publish free of allocation: a body is
//! allocated only while more messages are alive at once than ever before
//! (the spare and up to [`KEEP`] more are kept for reuse), and when the
//! last reference to a message goes, its payload, headers and reply inbox
//! are released at once, so a kept body holds only the topic it last
//! carried, and the buffer for copied payloads.
//!
//! That buffer holds a borrowed payload of at most
//! [`COPY_KEEP`](super::COPY_KEEP) (1 KiB) copied into the body
//! (`publish_copied`, `publish_many_copied`: the C ABI and the bindings
//! that lend bytes), so a warm publish of one costs no `malloc` and
//! `free`; its capacity never exceeds `COPY_KEEP`, so the pool's memory is
//! bounded by `KEEP + 1` bodies of about a hundred bytes each plus 1 KiB
//! of buffer each: about 1.2 MiB.
//!
//! The pool is one for the process, not one per bus: a body belongs to no
//! bus, so it needs no pointer back to a pool (which its return would have
//! to clone, and which would tie a closed bus's memory to its messages),
//! and a closed bus leaves nothing of its own behind here.
//!
//! In front of the locked list is one spare body, handed over by a single
//! atomic swap each way: a publish that takes what the last receiver gave
//! back (one message in flight at a time, the common case of a consumer
//! that keeps up) never takes the list's lock, on either side.
//!
//! A batch takes the lock once for all its bodies instead: a batch publish
//! takes the bodies of a chunk of messages together ([`take_many`]), and a
//! batch receive that is done with its messages gives their bodies back
//! together ([`give_back_many`], through `Message::drop_all`), so 64
//! messages made and dropped take the lock twice, not about 126 times.

use crossbeam_utils::atomic::AtomicCell;
use parking_lot::Mutex;

use super::message::BodyArc;

/// The most free bodies the pool keeps in its list (the spare is one
/// more); a body returned past this is freed. Enough for every message of
/// a few full default queues in flight; a kept body costs about a hundred
/// bytes.
pub(crate) const KEEP: usize = 1024;

/// The body given back last, taken first: an `Option<Arc<_>>` is one
/// pointer, which `AtomicCell` swaps without a lock.
static SPARE: AtomicCell<Option<BodyArc>> = AtomicCell::new(None);

static FREE: Mutex<Vec<BodyArc>> = Mutex::new(Vec::new());

/// A kept body to fill, if there is one: the spare, or one from the list.
#[inline]
pub(crate) fn take() -> Option<BodyArc> {
    SPARE.take().or_else(take_listed)
}

/// [`take`] when there is no spare.
#[inline(never)]
fn take_listed() -> Option<BodyArc> {
    FREE.lock().pop()
}

/// Fills `bodies`, from the front, with as many kept bodies from the list
/// as it has, under one lock, then the spare if a slot is left: for the
/// messages of a batch. A slot left empty is a body to allocate.
#[inline(never)]
pub(crate) fn take_many(bodies: &mut [Option<BodyArc>]) {
    let mut free = FREE.lock();
    for slot in bodies.iter_mut() {
        *slot = free.pop();
        if slot.is_none() {
            drop(free);
            *slot = SPARE.take();
            return;
        }
    }
}

/// Keeps `body`, whose last reference this was, for reuse as the spare;
/// the spare it replaces goes to the list, or is freed when that is full.
///
/// The spare is one for the process, not one per thread: a thread-local
/// that owns a body needs a destructor, and a thread that first reaches the
/// pool while it exits (from a `pthread_key` destructor, after the
/// thread-locals' destructors ran) would register one that never runs,
/// losing the body (tests-c/test_shutdown.c).
#[inline]
pub(crate) fn give_back(body: BodyArc) {
    if let Some(earlier) = SPARE.swap(Some(body)) {
        keep(earlier);
    }
}

/// Keeps `body` in the shared list, or frees it when that is full.
#[inline(never)]
fn keep(body: BodyArc) {
    let mut free = FREE.lock();
    if free.len() < KEEP {
        free.push(body);
        return;
    }
    drop(free);
    let_go(body);
}

/// Keeps the bodies in `bodies`, whose last references they were, in the
/// list under one lock, as many as it has room for; those it has none for
/// stay in `bodies`, for the caller to free outside the lock.
#[inline(never)]
pub(crate) fn give_back_many(bodies: &mut [Option<BodyArc>]) {
    let mut free = FREE.lock();
    let room = KEEP.saturating_sub(free.len());
    free.extend(bodies.iter_mut().filter_map(Option::take).take(room));
}

/// Frees a body the pool has no room for, out of the common path.
#[cold]
#[inline(never)]
fn let_go(body: BodyArc) {
    drop(body);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::bus::{Bus, BusLimits, Message, SubscribeOptions, COPY_KEEP};

    /// Many more messages alive at once than the pool keeps: once they are
    /// all gone, the pool holds at most `KEEP` bodies, and none of them
    /// holds a payload.
    #[test]
    fn keeps_a_bounded_number_of_bodies() {
        let bus = Bus::new(BusLimits::default()).unwrap();
        let sub = bus.subscribe("t.x", SubscribeOptions::new().capacity(3 * KEEP)).unwrap();
        let payload: Arc<[u8]> = Arc::from(&[1u8; 32][..]);
        for _ in 0..3 * KEEP {
            bus.publish("t.x", Arc::clone(&payload), &[]).unwrap();
        }
        let held: Vec<_> = std::iter::from_fn(|| sub.try_recv().unwrap()).collect();
        assert_eq!(held.len(), 3 * KEEP);
        drop(held);
        assert!(FREE.lock().len() <= KEEP);
        assert_eq!(Arc::strong_count(&payload), 1, "a kept body holds no payload");
    }

    /// Copied payloads of every length up to twice `COPY_KEEP`, many
    /// alive at once: once they are gone, no kept body's buffer is longer
    /// than `COPY_KEEP`, so the pool's memory stays bounded.
    #[test]
    fn kept_buffers_are_bounded() {
        let bus = Bus::new(BusLimits::default()).unwrap();
        let sub = bus.subscribe("t.x", SubscribeOptions::new().capacity(4 * COPY_KEEP)).unwrap();
        let bytes = vec![5u8; 2 * COPY_KEEP];
        bus.publish_many_copied("t.x", (0..=2 * COPY_KEEP).map(|n| &bytes[..n]), &[]).unwrap();
        let held: Vec<_> = std::iter::from_fn(|| sub.try_recv().unwrap()).collect();
        assert!(held.iter().enumerate().all(|(n, m)| m.payload() == &bytes[..n]));
        drop(held);
        let free = FREE.lock();
        assert!(!free.is_empty());
        assert!(free.iter().all(|body| body.kept_capacity() <= COPY_KEEP));
    }

    /// A received batch dropped together, far longer than the pool keeps:
    /// the pool holds at most `KEEP` bodies after it, none of them holding
    /// a payload, and a message of the batch still held elsewhere keeps its
    /// body and what it carries.
    #[test]
    fn a_batch_dropped_together_keeps_a_bounded_number_of_bodies() {
        let bus = Bus::new(BusLimits::default()).unwrap();
        let sub = bus.subscribe("t.x", SubscribeOptions::new().capacity(3 * KEEP)).unwrap();
        let payload: Arc<[u8]> = Arc::from(&[1u8; 32][..]);
        bus.publish_many("t.x", (0..3 * KEEP).map(|_| Arc::clone(&payload)), &[]).unwrap();
        let mut held = Vec::new();
        assert_eq!(sub.try_recv_many_into(&mut held, 3 * KEEP).unwrap(), 3 * KEEP);
        let still = held[5].clone();
        Message::drop_all(&mut held);
        assert!(held.is_empty());
        assert!(FREE.lock().len() <= KEEP);
        assert_eq!(Arc::strong_count(&payload), 2, "only the message still held has the payload");
        assert_eq!((still.seq(), still.topic(), still.payload()), (6, "t.x", &payload[..]));
        drop(still);
        assert_eq!(Arc::strong_count(&payload), 1);
    }

    /// Batches published into bodies taken together, each batch dropped
    /// together before the next: every message carries its own payload and
    /// number, whichever body it was given.
    #[test]
    fn bodies_taken_together_carry_their_own_messages() {
        let bus = Bus::new(BusLimits::default()).unwrap();
        let sub = bus.subscribe("t.x", SubscribeOptions::new()).unwrap();
        let mut got = Vec::new();
        for round in 0..4u64 {
            let payloads = (0..100u64).map(|i| (round * 100 + i).to_le_bytes().to_vec());
            bus.publish_many("t.x", payloads, &[]).unwrap();
            assert_eq!(sub.try_recv_many_into(&mut got, 100).unwrap(), 100);
            for m in &got {
                assert_eq!(m.payload(), (m.seq() - 1).to_le_bytes());
            }
            Message::drop_all(&mut got);
        }
    }
}
