//! `charter_audit_*`: the tamper-evident audit log for C.
//!
//! A log is a `charter_audit_t` handle. Hashes and roots are 32-byte
//! buffers (`CHARTER_AUDIT_HASH_LEN`); proofs are caller-owned byte buffers
//! of concatenated hashes, freed with `charter_bytes_free`; checkpoints and
//! verifier keys are caller-owned strings. Records go in and come out as
//! `charter_audit_record_t`. The standalone verifiers need no log, so an
//! auditor holding only a checkpoint can check a proof.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;
use std::time::Duration;

use charter_core::audit::{
    self, AuditLog, AuditOptions, Decision, FsyncPolicy, Hash, Query, Record, Recorder, Recovery, Scope,
    VerifyReport, MAX_PROOF_HASHES,
};
use charter_core::capability::{KeyPair, PrincipalId};
use charter_core::{Error, ErrorKind};

use crate::args::{any_length, arg_opt_str, arg_opt_struct, arg_str, arg_struct, bytes_arg};
use crate::capability::charter_keypair_t;
use crate::firewall::call;
use crate::handle::{clone_handle, opt_borrow};
use crate::out::{OptOut, Out};
use crate::status::{charter_status_t, CHARTER_OK};
use crate::strings::c_string;

/// An audit log. Opaque; create with `charter_audit_open` or
/// `charter_audit_in_memory`.
pub struct charter_audit {
    _opaque: [u8; 0],
}

/// The handle type of an audit log.
pub type charter_audit_t = charter_audit;

crate::handle::handle_type!(charter_audit_t owns AuditLog, tag b"AUD1");

/// Bytes in a hash, a root or each hash of a proof.
pub const CHARTER_AUDIT_HASH_LEN: usize = 32;

/// Fsync policy: every record is on stable storage before
/// `charter_audit_append` returns (concurrent appenders share fsyncs).
pub const CHARTER_AUDIT_FSYNC_ALWAYS: i32 = 0;
/// Fsync policy: a background thread syncs every `fsync_interval_ms`.
pub const CHARTER_AUDIT_FSYNC_INTERVAL: i32 = 1;
/// Fsync policy: only `charter_audit_sync`, a checkpoint or the last free
/// syncs.
pub const CHARTER_AUDIT_FSYNC_NEVER: i32 = 2;

/// Decision: the operation was allowed.
pub const CHARTER_AUDIT_ALLOW: i32 = 0;
/// Decision: the operation was refused.
pub const CHARTER_AUDIT_DENY: i32 = 1;
/// Decision: the operation could not be decided or failed.
pub const CHARTER_AUDIT_ERROR: i32 = 2;
/// In a query: records of any decision.
pub const CHARTER_AUDIT_ANY_DECISION: i32 = -1;

/// Recorder scope: refusals only (allowed operations cost nothing extra).
pub const CHARTER_AUDIT_SCOPE_DENIALS: i32 = 0;
/// Recorder scope: every decision (each allowed operation waits for its
/// record).
pub const CHARTER_AUDIT_SCOPE_ALL: i32 = 1;

/// How a log is kept and signed. Fill with `charter_audit_options_default`,
/// then adjust.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_audit_options_t {
    /// A `CHARTER_AUDIT_FSYNC_*` policy.
    pub fsync: i32,
    /// The sync interval of `CHARTER_AUDIT_FSYNC_INTERVAL`, in milliseconds
    /// (more than 0).
    pub fsync_interval_ms: u32,
    /// The key checkpoints are signed with, or NULL for none (the log then
    /// cannot sign checkpoints). The log keeps its own copy.
    pub signer: *mut charter_keypair_t,
    /// The log's name in its checkpoints and its key name: no spaces, no
    /// `+`. NULL for `"charter.local/audit"`.
    pub origin: *const c_char,
    /// Sign a checkpoint automatically after every this many records
    /// (needs `signer`); 0 for never.
    pub checkpoint_every: u64,
    /// Sign a checkpoint automatically every this many milliseconds when
    /// records were added (needs `signer`); 0 for never.
    pub checkpoint_interval_ms: u32,
}

