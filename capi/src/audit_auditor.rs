//! `charter_audit_*` for auditors and `charter_witness_*`: verifying and
//! proving from a log file without writing to it or locking it, witness
//! cosignatures (C2SP `cosignature/v1`) and a witness.
//!
//! Every rule is decided by `charter_core::audit`; this file maps C types.
//! String arrays are checked against their limit before any is read.

use std::ffi::c_char;
use std::sync::Arc;

use charter_core::audit::{
    self, Cosigned, LogView, VerifyOptions, Witness, MAX_WITNESSED_LOGS, MAX_WITNESSES,
};
use charter_core::capability::KeyPair;
use charter_core::{Error, ErrorKind};

use crate::args::{any_length, arg_opt_str, arg_opt_struct, arg_slice, arg_str, arg_str_array, owned};
use crate::audit::{arg_proof, charter_audit_report_t, report_out};
use crate::audit_view::prove_inclusion;
use crate::capability::charter_keypair_t;
use crate::firewall::call;
use crate::handle::{borrow, clone_handle, free_handle};
use crate::out::{bytes_out, opt_out, out, OptOut, Out};
use crate::status::charter_status_t;
use charter_core::audit::Hash;

/// A witness. Opaque; create with `charter_witness_open`.
pub struct charter_witness {
    _opaque: [u8; 0],
}

/// The handle type of a witness.
pub type charter_witness_t = charter_witness;

crate::handle::handle_type!(charter_witness_t owns Witness, tag b"WIT1");

/// What `charter_audit_verify_file` trusts and requires. Fill with
/// `charter_audit_verify_options_default` (nothing trusted), then adjust.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_audit_verify_options_t {
    /// The log's note verifier key, or NULL. With it the persisted
    /// checkpoint must verify and the records must extend it.
    pub log_key: *const c_char,
    /// With `log_key`: accept a log without a persisted checkpoint.
    pub allow_missing_checkpoint: bool,
    /// An earlier checkpoint note the log must extend, or NULL (needs
    /// `log_key`).
    pub against: *const c_char,
    /// `witness_count` cosigner verifier keys of trusted witnesses.
    pub witnesses: *const *const c_char,
    /// How many strings `witnesses` holds (at most 64).
    pub witness_count: usize,
    /// How many witnesses must have cosigned the persisted checkpoint.
    pub quorum: usize,
    /// A trust state file remembering the last checkpoint accepted per
    /// origin (created 0600), or NULL (needs `log_key`).
    pub state_path: *const c_char,
}

/// The verify options at `options`, or none trusted when NULL.
///
/// # Safety
/// `options` must be NULL or valid for reading, its strings as documented.
unsafe fn verify_options_arg(options: *const charter_audit_verify_options_t) -> Result<VerifyOptions, Error> {
    let Some(options) = arg_opt_struct!(options)? else {
        return Ok(VerifyOptions::default());
    };
    Ok(VerifyOptions {
        log_key: arg_opt_str!(options.log_key)?.map(str::to_owned),
        allow_missing_checkpoint: options.allow_missing_checkpoint,
        against: arg_opt_str!(options.against)?.map(str::to_owned),
        witnesses: owned(arg_str_array!(options.witnesses, options.witness_count, MAX_WITNESSES)?),
        quorum: options.quorum,
        state: arg_opt_str!(options.state_path)?.map(Into::into),
    })
}

/// Fills `out` with options that trust nothing: only the records' own
/// integrity is checked.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_verify_options_default(
    out: *mut charter_audit_verify_options_t,
) -> charter_status_t {
    call(|| {
        out!(out)?.put(charter_audit_verify_options_t {
            log_key: std::ptr::null(),
            allow_missing_checkpoint: false,
            against: std::ptr::null(),
            witnesses: std::ptr::null(),
            witness_count: 0,
            quorum: 0,
            state_path: std::ptr::null(),
        })
    })
}

