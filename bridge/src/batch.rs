//! Signed batches: one Ed25519 signature for every message an export
//! sends together (docs/formats.md, "Signed batches").
//!
//! The messages' signed bytes are the leaves of an RFC 9162 Merkle tree
//! (the audit log's hashes, from the core); the holder signs the tree's
//! root and size once, and each message carries the signature, its index,
//! the root and its inclusion proof. A receiver checks the inclusion proof
//! (a few SHA-256 blocks) for every message and the signature once per
//! batch, keeping the roots it verified. Every message is still
//! authenticated on its own by whoever receives it, and no receiver holds
//! anything that could forge for a sender: a message outside a signed
//! tree needs a second preimage of SHA-256.

use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use charter_core::audit::{leaf_hash, verify_inclusion, Hash, MerkleTree};
use charter_core::{Error, ErrorKind, Result};

use crate::wire;

/// The most messages one signature may cover. An export signs at most
/// its batch of 64; a receiver accepts up to this many, so a proof has at
/// most 8 hashes.
pub const MAX_BATCH: u64 = 256;

/// The domain separation string of a batch's signed statement.
pub const BATCH_CONTEXT: &[u8] = b"charter/bridge-batch/v1\0";

/// The most verified roots a receiver keeps; the set starts over when full.
pub const MAX_VERIFIED_ROOTS: usize = 4096;

/// A message's place in a signed batch: the `Charter-Batch` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchProof {
    /// The message's leaf index, from 0.
    pub index: u64,
    /// How many messages the batch has (2 to [`MAX_BATCH`]).
    pub count: u64,
    /// The root of the batch's tree, which the holder signed.
    pub root: Hash,
    /// The inclusion proof of the message's leaf, from the leaf up.
    pub path: Vec<Hash>,
}

/// What the holder signs for a batch: the context, the count (2 bytes,
/// big-endian) and the root.
pub fn batch_signed(count: u64, root: &Hash) -> Result<Vec<u8>> {
    let count =
        u16::try_from(count).ok().filter(|c| (2..=MAX_BATCH).contains(&u64::from(*c))).ok_or_else(|| {
            Error::new(ErrorKind::InvalidArgument, format!("a batch has 2 to {MAX_BATCH} messages"))
        })?;
    let mut out = Vec::with_capacity(BATCH_CONTEXT.len() + 2 + 32);
    out.extend_from_slice(BATCH_CONTEXT);
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(root);
    Ok(out)
}

/// The tree over `signed` (each message's signed bytes, in batch order):
/// its root and each message's proof.
pub fn tree(signed: &[Vec<u8>]) -> Result<(Hash, Vec<BatchProof>)> {
    let count = signed.len() as u64;
    let mut tree = MerkleTree::new();
    for leaf in signed {
        tree.push(leaf_hash(leaf));
    }
    let root = tree.root();
    let proofs = (0..count)
        .map(|index| Ok(BatchProof { index, count, root, path: tree.inclusion_proof(index, count)? }))
        .collect::<Result<_>>()?;
    Ok((root, proofs))
}

impl BatchProof {
    /// The header's text: `index.count.root.path`, the numbers canonical
    /// decimals, the root and the concatenated path unpadded base64url.
    pub fn to_text(&self) -> String {
        let path: Vec<u8> = self.path.iter().flatten().copied().collect();
        format!(
            "{}.{}.{}.{}",
            self.index,
            self.count,
            URL_SAFE_NO_PAD.encode(self.root),
            URL_SAFE_NO_PAD.encode(path)
        )
    }

    /// Reads the header's text; `MALFORMED` for anything but the one
    /// spelling of a batch of 2 to [`MAX_BATCH`] with its index inside.
    /// (Whether the path has the length its index and count need is
    /// [`verify_inclusion`]'s to say.)
    pub fn parse(text: &str) -> Result<BatchProof> {
        let malformed = |what: &str| Error::new(ErrorKind::Malformed, format!("{}: {what}", wire::BATCH));
        let mut parts = text.split('.');
        let (Some(index), Some(count), Some(root), Some(path), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("not index.count.root.path"));
        };
        let index = wire::parse_decimal(wire::BATCH, index)?;
        let count = wire::parse_decimal(wire::BATCH, count)?;
        if !(2..=MAX_BATCH).contains(&count) || index >= count {
            return Err(malformed(&format!(
                "a batch has 2 to {MAX_BATCH} messages, and the index is below their count"
            )));
        }
        let root: Hash = URL_SAFE_NO_PAD
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| malformed("the root is not 32 bytes in base64url"))?;
        // 8 hashes prove any leaf of a batch of 256; a longer text is refused
        // before it is decoded.
        if path.len() > (8 * 32 * 4_usize).div_ceil(3) {
            return Err(malformed("the path is longer than any batch needs"));
        }
        let bytes = URL_SAFE_NO_PAD.decode(path).map_err(|_| malformed("the path is not base64url"))?;
        if bytes.len() % 32 != 0 {
            return Err(malformed("the path is not a whole number of hashes"));
        }
        let path = bytes.chunks_exact(32).map(|c| c.try_into().expect("32 bytes")).collect();
        Ok(BatchProof { index, count, root, path })
    }

    /// Whether `signed` is this proof's leaf of its root: `BAD_SIGNATURE`
    /// (or `MALFORMED` for a path of the wrong length) when not.
    pub fn includes(&self, signed: &[u8]) -> Result<()> {
        verify_inclusion(&leaf_hash(signed), self.index, self.count, &self.path, &self.root)
    }
}

