//! The replay state of a verifying durable import: which sealed messages
//! it has delivered, so that a stored copy of one (re-published into the
//! stream, or offered again by a server that lies) is never delivered a
//! second time, without the live window's "nothing older than the skew,
//! nothing sealed before I started" (docs/formats.md, "Stored messages").
//!
//! A sealed message is known by its **seal id**: 64 bits of SHA-256 over
//! its sender (holder principal, origin) and sequence number, the identity
//! the proof covers. Two parts say what was delivered:
//! * the **seal floor**, a time: nothing sealed before it is delivered any
//!   more. It rises as the consumer's acknowledgement floor does: once
//!   every stream message up to the floor is acknowledged, whatever the
//!   stream stores later was sealed no earlier than the newest of them
//!   less the skew (messages reach a stream in the order of their seal
//!   times, up to the skew, as live traffic reaches a receiver);
//! * the ids delivered that were sealed at or after the floor.
//!
//! The application commits both with its results (the largest
//! `Charter-Seal-Floor` it handled, and the `Charter-Seal-Id`s of what it
//! handled sealed at or after it), so a restarted import refuses what the
//! last run delivered with nothing but the application's own store: no
//! file of the bridge's that a host could edit, nothing taken from the
//! untrusted server. Ids given at start are kept for the whole run (their
//! seal times are not known); those delivered in the run are forgotten
//! once the floor passes their seal time. Both are bounded by
//! [`MAX_SEALED`]: the committed list is refused beyond it at start, and a
//! full run raises the floor past its oldest id (what is then refused as
//! sealed before the floor is counted as `stale`).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use ring::digest::{Context, SHA256};

use charter_core::capability::PrincipalId;

/// The most seal ids a durable import remembers, committed ones and those
/// delivered in a run each.
pub const MAX_SEALED: usize = 1 << 20;

/// The domain separation string of a seal id.
const ID_CONTEXT: &[u8] = b"charter/bridge-seal-id/v1\0";

/// The seal id of message `seq` from `origin` sealed by `principal`: the
/// first 8 bytes, big-endian, of SHA-256(context || principal || origin || seq).
pub fn seal_id(principal: &PrincipalId, origin: &[u8; 16], seq: u64) -> u64 {
    let mut context = Context::new(&SHA256);
    context.update(ID_CONTEXT);
    context.update(principal.as_bytes());
    context.update(origin);
    context.update(&seq.to_be_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&context.finish().as_ref()[..8]);
    u64::from_be_bytes(first)
}

/// What a verifying durable import has delivered.
pub(crate) struct SealedReplay {
    /// Nothing sealed before this time (ms) is delivered.
    floor_ms: u64,
    /// Ids the application committed: delivered by an earlier run.
    committed: HashSet<u64>,
    /// Ids delivered in this run, sealed at or after the floor...
    delivered: HashSet<u64>,
    /// ...and the same, by seal time, so the floor can forget them.
    by_time: BTreeSet<(u64, u64)>,
    /// Seal times of messages delivered in this run, by stream sequence,
    /// until the acknowledgement floor passes them.
    unfloored: BTreeMap<u64, u64>,
    /// At most this many ids delivered (and times unfloored) are kept.
    limit: usize,
}

/// Why a stored message is not new.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Sealed before the floor: delivered or too old to tell.
    BeforeFloor(u64),
    /// Its id was delivered.
    Delivered,
}

impl SealedReplay {
    /// The state a run starts from: the application's committed floor and
    /// ids (at most [`MAX_SEALED`], checked by the options).
    pub(crate) fn new(floor_ms: u64, committed: &[u64]) -> SealedReplay {
        SealedReplay::with_limit(floor_ms, committed, MAX_SEALED)
    }

    fn with_limit(floor_ms: u64, committed: &[u64], limit: usize) -> SealedReplay {
        SealedReplay {
            floor_ms,
            committed: committed.iter().copied().collect(),
            delivered: HashSet::new(),
            by_time: BTreeSet::new(),
            unfloored: BTreeMap::new(),
            limit: limit.max(1),
        }
    }

    /// The floor each delivered message carries (`Charter-Seal-Floor`).
    pub(crate) fn floor_ms(&self) -> u64 {
        self.floor_ms
    }

    /// Whether the message `id` sealed at `time_ms` may be delivered.
    pub(crate) fn check(&self, id: u64, time_ms: u64) -> Result<(), Seen> {
        if time_ms < self.floor_ms {
            return Err(Seen::BeforeFloor(self.floor_ms));
        }
        if self.committed.contains(&id) || self.delivered.contains(&id) {
            return Err(Seen::Delivered);
        }
        Ok(())
    }

