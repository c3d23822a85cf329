//! `charter_audit_*` on a log handle: opening, appending, reading,
//! proving, checkpointing and verifying one `charter_audit_t`.

use super::*;
use crate::args::{arg_fn, arg_str};
use crate::handle::{borrow, free_handle};
use crate::out::{bytes_out, opt_out, out};
use charter_core::audit::Hash;

/// Fills `out` with the defaults: `CHARTER_AUDIT_FSYNC_ALWAYS` (with a
/// 1000 ms interval should the policy be changed to `_INTERVAL`), no
/// signer, the default origin.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_options_default(
    out: *mut charter_audit_options_t,
) -> charter_status_t {
    call(|| {
        out!(out)?.put(charter_audit_options_t {
            fsync: CHARTER_AUDIT_FSYNC_ALWAYS,
            fsync_interval_ms: 1000,
            signer: std::ptr::null_mut(),
            origin: std::ptr::null(),
            checkpoint_every: 0,
            checkpoint_interval_ms: 0,
        })
    })
}

/// Fills `out` with a query that selects every record.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_query_default(out: *mut charter_audit_query_t) -> charter_status_t {
    call(|| {
        out!(out)?.put(charter_audit_query_t {
            from_index: 0,
            time_from_ms: 0,
            time_until_ms: u64::MAX,
            actor: std::ptr::null(),
            decision: CHARTER_AUDIT_ANY_DECISION,
        })
    })
}

/// Opens the log at `path`, creating it (mode 0600) if it does not exist
/// (`options` may be NULL for the defaults). A torn last record (the file
/// ends inside it) is cut off and reported by `charter_audit_recovery`,
/// unless the persisted checkpoint covers it; a damaged or zero-filled
/// record fails with `CHARTER_E_CORRUPT` naming it, leaving the file as it
/// is. A log that does not extend its persisted checkpoint (`<path>.checkpoint`)
/// is `CHARTER_E_CORRUPT` too; with a signer, a checkpoint of another key
/// or origin is `CHARTER_E_BAD_SIGNATURE` or `CHARTER_E_INVALID_ARGUMENT`
/// (see `charter_audit_start_over`). Anything but a regular file (a FIFO,
/// a directory, a device) is `CHARTER_E_INVALID_ARGUMENT`, never waited on.
///
/// Free the log written to `out` with `charter_audit_free`.
///
/// # Safety
/// `path` must be a NUL-terminated string; `options` NULL or valid for
/// reading; `out` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_open(
    path: *const c_char,
    options: *const charter_audit_options_t,
    out: *mut *mut charter_audit_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        // SAFETY: the caller's contract on `path` and `options`.
        let (path, options) = unsafe { (arg_str!(path)?, options_arg(options)?) };
        out.write_handle(AuditLog::open(path, options)?)
    })
}

/// Starts a new history at `path`, the explicit operator act that replaces
/// a log which no longer extends its checkpoint: the old log and checkpoint
/// are renamed to `<path>.replaced-<unix ms>` and
/// `<path>.checkpoint.replaced-<unix ms>`, and the new log's record 0
/// (action `start_over`) names the old origin, size, root and `reason`.
/// `options` needs a signer and an origin other than the old checkpoint's
/// (`CHARTER_E_INVALID_ARGUMENT` otherwise).
///
/// Free the log written to `out` with `charter_audit_free`.
///
/// # Safety
/// `path` and `reason` must be NUL-terminated strings; `options` NULL or
/// valid for reading; `out` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_start_over(
    path: *const c_char,
    options: *const charter_audit_options_t,
    reason: *const c_char,
    out: *mut *mut charter_audit_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        // SAFETY: the caller's contract on `path`, `options` and `reason`.
        let (path, options, reason) = unsafe { (arg_str!(path)?, options_arg(options)?, arg_str!(reason)?) };
        out.write_handle(AuditLog::start_over(path, options, reason)?)
    })
}

/// Creates a log kept in memory only: the same tree, proofs and
/// checkpoints, without a file (`options` may be NULL; its fsync policy is
/// ignored).
///
/// Free the log written to `out` with `charter_audit_free`.
///
/// # Safety
/// `options` must be NULL or valid for reading; `out` NULL or valid for
/// writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_in_memory(
    options: *const charter_audit_options_t,
    out: *mut *mut charter_audit_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        // SAFETY: the caller's contract on `options`.
        let options = unsafe { options_arg(options)? };
        out.write_handle(AuditLog::in_memory(options)?)
    })
}

/// Frees a log. Buses and authorities recording into it keep it open until
/// they are freed; the last one to let go syncs it (unless its policy is
/// `CHARTER_AUDIT_FSYNC_NEVER`). NULL is a no-op.
///
/// # Safety
/// `log` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_free(log: *mut charter_audit_t) -> charter_status_t {
    call(|| free_handle!(log))
}