/// Verifies the log file at `path` without writing to it or locking it,
/// so it works on a read-only file and beside a live writer (it reads the
/// records complete when it runs). Streams: memory stays bounded however
/// long the log. Checks every record, and with `options` (NULL: nothing
/// trusted) the persisted checkpoint, an earlier one, witness cosignatures
/// and a trust state. Writes the findings to `out_report` and, when
/// `out_problem` is not NULL, what is wrong (a caller-owned string, or
/// NULL when `out_report->ok`). With `log_key` and no checkpoint the
/// report is not ok unless `allow_missing_checkpoint`. Fails only when
/// the check could not run: `CHARTER_E_NOT_FOUND`, `CHARTER_E_IO`,
/// `CHARTER_E_INVALID_ARGUMENT` (not a regular file, options that do not
/// fit together), `CHARTER_E_CORRUPT` (not an audit log),
/// `CHARTER_E_MALFORMED` or `CHARTER_E_BAD_SIGNATURE` (a bad key or
/// `against` note).
///
/// Free the problem written to `out_problem` with `charter_string_free`.
///
/// # Safety
/// `path` must be a NUL-terminated string; `options` NULL or valid for
/// reading; `out_report` NULL or valid for writing; `out_problem` NULL or
/// valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_verify_file(
    path: *const c_char,
    options: *const charter_audit_verify_options_t,
    out_report: *mut charter_audit_report_t,
    out_problem: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        let out_report = out!(out_report)?;
        let out_problem = opt_out!(out_problem);
        // SAFETY: the caller's contract on `path` and `options`.
        unsafe { verify_file(path, options, out_report, out_problem, None) }
    })
}

/// `charter_audit_verify_file`, also naming the witnesses whose
/// cosignatures on the persisted checkpoint verified: `out_witnesses`
/// receives their names, one per line (empty when none; a caller-owned
/// string; names never hold a newline).
///
/// Free the strings written to `out_problem` and `out_witnesses` with
/// `charter_string_free`.
///
/// # Safety
/// As `charter_audit_verify_file`; `out_witnesses` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_verify_file_witnesses(
    path: *const c_char,
    options: *const charter_audit_verify_options_t,
    out_report: *mut charter_audit_report_t,
    out_problem: *mut *mut c_char,
    out_witnesses: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        let out_report = out!(out_report)?;
        let out_problem = opt_out!(out_problem);
        let out_witnesses = out!(out_witnesses)?;
        // SAFETY: the caller's contract on `path` and `options`.
        unsafe { verify_file(path, options, out_report, out_problem, Some(out_witnesses)) }
    })
}

/// The body of the `charter_audit_verify_file` exports; the witnesses'
/// names go to `out_witnesses` when given.
///
/// # Safety
/// As `charter_audit_verify_file`.
unsafe fn verify_file(
    path: *const c_char,
    options: *const charter_audit_verify_options_t,
    out_report: Out<charter_audit_report_t>,
    out_problem: OptOut<*mut c_char>,
    out_witnesses: Option<Out<*mut c_char>>,
) -> Result<(), Error> {
    let path = arg_str!(path)?;
    // SAFETY: the caller's contract on `options`.
    let options = unsafe { verify_options_arg(options)? };
    let report = audit::verify_log(path, &options)?;
    if let Some(out_witnesses) = out_witnesses {
        out_witnesses.write_string(report.witnesses.join("\n"));
    }
    report_out(report, out_report, out_problem);
    Ok(())
}

/// Writes the proof that record `index` is in the tree of the first `size`
/// records of the log file at `path` to `out` (`out_len` bytes; free with
/// `charter_bytes_free`), read without writing or locking. Also writes that
/// tree's root to `out_root` (32 bytes) when it is not NULL.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` and `out_len` NULL or
/// valid for writing; `out_root` NULL or valid for writing 32 bytes.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_prove_file_inclusion(
    path: *const c_char,
    index: u64,
    size: u64,
    out: *mut *mut u8,
    out_len: *mut usize,
    out_root: *mut u8,
) -> charter_status_t {
    call(|| {
        let out = bytes_out!(out, out_len)?;
        let out_root = opt_out!(out_root as Hash);
        prove_inclusion(&LogView::open(arg_str!(path)?)?, index, size, out, out_root)
    })
}

/// Writes the proof that the tree of the first `old_size` records of the
/// log file at `path` is a prefix of the tree of the first `new_size` to
/// `out` (free with `charter_bytes_free`), read without writing or locking.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` and `out_len` NULL or
/// valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_prove_file_consistency(
    path: *const c_char,
    old_size: u64,
    new_size: u64,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> charter_status_t {
    call(|| {
        bytes_out!(out, out_len)?
            .put_proof(LogView::open(arg_str!(path)?)?.prove_consistency(old_size, new_size)?)
    })
}