    /// Records that stream message `stream_seq`, `id` sealed at `time_ms`,
    /// was delivered at `now_ms`. The floor counts its time as no later
    /// than `now_ms`: a holder sealing into the future (within the skew)
    /// cannot push the floor past honest messages sealed before now.
    pub(crate) fn delivered(&mut self, stream_seq: u64, id: u64, time_ms: u64, now_ms: u64) {
        if self.delivered.len() >= self.limit {
            if let Some(&(oldest, _)) = self.by_time.first() {
                self.raise_floor(oldest.saturating_add(1));
            }
        }
        if self.delivered.insert(id) {
            self.by_time.insert((time_ms, id));
        }
        if self.unfloored.len() >= self.limit {
            // Forgetting a time only keeps the floor lower: more ids kept.
            self.unfloored.pop_first();
        }
        self.unfloored.insert(stream_seq, time_ms.min(now_ms));
    }

    /// The consumer's acknowledgement floor is `ack_floor`: every stream
    /// message at or below it is acknowledged, so what comes later was
    /// sealed no earlier than the newest of them less `skew_ms`.
    pub(crate) fn acknowledged_through(&mut self, ack_floor: u64, skew_ms: u64) {
        let above = self.unfloored.split_off(&ack_floor.saturating_add(1));
        let passed = std::mem::replace(&mut self.unfloored, above);
        if let Some(newest) = passed.into_values().max() {
            self.raise_floor(newest.saturating_sub(skew_ms));
        }
    }

    fn raise_floor(&mut self, floor_ms: u64) {
        if floor_ms <= self.floor_ms {
            return;
        }
        self.floor_ms = floor_ms;
        let kept = self.by_time.split_off(&(floor_ms, 0));
        for (_, id) in std::mem::replace(&mut self.by_time, kept) {
            self.delivered.remove(&id);
        }
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.delivered.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use charter_core::capability::KeyPair;

    #[test]
    fn a_delivered_id_is_refused_until_the_floor_passes_its_time() {
        let mut state = SealedReplay::new(1_000, &[7]);
        assert_eq!(state.check(7, 5_000), Err(Seen::Delivered), "committed by the application");
        assert_eq!(state.check(8, 999), Err(Seen::BeforeFloor(1_000)));
        assert_eq!(state.check(8, 1_000), Ok(()));
        state.delivered(10, 8, 1_000, 1_000);
        state.delivered(11, 9, 4_000, 4_000);
        assert_eq!(state.check(8, 1_000), Err(Seen::Delivered));
        // Stream messages through 10 are acknowledged: later ones were
        // sealed no earlier than 1,000 less the skew.
        state.acknowledged_through(10, 500);
        assert_eq!(state.floor_ms(), 1_000, "the floor never falls");
        state.acknowledged_through(11, 500);
        assert_eq!(state.floor_ms(), 3_500);
        assert_eq!(state.remembered(), 1, "id 8 is below the floor now, and forgotten");
        assert_eq!(state.check(8, 1_000), Err(Seen::BeforeFloor(3_500)));
        assert_eq!(state.check(9, 4_000), Err(Seen::Delivered));
        assert_eq!(state.check(7, 5_000), Err(Seen::Delivered), "committed ids last the run");
        // Sealed in the future (within the skew): its time counts as now.
        state.delivered(12, 10, 9_000, 5_000);
        state.acknowledged_through(12, 500);
        assert_eq!(state.floor_ms(), 4_500);
        assert_eq!(state.check(10, 9_000), Err(Seen::Delivered));
    }

    #[test]
    fn a_full_state_raises_its_floor_past_the_oldest() {
        let mut state = SealedReplay::with_limit(0, &[], 64);
        for i in 0..64 {
            state.delivered(i + 1, i, 100 + i, 1 << 40);
        }
        assert_eq!(state.floor_ms(), 0);
        state.delivered(u64::MAX, u64::MAX, 1 << 40, 1 << 40);
        assert_eq!(state.floor_ms(), 101, "past the oldest time");
        assert_eq!(state.remembered(), 64);
        assert_eq!(state.check(0, 100), Err(Seen::BeforeFloor(101)));
        assert_eq!(state.check(1, 101), Err(Seen::Delivered));
    }

    #[test]
    fn the_id_depends_on_every_part_of_the_identity() {
        let a = KeyPair::generate().unwrap().principal();
        let b = KeyPair::generate().unwrap().principal();
        let id = seal_id(&a, &[1; 16], 5);
        assert_eq!(id, seal_id(&a, &[1; 16], 5));
        assert_ne!(id, seal_id(&b, &[1; 16], 5));
        assert_ne!(id, seal_id(&a, &[2; 16], 5));
        assert_ne!(id, seal_id(&a, &[1; 16], 6));
    }
}