/// One audit record.
///
/// As input (`charter_audit_append`), `index` is ignored, `action` is
/// required, and `actor`, `resource` and `detail` may be NULL (no actor,
/// empty text); `actor_unproven` must be false without an actor. Zero the
/// whole struct first (`= {0}`) so fields added at its end stay false. As
/// output every string is set (`actor` is NULL when the record has none)
/// and stays valid as long as the record: for `charter_audit_each`, the
/// callback; for `charter_audit_get`, until `charter_audit_record_free`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_audit_record_t {
    /// The record's index in the log (output only).
    pub index: u64,
    /// When it happened, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Who asked: a principal id (`charter-id1:...`), or NULL.
    pub actor: *const c_char,
    /// What was asked, such as `publish`: 1 to 64 bytes.
    pub action: *const c_char,
    /// What it was asked on, such as a topic: at most 1024 bytes.
    pub resource: *const c_char,
    /// A `CHARTER_AUDIT_ALLOW`, `_DENY` or `_ERROR` value.
    pub decision: i32,
    /// A status code: `CHARTER_OK` or the refusal's `CHARTER_E_*`.
    pub reason: i32,
    /// Free text for people: at most 1024 bytes.
    pub detail: *const c_char,
    /// Whether `actor` is only claimed, not proven: named by the request
    /// (such as the subject of a token whose holder never proved
    /// possession of its key), as for a refused session opening.
    pub actor_unproven: bool,
}

/// Which records `charter_audit_each` visits. Fill with
/// `charter_audit_query_default` (every record), then adjust.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_audit_query_t {
    /// Only records at this index or later.
    pub from_index: u64,
    /// Only records whose time is at least this (Unix ms).
    pub time_from_ms: u64,
    /// Only records whose time is before this (Unix ms); `UINT64_MAX`
    /// together with `time_from_ms` 0 means no time filter.
    pub time_until_ms: u64,
    /// Only records by this principal id, or NULL for any actor.
    pub actor: *const c_char,
    /// Only records with this decision, or `CHARTER_AUDIT_ANY_DECISION`.
    pub decision: i32,
}

/// What `charter_audit_verify` found.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_audit_report_t {
    /// Records read back intact, in order, from the start.
    pub records: u64,
    /// The first damaged, rewritten or missing record, when `has_first_bad`.
    pub first_bad: u64,
    /// The size of the signed checkpoint the records were checked against,
    /// when `has_checkpoint`.
    pub checkpoint_size: u64,
    /// The root of the first `records` records.
    pub root: [u8; 32],
    /// Whether everything checked out (no problem).
    pub ok: bool,
    /// Whether `first_bad` is set.
    pub has_first_bad: bool,
    /// Whether `checkpoint_size` is set.
    pub has_checkpoint: bool,
    /// How many trusted witnesses cosigned the checkpoint
    /// (`charter_audit_verify_file` with witnesses).
    pub witness_count: u64,
    /// `CHARTER_OK` when ok; otherwise what kind of problem was found:
    /// `CHARTER_E_CORRUPT` (records damaged, missing or rewritten) or
    /// `CHARTER_E_BAD_SIGNATURE` (a checkpoint missing, not verifying or
    /// short of its witness quorum).
    pub problem_status: charter_status_t,
}

/// What opening a log found and repaired.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct charter_audit_recovery_t {
    /// Intact records in the file.
    pub records: u64,
    /// Bytes of a torn last record (a crash during an append) cut off.
    pub truncated_bytes: u64,
}

/// An audit log plus which decisions to record in it, for
/// `charter_bus_new_with_recorder` and `charter_authority_new_with_recorder`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct charter_audit_recorder_t {
    /// The log decisions are appended to.
    pub log: *mut charter_audit_t,
    /// A `CHARTER_AUDIT_SCOPE_*` value.
    pub scope: i32,
}

/// A record callback for `charter_audit_each`: receives its `user_data`
/// and a record valid only during the call. Return `CHARTER_OK` to go on;
/// anything else stops the iteration.
pub type charter_audit_record_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, record: *const charter_audit_record_t) -> charter_status_t,
>;

