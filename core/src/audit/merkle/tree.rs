//! An in-memory Merkle tree that keeps the hash of every complete subtree
//! from some level up.
//!
//! Level `k` holds the hashes of the aligned subtrees of `2^k` leaves, so
//! the root of any size, and any proof, needs only those stored hashes plus
//! O(log n) node hashes for the incomplete right edge: with every level
//! kept no leaf is ever rehashed, and storage is under two hashes per leaf.
//!
//! A tree may also leave its lowest levels unstored ([`Tree`] with `LOW`
//! above 0): the in-memory audit log keeps its records anyway and rehashes
//! the few a proof needs, rather than page in 60 more bytes per record on
//! every append (about 4% of its time, in page faults). The RFC 9162 roots
//! and proofs are computed the same way over either ([`Subtrees`]).

use crate::audit::hash::{node_hash, Hash, EMPTY_ROOT};
use crate::{Error, ErrorKind, Result};

/// The stored hashes of a Merkle tree, level by level from level `LOW` up.
/// Public, with every level kept, as [`MerkleTree`](crate::audit::MerkleTree)
/// for other trees of the same hashes (the NATS bridge's signed batches).
pub struct Tree<const LOW: usize = 0> {
    /// `levels[k][i]` is the hash of leaves `[i * 2^(LOW + k), (i + 1) *
    /// 2^(LOW + k))`; with `LOW` 0, `levels[0]` holds the leaf hashes.
    levels: Vec<Vec<Hash>>,
    /// `pending[k]`, for the levels below `LOW`: the last complete subtree
    /// of level `k`, waiting for its right sibling. It is valid while bit
    /// `k` of `len` is set: that bit is set by the push that stores it.
    pending: [Hash; LOW],
    len: u64,
}

impl Default for Tree {
    fn default() -> Tree {
        Tree::new()
    }
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Tree {
        Tree::empty()
    }

    /// Appends a leaf hash (not the leaf bytes: callers hash the record
    /// once with [`leaf_hash`](crate::audit::leaf_hash)). Every second push at a
    /// level completes a subtree one level up, so the amortised cost is
    /// one node hash.
    pub fn push(&mut self, leaf: Hash) {
        self.push_hash(leaf);
    }

    /// The hash of leaf `index`, if there is one.
    pub(crate) fn leaf(&self, index: u64) -> Option<Hash> {
        Subtrees::leaf(self, index)
    }

    /// The root of the whole tree; [`EMPTY_ROOT`] when it is empty.
    pub fn root(&self) -> Hash {
        Subtrees::root(self)
    }

    /// The root of the tree made of the first `size` leaves.
    pub(crate) fn root_at(&self, size: u64) -> Result<Hash> {
        Subtrees::root_at(self, size)
    }

    /// The RFC 9162 section 2.1.3.1 inclusion proof of leaf `index` in the
    /// tree of the first `size` leaves, ordered from the leaf up.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        Subtrees::inclusion_proof(self, index, size)
    }

    /// The RFC 9162 section 2.1.4.1 proof that the tree of the first `old`
    /// leaves is a prefix of the tree of the first `new`. It is empty when
    /// `old` is 0 or equals `new`, as nothing needs proving.
    pub(crate) fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        Subtrees::consistency_proof(self, old, new)
    }
}

impl Subtrees for Tree {
    fn len(&self) -> u64 {
        self.len
    }

    fn subtree(&self, level: u32, index: u64) -> Hash {
        self.levels[level as usize][index as usize]
    }
}

impl<const LOW: usize> Tree<LOW> {
    /// An empty tree keeping levels `LOW` and up.
    pub(crate) fn empty() -> Tree<LOW> {
        Tree { levels: vec![Vec::new()], pending: [[0; 32]; LOW], len: 0 }
    }