/// Writes the cosigner verifier key of witness `name` with `key`
/// (`<name>+<key id>+<base64(0x04 || key)>`) to `out`; free it with
/// `charter_string_free`.
///
/// # Safety
/// `name` must be a NUL-terminated string; `out` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_cosigner_key(
    key: *mut charter_keypair_t,
    name: *const c_char,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        let name = arg_str!(name)?;
        let public = borrow!(key, |k| Ok(k.public_key()))?;
        out.put(audit::cosigner_key(name, &public)?)
    })
}

/// Writes the `cosignature/v1` line of witness `name` with `key` over the
/// checkpoint `note`, at `timestamp` (POSIX seconds), to `out_line` (free
/// with `charter_string_free`). Append it to the note. A witness should use
/// `charter_witness_add_checkpoint`, which checks consistency first.
///
/// # Safety
/// `note` and `name` must be NUL-terminated strings; `out_line` NULL or
/// valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_cosign(
    note: *const c_char,
    name: *const c_char,
    key: *mut charter_keypair_t,
    timestamp: u64,
    out_line: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        let out_line = out!(out_line)?;
        let (note, name) = (arg_str!(note)?, arg_str!(name)?);
        out_line.put(borrow!(key, |k| audit::cosign(note, name, k, timestamp))?)
    })
}

/// Verifies that `note` is a checkpoint signed by `log_key` and cosigned
/// by at least `quorum` distinct witnesses among the `witness_count`
/// cosigner keys at `witnesses`. Writes its size to `out_size`, its root
/// to `out_root` (32 bytes) and how many witnesses verified to
/// `out_count`; each may be NULL. `CHARTER_E_BAD_SIGNATURE` when a
/// signature fails or too few witnesses cosigned; `CHARTER_E_MALFORMED`
/// for a bad key or note; `CHARTER_E_INVALID_ARGUMENT` for a quorum above
/// the witness count.
///
/// # Safety
/// `note` and `log_key` must be NUL-terminated strings; `witnesses` NULL
/// (with count 0) or `witness_count` strings; outputs NULL or valid for
/// writing (`out_root` 32 bytes).
#[no_mangle]
pub unsafe extern "C" fn charter_audit_verify_cosigned(
    note: *const c_char,
    log_key: *const c_char,
    witnesses: *const *const c_char,
    witness_count: usize,
    quorum: usize,
    out_size: *mut u64,
    out_root: *mut u8,
    out_count: *mut usize,
) -> charter_status_t {
    call(|| {
        let (out_size, out_root, out_count) =
            (opt_out!(out_size), opt_out!(out_root as Hash), opt_out!(out_count));
        // SAFETY: the caller's contract on every input.
        let cosigned = unsafe { verify_cosigned(note, log_key, witnesses, witness_count, quorum)? };
        out_count.write(cosigned.witnesses.len());
        checkpoint_out(&cosigned, out_size, out_root);
        Ok(())
    })
}

/// The body shared by the `charter_audit_verify_cosigned` exports: reads
/// the inputs and verifies.
///
/// # Safety
/// As `charter_audit_verify_cosigned`.
unsafe fn verify_cosigned(
    note: *const c_char,
    log_key: *const c_char,
    witnesses: *const *const c_char,
    witness_count: usize,
    quorum: usize,
) -> Result<Cosigned, Error> {
    let (note, log_key) = (arg_str!(note)?, arg_str!(log_key)?);
    let witnesses = owned(arg_str_array!(witnesses, witness_count, MAX_WITNESSES)?);
    audit::verify_cosigned(note, log_key, &witnesses, quorum)
}

/// Writes the size and root of the checkpoint `cosigned` verified, where
/// asked.
fn checkpoint_out(cosigned: &Cosigned, out_size: OptOut<u64>, out_root: OptOut<Hash>) {
    out_size.write(cosigned.checkpoint.size);
    out_root.write(cosigned.checkpoint.root);
}

