//! `charter_audit_view_*`: a read-only snapshot of a log file, opened once
//! and asked for many proofs, where `charter_audit_prove_file_*` reread the
//! whole file on every call.
//!
//! Invariants: a view never writes to the file and takes no lock; it holds
//! the tree of the complete records the file had when it was opened, so its
//! answers do not change while a writer appends. Every rule is decided by
//! `charter_core::audit::LogView`; this file maps C types.

use std::ffi::c_char;

use charter_core::audit::{Hash, LogView};
use charter_core::Error;

use crate::args::arg_str;
use crate::firewall::call;
use crate::handle::{borrow, free_handle};
use crate::out::{bytes_out, opt_out, out, BytesOut, OptOut};
use crate::status::charter_status_t;

/// A read-only snapshot of an audit log file. Opaque; create with
/// `charter_audit_view_open`.
pub struct charter_audit_view {
    _opaque: [u8; 0],
}

/// The handle type of a log view.
pub type charter_audit_view_t = charter_audit_view;

crate::handle::handle_type!(charter_audit_view_t owns LogView, tag b"VEW1");

/// Opens a view of the log file at `path`: its complete records when it
/// runs, read without writing or locking. `CHARTER_E_NOT_FOUND`,
/// `CHARTER_E_IO`, `CHARTER_E_INVALID_ARGUMENT` (not a regular file) or
/// `CHARTER_E_CORRUPT` (not an audit log, or a damaged record).
///
/// Free the view written to `out` with `charter_audit_view_free`.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_view_open(
    path: *const c_char,
    out: *mut *mut charter_audit_view_t,
) -> charter_status_t {
    call(|| out!(out)?.write_handle(LogView::open(arg_str!(path)?)?))
}

/// Frees a view. NULL is a no-op; a second free is
/// `CHARTER_E_ALREADY_FREED`.
///
/// # Safety
/// `view` must be NULL or a pointer this library returned.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_view_free(view: *mut charter_audit_view_t) -> charter_status_t {
    call(|| free_handle!(view))
}

/// Writes how many records the view holds to `out_len` and their root to
/// `out_root` (32 bytes) when it is not NULL.
///
/// # Safety
/// `view` a handle; `out_len` valid for writing; `out_root` NULL or valid
/// for writing 32 bytes.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_view_len(
    view: *mut charter_audit_view_t,
    out_len: *mut u64,
    out_root: *mut u8,
) -> charter_status_t {
    call(|| {
        let out_len = out!(out_len)?;
        let (len, root) = borrow!(view, |v| Ok((v.len(), v.root())))?;
        opt_out!(out_root as Hash).write(root);
        out_len.put(len)
    })
}

/// `charter_audit_prove_file_inclusion` on the view: the proof that record
/// `index` is in the tree of the first `size` records (`out`, `out_len`;
/// free with `charter_bytes_free`), and that tree's root to `out_root` (32
/// bytes) when it is not NULL.
///
/// # Safety
/// `view` a handle; `out` and `out_len` valid for writing; `out_root` NULL
/// or valid for writing 32 bytes.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_view_prove_inclusion(
    view: *mut charter_audit_view_t,
    index: u64,
    size: u64,
    out: *mut *mut u8,
    out_len: *mut usize,
    out_root: *mut u8,
) -> charter_status_t {
    call(|| {
        let out = bytes_out!(out, out_len)?;
        let out_root = opt_out!(out_root as Hash);
        borrow!(view, |v| prove_inclusion(v, index, size, out, out_root))
    })
}

/// `charter_audit_prove_file_consistency` on the view: the proof that the
/// first `old_size` records are a prefix of the first `new_size`.
///
/// Free the proof written to `out` with `charter_bytes_free`.
///
/// # Safety
/// `view` a handle; `out` and `out_len` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_view_prove_consistency(
    view: *mut charter_audit_view_t,
    old_size: u64,
    new_size: u64,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> charter_status_t {
    call(|| bytes_out!(out, out_len)?.put_proof(borrow!(view, |v| v.prove_consistency(old_size, new_size))?))
}

/// Writes the proof that record `index` is in the tree of the first `size`
/// records of `view`, and that tree's root when asked: the body of the
/// inclusion exports on a view and on a file (a view opened for the call).
pub(crate) fn prove_inclusion(
    view: &LogView,
    index: u64,
    size: u64,
    out: BytesOut,
    out_root: OptOut<Hash>,
) -> Result<(), Error> {
    let proof = view.prove_inclusion(index, size)?;
    out_root.write(view.root_at(size)?);
    out.put_proof(proof)
}

/// The tlog-witness add-checkpoint body for the log's persisted checkpoint
/// (`<path>.checkpoint`), from a witness at `old_size`, to `out_body`
/// (caller-owned). `CHARTER_E_NOT_FOUND` without a checkpoint.
///
/// Free the body written to `out_body` with `charter_string_free`.
///
/// # Safety
/// `view` a handle; `out_body` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_view_witness_request(
    view: *mut charter_audit_view_t,
    old_size: u64,
    out_body: *mut *mut c_char,
) -> charter_status_t {
    call(|| out!(out_body)?.put(borrow!(view, |v| v.witness_request(old_size))?))
}