    /// The number of leaves.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Appends a leaf hash: below `LOW` a left child waits in `pending`
    /// and a right one is merged with it; from `LOW` up every hash is kept.
    pub(crate) fn push_hash(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let n = self.len;
        self.len += 1;
        for (k, pending) in self.pending.iter_mut().enumerate() {
            if n >> k & 1 == 0 {
                *pending = hash;
                return;
            }
            hash = node_hash(pending, &hash);
        }
        for level in 0.. {
            if level == self.levels.len() {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(hash);
            if row.len() % 2 == 1 {
                return;
            }
            hash = node_hash(&row[row.len() - 2], &row[row.len() - 1]);
        }
    }

    /// The hash of the complete subtree of leaves `[index * 2^level,
    /// (index + 1) * 2^level)`: stored, or below `LOW` rehashed from
    /// `leaf`, which gives the hash of a leaf by index.
    pub(crate) fn subtree_or(&self, level: u32, index: u64, leaf: &impl Fn(u64) -> Hash) -> Hash {
        if let Some(hash) = self.stored(level, index) {
            return hash;
        }
        if level == 0 {
            return leaf(index);
        }
        node_hash(
            &self.subtree_or(level - 1, 2 * index, leaf),
            &self.subtree_or(level - 1, 2 * index + 1, leaf),
        )
    }

    /// The hash of that subtree if this tree keeps it: every one from level
    /// `LOW` up, below it only a pending one.
    fn stored(&self, level: u32, index: u64) -> Option<Hash> {
        let level = level as usize;
        match level.checked_sub(LOW) {
            Some(row) => self.levels.get(row)?.get(usize::try_from(index).ok()?).copied(),
            None => {
                let count = self.len >> level;
                (count & 1 == 1 && index == count - 1).then(|| self.pending[level])
            }
        }
    }
}

/// A Merkle tree's complete aligned subtrees, however they are kept: the
/// RFC 9162 roots and proofs need nothing else.
pub(crate) trait Subtrees {
    /// The number of leaves.
    fn len(&self) -> u64;

    /// The hash of leaves `[index * 2^level, (index + 1) * 2^level)`, which
    /// are all in the tree.
    fn subtree(&self, level: u32, index: u64) -> Hash;

    /// The hash of leaf `index`, if there is one.
    fn leaf(&self, index: u64) -> Option<Hash> {
        (index < self.len()).then(|| self.subtree(0, index))
    }

    /// The root of the whole tree; [`EMPTY_ROOT`] when it is empty.
    fn root(&self) -> Hash {
        range_hash(self, 0, self.len())
    }

    /// The root of the tree made of the first `size` leaves.
    fn root_at(&self, size: u64) -> Result<Hash> {
        check_size(self, size)?;
        Ok(range_hash(self, 0, size))
    }

    /// The RFC 9162 section 2.1.3.1 inclusion proof of leaf `index` in the
    /// tree of the first `size` leaves, ordered from the leaf up.
    fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        check_size(self, size)?;
        if index >= size {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("leaf index {index} is not in a tree of size {size}"),
            ));
        }
        let mut proof = Vec::new();
        path(self, index, 0, size, &mut proof);
        Ok(proof)
    }

    /// The RFC 9162 section 2.1.4.1 consistency proof from `old` to `new`
    /// leaves; empty when `old` is 0 or equals `new`.
    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        check_size(self, new)?;
        if old > new {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("old tree size {old} is larger than new tree size {new}"),
            ));
        }
        let mut proof = Vec::new();
        if old > 0 {
            subproof(self, old, 0, new, true, &mut proof);
        }
        Ok(proof)
    }
}

fn check_size<T: Subtrees + ?Sized>(tree: &T, size: u64) -> Result<()> {
    if size > tree.len() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("tree size {size} is larger than the tree ({} leaves)", tree.len()),
        ));
    }
    Ok(())
}

