//! The match cache's shard: values keyed by a hash computed once, in an
//! open-addressed table probed linearly.
//!
//! A lookup is the publish's common path, and the standard map's probe
//! (SSE groups of control bytes, then the key) cost about 26 instructions
//! a hit; here a hit on its first slot costs a mask, a load and a compare.
//! The table needs none of a map's generality: keys are hashes already
//! spread by a keyed hash, entries are only inserted, replaced or all
//! cleared (never removed one by one, so probing needs no tombstones), and
//! the table is at most half full, so a probe always ends at an empty
//! slot.

/// A table of at most `limit` values keyed by `u64` hashes.
pub(crate) struct Hashed<V> {
    /// A power of two of slots (none until the first insert).
    slots: Box<[Option<(u64, V)>]>,
    len: usize,
}

impl<V> Hashed<V> {
    pub(crate) fn new() -> Hashed<V> {
        Hashed { slots: Box::new([]), len: 0 }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The slot of the value under `hash`, for [`at`](Self::at). Always
    /// inlined into the publish, through the cache's lookup.
    #[inline(always)]
    pub(crate) fn position(&self, hash: u64) -> Option<usize> {
        // With no slots the mask is all ones and the first `get` misses.
        let mask = self.slots.len().wrapping_sub(1);
        let mut at = hash as usize & mask;
        loop {
            let (key, _) = self.slots.get(at)?.as_ref()?;
            if *key == hash {
                return Some(at);
            }
            at = (at + 1) & mask;
        }
    }

    /// The value in slot `at`, if it holds one: one that
    /// [`position`](Self::position) gave, until the table next changes.
    #[inline(always)]
    pub(crate) fn at(&self, at: usize) -> Option<&V> {
        self.slots.get(at)?.as_ref().map(|(_, value)| value)
    }

    /// [`at`](Self::at), mutably: for a lock guard mapped to the value.
    #[inline(always)]
    pub(crate) fn at_mut(&mut self, at: usize) -> Option<&mut V> {
        self.slots.get_mut(at)?.as_mut().map(|(_, value)| value)
    }

    /// Puts `value` under `hash`, replacing the value there; a table
    /// holding `limit` other hashes is cleared first, so it never holds
    /// more than `limit`.
    pub(crate) fn insert(&mut self, hash: u64, value: V, limit: usize) {
        if let Some(slot @ Some(_)) = self.find(hash) {
            *slot = Some((hash, value));
            return;
        }
        if self.len >= limit {
            self.clear();
        }
        if 2 * (self.len + 1) > self.slots.len() {
            self.grow();
        }
        if let Some(slot) = self.find(hash) {
            *slot = Some((hash, value));
            self.len += 1;
        }
    }

    /// Drops every value, keeping the slots.
    pub(crate) fn clear(&mut self) {
        self.slots.iter_mut().for_each(|slot| *slot = None);
        self.len = 0;
    }

    /// The slot holding `hash`, or the empty slot where it would go; `None`
    /// only when there are no slots.
    fn find(&mut self, hash: u64) -> Option<&mut Option<(u64, V)>> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut at = hash as usize & mask;
        while self.slots[at].as_ref().is_some_and(|(key, _)| *key != hash) {
            at = (at + 1) & mask;
        }
        Some(&mut self.slots[at])
    }

    /// Doubles the slots (eight at first) and puts every value back.
    #[cold]
    fn grow(&mut self) {
        let count = (2 * self.slots.len()).max(8);
        let old = std::mem::replace(&mut self.slots, (0..count).map(|_| None).collect());
        for (hash, value) in old.into_vec().into_iter().flatten() {
            if let Some(slot) = self.find(hash) {
                *slot = Some((hash, value));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value under `hash`, copied out of the table.
    fn get(table: &Hashed<u64>, hash: u64) -> Option<u64> {
        table.at(table.position(hash)?).copied()
    }

    #[test]
    fn finds_replaces_and_bounds() {
        let mut table = Hashed::new();
        assert!(get(&table, 7).is_none());
        for hash in 0..100u64 {
            // Hashes that share their low bits probe past each other.
            table.insert(hash << 20, hash, 1000);
        }
        assert_eq!(table.len(), 100);
        assert!((0..100u64).all(|hash| get(&table, hash << 20) == Some(hash)));
        assert!(get(&table, 100 << 20).is_none());
        table.insert(5 << 20, 500, 1000);
        assert_eq!((get(&table, 5 << 20), table.len()), (Some(500), 100));
        // At the limit, a new hash clears the table; a present one does not.
        table.insert(6 << 20, 600, 100);
        assert_eq!(table.len(), 100);
        table.insert(1000, 1, 100);
        assert_eq!(table.len(), 1);
        assert_eq!((get(&table, 1000), get(&table, 6 << 20)), (Some(1), None));
        table.clear();
        assert!(get(&table, 1000).is_none());
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn stays_at_most_half_full() {
        let mut table = Hashed::new();
        for hash in 0..5000u64 {
            table.insert(hash.wrapping_mul(0x9e37_79b9_7f4a_7c15), hash, 512);
            assert!(2 * table.len() <= table.slots.len());
            assert!(table.len() <= 512);
        }
    }
}