/// Appends `record` and writes its index to `out_index` (may be NULL).
/// Under `CHARTER_AUDIT_FSYNC_ALWAYS` the record is on stable storage when
/// this returns `CHARTER_OK`. `CHARTER_E_LIMIT_EXCEEDED` or
/// `CHARTER_E_INVALID_ARGUMENT` for a record over its limits; `CHARTER_E_IO`
/// when the write or the fsync failed.
///
/// # Safety
/// `record` must be NULL or valid for reading, with its strings NULL or
/// NUL-terminated; `out_index` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_append(
    log: *mut charter_audit_t,
    record: *const charter_audit_record_t,
    out_index: *mut u64,
) -> charter_status_t {
    call(|| {
        // SAFETY: the caller's contract on `record`.
        let record = unsafe { record_arg(record)? };
        opt_out!(out_index).put(log_of(log)?.append(&record)?)
    })
}

/// Forces every record appended so far to stable storage.
///
/// # Safety
/// `log` must be NULL or a pointer obtained from Charter.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_sync(log: *mut charter_audit_t) -> charter_status_t {
    call(|| log_of(log)?.sync())
}

/// Writes the number of records to `out_len`.
///
/// # Safety
/// `out_len` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_len(log: *mut charter_audit_t, out_len: *mut u64) -> charter_status_t {
    call(|| out!(out_len)?.put(borrow!(log, |l| Ok(l.len()))?))
}

/// Writes the Merkle root of every record (32 bytes) to `out_root`.
///
/// # Safety
/// `out_root` must be NULL or valid for writing 32 bytes.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_root(
    log: *mut charter_audit_t,
    out_root: *mut u8,
) -> charter_status_t {
    call(|| out!(out_root as Hash)?.put(borrow!(log, |l| Ok(l.root()))?))
}

/// Writes the Merkle root of the first `size` records to `out_root`;
/// `CHARTER_E_INVALID_ARGUMENT` when the log holds fewer.
///
/// # Safety
/// `out_root` must be NULL or valid for writing 32 bytes.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_root_at(
    log: *mut charter_audit_t,
    size: u64,
    out_root: *mut u8,
) -> charter_status_t {
    call(|| out!(out_root as Hash)?.put(borrow!(log, |l| l.root_at(size))?))
}

/// Writes the leaf hash of record `index` to `out_hash`;
/// `CHARTER_E_NOT_FOUND` when there is no such record.
///
/// # Safety
/// `out_hash` must be NULL or valid for writing 32 bytes.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_record_hash(
    log: *mut charter_audit_t,
    index: u64,
    out_hash: *mut u8,
) -> charter_status_t {
    call(|| out!(out_hash as Hash)?.put(borrow!(log, |l| l.leaf_hash(index))?))
}

/// Writes the proof that record `index` is in the tree of the first `size`
/// records to `out` (`out_len` bytes, a multiple of 32; free with
/// `charter_bytes_free`). Check it with `charter_audit_verify_inclusion`.
///
/// # Safety
/// `out` and `out_len` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_prove_inclusion(
    log: *mut charter_audit_t,
    index: u64,
    size: u64,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> charter_status_t {
    call(|| bytes_out!(out, out_len)?.put_proof(borrow!(log, |l| l.prove_inclusion(index, size))?))
}

/// Writes the proof that the tree of the first `old_size` records is a
/// prefix of the tree of the first `new_size` to `out` (`out_len` bytes;
/// free with `charter_bytes_free`). Check it with
/// `charter_audit_verify_consistency`.
///
/// # Safety
/// `out` and `out_len` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_prove_consistency(
    log: *mut charter_audit_t,
    old_size: u64,
    new_size: u64,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> charter_status_t {
    call(|| bytes_out!(out, out_len)?.put_proof(borrow!(log, |l| l.prove_consistency(old_size, new_size))?))
}

/// Writes record `index` to `out_record`, read back and checked against the
/// tree (a record changed on disk is `CHARTER_E_CORRUPT`, never returned);
/// free it with `charter_audit_record_free`. `CHARTER_E_NOT_FOUND` when
/// there is no such record.
///
/// # Safety
/// `out_record` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_get(
    log: *mut charter_audit_t,
    index: u64,
    out_record: *mut *mut charter_audit_record_t,
) -> charter_status_t {
    call(|| {
        let out_record = out!(out_record)?;
        let record = log_of(log)?.get(index)?;
        let owned: *mut charter_audit_record_t = Box::into_raw(OwnedRecord::new(index, &record)).cast();
        out_record.put(owned)
    })
}

/// Frees a record returned by `charter_audit_get`. NULL is allowed and does
/// nothing. Never pass a record received in a callback: that one belongs to
/// Charter.
///
/// # Safety
/// `record` must be NULL or a record returned by `charter_audit_get`, not
/// freed yet.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_record_free(record: *mut charter_audit_record_t) {
    // SAFETY: `record` came from `charter_audit_get`: the public struct is
    // the first field of a `repr(C)` `OwnedRecord`.
    crate::strings::free_value(record, |record| drop(unsafe { Box::from_raw(record.cast::<OwnedRecord>()) }));
}