/// MTH of leaves `[start, start + size)`, which must be within the tree.
/// An aligned power-of-two range is a complete subtree; any other splits as
/// RFC 9162 splits it, so its left part is always one.
fn range_hash<T: Subtrees + ?Sized>(tree: &T, start: u64, size: u64) -> Hash {
    if size == 0 {
        return EMPTY_ROOT;
    }
    if size.is_power_of_two() && start.is_multiple_of(size) {
        let level = size.trailing_zeros();
        return tree.subtree(level, start >> level);
    }
    let k = split(size);
    node_hash(&range_hash(tree, start, k), &range_hash(tree, start + k, size - k))
}

/// PATH(index, D[start:start+size]) of RFC 9162, appended to `out`.
fn path<T: Subtrees + ?Sized>(tree: &T, index: u64, start: u64, size: u64, out: &mut Vec<Hash>) {
    if size <= 1 {
        return;
    }
    let k = split(size);
    if index < k {
        path(tree, index, start, k, out);
        out.push(range_hash(tree, start + k, size - k));
    } else {
        path(tree, index - k, start + k, size - k, out);
        out.push(range_hash(tree, start, k));
    }
}

/// SUBPROOF(old, D[start:start+size], whole) of RFC 9162, appended to
/// `out`. `whole` says the verifier already knows the root of `old`.
fn subproof<T: Subtrees + ?Sized>(
    tree: &T,
    old: u64,
    start: u64,
    size: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) {
    if old == size {
        if !whole {
            out.push(range_hash(tree, start, size));
        }
        return;
    }
    let k = split(size);
    if old <= k {
        subproof(tree, old, start, k, whole, out);
        out.push(range_hash(tree, start + k, size - k));
    } else {
        subproof(tree, old - k, start + k, size - k, false, out);
        out.push(range_hash(tree, start, k));
    }
}

