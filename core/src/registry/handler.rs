//! What a registration is: its id, its place in the firing order, and the
//! handler itself.
//!
//! Invariants: an [`Entry`] is never mutated after it is published except
//! for `live`, which only ever goes from `true` to `false`; `seq` is unique
//! within a registry and gives the registration order.

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};

/// Identifies one registration within one [`Registry`](super::Registry) or
/// [`AsyncRegistry`](super::AsyncRegistry).
///
/// An id mixes the registration's sequence number with a random key drawn
/// when its registry was made, so ids of different registries differ and
/// cannot be guessed from the order of registration: an id from another
/// registry, a stale id or a made-up number matches no registration (with
/// odds of about one in 2^53 per live handler). Ids are never reused within
/// a registry and always lie between 1 and 2^53 - 1, so they survive a trip
/// through a JavaScript number. They are names, not secrets: code holding
/// one id of a registry may be able to work out others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HandlerId(pub(crate) u64);

impl HandlerId {
    /// The id as a number, for the C ABI and the bindings.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The id with this number. An id that was never issued simply matches
    /// no registration.
    pub fn from_raw(raw: u64) -> HandlerId {
        HandlerId(raw)
    }
}

impl fmt::Display for HandlerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "handler#{}", self.0)
    }
}

/// Returned by a handler to report that it failed. The failure is counted in
/// [`NotifyReport::failed`](super::NotifyReport::failed); it never stops
/// the handlers after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HandlerError;

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("handler reported a failure")
    }
}

impl std::error::Error for HandlerError {}

/// What a handler returns.
pub type HandlerResult = Result<(), HandlerError>;

/// The largest id, and the mask that keeps ids within 53 bits.
const ID_MASK: u64 = (1 << 53) - 1;

/// Hands out a registry's ids: sequence numbers mixed with a per-registry
/// random key. XOR with a fixed key is a bijection on 53-bit numbers, so
/// distinct sequence numbers give distinct ids.
pub(crate) struct Ids {
    next_seq: u64,
    key: u64,
}

impl Ids {
    /// A fresh id space. The key comes from the standard library's
    /// randomly seeded SipHash keys, which are drawn from the operating
    /// system once per thread and differ for every `RandomState`.
    pub(crate) fn new() -> Ids {
        use std::hash::BuildHasher;
        let key = std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64) & ID_MASK;
        Ids { next_seq: 1, key }
    }

    /// The next registration's sequence number and id. Sequence numbers
    /// wrap after 2^53 registrations, which no program reaches (centuries
    /// at a million registrations a second).
    pub(crate) fn next(&mut self) -> (u64, HandlerId) {
        loop {
            let seq = self.next_seq;
            self.next_seq = (seq + 1) & ID_MASK;
            let id = seq ^ self.key;
            // 0 is not an id (bindings use it for "none").
            if id != 0 {
                return (seq, HandlerId(id));
            }
        }
    }
}

/// One registration.
///
/// The handler is stored inline and is sized: a closure is a
/// [`BoxedHandler`](super::BoxedHandler) (an unsized closure as the last
/// field would make every dispatch compute the field's offset from the
/// vtable's alignment, which costs more than the box's pointer load,
/// measured with callgrind, see docs/BENCHMARKS.md), while a handler type
/// of a fixed size, such as the C ABI's function and user data, is called
/// with no pointer to follow.
pub(crate) struct Entry<F> {
    pub(crate) id: HandlerId,
    /// Registration order; ids are not ordered.
    pub(crate) seq: u64,
    pub(crate) priority: i32,
    /// [`LIVE`], [`LIVE_ONCE`] or [`DEAD`]: one byte that says both whether
    /// to call the handler and whether it runs once (a round must win
    /// [`Entry::claim_once`] to call a run-once handler), so a round's common
    /// case is one load and one compare. Set to `DEAD` by `unregister` and
    /// `clear` before the new snapshot is published, so a round already in
    /// progress skips the handler, and by the round that claims a run-once
    /// handler. It never leaves `DEAD`.
    pub(crate) state: AtomicU8,
    pub(crate) handler: F,
}

/// A registered handler that every round calls.
pub(crate) const LIVE: u8 = 1;
/// A registered run-once handler that no round has claimed yet.
pub(crate) const LIVE_ONCE: u8 = 2;
/// Unregistered, cleared, or a run-once handler already claimed.
pub(crate) const DEAD: u8 = 0;

impl<F> Entry<F> {
    /// The state a registration starts in.
    pub(crate) fn initial_state(once: bool) -> AtomicU8 {
        AtomicU8::new(if once { LIVE_ONCE } else { LIVE })
    }

    /// Takes the registration out of every round that has not reached it.
    pub(crate) fn kill(&self) {
        self.state.store(DEAD, Ordering::Release);
    }

    /// Whether the calling round won this run-once handler's one call.
    #[inline]
    pub(crate) fn claim_once(&self) -> bool {
        self.state.compare_exchange(LIVE_ONCE, DEAD, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Firing order: higher priority first, then registration order.
    pub(crate) fn fires_before(&self, priority: i32, seq: u64) -> bool {
        (self.priority, std::cmp::Reverse(self.seq)) > (priority, std::cmp::Reverse(seq))
    }

    /// Whether the calling round should call this handler: a live
    /// handler, and for a run-once handler, only the one round that flips
    /// it from live to not live.
    #[inline]
    pub(crate) fn claim(&self) -> bool {
        match self.state.load(Ordering::Acquire) {
            LIVE => true,
            LIVE_ONCE => self.claim_once(),
            _ => false,
        }
    }
}