/// The batch roots a receiver verified, each with the key that signed it
/// and the count it covers: a message of a known batch costs its
/// inclusion proof alone.
#[derive(Default)]
pub(crate) struct VerifiedRoots {
    roots: HashSet<([u8; 32], u64, Hash)>,
}

impl VerifiedRoots {
    /// Whether `key` signed `root` for `count` messages before.
    pub(crate) fn contains(&self, key: &[u8; 32], count: u64, root: &Hash) -> bool {
        self.roots.contains(&(*key, count, *root))
    }

    /// Remembers a verified root, starting over once [`MAX_VERIFIED_ROOTS`]
    /// are kept (a batch whose root was forgotten is verified again).
    pub(crate) fn insert(&mut self, key: [u8; 32], count: u64, root: Hash) {
        if self.roots.len() >= MAX_VERIFIED_ROOTS {
            self.roots.clear();
        }
        self.roots.insert((key, count, root));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("message {i}").into_bytes()).collect()
    }

    #[test]
    fn every_message_of_every_batch_size_is_in_its_tree_and_no_other_is() {
        for n in 2..=65 {
            let signed = leaves(n);
            let (root, proofs) = tree(&signed).unwrap();
            for (leaf, proof) in signed.iter().zip(&proofs) {
                assert_eq!(proof.root, root);
                let parsed = BatchProof::parse(&proof.to_text()).unwrap();
                assert_eq!(&parsed, proof);
                parsed.includes(leaf).unwrap();
                assert_eq!(parsed.includes(b"another message").unwrap_err().kind(), ErrorKind::BadSignature);
            }
            // A message's place does not prove its neighbour.
            assert!(proofs[0].includes(&signed[1]).is_err());
        }
    }

    #[test]
    fn the_statement_binds_count_and_root() {
        let root = [7u8; 32];
        let statement = batch_signed(3, &root).unwrap();
        assert_eq!(&statement[..BATCH_CONTEXT.len()], BATCH_CONTEXT);
        assert_eq!(&statement[BATCH_CONTEXT.len()..BATCH_CONTEXT.len() + 2], &[0, 3]);
        assert_eq!(&statement[BATCH_CONTEXT.len() + 2..], &root);
        assert_ne!(statement, batch_signed(4, &root).unwrap());
        for count in [0, 1, MAX_BATCH + 1, u64::MAX] {
            assert_eq!(batch_signed(count, &root).unwrap_err().kind(), ErrorKind::InvalidArgument);
        }
    }

    #[test]
    fn only_the_one_spelling_parses() {
        let (_, proofs) = tree(&leaves(5)).unwrap();
        let good = proofs[3].to_text();
        let parts: Vec<&str> = good.split('.').collect();
        let long_path = "A".repeat(400);
        let bad = [
            String::new(),
            "...".into(),
            format!("{}.{}.{}", parts[0], parts[1], parts[2]),
            format!("{good}."),
            format!("0{good}"),
            format!("3.05.{}.{}", parts[2], parts[3]),
            format!("5.5.{}.{}", parts[2], parts[3]),
            format!("0.1.{}.{}", parts[2], parts[3]),
            format!("0.257.{}.{}", parts[2], parts[3]),
            format!("3.5.{}A.{}", parts[2], parts[3]),
            format!("3.5.{}.{}A", parts[2], parts[3]),
            format!("3.5.{}.{}=", parts[2], parts[3]),
            format!("3.5.{}.{long_path}", parts[2]),
            format!("-3.5.{}.{}", parts[2], parts[3]),
        ];
        for text in bad {
            assert_eq!(BatchProof::parse(&text).unwrap_err().kind(), ErrorKind::Malformed, "{text:?}");
        }
        // A path of whole hashes but the wrong length is for the inclusion
        // check to refuse, as MALFORMED.
        let short = format!("3.5.{}.{}", parts[2], &parts[3][..43]);
        let place = BatchProof::parse(&short).unwrap();
        assert_eq!(place.includes(b"message 3").unwrap_err().kind(), ErrorKind::Malformed);
    }

    #[test]
    fn verified_roots_are_bounded() {
        let mut roots = VerifiedRoots::default();
        for i in 0..MAX_VERIFIED_ROOTS as u64 + 1 {
            roots.insert([1; 32], 2, [(i % 251) as u8; 32].map(|b| b ^ (i >> 8) as u8));
        }
        assert!(roots.roots.len() <= MAX_VERIFIED_ROOTS);
        assert!(!roots.contains(&[2; 32], 2, &[0; 32]));
    }
}
