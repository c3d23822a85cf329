//! The in-memory log's records and Merkle tree.
//!
//! One buffer and one table of ends instead of a boxed slice per record: an
//! append allocates nothing once the buffers have grown, and a record costs
//! its bytes plus one `usize`, not a heap block and a fat pointer. Each
//! leaf follows the byte it is hashed after, so its hash reads it in place
//! in one digest update.
//!
//! The tree keeps no hash below level [`LOW`]: the records are here to
//! rehash, and every byte kept per record is a byte of fresh memory the
//! kernel must fault in. Keeping all levels cost 64 bytes of hashes per
//! record, a quarter of what an append pages in; from level 3 up they cost
//! 8. A proof or a root then rehashes at most 7 records and 4 nodes for
//! each subtree below level 3 it needs, and none for the newest records'
//! (their subtrees wait in the tree, complete).

use crate::audit::hash::{prefixed_leaf_hash, Hash, LEAF_PREFIX};
use crate::audit::tree::{Subtrees, Tree};

/// The lowest level of the tree the log keeps.
const LOW: usize = 3;

pub(crate) struct Leaves {
    bytes: Vec<u8>,
    /// `ends[i]` is where leaf `i` ends in `bytes`; its prefix byte is
    /// where leaf `i - 1` ends.
    ends: Vec<usize>,
    tree: Tree<LOW>,
}

impl Leaves {
    pub(crate) fn new() -> Leaves {
        Leaves { bytes: Vec::new(), ends: Vec::new(), tree: Tree::empty() }
    }

    /// Appends, as one leaf, whatever `write` adds to the buffer, and adds
    /// its hash to the tree.
    pub(crate) fn push(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let prefix = self.bytes.len();
        self.bytes.push(LEAF_PREFIX);
        write(&mut self.bytes);
        self.ends.push(self.bytes.len());
        self.tree.push_hash(prefixed_leaf_hash(&self.bytes[prefix..]));
    }

    /// Leaf `index`, if there is one.
    pub(crate) fn get(&self, index: usize) -> Option<&[u8]> {
        (index < self.ends.len()).then(|| &self.prefixed(index)[1..])
    }

    /// Leaf `index`, which must be one, after its prefix byte.
    fn prefixed(&self, index: usize) -> &[u8] {
        let prefix = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.bytes[prefix..self.ends[index]]
    }

    /// Every leaf, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.ends.len()).filter_map(|i| self.get(i))
    }
}

impl Subtrees for Leaves {
    fn len(&self) -> u64 {
        self.ends.len() as u64
    }

    fn subtree(&self, level: u32, index: u64) -> Hash {
        let rehash = |i: u64| prefixed_leaf_hash(self.prefixed(i as usize));
        self.tree.subtree_or(level, index, &rehash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{leaf_hash, MerkleTree};

    #[test]
    fn keeps_each_leaf_apart() {
        let mut leaves = Leaves::new();
        assert!(leaves.get(0).is_none());
        leaves.push(|out| out.extend_from_slice(b"abc"));
        leaves.push(|_| {});
        leaves.push(|out| out.push(9));
        assert_eq!(leaves.get(0), Some(&b"abc"[..]));
        assert_eq!(leaves.get(1), Some(&b""[..]));
        assert_eq!(leaves.get(2), Some(&[9u8][..]));
        assert!(leaves.get(3).is_none());
        assert_eq!(leaves.iter().collect::<Vec<_>>(), [&b"abc"[..], b"", &[9]]);
    }

    #[test]
    fn the_tree_over_the_leaves_is_their_full_merkle_tree() {
        let mut leaves = Leaves::new();
        let mut full = MerkleTree::new();
        for i in 0..40u64 {
            let leaf = format!("record {i}");
            leaves.push(|out| out.extend_from_slice(leaf.as_bytes()));
            full.push(leaf_hash(leaf.as_bytes()));
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
