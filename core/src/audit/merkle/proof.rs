//! Standalone verifiers for inclusion and consistency proofs, following
//! the RFC 9162 algorithms of sections 2.1.3.2 and 2.1.4.2 step by step.
//!
//! They need nothing but their arguments, so an auditor holding a signed
//! checkpoint can check a proof without access to the log. Failures are
//! sorted by cause: `INVALID_ARGUMENT` for sizes and indices that cannot
//! form a proof, `MALFORMED` for a proof of the wrong length (the length is
//! fixed by the sizes, independent of any hash), and `BAD_SIGNATURE` for a
//! proof of the right shape whose hashes do not lead to the given roots.

use crate::audit::hash::{node_hash, Hash, EMPTY_ROOT};
use crate::{Error, ErrorKind, Result};

/// The most hashes a proof may carry. Every proof for a tree of up to 2^63
/// leaves, far more than any log holds, fits; the bound stops hostile
/// input from costing more.
pub const MAX_PROOF_HASHES: usize = 64;

/// Checks that `leaf` (a leaf hash) is at `index` in the tree of `size`
/// leaves whose root is `root`, given the inclusion `proof`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<()> {
    check_length(proof)?;
    if index >= size {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("leaf index {index} is not in a tree of size {size}"),
        ));
    }
    let mut r = *leaf;
    climb("inclusion", proof.len(), proof, index, size - 1, |p, left| {
        r = if left { node_hash(p, &r) } else { node_hash(&r, p) };
    })?;
    if r != *root {
        return Err(Error::new(
            ErrorKind::BadSignature,
            format!("inclusion proof of leaf {index} does not lead to the root of the tree of size {size}"),
        ));
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a
/// prefix of the tree of `new_size` leaves with root `new_root`, given the
/// consistency `proof`.
///
/// Equal sizes need an empty proof and equal roots. Every tree extends the
/// empty one, so `old_size` 0 needs an empty proof and `old_root` equal to
/// [`EMPTY_ROOT`], and says nothing about the new tree.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<()> {
    check_length(proof)?;
    if old_size > new_size {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("old tree size {old_size} is larger than new tree size {new_size}"),
        ));
    }
    if old_size == new_size || old_size == 0 {
        expect_empty(old_size, new_size, proof)?;
        let expected = if old_size == 0 { &EMPTY_ROOT } else { new_root };
        if old_root != expected {
            return Err(Error::new(
                ErrorKind::BadSignature,
                format!("the old root does not match the tree of size {old_size}"),
            ));
        }
        return Ok(());
    }
    let (fr, sr) = consistency_roots(old_size, new_size, old_root, proof)?;
    if fr != *old_root || sr != *new_root {
        return Err(Error::new(
            ErrorKind::BadSignature,
            format!(
                "consistency proof does not lead from the tree of size {old_size} to that of size {new_size}"
            ),
        ));
    }
    Ok(())
}

/// The empty proof the cases RFC 9162 leaves out of its algorithm (it
/// assumes `0 < old_size < new_size`) must have: there is nothing to prove
/// beyond the roots themselves.
fn expect_empty(old_size: u64, new_size: u64, proof: &[Hash]) -> Result<()> {
    if !proof.is_empty() {
        return Err(Error::new(
            ErrorKind::Malformed,
            format!(
                "a consistency proof from size {old_size} to {new_size} is empty, got {} hashes",
                proof.len()
            ),
        ));
    }
    Ok(())
}

/// Steps 1 to 6 of RFC 9162 section 2.1.4.2, for `0 < old_size < new_size`:
/// the old and new roots the proof leads to.
fn consistency_roots(old_size: u64, new_size: u64, old_root: &Hash, proof: &[Hash]) -> Result<(Hash, Hash)> {
    let Some((first, rest)) = proof.split_first() else {
        return Err(too_short("consistency", 0));
    };
    // A power-of-two old tree is a complete subtree of the new one, so its
    // root is the proof's implicit first hash.
    let (start, path) = if old_size.is_power_of_two() { (old_root, proof) } else { (first, rest) };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*start, *start);
    climb("consistency", proof.len(), path, fn_, sn, |c, left| {
        if left {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
        } else {
            sr = node_hash(&sr, c);
        }
    })?;
    Ok((fr, sr))
}