impl From<VerifyReport> for charter_audit_report_t {
    fn from(r: VerifyReport) -> Self {
        charter_audit_report_t {
            records: r.records,
            first_bad: r.first_bad.unwrap_or(0),
            checkpoint_size: r.checkpoint.unwrap_or(0),
            root: r.root,
            ok: r.problem.is_none(),
            has_first_bad: r.first_bad.is_some(),
            has_checkpoint: r.checkpoint.is_some(),
            witness_count: r.witnesses.len() as u64,
            problem_status: r.problem_kind.map_or(CHARTER_OK, ErrorKind::code),
        }
    }
}

impl From<Recovery> for charter_audit_recovery_t {
    fn from(r: Recovery) -> Self {
        charter_audit_recovery_t { records: r.records, truncated_bytes: r.truncated_bytes }
    }
}

/// A record as C sees it, followed by the strings its pointers refer to
/// (held, never read, hence the leading underscores).
#[repr(C)]
struct OwnedRecord {
    public: charter_audit_record_t,
    _actor: Option<CString>,
    _action: CString,
    _resource: CString,
    _detail: CString,
}

impl OwnedRecord {
    fn new(index: u64, record: &Record) -> Box<OwnedRecord> {
        let actor = record.actor.map(|a| c_string(a.to_text()));
        let action = c_string(record.action.clone());
        let resource = c_string(record.resource.clone());
        let detail = c_string(record.detail.clone());
        let public = charter_audit_record_t {
            index,
            time_ms: record.time,
            actor: actor.as_ref().map_or(std::ptr::null(), |a| a.as_ptr()),
            action: action.as_ptr(),
            resource: resource.as_ptr(),
            decision: i32::from(record.decision.code()),
            reason: record.reason,
            detail: detail.as_ptr(),
            actor_unproven: record.actor_unproven,
        };
        // The pointers refer to heap buffers owned by the fields below, which
        // moving the struct into the box does not move.
        Box::new(OwnedRecord { public, _actor: actor, _action: action, _resource: resource, _detail: detail })
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

fn decision_arg(code: i32, name: &str) -> Result<Decision, Error> {
    u8::try_from(code)
        .ok()
        .and_then(Decision::from_code)
        .ok_or_else(|| invalid(format!("{name} must be allow (0), deny (1) or error (2), got {code}")))
}

/// A principal id in text form, when one is given.
fn actor(text: Option<&str>) -> Result<Option<PrincipalId>, Error> {
    text.map(PrincipalId::from_text).transpose()
}

/// The record at `record`.
///
/// # Safety
/// `record` must be NULL or valid for reading, its strings NULL or
/// NUL-terminated.
unsafe fn record_arg(record: *const charter_audit_record_t) -> Result<Record, Error> {
    let record = arg_struct!(record)?;
    Ok(Record {
        time: record.time_ms,
        actor: actor(arg_opt_str!(record.actor)?)?,
        actor_unproven: record.actor_unproven,
        action: arg_str!(record.action)?.into(),
        resource: arg_opt_str!(record.resource)?.unwrap_or_default().into(),
        decision: decision_arg(record.decision, "the record's decision")?,
        reason: record.reason,
        detail: arg_opt_str!(record.detail)?.unwrap_or_default().into(),
    })
}

/// The options at `options`, or the defaults when NULL.
///
/// # Safety
/// `options` must be NULL or valid for reading, its `origin` NULL or a
/// NUL-terminated string.
unsafe fn options_arg(options: *const charter_audit_options_t) -> Result<AuditOptions, Error> {
    let mut core = AuditOptions::default();
    let Some(options) = arg_opt_struct!(options)? else {
        return Ok(core);
    };
    core.fsync = match options.fsync {
        CHARTER_AUDIT_FSYNC_ALWAYS => FsyncPolicy::Always,
        CHARTER_AUDIT_FSYNC_INTERVAL => {
            FsyncPolicy::Interval(Duration::from_millis(u64::from(options.fsync_interval_ms)))
        }
        CHARTER_AUDIT_FSYNC_NEVER => FsyncPolicy::Never,
        other => {
            return Err(invalid(format!("options.fsync must be a CHARTER_AUDIT_FSYNC_* value, got {other}")))
        }
    };
    core.checkpoint_every = options.checkpoint_every;
    if options.checkpoint_interval_ms > 0 {
        core.checkpoint_interval = Some(Duration::from_millis(u64::from(options.checkpoint_interval_ms)));
    }
    if let Some(origin) = arg_opt_str!(options.origin)? {
        core.origin = origin.into();
    }
    if let Some(signer) = opt_borrow!(options.signer, |k| KeyPair::from_pkcs8(k.to_pkcs8()))? {
        core.signer = Some(Arc::new(signer));
    }
    Ok(core)
}

/// The query at `query`, or every record when NULL.
///
/// # Safety
/// `query` must be NULL or valid for reading, its `actor` NULL or a
/// NUL-terminated string.
unsafe fn query_arg(query: *const charter_audit_query_t) -> Result<Query, Error> {
    let Some(query) = arg_opt_struct!(query)? else {
        return Ok(Query::all());
    };
    let mut filter = Query::all().from_index(query.from_index);
    if query.time_from_ms != 0 || query.time_until_ms != u64::MAX {
        filter = filter.time(query.time_from_ms..query.time_until_ms);
    }
    if let Some(actor) = actor(arg_opt_str!(query.actor)?)? {
        filter = filter.actor(actor);
    }
    if query.decision != CHARTER_AUDIT_ANY_DECISION {
        filter = filter.decision(decision_arg(query.decision, "the query's decision")?);
    }
    Ok(filter)
}

/// The recorder at `recorder`.
///
/// # Safety
/// `recorder` must be NULL or valid for reading.
pub(crate) unsafe fn recorder_arg(recorder: *const charter_audit_recorder_t) -> Result<Recorder, Error> {
    let recorder = arg_struct!(recorder)?;
    let scope = match recorder.scope {
        CHARTER_AUDIT_SCOPE_DENIALS => Scope::Denials,
        CHARTER_AUDIT_SCOPE_ALL => Scope::All,
        other => {
            return Err(invalid(format!("recorder.scope must be a CHARTER_AUDIT_SCOPE_* value, got {other}")))
        }
    };
    Ok(Recorder::new(clone_handle!(recorder.log)?, scope))
}

/// The `len` bytes at `ptr`, the argument called `name`, as hashes.
///
/// # Safety
/// As `bytes_arg`.
pub(crate) unsafe fn proof_arg(ptr: *const u8, len: usize, name: &str) -> Result<Vec<Hash>, Error> {
    if !len.is_multiple_of(CHARTER_AUDIT_HASH_LEN) {
        return Err(Error::new(
            ErrorKind::Malformed,
            format!("{name} is {len} bytes, not a whole number of {CHARTER_AUDIT_HASH_LEN}-byte hashes"),
        ));
    }
    if len / CHARTER_AUDIT_HASH_LEN > MAX_PROOF_HASHES {
        return Err(Error::new(
            ErrorKind::Malformed,
            format!("a proof has at most {MAX_PROOF_HASHES} hashes, got {}", len / CHARTER_AUDIT_HASH_LEN),
        ));
    }
    // SAFETY: the caller's contract.
    let bytes = unsafe { bytes_arg(ptr, len, name, any_length)? };
    Ok(bytes
        .chunks_exact(CHARTER_AUDIT_HASH_LEN)
        .map(|c| {
            let mut hash = [0u8; CHARTER_AUDIT_HASH_LEN];
            hash.copy_from_slice(c);
            hash
        })
        .collect())
}

/// `proof_arg(ptr, len, "ptr")`: the proof argument `ptr` of `len` bytes.
macro_rules! arg_proof {
    ($p:ident, $len:expr) => {
        $crate::args::read_arg!([$p] => |name| $crate::audit::proof_arg($p, $len, name))
    };
}
pub(crate) use arg_proof;

/// The log behind `log`, out of its handle guard.
fn log_of(log: *mut charter_audit_t) -> Result<AuditLog, Error> {
    clone_handle!(log)
}

/// Writes a report to `out_report` and what is wrong to `out_problem` (a
/// caller-owned string, or NULL when the report is ok).
pub(crate) fn report_out(
    report: VerifyReport,
    out_report: Out<charter_audit_report_t>,
    out_problem: OptOut<*mut c_char>,
) {
    let problem = report.problem.clone();
    out_report.write(report.into());
    out_problem.write(problem.map_or(std::ptr::null_mut(), |p| c_string(p).into_raw()));
}

mod log;
mod verify;

pub use log::*;
pub use verify::*;