/// Like `charter_audit_verify_cosigned` (`out_size` and `out_root` may be
/// NULL), and also says which witnesses cosigned and when: `out_names`
/// receives their names, one per line in
/// the order verified (a caller-owned string; names never hold a newline),
/// and `out_timestamps`, when not NULL, the cosignatures' timestamps (Unix
/// seconds) in the same order. It has room for `timestamps_len` values;
/// `witness_count` is always enough (fewer is `CHARTER_E_INVALID_ARGUMENT`
/// when more witnesses verified). `out_count` receives how many verified.
///
/// Free the string written to `out_names` with `charter_string_free`.
///
/// # Safety
/// As `charter_audit_verify_cosigned`; `out_names` and `out_count` valid
/// for writing; `out_timestamps` NULL or valid for `timestamps_len`
/// aligned `uint64_t` writes.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_verify_cosigned_names(
    note: *const c_char,
    log_key: *const c_char,
    witnesses: *const *const c_char,
    witness_count: usize,
    quorum: usize,
    out_size: *mut u64,
    out_root: *mut u8,
    out_names: *mut *mut c_char,
    out_timestamps: *mut u64,
    timestamps_len: usize,
    out_count: *mut usize,
) -> charter_status_t {
    call(|| {
        let (out_size, out_root) = (opt_out!(out_size), opt_out!(out_root as Hash));
        let out_names = out!(out_names)?;
        let out_count = out!(out_count)?;
        // SAFETY: the caller's contract on every input.
        let cosigned = unsafe { verify_cosigned(note, log_key, witnesses, witness_count, quorum)? };
        let count = cosigned.timestamps.len();
        // An optional array: NULL when the timestamps are not wanted.
        if !out_timestamps.is_null() {
            if timestamps_len < count {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("out_timestamps has room for {timestamps_len}, but {count} witnesses cosigned"),
                ));
            }
            let slots = arg_slice!(mut out_timestamps, count, any_length)?;
            for (slot, &time) in slots.iter_mut().zip(&cosigned.timestamps) {
                slot.write(time);
            }
        }
        checkpoint_out(&cosigned, out_size, out_root);
        out_count.write(count);
        out_names.put(cosigned.witnesses.join("\n"))
    })
}

/// The body of a C2SP tlog-witness add-checkpoint request: the witness's
/// last size `old_size`, the consistency proof (`proof_len` bytes, whole
/// 32-byte hashes) from it to `note`'s size, and the checkpoint note.
/// Written to `out_body`, a caller-owned string.
///
/// Free the body written to `out_body` with `charter_string_free`.
///
/// # Safety
/// `proof` valid for `proof_len` bytes (NULL only with 0); `note` a
/// NUL-terminated string; `out_body` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_witness_request(
    old_size: u64,
    proof: *const u8,
    proof_len: usize,
    note: *const c_char,
    out_body: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        let out_body = out!(out_body)?;
        let (proof, note) = (arg_proof!(proof, proof_len)?, arg_str!(note)?);
        out_body.put(audit::witness_request(old_size, &proof, note))
    })
}

/// Parses a tlog-witness add-checkpoint request body into its old size
/// (`out_old_size`), its proof (`out_proof`/`out_proof_len`, whole 32-byte
/// hashes, caller-owned bytes) and its checkpoint note (`out_note`,
/// caller-owned). `CHARTER_E_MALFORMED` or `CHARTER_E_INVALID_ARGUMENT`
/// for a body that is not one; nothing is written then.
///
/// Free the proof written to `out_proof` with `charter_bytes_free` and the
/// note written to `out_note` with `charter_string_free`.
///
/// # Safety
/// `body` a NUL-terminated string; every output valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_parse_witness_request(
    body: *const c_char,
    out_old_size: *mut u64,
    out_proof: *mut *mut u8,
    out_proof_len: *mut usize,
    out_note: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        let out_old_size = out!(out_old_size)?;
        let out_proof = bytes_out!(out_proof, out_proof_len)?;
        let out_note = out!(out_note)?;
        let body = arg_str!(body)?;
        let (old_size, proof, note) = audit::parse_witness_request(body)?;
        out_old_size.write(old_size);
        out_note.write_string(note);
        out_proof.put(proof.concat())
    })
}

