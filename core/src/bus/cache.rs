//! The match cache: topic -> matching subscriptions.
//!
//! Any subscribe or unsubscribe changes the index, bumps its generation
//! and then clears every shard; closing the bus marks it closed first. A
//! route is cached only if, under its shard's lock, it is still current
//! (for the bus: the generation it was computed at, and the bus open): an
//! index change or close that came after it either clears it with its
//! shard or is seen, so no stale route survives a clear, a hit needs no
//! generation of its own to compare, and a closed bus's cache stays
//! empty. A hit costs a short uncontended lock, and allocates nothing, so
//! a warm publish allocates nothing either: a publish to plain queues
//! delivers under that lock, borrowing the route; any other takes one
//! reference to it (a topic and its targets are one shared [`Hit`]) and
//! lets the lock go. The cache
//! is sharded so publishers of different topics rarely share a lock, and
//! bounded so hostile topic strings cannot grow it without limit.
//!
//! The hash is the cache's own ([`super::words`]): a topic folded into
//! one word by unkeyed multiplies, 16 bytes a round, then that word and
//! two keys drawn per cache by one keyed multiply, as rustc-hash's seeded
//! Fx (used before) took its seed last. On a 20-byte topic known only at
//! run time it costs about 23 instructions against Fx's 37, and the
//! compiler still folds all but the keyed multiply for a literal. It is
//! not built to resist chosen collisions, and need not be: a hash holds
//! one entry, and a topic whose hash another topic holds replaces it (the
//! two then take turns missing, and a miss walks the index). So hostile
//! topics cost one comparison per lookup and can keep only their own
//! topics out of the cache, which publishing many distinct topics
//! (clearing shards) could do anyway; the keys keep them from choosing
//! which slots and shard their hashes fall in, so they cannot lengthen
//! other topics' probes. A reserved topic (the library's reply inboxes)
//! is never cached: a hit is known to be an unreserved, valid topic.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::ops::Deref;
use std::sync::Arc;

use parking_lot::{MappedMutexGuard, Mutex, MutexGuard};

use super::dispatch::Spare;
use super::hashed::Hashed;
use super::words::{same, TopicHasher};

const SHARDS: usize = 16;
/// Topics per shard; a full shard is cleared before the next insert.
const SHARD_CAPACITY: usize = 512;

/// Maps a topic's hash to the last topic cached with that hash, so a
/// lookup hashes the topic once.
type Shard<T> = Hashed<Hit<T>>;

pub(crate) struct MatchCache<T> {
    hasher: TopicHasher,
    shards: [Mutex<Shard<T>>; SHARDS],
}

/// A cached topic and the targets that match it, shared by one reference.
pub(crate) type Hit<T> = Arc<Route<T>>;

/// A cached route borrowed under its shard's lock (see [`MatchCache::get`]):
/// the shard's guard mapped to the route's slot, so that each look at the
/// route reads it through the guard's pointer. A guard of the whole shard
/// and the slot's index, as this was, found the slot again on each look,
/// a bounds test and a test that it holds a route, which the publish's
/// atomic operations kept the compiler from sharing with the lookup's
/// (callgrind, `budget_loop bus-runtime 1`).
pub(crate) struct Held<'a, T>(MappedMutexGuard<'a, Hit<T>>);

impl<T> Deref for Held<'_, T> {
    type Target = Hit<T>;

    #[inline(always)]
    fn deref(&self) -> &Hit<T> {
        &self.0
    }
}

pub(crate) struct Route<T> {
    pub(crate) topic: Arc<str>,
    pub(crate) targets: Box<[T]>,
    /// Every target is a plain queue (no handler, no session, no idle
    /// eviction): the publish offers to each without testing it.
    pub(crate) plain: bool,
    /// The message kept between publishes when every target runs its
    /// handler inline.
    pub(crate) spare: Option<Spare>,
}

impl<T> Route<T> {
    pub(crate) fn new(topic: &str, targets: Vec<T>, plain: bool, spare: Option<Spare>) -> Route<T> {
        Route { topic: Arc::from(topic), targets: targets.into_boxed_slice(), plain, spare }
    }
}

impl<T> MatchCache<T> {
    pub(crate) fn new() -> MatchCache<T> {
        // The keys come from the standard library's random keys, drawn
        // from the operating system.
        let random = RandomState::new();
        MatchCache {
            hasher: TopicHasher::new(std::array::from_fn(|i| random.hash_one(i))),
            shards: std::array::from_fn(|_| Mutex::new(Shard::new())),
        }
    }

