//! The match cache: topic -> matching subscriptions, stamped with the
//! index generation it was computed at.
//!
//! Any subscribe or unsubscribe bumps the generation, which invalidates
//! every entry at once without touching them. A hit costs a hash, a
//! short uncontended lock and two reference-count increments, and
//! allocates nothing, so a warm publish allocates nothing either. The cache
//! is sharded so publishers of different topics rarely share a lock, and
//! bounded so hostile topic strings cannot grow it without limit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

const SHARDS: usize = 16;
/// Entries per shard; a full shard is cleared before the next insert.
const SHARD_CAPACITY: usize = 512;

pub(crate) struct MatchCache<T> {
    shards: [Mutex<HashMap<Box<str>, Entry<T>>>; SHARDS],
}

struct Entry<T> {
    generation: u64,
    topic: Arc<str>,
    targets: Arc<[T]>,
}

/// A cached topic and the targets that match it.
pub(crate) struct Hit<T> {
    pub(crate) topic: Arc<str>,
    pub(crate) targets: Arc<[T]>,
}

impl<T> MatchCache<T> {
    pub(crate) fn new() -> MatchCache<T> {
        MatchCache { shards: std::array::from_fn(|_| Mutex::new(HashMap::new())) }
    }

    /// The entry for `topic`, if it was computed at `generation`.
    pub(crate) fn get(&self, topic: &str, generation: u64) -> Option<Hit<T>> {
        let shard = self.shard(topic).lock().unwrap_or_else(PoisonError::into_inner);
        let entry = shard.get(topic).filter(|e| e.generation == generation)?;
        Some(Hit { topic: Arc::clone(&entry.topic), targets: Arc::clone(&entry.targets) })
    }

    /// Stores the targets of `topic` computed at `generation`.
    pub(crate) fn put(&self, topic: &str, generation: u64, targets: Vec<T>) -> Hit<T> {
        let hit = Hit { topic: Arc::from(topic), targets: Arc::from(targets) };
        let mut shard = self.shard(topic).lock().unwrap_or_else(PoisonError::into_inner);
        if shard.len() >= SHARD_CAPACITY && !shard.contains_key(topic) {
            shard.clear();
        }
        let entry = Entry { generation, topic: Arc::clone(&hit.topic), targets: Arc::clone(&hit.targets) };
        shard.insert(topic.into(), entry);
        hit
    }

    /// Drops every entry (the bus is closing: entries keep queues alive).
    pub(crate) fn clear(&self) {
        for shard in &self.shards {
            shard.lock().unwrap_or_else(PoisonError::into_inner).clear();
        }
    }

    fn shard(&self, topic: &str) -> &Mutex<HashMap<Box<str>, Entry<T>>> {
        // FNV-1a: only spreads topics over shards; each shard's map keeps
        // std's keyed hasher, so hostile topics cannot collide a shard.
        let hash = topic
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        &self.shards[(hash as usize) % SHARDS]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_only_at_the_same_generation() {
        let cache = MatchCache::new();
        assert!(cache.get("a.b", 1).is_none());
        cache.put("a.b", 1, vec![7u32]);
        assert_eq!(&*cache.get("a.b", 1).unwrap().targets, &[7]);
        assert_eq!(&*cache.get("a.b", 1).unwrap().topic, "a.b");
        assert!(cache.get("a.b", 2).is_none());
        cache.put("a.b", 2, vec![]);
        assert!(cache.get("a.b", 2).unwrap().targets.is_empty());
    }

    #[test]
    fn is_bounded() {
        let cache = MatchCache::new();
        for i in 0..100_000u32 {
            cache.put(&format!("t.{i}"), 1, vec![i]);
        }
        let total: usize = cache.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(total <= SHARDS * SHARD_CAPACITY, "{total}");
    }
}
