//! Subscriptions that ended while their owner still holds the id.
//!
//! A subscription ended by something other than its owner (a failed
//! request, idle eviction) leaves the bus's live table, so it matches no
//! publish and counts against no limit, but its id keeps answering: a
//! receive by id gives its end error, as the held
//! [`Subscription`](super::Subscription) would. The entry goes when the owner unsubscribes
//! it, drops its handle, its session ends, or the bus closes.
//!
//! A closed bus keeps no entry at all: its closed flag answers every id,
//! live, ended or never seen, with `CLOSED` (`Bus::reach`), so closing
//! needs nothing per id to say why a subscription ended.
//!
//! An owner that never unsubscribes must not make entries pile up, so the
//! table keeps at most as many as the bus may have live subscriptions
//! (`max_subscriptions`), and forgets the oldest first: that id then finds
//! nothing (`NOT_FOUND`), as it did before ended ids were kept. An entry
//! holds the subscription's state with its queue emptied, buffers
//! included (under a kilobyte): the queued messages were dropped (and
//! counted) when it ended.

use std::collections::{BTreeMap, HashMap};

use super::Target;

pub(crate) struct Ended {
    /// Each entry with its place in the order of ending.
    entries: HashMap<u64, (u64, Target)>,
    /// Ids by place, oldest first.
    order: BTreeMap<u64, u64>,
    next: u64,
    capacity: usize,
}

impl Ended {
    pub(crate) fn new(capacity: usize) -> Ended {
        Ended { entries: HashMap::new(), order: BTreeMap::new(), next: 0, capacity }
    }

    /// Keeps `shared`, forgetting the oldest entry when full. Returns the
    /// forgotten one (to be dropped outside the lock).
    pub(crate) fn keep(&mut self, shared: Target) -> Option<Target> {
        let mut forgotten = None;
        if self.entries.len() >= self.capacity {
            if let Some((_, oldest)) = self.order.pop_first() {
                forgotten = self.entries.remove(&oldest).map(|(_, s)| s);
            }
        }
        let id = shared.id.0;
        let place = self.next;
        self.next += 1;
        if let Some((old, _)) = self.entries.insert(id, (place, shared)) {
            self.order.remove(&old);
        }
        self.order.insert(place, id);
        forgotten
    }

    pub(crate) fn get(&self, id: u64) -> Option<&Target> {
        self.entries.get(&id).map(|(_, shared)| shared)
    }

    pub(crate) fn contains(&self, id: u64) -> bool {
        self.entries.contains_key(&id)
    }

    /// Forgets `id`. Returns the entry, if it was kept.
    pub(crate) fn forget(&mut self, id: u64) -> Option<Target> {
        let (place, shared) = self.entries.remove(&id)?;
        self.order.remove(&place);
        Some(shared)
    }

    /// Forgets every entry that `stale` says is gone for good, and
    /// returns them (to be dropped outside the lock).
    pub(crate) fn forget_where(&mut self, stale: impl Fn(&Target) -> bool) -> Vec<Target> {
        let gone: Vec<u64> = self.entries.iter().filter(|(_, (_, s))| stale(s)).map(|(&id, _)| id).collect();
        gone.into_iter().filter_map(|id| self.forget(id)).collect()
    }

    /// Forgets every entry.
    pub(crate) fn clear(&mut self) -> Vec<Target> {
        self.order.clear();
        self.entries.drain().map(|(_, (_, shared))| shared).collect()
    }
}