    /// The route of `topic`, if cached, borrowed under its shard's lock,
    /// which the returned guard holds until it is dropped: a publish that
    /// delivers under it takes no reference to the route (a count up and
    /// down, two atomic read-modify-writes). Whoever holds it must run no
    /// handler or callback and wait for nothing (a `Block` queue's room)
    /// before dropping it, since a handler may publish on a topic of the
    /// same shard; to do either it clones the route first. Always inlined
    /// into the publish, whose size left it out of line otherwise (a call,
    /// and its result through the stack).
    #[inline(always)]
    pub(crate) fn get(&self, topic: &str) -> Option<Held<'_, T>> {
        let hash = self.hasher.hash(topic.as_bytes());
        let shard = self.shard(hash).lock();
        let at = shard.position(hash)?;
        let hit = shard.at(at)?;
        if !same(hit.topic.as_bytes(), topic.as_bytes()) {
            return None;
        }
        Some(Held(MutexGuard::map(shard, |shard| {
            shard.at_mut(at).expect("the slot just read holds a route")
        })))
    }

    /// The route of `topic`, if cached, as a reference of its own: for a
    /// batch, which keeps it across its messages.
    pub(crate) fn get_shared(&self, topic: &str) -> Option<Hit<T>> {
        self.get(topic).map(|held| Arc::clone(&held))
    }

    /// The route of `topic` to `targets`, cached if it is still `current`
    /// (asked under the shard's lock, so that a change that clears the
    /// cache after it was computed either clears it too or is seen).
    pub(crate) fn put(
        &self,
        topic: &str,
        current: impl FnOnce() -> bool,
        targets: Vec<T>,
        plain: bool,
        spare: Option<Spare>,
    ) -> Hit<T> {
        let hit = Arc::new(Route::new(topic, targets, plain, spare));
        let hash = self.hasher.hash(topic.as_bytes());
        let mut shard = self.shard(hash).lock();
        if current() {
            shard.insert(hash, Arc::clone(&hit), SHARD_CAPACITY);
        }
        hit
    }

    /// Drops every entry (entries keep subscriptions' queues alive).
    pub(crate) fn clear(&self) {
        for shard in &self.shards {
            shard.lock().clear();
        }
    }

    fn shard(&self, hash: u64) -> &Mutex<Shard<T>> {
        // The high bits pick the shard; its table uses the low ones.
        &self.shards[(hash >> 58) as usize % SHARDS]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn caches_only_routes_of_the_current_generation() {
        let cache = MatchCache::new();
        let current = &AtomicU64::new(1);
        let at = |generation| move || current.load(Ordering::Acquire) == generation;
        assert!(cache.get("a.b").is_none());
        cache.put("a.b", at(1), vec![7u32], false, None);
        assert_eq!(&*cache.get("a.b").unwrap().targets, &[7]);
        assert_eq!(&*cache.get("a.b").unwrap().topic, "a.b");
        // An index change: the generation moves on, then the cache clears.
        current.store(2, Ordering::Release);
        cache.clear();
        assert!(cache.get("a.b").is_none());
        // A route computed before the change is returned, not cached.
        assert_eq!(&*cache.put("a.b", at(1), vec![8u32], false, None).targets, &[8]);
        assert!(cache.get("a.b").is_none());
        cache.put("a.b", at(2), vec![], false, None);
        assert!(cache.get("a.b").unwrap().targets.is_empty());
    }

    #[test]
    fn a_colliding_topic_replaces_the_entry_and_never_gets_its_targets() {
        let cache = MatchCache::new();
        let hash = cache.hasher.hash(b"x");
        // Forge a collision: another topic's entry under the hash of "x".
        let hit = Arc::new(Route {
            topic: Arc::from("t.forged"),
            targets: Box::from([1u32]),
            plain: false,
            spare: None,
        });
        cache.shard(hash).lock().insert(hash, hit, SHARD_CAPACITY);
        assert!(cache.get("x").is_none(), "the topic is compared, not just its hash");
        assert_eq!(&*cache.put("x", || true, vec![99u32], false, None).targets, &[99]);
        assert_eq!(&*cache.get("x").unwrap().targets, &[99]);
        assert_eq!(cache.shard(hash).lock().len(), 1);
    }

    #[test]
    fn is_bounded() {
        let cache = MatchCache::new();
        for i in 0..100_000u32 {
            cache.put(&format!("t.{i}"), || true, vec![i], false, None);
        }
        let total: usize = cache.shards.iter().map(|s| s.lock().len()).sum();
        assert!(total <= SHARDS * SHARD_CAPACITY, "{total}");
    }
}