/// The largest power of two smaller than `n`, for `n >= 2`: where RFC 9162
/// splits a tree of `n` leaves.
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::super::hash::leaf_hash;
    use super::super::proof::{verify_consistency, verify_inclusion};
    use super::*;

    /// MTH straight from the RFC's recursive definition.
    fn naive_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// Values next to `x` within `lo..=hi`, other than `x`: the likeliest
    /// off-by-one and sibling mistakes, and a doubling.
    fn near(x: u64, lo: u64, hi: u64) -> impl Iterator<Item = u64> {
        [x.wrapping_sub(2), x.wrapping_sub(1), x + 1, x + 2, x ^ 1, 2 * x, lo, hi]
            .into_iter()
            .filter(move |&y| y != x && (lo..=hi).contains(&y))
    }

    /// The root of every size from 0 to the tree's length.
    fn roots_of(tree: &Tree) -> Vec<Hash> {
        (0..=tree.len()).map(|n| tree.root_at(n).unwrap()).collect()
    }

    fn tree_of(leaves: &[Hash]) -> Tree {
        let mut tree = Tree::new();
        for leaf in leaves {
            tree.push(*leaf);
        }
        tree
    }

    #[test]
    fn split_is_the_largest_smaller_power_of_two() {
        let cases = [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (63, 32), (28973, 16384)];
        for (n, k) in cases {
            assert_eq!(split(n), k, "n = {n}");
        }
        assert_eq!(split(u64::MAX), 1 << 63);
    }

    #[test]
    fn empty_tree() {
        let tree = Tree::new();
        assert_eq!(tree.len(), 0);
        assert_eq!(tree.root(), EMPTY_ROOT);
        assert_eq!(tree.root_at(0).unwrap(), EMPTY_ROOT);
        assert_eq!(tree.leaf(0), None);
        assert_eq!(tree.root_at(1).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(tree.inclusion_proof(0, 0).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(tree.consistency_proof(0, 0).unwrap(), Vec::<Hash>::new());
    }

    #[test]
    fn roots_agree_with_the_recursive_definition() {
        let all = leaves(64);
        let mut tree = Tree::new();
        for n in 0..=64u64 {
            assert_eq!(tree.len(), n);
            assert_eq!(tree.root(), naive_root(&all[..n as usize]), "n = {n}");
            for m in 0..=n {
                assert_eq!(tree.root_at(m).unwrap(), naive_root(&all[..m as usize]), "m = {m}, n = {n}");
            }
            if n < 64 {
                tree.push(all[n as usize]);
            }
        }
        for (i, leaf) in all.iter().enumerate() {
            assert_eq!(tree.leaf(i as u64), Some(*leaf));
        }
        assert_eq!(tree.leaf(64), None);
        assert_eq!(tree.leaf(u64::MAX), None);
    }

    /// A tree keeping levels 3 and up over `leaves`, as the in-memory log
    /// keeps one over its records.
    struct Sparse<'a> {
        tree: Tree<3>,
        leaves: &'a [Hash],
    }

    impl Subtrees for Sparse<'_> {
        fn len(&self) -> u64 {
            self.tree.len
        }

        fn subtree(&self, level: u32, index: u64) -> Hash {
            self.tree.subtree_or(level, index, &|i| self.leaves[i as usize])
        }
    }

    #[test]
    fn a_tree_without_its_low_levels_gives_the_same_roots_and_proofs() {
        let all = leaves(70);
        let full = tree_of(&all);
        let mut sparse = Sparse { tree: Tree::empty(), leaves: &all };
        for n in 0..=70u64 {
            assert_eq!(Subtrees::len(&sparse), n);
            assert_eq!(sparse.root(), full.root_at(n).unwrap(), "n = {n}");
            for m in 0..=n {
                assert_eq!(sparse.root_at(m).unwrap(), full.root_at(m).unwrap(), "m = {m}, n = {n}");
                assert_eq!(sparse.consistency_proof(m, n).unwrap(), full.consistency_proof(m, n).unwrap());
                if m < n {
                    assert_eq!(sparse.inclusion_proof(m, n).unwrap(), full.inclusion_proof(m, n).unwrap());
                    assert_eq!(Subtrees::leaf(&sparse, m), Some(all[m as usize]));
                }
            }
            assert_eq!(Subtrees::leaf(&sparse, n), None);
            assert_eq!(sparse.root_at(n + 1).unwrap_err().kind(), ErrorKind::InvalidArgument);
            if n < 70 {
                sparse.tree.push_hash(all[n as usize]);
            }
        }
        let stored: usize = sparse.tree.levels.iter().map(Vec::len).sum();
        assert_eq!(stored, 8 + 4 + 2 + 1, "70 leaves: 8 subtrees of 8, 4 of 16, 2 of 32, 1 of 64");
    }

    #[test]
    fn stores_under_two_hashes_per_leaf() {
        let tree = tree_of(&leaves(1000));
        let stored: usize = tree.levels.iter().map(Vec::len).sum();
        assert!(stored < 2000, "{stored}");
        assert_eq!(tree.levels.len(), 10, "2^9 <= 1000 < 2^10");
    }

    #[test]
    fn every_inclusion_proof_verifies_and_tampering_fails() {
        let tree = tree_of(&leaves(64));
        let roots = roots_of(&tree);
        for n in 1..=64u64 {
            for i in 0..n {
                let proof = tree.inclusion_proof(i, n).unwrap();
                verify_inclusion(&tree.leaf(i).unwrap(), i, n, &proof, &roots[n as usize]).unwrap();
                assert_inclusion_tampering_fails(&tree, &roots, i, n, &proof);
            }
            assert_eq!(tree.inclusion_proof(n, n).unwrap_err().kind(), ErrorKind::InvalidArgument);
        }
        assert_eq!(tree.inclusion_proof(0, 65).unwrap_err().kind(), ErrorKind::InvalidArgument);
    }

    /// A proof of leaf `i` in the tree of size `n` proves nothing else: not
    /// with a changed hash, leaf, length, index or size. A changed index or
    /// size comes with the root of the tree it claims, as a forger would
    /// present it.
    fn assert_inclusion_tampering_fails(tree: &Tree, roots: &[Hash], i: u64, n: u64, proof: &[Hash]) {
        let leaf = tree.leaf(i).unwrap();
        let root = roots[n as usize];
        let fails = |leaf: &Hash, i: u64, n: u64, proof: &[Hash], root: &Hash| {
            verify_inclusion(leaf, i, n, proof, root).is_err()
        };
        for k in 0..proof.len() {
            let mut flipped = proof.to_vec();
            flipped[k][k % 32] ^= 0x01;
            assert!(fails(&leaf, i, n, &flipped, &root), "flipped hash {k}, i = {i}, n = {n}");
        }
        let mut other_leaf = leaf;
        other_leaf[0] ^= 0x80;
        assert!(fails(&other_leaf, i, n, proof, &root), "wrong leaf, i = {i}, n = {n}");
        for j in near(i, 0, n - 1) {
            assert!(fails(&leaf, j, n, proof, &root), "index {j} instead of {i}, n = {n}");
        }
        for m in near(n, i + 1, tree.len()) {
            assert!(fails(&leaf, i, m, proof, &roots[m as usize]), "size {m} instead of {n}, i = {i}");
        }
        let mut longer = proof.to_vec();
        longer.push(root);
        assert!(fails(&leaf, i, n, &longer, &root), "extra hash, i = {i}, n = {n}");
        if let Some((_, shorter)) = proof.split_last() {
            assert!(fails(&leaf, i, n, shorter, &root), "missing hash, i = {i}, n = {n}");
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_tampering_fails() {
        let tree = tree_of(&leaves(64));
        let roots = roots_of(&tree);
        for n in 0..=64u64 {
            for m in 0..=n {
                let proof = tree.consistency_proof(m, n).unwrap();
                verify_consistency(m, n, &roots[m as usize], &roots[n as usize], &proof).unwrap();
                assert_consistency_tampering_fails(&roots, m, n, &proof);
            }
            assert_eq!(tree.consistency_proof(n + 1, n).unwrap_err().kind(), ErrorKind::InvalidArgument);
        }
        assert_eq!(tree.consistency_proof(1, 65).unwrap_err().kind(), ErrorKind::InvalidArgument);
    }

    /// A proof that size `m` is a prefix of size `n` proves nothing else.
    /// Every tree extends the empty one, so for `m` 0 only the old root and
    /// the proof's emptiness are constrained.
    fn assert_consistency_tampering_fails(roots: &[Hash], m: u64, n: u64, proof: &[Hash]) {
        let root = |size: u64| roots[size as usize];
        let (old, new) = (root(m), root(n));
        let fails = |m: u64, n: u64, old: &Hash, new: &Hash, proof: &[Hash]| {
            verify_consistency(m, n, old, new, proof).is_err()
        };
        for k in 0..proof.len() {
            let mut flipped = proof.to_vec();
            flipped[k][31 - k % 32] ^= 0x04;
            assert!(fails(m, n, &old, &new, &flipped), "flipped hash {k}, m = {m}, n = {n}");
        }
        let mut other = old;
        other[7] ^= 0x10;
        assert!(fails(m, n, &other, &new, proof), "wrong old root, m = {m}, n = {n}");
        let mut longer = proof.to_vec();
        longer.push(new);
        assert!(fails(m, n, &old, &new, &longer), "extra hash, m = {m}, n = {n}");
        if let Some((_, shorter)) = proof.split_last() {
            assert!(fails(m, n, &old, &new, shorter), "missing hash, m = {m}, n = {n}");
        }
        if m == 0 {
            return;
        }
        let mut other = new;
        other[7] ^= 0x10;
        assert!(fails(m, n, &old, &other, proof), "wrong new root, m = {m}, n = {n}");
        for s in near(n, m, roots.len() as u64 - 1) {
            assert!(fails(m, s, &old, &root(s), proof), "new size {s} instead of {n}, m = {m}");
        }
        for t in near(m, 1, n) {
            assert!(fails(t, n, &root(t), &new, proof), "old size {t} instead of {m}, n = {n}");
        }
    }
}
