//! A compact range: the Merkle tree of a growing prefix of leaves, kept as
//! the roots of its perfect subtrees only, for verifying a log as a stream.
//!
//! Invariant: `roots[i]` is the root of the `i`-th perfect subtree from the
//! left, and their sizes are the set bits of `size`, largest first, so at
//! most 64 hashes are kept whatever the log's length.

use crate::audit::hash::{node_hash, Hash, EMPTY_ROOT};

pub(crate) struct Compact {
    size: u64,
    roots: Vec<Hash>,
}

impl Compact {
    pub(crate) fn new() -> Compact {
        Compact { size: 0, roots: Vec::new() }
    }

    /// Appends a leaf hash: merges the perfect subtrees it completes.
    pub(crate) fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self.roots.pop().unwrap_or(EMPTY_ROOT);
            hash = node_hash(&left, &hash);
            size >>= 1;
        }
        self.roots.push(hash);
        self.size += 1;
    }

    pub(crate) fn len(&self) -> u64 {
        self.size
    }

    /// The RFC 9162 root of the leaves pushed so far: the perfect subtrees'
    /// roots folded from the right.
    pub(crate) fn root(&self) -> Hash {
        let mut hashes = self.roots.iter().rev();
        let Some(last) = hashes.next() else { return EMPTY_ROOT };
        hashes.fold(*last, |right, left| node_hash(left, &right))
    }
}

#[cfg(test)]
mod tests {
    use super::super::hash::leaf_hash;
    use super::super::tree::Tree;
    use super::*;

    #[test]
    fn agrees_with_the_full_tree_at_every_size() {
        let mut compact = Compact::new();
        let mut tree = Tree::new();
        assert_eq!(compact.root(), EMPTY_ROOT);
        for i in 0..300u64 {
            let leaf = leaf_hash(&i.to_be_bytes());
            compact.push(leaf);
            tree.push(leaf);
            assert_eq!(compact.root(), tree.root(), "size {}", i + 1);
            assert_eq!(compact.roots.len() as u32, compact.len().count_ones());
        }
    }
}