/// The walk up the tree both verifiers make (RFC 9162 2.1.3.2 and 2.1.4.2
/// alike): from node `fn_` of a row whose last node is `sn`, one `step` a
/// hash of `path`, told whether that hash is the left sibling. A path
/// longer or shorter than the sizes allow is `MALFORMED`, named by `what`
/// and the whole proof's length, `proof_len`.
fn climb<'a>(
    what: &str,
    proof_len: usize,
    path: impl IntoIterator<Item = &'a Hash>,
    mut fn_: u64,
    mut sn: u64,
    mut step: impl FnMut(&Hash, bool),
) -> Result<()> {
    for hash in path {
        if sn == 0 {
            return Err(too_long(what, proof_len));
        }
        let left = fn_ & 1 == 1 || fn_ == sn;
        step(hash, left);
        if left {
            (fn_, sn) = shift_while_right_child(fn_, sn);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(too_short(what, proof_len));
    }
    Ok(())
}

/// "If LSB(fn) is not set, then right-shift both fn and sn equally until
/// either LSB(fn) is set or fn is 0": skips the levels where the node is
/// the last one of its row and so has no sibling.
fn shift_while_right_child(mut fn_: u64, mut sn: u64) -> (u64, u64) {
    while fn_ & 1 == 0 && fn_ != 0 {
        fn_ >>= 1;
        sn >>= 1;
    }
    (fn_, sn)
}

fn check_length(proof: &[Hash]) -> Result<()> {
    if proof.len() > MAX_PROOF_HASHES {
        return Err(Error::new(
            ErrorKind::Malformed,
            format!("a proof has at most {MAX_PROOF_HASHES} hashes, got {}", proof.len()),
        ));
    }
    Ok(())
}

fn too_long(what: &str, len: usize) -> Error {
    Error::new(ErrorKind::Malformed, format!("{what} proof of {len} hashes is too long for its tree sizes"))
}

fn too_short(what: &str, len: usize) -> Error {
    Error::new(ErrorKind::Malformed, format!("{what} proof of {len} hashes is too short for its tree sizes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_leaf_is_its_own_root() {
        let leaf = [7u8; 32];
        verify_inclusion(&leaf, 0, 1, &[], &leaf).unwrap();
        let e = verify_inclusion(&leaf, 0, 1, &[leaf], &leaf).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
        assert_eq!(verify_inclusion(&leaf, 0, 1, &[], &[8; 32]).unwrap_err().kind(), ErrorKind::BadSignature);
    }

    #[test]
    fn impossible_sizes_are_invalid_arguments() {
        let h = [1u8; 32];
        for (index, size) in [(0, 0), (1, 1), (5, 3), (u64::MAX, u64::MAX)] {
            let e = verify_inclusion(&h, index, size, &[], &h).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{index} {size}: {e}");
        }
        let e = verify_consistency(3, 2, &h, &h, &[h]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        let h = [1u8; 32];
        let proof = vec![h; 64];
        assert!(verify_inclusion(&h, u64::MAX - 1, u64::MAX, &proof, &h).is_err());
        assert!(verify_consistency(u64::MAX - 1, u64::MAX, &h, &h, &proof).is_err());
        assert!(verify_consistency(1 << 63, u64::MAX, &h, &h, &proof).is_err());
    }

    /// The length a proof for these sizes must have: the only one that is
    /// not refused as `MALFORMED`.
    fn required_length(verify: impl Fn(&[Hash]) -> Result<()>) -> usize {
        let fitting: Vec<usize> = (0..=MAX_PROOF_HASHES)
            .filter(|&len| verify(&vec![[3u8; 32]; len]).unwrap_err().kind() != ErrorKind::Malformed)
            .collect();
        assert_eq!(fitting.len(), 1, "{fitting:?}");
        fitting[0]
    }

    #[test]
    fn the_bound_fits_every_proof_of_trees_up_to_2_pow_63() {
        let (h, n) = ([1u8; 32], 1u64 << 63);
        for index in [0, 1, n / 2 + 1, n - 2, n - 1] {
            assert_eq!(required_length(|p| verify_inclusion(&h, index, n, p, &h)), 63, "index {index}");
        }
        for old in [1, 2, 3, n / 2 + 1, n - 3, n - 1] {
            assert!(required_length(|p| verify_consistency(old, n, &h, &h, p)) <= MAX_PROOF_HASHES, "{old}");
        }
        assert_eq!(required_length(|p| verify_consistency(n / 2 + 1, n, &h, &h, p)), MAX_PROOF_HASHES);
    }

    #[test]
    fn proofs_are_bounded() {
        let h = [1u8; 32];
        let proof = vec![h; MAX_PROOF_HASHES + 1];
        let e = verify_inclusion(&h, 0, u64::MAX, &proof, &h).unwrap_err();
        assert!(e.message().contains("at most 64"), "{e}");
        let e = verify_consistency(1, u64::MAX, &h, &h, &proof).unwrap_err();
        assert!(e.message().contains("at most 64"), "{e}");
    }

    #[test]
    fn trivial_consistency() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]).unwrap();
        verify_consistency(0, 9, &EMPTY_ROOT, &b, &[]).unwrap();
        verify_consistency(4, 4, &a, &a, &[]).unwrap();
        assert_eq!(verify_consistency(0, 9, &a, &b, &[]).unwrap_err().kind(), ErrorKind::BadSignature);
        assert_eq!(verify_consistency(4, 4, &a, &b, &[]).unwrap_err().kind(), ErrorKind::BadSignature);
        assert_eq!(verify_consistency(4, 4, &a, &a, &[a]).unwrap_err().kind(), ErrorKind::Malformed);
        assert_eq!(verify_consistency(0, 4, &EMPTY_ROOT, &a, &[a]).unwrap_err().kind(), ErrorKind::Malformed);
        assert_eq!(verify_consistency(3, 4, &a, &b, &[]).unwrap_err().kind(), ErrorKind::Malformed);
    }
}