/// Opens a witness named `name` signing with `key` (the witness keeps its
/// own copy), keeping the last checkpoint it cosigned per log in the file
/// `state_path` (created 0600), and trusting the `log_key_count` logs whose
/// note verifier keys are at `log_keys` (a log's origin is its key's name).
///
/// Free the witness written to `out` with `charter_witness_free`.
///
/// # Safety
/// `state_path` and `name` must be NUL-terminated strings; `log_keys` NULL
/// (with count 0) or `log_key_count` strings; `out` NULL or valid for
/// writing.
#[no_mangle]
pub unsafe extern "C" fn charter_witness_open(
    state_path: *const c_char,
    name: *const c_char,
    key: *mut charter_keypair_t,
    log_keys: *const *const c_char,
    log_key_count: usize,
    out: *mut *mut charter_witness_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        let (state, name, logs) = (
            arg_str!(state_path)?,
            arg_str!(name)?,
            owned(arg_str_array!(log_keys, log_key_count, MAX_WITNESSED_LOGS)?),
        );
        let key = borrow!(key, |k| KeyPair::from_pkcs8(k.to_pkcs8()))?;
        out.write_handle(Witness::open(state, name, Arc::new(key), &logs)?)
    })
}

/// Frees a witness. NULL is a no-op.
///
/// # Safety
/// `witness` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_witness_free(witness: *mut charter_witness_t) -> charter_status_t {
    call(|| free_handle!(witness))
}

/// Writes the witness's cosigner verifier key to `out`; free it with
/// `charter_string_free`.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_witness_verifier_key(
    witness: *mut charter_witness_t,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| out!(out)?.put(borrow!(witness, |w| Ok(w.verifier_key().to_owned()))?))
}

/// Checks the checkpoint `note` against the last one this witness cosigned
/// for its log, with the consistency proof (`proof_len` bytes, 32 per hash)
/// from `old_size`, records it, and writes the cosignature line to
/// `out_line` (free with `charter_string_free`). `timestamp` is POSIX
/// seconds, 0 for now. Refusals follow C2SP tlog-witness:
/// `CHARTER_E_NOT_FOUND` unknown log, `CHARTER_E_BAD_SIGNATURE` no valid
/// log signature, `CHARTER_E_DENIED` an `old_size` other than the size the
/// witness holds (see `charter_witness_latest`), `CHARTER_E_CORRUPT` a
/// proof that fails (a split view or a rollback), `CHARTER_E_INVALID_ARGUMENT`
/// or `CHARTER_E_MALFORMED` a bad request.
///
/// # Safety
/// `proof` must be NULL (with `proof_len` 0) or valid for `proof_len`
/// bytes; `note` a NUL-terminated string; `out_line` NULL or valid for
/// writing.
#[no_mangle]
pub unsafe extern "C" fn charter_witness_add_checkpoint(
    witness: *mut charter_witness_t,
    old_size: u64,
    proof: *const u8,
    proof_len: usize,
    note: *const c_char,
    timestamp: u64,
    out_line: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        let out_line = out!(out_line)?;
        let (proof, note) = (arg_proof!(proof, proof_len)?, arg_str!(note)?);
        let witness = clone_handle!(witness)?;
        let line = if timestamp == 0 {
            witness.add_checkpoint(old_size, &proof, note)?
        } else {
            witness.add_checkpoint_at(old_size, &proof, note, timestamp)?
        };
        out_line.put(line)
    })
}

/// Writes the size and root (32 bytes) of the last checkpoint this witness
/// cosigned for `origin` to `out_size` and `out_root`, and whether there is
/// one to `out_found` (when false, the size and root are left alone).
///
/// # Safety
/// `origin` must be a NUL-terminated string; `out_found` valid for
/// writing; `out_size` and `out_root` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_witness_latest(
    witness: *mut charter_witness_t,
    origin: *const c_char,
    out_size: *mut u64,
    out_root: *mut u8,
    out_found: *mut bool,
) -> charter_status_t {
    call(|| {
        let out_found = out!(out_found)?;
        let origin = arg_str!(origin)?;
        let witness = clone_handle!(witness)?;
        let latest = witness.latest(origin)?;
        if let Some((size, root)) = latest {
            opt_out!(out_root as Hash).write(root);
            opt_out!(out_size).write(size);
        }
        out_found.put(latest.is_some())
    })
}
