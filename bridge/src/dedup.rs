//! The stream sequence numbers a durable import has published and
//! acknowledged lately, so a redelivery (its acknowledgement was lost or
//! came after the ack wait) is acknowledged again instead of published
//! twice. Bounded: the oldest are forgotten first.

use std::collections::{HashSet, VecDeque};

pub(crate) struct Recent {
    seen: HashSet<u64>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl Recent {
    /// Remembers at most `capacity` (at least 1) sequence numbers.
    pub(crate) fn new(capacity: usize) -> Recent {
        let capacity = capacity.max(1);
        Recent { seen: HashSet::with_capacity(capacity), order: VecDeque::with_capacity(capacity), capacity }
    }

    pub(crate) fn contains(&self, seq: u64) -> bool {
        self.seen.contains(&seq)
    }

    pub(crate) fn insert(&mut self, seq: u64) {
        if !self.seen.insert(seq) {
            return;
        }
        if self.order.len() == self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        self.order.push_back(seq);
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    #[test]
    fn it_forgets_the_oldest_beyond_its_capacity() {
        let mut recent = Recent::new(2);
        recent.insert(1);
        recent.insert(2);
        recent.insert(2);
        assert!(recent.contains(1) && recent.contains(2));
        recent.insert(3);
        assert!(!recent.contains(1));
        assert!(recent.contains(2) && recent.contains(3));
    }
}
