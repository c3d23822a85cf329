//! The in-memory log's records and Merkle tree.
//!
//! One buffer of records and no heap block per record: an append allocates
//! nothing once the buffer has grown, and a record costs its bytes and
//! little else. Each leaf follows the byte it is hashed after, so its hash
//! reads it in place in one digest update.
//!
//! Every byte kept per record is a byte of fresh memory the kernel must
//! fault in, about half a nanosecond each on this project's machines, so
//! the log keeps little beside the records:
//!
//! * no hash below level [`LOW`] of the tree: the records are here to
//!   rehash. Keeping all levels cost 64 bytes of hashes per record; from
//!   level 4 up they cost 4. A proof or a root then rehashes at most 15
//!   records and 8 nodes for each subtree below level 4 it needs (a proof
//!   on a million records takes about 8.5 us instead of 5 with level 3
//!   kept), and none for the newest records' (their subtrees wait in the
//!   tree, complete);
//! * no end per record, only where each group of [`GROUP`] records starts:
//!   a record's encoding gives its own length, so the records of a group
//!   are found by walking it (half a byte per record instead of eight).

use crate::audit::hash::{prefixed_leaf_hash, Hash, LEAF_PREFIX};
use crate::audit::record::encoded_len;
use crate::audit::tree::{Subtrees, Tree};

/// The lowest level of the tree the log keeps.
const LOW: usize = 4;

/// The records whose start is kept together: those of one subtree at
/// level [`LOW`], which a proof rehashes together.
const GROUP: usize = 1 << LOW;

pub(crate) struct Leaves {
    /// Each record after its prefix byte, oldest first.
    bytes: Vec<u8>,
    /// `starts[g]` is where record `g * GROUP`'s prefix byte is in `bytes`.
    starts: Vec<usize>,
    tree: Tree<LOW>,
}

impl Leaves {
    pub(crate) fn new() -> Leaves {
        Leaves { bytes: Vec::new(), starts: Vec::new(), tree: Tree::empty() }
    }

    /// Appends, as one record, the encoding `write` adds to the buffer,
    /// and adds its hash to the tree. It must be one record's encoding:
    /// the buffer is walked by the lengths it gives ([`encoded_len`]).
    pub(crate) fn push(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let prefix = self.bytes.len();
        if self.tree.len().is_multiple_of(GROUP as u64) {
            self.starts.push(prefix);
        }
        self.bytes.push(LEAF_PREFIX);
        write(&mut self.bytes);
        self.tree.push_hash(prefixed_leaf_hash(&self.bytes[prefix..]));
    }

    /// Leaf `index`, if there is one.
    pub(crate) fn get(&self, index: usize) -> Option<&[u8]> {
        (index < self.count()).then(|| &self.prefixed(index)[1..])
    }

    /// Leaf `index`, which must be one, after its prefix byte: found from
    /// its group's start.
    fn prefixed(&self, index: usize) -> &[u8] {
        let mut start = self.starts[index / GROUP];
        for _ in 0..index % GROUP {
            start = self.end(start);
        }
        &self.bytes[start..self.end(start)]
    }

    /// Where the record whose prefix byte is at `start` ends.
    fn end(&self, start: usize) -> usize {
        let leaf = self.bytes.get(start + 1..).unwrap_or_default();
        start + 1 + encoded_len(leaf)
    }

    /// Every leaf, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        (0..self.count()).map(move |_| {
            let end = self.end(start);
            let leaf = &self.bytes[start + 1..end];
            start = end;
            leaf
        })
    }

    /// The number of records.
    fn count(&self) -> usize {
        self.tree.len() as usize
    }
}

impl Subtrees for Leaves {
    fn len(&self) -> u64 {
        self.tree.len()
    }

    fn subtree(&self, level: u32, index: u64) -> Hash {
        let rehash = |i: u64| prefixed_leaf_hash(self.prefixed(i as usize));
        self.tree.subtree_or(level, index, &rehash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{leaf_hash, Decision, MerkleTree, Record};
    use crate::capability::KeyPair;

    /// Record `i`'s encoding: lengths vary, some with an actor, so a walk
    /// that misreads one length finds the wrong bytes for the rest.
    fn leaf(i: u64, actor: &KeyPair) -> Vec<u8> {
        let mut record = Record::new(i, "publish", &"r".repeat(i as usize % 5), Decision::Allow);
        record.detail = "d".repeat(i as usize * 7 % 300);
        if i.is_multiple_of(3) {
            record.actor = Some(actor.principal());
        }
        record.encode(i).unwrap()
    }

    #[test]
    fn keeps_each_leaf_apart() {
        let actor = KeyPair::generate().unwrap();
        let mut leaves = Leaves::new();
        assert!(leaves.get(0).is_none());
        let all: Vec<Vec<u8>> = (0..20).map(|i| leaf(i, &actor)).collect();
        for (i, bytes) in all.iter().enumerate() {
            leaves.push(|out| out.extend_from_slice(bytes));
            assert_eq!(leaves.get(i), Some(&bytes[..]));
        }
        for (i, bytes) in all.iter().enumerate() {
            assert_eq!(leaves.get(i), Some(&bytes[..]), "leaf {i}");
        }
        assert!(leaves.get(20).is_none());
        assert!(leaves.iter().eq(all.iter().map(Vec::as_slice)));
    }

    #[test]
    fn the_tree_over_the_leaves_is_their_full_merkle_tree() {
        let actor = KeyPair::generate().unwrap();
        let mut leaves = Leaves::new();
        let mut full = MerkleTree::new();
        for i in 0..40u64 {
            let leaf = leaf(i, &actor);
            leaves.push(|out| out.extend_from_slice(&leaf));
            full.push(leaf_hash(&leaf));
            let n = i + 1;
            assert_eq!(leaves.root(), full.root(), "n = {n}");
            assert_eq!(leaves.leaf(i), full.leaf(i));
            for m in 0..n {
                assert_eq!(leaves.inclusion_proof(m, n).unwrap(), full.inclusion_proof(m, n).unwrap());
                assert_eq!(leaves.consistency_proof(m, n).unwrap(), full.consistency_proof(m, n).unwrap());
            }
        }
        assert_eq!(leaves.leaf(40), None);
    }
}
