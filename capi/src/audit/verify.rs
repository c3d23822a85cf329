//! The standalone verifiers: they need no log, so an auditor holding
//! only a checkpoint can check a proof.

use super::*;
use crate::args::{arg_array, arg_bytes, arg_str};
use crate::out::{opt_out, out};
use charter_core::audit::Hash;

/// Writes the RFC 9162 leaf hash of the `len` bytes at `leaf`,
/// SHA-256(0x00 || leaf), to `out_hash`.
///
/// # Safety
/// `leaf` must be NULL (with `len` 0) or valid for `len` bytes; `out_hash`
/// NULL or valid for writing 32 bytes.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_leaf_hash(
    leaf: *const u8,
    len: usize,
    out_hash: *mut u8,
) -> charter_status_t {
    call(|| {
        let out_hash = out!(out_hash as Hash)?;
        let leaf = arg_bytes!(leaf, len)?;
        out_hash.put(audit::leaf_hash(leaf))
    })
}

/// Checks that `leaf_hash` is at `index` in the tree of `size` leaves whose
/// root is `root`, given the inclusion proof of `proof_len` bytes at
/// `proof`. `CHARTER_OK`; `CHARTER_E_BAD_SIGNATURE` for a proof that does
/// not lead to `root`; `CHARTER_E_MALFORMED` for one of the wrong length;
/// `CHARTER_E_INVALID_ARGUMENT` when `index` is not below `size`.
///
/// # Safety
/// `leaf_hash` and `root` must be valid for 32 bytes; `proof` NULL (with
/// `proof_len` 0) or valid for `proof_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_verify_inclusion(
    leaf_hash: *const u8,
    index: u64,
    size: u64,
    proof: *const u8,
    proof_len: usize,
    root: *const u8,
) -> charter_status_t {
    call(|| {
        let (leaf, root, proof): (Hash, Hash, _) =
            (arg_array!(leaf_hash)?, arg_array!(root)?, arg_proof!(proof, proof_len)?);
        audit::verify_inclusion(&leaf, index, size, &proof, &root)
    })
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a
/// prefix of the tree of `new_size` leaves with root `new_root`, given the
/// consistency proof of `proof_len` bytes at `proof`. Fails as
/// `charter_audit_verify_inclusion` does.
///
/// # Safety
/// `old_root` and `new_root` must be valid for 32 bytes; `proof` NULL
/// (with `proof_len` 0) or valid for `proof_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: *const u8,
    new_root: *const u8,
    proof: *const u8,
    proof_len: usize,
) -> charter_status_t {
    call(|| {
        let (old_root, new_root, proof): (Hash, Hash, _) =
            (arg_array!(old_root)?, arg_array!(new_root)?, arg_proof!(proof, proof_len)?);
        audit::verify_consistency(old_size, new_size, &old_root, &new_root, &proof)
    })
}

/// Verifies the signed checkpoint `note` with the trusted `verifier_key`
/// and writes what it says: the log's origin to `out_origin` (free it with
/// `charter_string_free`), its size to `out_size` and its root to
/// `out_root` (32 bytes). Each output may be NULL. The origin is not
/// checked: compare it with the log you expect. `CHARTER_E_BAD_SIGNATURE`
/// or `CHARTER_E_MALFORMED` on failure.
///
/// # Safety
/// `note` and `verifier_key` must be NUL-terminated strings; each output
/// NULL or valid for writing (`out_root` 32 bytes).
#[no_mangle]
pub unsafe extern "C" fn charter_audit_verify_checkpoint(
    note: *const c_char,
    verifier_key: *const c_char,
    out_origin: *mut *mut c_char,
    out_size: *mut u64,
    out_root: *mut u8,
) -> charter_status_t {
    call(|| {
        let (note, key) = (arg_str!(note)?, arg_str!(verifier_key)?);
        let checkpoint = audit::verify_checkpoint(note, key)?;
        opt_out!(out_size).write(checkpoint.size);
        opt_out!(out_root as Hash).write(checkpoint.root);
        opt_out!(out_origin).put(checkpoint.origin)
    })
}
