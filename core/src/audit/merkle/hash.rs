//! The RFC 9162 hashes: SHA-256 with a one-byte domain prefix.
//!
//! The prefix (`0x00` for a leaf, `0x01` for an interior node) keeps a leaf
//! from ever being passed off as a node, so no second preimage can turn a
//! subtree into a forged leaf.

use ring::digest::{Context, SHA256};

/// A SHA-256 hash: a leaf hash, a node hash or a tree root.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of the empty string, as RFC 9162
/// defines it (`e3b0c442...b855`).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27,
    0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The byte a leaf is hashed after.
pub(in crate::audit) const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// The hash of one leaf: `SHA-256(0x00 || leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    sha256(&[&[LEAF_PREFIX], leaf])
}

/// The hash of a leaf already laid out after its [`LEAF_PREFIX`]: the
/// digest takes it in one update, its blocks straight from `prefixed`,
/// where a separate prefix byte makes it copy the first block into its
/// buffer and run the block function once more.
pub(in crate::audit) fn prefixed_leaf_hash(prefixed: &[u8]) -> Hash {
    sha256(&[prefixed])
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`. The
/// 65 bytes are laid out first so the digest takes them in one update,
/// not three small ones each copied into its buffer: an append hashes one
/// node on average, so this is on its hot path.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut node = [0u8; 65];
    node[0] = NODE_PREFIX;
    node[1..33].copy_from_slice(left);
    node[33..].copy_from_slice(right);
    sha256(&[&node])
}

/// SHA-256 of the concatenation of `parts`, without building it.
pub(in crate::audit) fn sha256(parts: &[&[u8]]) -> Hash {
    let mut context = Context::new(&SHA256);
    for part in parts {
        context.update(part);
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(context.finish().as_ref());
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(sha256(&[]), EMPTY_ROOT);
        assert_eq!(sha256(&[b""]), EMPTY_ROOT);
    }

    #[test]
    fn prefixes_separate_leaves_from_nodes() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let mut concatenated = a.to_vec();
        concatenated.extend_from_slice(&b);
        assert_ne!(leaf_hash(&concatenated), node_hash(&a, &b));
        assert_eq!(node_hash(&a, &b), sha256(&[&[1], &concatenated]));
        assert_eq!(leaf_hash(b"x"), sha256(&[b"\0x"]));
        let leaf: Vec<u8> = (0..=255).collect();
        let prefixed: Vec<u8> = [LEAF_PREFIX].into_iter().chain(leaf.iter().copied()).collect();
        assert_eq!(prefixed_leaf_hash(&prefixed), leaf_hash(&leaf));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
    }
}