/// Calls `callback` with each record `query` selects (NULL for every record),
/// oldest first, among those in the log when the call starts. Each is read
/// back and checked as `charter_audit_get` does; a record that fails ends
/// the iteration with its error (`CHARTER_E_CORRUPT`). A callback that
/// returns anything but `CHARTER_OK` stops the iteration, which then
/// returns `CHARTER_OK`. Writes the number of callbacks made to `out_count`
/// (may be NULL).
///
/// No Charter lock is held while `callback` runs: it may call any Charter
/// function, on this log too (append, or even free it; the iteration goes
/// on over the records it started with).
///
/// # Safety
/// `query` must be NULL or valid for reading; `callback` must be safe to call
/// with `user_data`; `out_count` NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_each(
    log: *mut charter_audit_t,
    query: *const charter_audit_query_t,
    callback: charter_audit_record_fn,
    user_data: *mut c_void,
    out_count: *mut u64,
) -> charter_status_t {
    call(|| {
        let callback = arg_fn!(callback)?;
        let out_count = opt_out!(out_count);
        // SAFETY: the caller's contract on `query`.
        let query = unsafe { query_arg(query)? };
        let mut count = 0u64;
        for entry in log_of(log)?.records(query) {
            let (index, record) = entry?;
            let owned = OwnedRecord::new(index, &record);
            count += 1;
            // SAFETY: the caller's contract on `callback` and `user_data`; the
            // record outlives the call.
            if unsafe { callback(user_data, &owned.public) } != CHARTER_OK {
                break;
            }
        }
        out_count.put(count)
    })
}

/// Writes the note verifier key checkpoints verify with
/// (`<origin>+<key id>+<key>`) to `out`; free it with `charter_string_free`.
/// `CHARTER_E_INVALID_ARGUMENT` for a log without a signer.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_verifier_key(
    log: *mut charter_audit_t,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| out!(out)?.put(borrow!(log, |l| l.verifier_key())?))
}

/// Signs a checkpoint of the log as it is now (syncing the records it
/// covers first) and writes the note to `out`; free it with
/// `charter_string_free`. A file log also keeps it in `<path>.checkpoint`.
/// `CHARTER_E_INVALID_ARGUMENT` for a log without a signer.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_checkpoint(
    log: *mut charter_audit_t,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| out!(out)?.put(log_of(log)?.checkpoint()?))
}

/// Writes the latest persisted checkpoint note to `out` (free it with
/// `charter_string_free`), or NULL when there is none yet.
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_latest_checkpoint(
    log: *mut charter_audit_t,
    out: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        let note = log_of(log)?.latest_checkpoint()?;
        out.put(note.map_or(std::ptr::null_mut(), |n| c_string(n).into_raw()))
    })
}

/// Rereads every record (from the file, for a file log), checks each one,
/// recomputes the tree and checks it against the latest persisted
/// checkpoint (for a log with a signer). Writes the findings to
/// `out_report` and, when `out_problem` is not NULL, what is wrong to it (a
/// caller-owned string, or NULL when `out_report->ok`). Fails only when the
/// check could not run (`CHARTER_E_IO`, or a file that is not an audit log).
///
/// Free the problem written to `out_problem` with `charter_string_free`.
///
/// # Safety
/// `out_report` must be NULL or valid for writing; `out_problem` NULL or
/// valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_verify(
    log: *mut charter_audit_t,
    out_report: *mut charter_audit_report_t,
    out_problem: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        let out_report = out!(out_report)?;
        let report = log_of(log)?.verify()?;
        report_out(report, out_report, opt_out!(out_problem));
        Ok(())
    })
}

/// `charter_audit_verify`, and also checks that the log extends `note`, an
/// earlier checkpoint of it kept elsewhere: a log truncated, rolled back or
/// rewritten since then is reported even if its persisted checkpoint was
/// replaced too. `CHARTER_E_BAD_SIGNATURE`, `CHARTER_E_MALFORMED` or
/// `CHARTER_E_INVALID_ARGUMENT` when `note` is not a checkpoint of this
/// log's signer and origin.
///
/// Free the problem written to `out_problem` with `charter_string_free`.
///
/// # Safety
/// `note` must be a NUL-terminated string; the rest as
/// `charter_audit_verify`.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_verify_against(
    log: *mut charter_audit_t,
    note: *const c_char,
    out_report: *mut charter_audit_report_t,
    out_problem: *mut *mut c_char,
) -> charter_status_t {
    call(|| {
        let out_report = out!(out_report)?;
        let note = arg_str!(note)?;
        let report = log_of(log)?.verify_against(note)?;
        report_out(report, out_report, opt_out!(out_problem));
        Ok(())
    })
}

/// Writes what opening the log found and repaired to `out` (all zero for a
/// log in memory).
///
/// # Safety
/// `out` must be NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn charter_audit_recovery(
    log: *mut charter_audit_t,
    out: *mut charter_audit_recovery_t,
) -> charter_status_t {
    call(|| {
        let out = out!(out)?;
        let recovery = borrow!(log, |l| Ok(l.recovery()))?;
        out.put(charter_audit_recovery_t::from(recovery))
    })
}
