//! `NativeAuditLog` and `NativeRecords`, wrapped by the public `AuditLog`
//! (`lib/audit.js`), and the standalone proof and checkpoint verifiers. The
//! auditor's read-only path is in `auditor.rs`, witnesses in `witness.rs`.
//!
//! What may touch the disk at length (opening, which reads and checks the
//! whole file; appending, which may fsync; syncing; checkpoints; verifying)
//! has a Promise-returning form that runs on a pool thread (`src/pool.rs`)
//! and a `Sync` form. Reading one record back (`get`, the records iterator)
//! is a bounded read and runs on the calling thread. A log holds nothing
//! that keeps the event loop alive; a pending operation does, until it
//! settles, like a timer.
//!
//! Indexes, sizes and times (Unix milliseconds) cross the boundary as JS
//! numbers: `lib/` checks that what it passes is a non-negative safe
//! integer, and what comes back is exact up to 2^53.

use std::cell::RefCell;
use std::convert::identity;
use std::rc::{Rc, Weak};
use std::time::Duration;

use charter_core::audit::{
    self, AuditLog, AuditOptions, Checkpoint, Decision, FsyncPolicy, Hash, Query, Record, Recorder, Records,
    Recovery, Scope, VerifyReport,
};
use charter_core::capability::PrincipalId;
use charter_core::ErrorKind;
use napi::bindgen_prelude::{Buffer, Env, Object, Uint8Array};
use napi_derive::napi;

use crate::error::{boundary, error, from_core, Error, Result};
use crate::keys::NativeKeyPair;
use crate::promise::on_pool;

/// How a log is kept: `fsync` is `"always"` (the default), `"never"` or
/// `"interval"` with `intervalMs`; `origin` names the log in checkpoints;
/// `checkpointEvery` records and `checkpointIntervalMs` sign checkpoints
/// automatically.
#[napi(object)]
pub struct AuditSpec {
    pub fsync: Option<String>,
    pub interval_ms: Option<f64>,
    pub origin: Option<String>,
    pub checkpoint_every: Option<f64>,
    pub checkpoint_interval_ms: Option<f64>,
}

/// A record to append (or encode): `time` in Unix milliseconds, `actor` a
/// principal id's text form, `actorUnproven` whether that actor is only
/// claimed, `decision` `"allow"`, `"deny"` or `"error"`.
#[napi(object)]
pub struct RecordSpec {
    pub time: f64,
    pub actor: Option<String>,
    pub actor_unproven: Option<bool>,
    pub action: String,
    pub resource: String,
    pub decision: String,
    pub reason: Option<i32>,
    pub detail: Option<String>,
}

/// A record read back, with its index.
#[napi(object, object_from_js = false)]
pub struct RecordView {
    pub index: f64,
    pub time: f64,
    pub actor: Option<String>,
    pub actor_unproven: bool,
    pub action: String,
    pub resource: String,
    pub decision: String,
    pub reason: i32,
    pub detail: String,
}

impl RecordView {
    fn new(index: u64, record: Record) -> RecordView {
        RecordView {
            index: index as f64,
            time: record.time as f64,
            actor: record.actor.map(|a| a.to_text()),
            actor_unproven: record.actor_unproven,
            action: record.action,
            resource: record.resource,
            decision: record.decision.name().to_owned(),
            reason: record.reason,
            detail: record.detail,
        }
    }
}

/// Which records `records` yields: times in `[since, until)`, an actor, a
/// decision, indexes from `fromIndex`.
#[napi(object)]
pub struct QuerySpec {
    pub since: Option<f64>,
    pub until: Option<f64>,
    pub actor: Option<String>,
    pub decision: Option<String>,
    pub from_index: Option<f64>,
}

/// What `verify` found.
#[napi(object, object_from_js = false)]
pub struct VerifyReportView {
    /// Records read back intact, in order, from the start.
    pub records: f64,
    /// The first damaged, rewritten or missing record.
    pub first_bad: Option<f64>,
    /// What is wrong, if anything.
    pub problem: Option<String>,
    /// The size of the signed checkpoint the records were checked against.
    pub checkpoint: Option<f64>,
    /// The root of the first `records` records.
    pub root: Buffer,
    pub ok: bool,
    /// The status name of the kind of problem, as the core decided it.
    pub problem_code: Option<String>,
    /// The size of the earlier checkpoint checked too.
    pub against: Option<f64>,
    /// The witnesses whose cosignatures verified, by name.
    pub witnesses: Vec<String>,
}

impl From<VerifyReport> for VerifyReportView {
    fn from(report: VerifyReport) -> VerifyReportView {
        VerifyReportView {
            records: report.records as f64,
            first_bad: report.first_bad.map(|i| i as f64),
            ok: report.is_ok(),
            problem_code: report.problem_kind.map(|kind| kind.name().to_owned()),
            against: report.against.map(|s| s as f64),
            witnesses: report.witnesses,
            problem: report.problem,
            checkpoint: report.checkpoint.map(|s| s as f64),
            root: report.root.as_slice().into(),
        }
    }
}

/// What opening the file found and repaired.
#[napi(object, object_from_js = false)]
pub struct RecoveryView {
    pub records: f64,
    pub truncated_bytes: f64,
}

impl From<Recovery> for RecoveryView {
    fn from(recovery: Recovery) -> RecoveryView {
        RecoveryView { records: recovery.records as f64, truncated_bytes: recovery.truncated_bytes as f64 }
    }
}

/// What a verified checkpoint says.
#[napi(object, object_from_js = false)]
pub struct CheckpointView {
    pub origin: String,
    pub size: f64,
    pub root: Buffer,
}

impl From<Checkpoint> for CheckpointView {
    fn from(checkpoint: Checkpoint) -> CheckpointView {
        CheckpointView {
            origin: checkpoint.origin,
            size: checkpoint.size as f64,
            root: checkpoint.root.as_slice().into(),
        }
    }
}

/// The core's limits on records, notes and proofs.
#[napi(object, object_from_js = false)]
pub struct AuditLimits {
    pub max_action_bytes: u32,
    pub max_resource_bytes: u32,
    pub max_detail_bytes: u32,
    pub max_record_bytes: u32,
    pub max_note_bytes: u32,
    pub max_proof_hashes: u32,
    pub record_version: u32,
}

/// The core's audit log. `close` lets go of this handle and of the
/// iterators made from it; the log itself (and the lock on its file) lives
/// on while a bus, an authority or a pending operation holds it.
#[napi]
pub struct NativeAuditLog {
    log: RefCell<Option<AuditLog>>,
    /// The live iterators' records, each holding the log: taken on `close`.
    iterators: RefCell<Vec<Weak<RefCell<Option<Records>>>>>,
}

#[napi]
impl NativeAuditLog {
    /// Opens (or creates) the log at `path` on a pool thread.
    #[napi(ts_return_type = "Promise<NativeAuditLog | undefined>")]
    pub fn open<'env>(
        env: &'env Env,
        path: String,
        spec: AuditSpec,
        signer: Option<&NativeKeyPair>,
    ) -> Result<Object<'env>> {
        boundary(|| {
            let options = options(spec, signer)?;
            on_pool(env, move || AuditLog::open(&path, options), NativeAuditLog::new)
        })
    }

    /// Opens (or creates) the log at `path` on this thread.
    #[napi(factory)]
    pub fn open_sync(
        path: String,
        spec: AuditSpec,
        signer: Option<&NativeKeyPair>,
    ) -> Result<NativeAuditLog> {
        boundary(|| {
            Ok(NativeAuditLog::new(AuditLog::open(&path, options(spec, signer)?).map_err(from_core)?))
        })
    }

    /// Starts a new history at `path` on a pool thread (see
    /// `AuditLog::start_over`).
    #[napi(ts_return_type = "Promise<NativeAuditLog | undefined>")]
    pub fn start_over<'env>(
        env: &'env Env,
        path: String,
        spec: AuditSpec,
        signer: Option<&NativeKeyPair>,
        reason: String,
    ) -> Result<Object<'env>> {
        boundary(|| {
            let options = options(spec, signer)?;
            on_pool(env, move || AuditLog::start_over(&path, options, &reason), NativeAuditLog::new)
        })
    }

    /// `startOver` on this thread.
    #[napi(factory)]
    pub fn start_over_sync(
        path: String,
        spec: AuditSpec,
        signer: Option<&NativeKeyPair>,
        reason: String,
    ) -> Result<NativeAuditLog> {
        boundary(|| {
            let log = AuditLog::start_over(&path, options(spec, signer)?, &reason).map_err(from_core)?;
            Ok(NativeAuditLog::new(log))
        })
    }

    /// A log kept in memory only.
    #[napi(factory)]
    pub fn in_memory(spec: AuditSpec, signer: Option<&NativeKeyPair>) -> Result<NativeAuditLog> {
        boundary(|| Ok(NativeAuditLog::new(AuditLog::in_memory(options(spec, signer)?).map_err(from_core)?)))
    }

    /// Appends `record` on a pool thread; resolves with its index.
    #[napi(ts_return_type = "Promise<number | undefined>")]
    pub fn append<'env>(&self, env: &'env Env, record: RecordSpec) -> Result<Object<'env>> {
        boundary(|| {
            let (log, record) = (self.log()?, record_of(record)?);
            on_pool(env, move || released_after(log, |log| log.append(&record)), |index| index as f64)
        })
    }

    /// Appends `record` on this thread; returns its index.
    #[napi]
    pub fn append_sync(&self, record: RecordSpec) -> Result<f64> {
        boundary(|| Ok(self.log()?.append(&record_of(record)?).map_err(from_core)? as f64))
    }

    /// Forces every record appended so far to stable storage, on a pool
    /// thread; resolves with `true`.
    #[napi(ts_return_type = "Promise<boolean | undefined>")]
    pub fn sync<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        boundary(|| {
            let log = self.log()?;
            on_pool(env, move || released_after(log, AuditLog::sync), |()| true)
        })
    }

    /// `sync` on this thread.
    #[napi]
    pub fn sync_sync(&self) -> Result<()> {
        boundary(|| self.log()?.sync().map_err(from_core))
    }

    /// The number of records.
    #[napi(getter)]
    pub fn length(&self) -> Result<f64> {
        boundary(|| Ok(self.log()?.len() as f64))
    }

    /// The Merkle root of all records.
    #[napi]
    pub fn root(&self) -> Result<Buffer> {
        boundary(|| Ok(self.log()?.root().as_slice().into()))
    }

    /// The Merkle root of the first `size` records.
    #[napi]
    pub fn root_at(&self, size: f64) -> Result<Buffer> {
        boundary(|| Ok(self.log()?.root_at(size as u64).map_err(from_core)?.as_slice().into()))
    }

    /// The leaf hash of record `index`.
    #[napi]
    pub fn leaf_hash(&self, index: f64) -> Result<Buffer> {
        boundary(|| Ok(self.log()?.leaf_hash(index as u64).map_err(from_core)?.as_slice().into()))
    }

    /// Signs a checkpoint on a pool thread (it syncs the records first).
    #[napi(ts_return_type = "Promise<string | undefined>")]
    pub fn checkpoint<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        boundary(|| {
            let log = self.log()?;
            on_pool(env, move || released_after(log, AuditLog::checkpoint), identity)
        })
    }

    /// `checkpoint` on this thread.
    #[napi]
    pub fn checkpoint_sync(&self) -> Result<String> {
        boundary(|| self.log()?.checkpoint().map_err(from_core))
    }

    /// The note verifier key, `<origin>+<key id>+<key>`; `null` without a signer.
    #[napi(getter)]
    pub fn verifier_key(&self) -> Result<Option<String>> {
        boundary(|| {
            let log = self.log()?;
            match log.options().signer {
                Some(_) => log.verifier_key().map(Some).map_err(from_core),
                None => Ok(None),
            }
        })
    }

    /// The log's name in its checkpoints.
    #[napi(getter)]
    pub fn origin(&self) -> Result<String> {
        boundary(|| Ok(self.log()?.options().origin.clone()))
    }

    /// Records between automatic checkpoints (0: none).
    #[napi(getter)]
    pub fn checkpoint_every(&self) -> Result<f64> {
        boundary(|| Ok(self.log()?.options().checkpoint_every as f64))
    }

    /// Milliseconds between automatic checkpoints; `null` for none.
    #[napi(getter)]
    pub fn checkpoint_interval_ms(&self) -> Result<Option<f64>> {
        boundary(|| Ok(self.log()?.options().checkpoint_interval.map(|d| d.as_millis() as f64)))
    }

    /// The file the log is kept in; `null` in memory.
    #[napi(getter)]
    pub fn path(&self) -> Result<Option<String>> {
        boundary(|| Ok(self.log()?.path().map(|p| p.to_string_lossy().into_owned())))
    }

    /// What opening the file found and repaired.
    #[napi(getter)]
    pub fn recovery(&self) -> Result<RecoveryView> {
        boundary(|| Ok(self.log()?.recovery().into()))
    }

    /// The latest persisted checkpoint note, if any.
    #[napi]
    pub fn latest_checkpoint(&self) -> Result<Option<String>> {
        boundary(|| self.log()?.latest_checkpoint().map_err(from_core))
    }

    /// The proof that record `index` is in the tree of the first `size`.
    #[napi]
    pub fn prove_inclusion(&self, index: f64, size: f64) -> Result<Vec<Buffer>> {
        boundary(|| {
            let proof = self.log()?.prove_inclusion(index as u64, size as u64).map_err(from_core)?;
            Ok(buffers(&proof))
        })
    }

    /// The proof that the tree of the first `oldSize` records is a prefix
    /// of the tree of the first `newSize`.
    #[napi]
    pub fn prove_consistency(&self, old_size: f64, new_size: f64) -> Result<Vec<Buffer>> {
        boundary(|| {
            let proof = self.log()?.prove_consistency(old_size as u64, new_size as u64).map_err(from_core)?;
            Ok(buffers(&proof))
        })
    }

    /// Record `index`, read back and checked against the tree.
    #[napi]
    pub fn get(&self, index: f64) -> Result<RecordView> {
        boundary(|| {
            let index = index as u64;
            Ok(RecordView::new(index, self.log()?.get(index).map_err(from_core)?))
        })
    }

    /// The records `query` selects, among those in the log now.
    #[napi]
    pub fn records(&self, query: QuerySpec) -> Result<NativeRecords> {
        boundary(|| {
            let records = Rc::new(RefCell::new(Some(self.log()?.records(query_of(query)?))));
            let mut iterators = self.iterators.borrow_mut();
            iterators.retain(|i| i.strong_count() > 0);
            iterators.push(Rc::downgrade(&records));
            Ok(NativeRecords { records })
        })
    }

    /// Rereads and rechecks every record on a pool thread.
    #[napi(ts_return_type = "Promise<VerifyReportView | undefined>")]
    pub fn verify<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        boundary(|| {
            let log = self.log()?;
            verify_on_pool(env, move || log.verify())
        })
    }

    /// `verify` on this thread.
    #[napi]
    pub fn verify_sync(&self) -> Result<VerifyReportView> {
        boundary(|| Ok(self.log()?.verify().map_err(from_core)?.into()))
    }

    /// `verify`, and that the log extends `note`, on a pool thread.
    #[napi(ts_return_type = "Promise<VerifyReportView | undefined>")]
    pub fn verify_against<'env>(&self, env: &'env Env, note: String) -> Result<Object<'env>> {
        boundary(|| {
            let log = self.log()?;
            verify_on_pool(env, move || log.verify_against(&note))
        })
    }

    /// `verifyAgainst` on this thread.
    #[napi]
    pub fn verify_against_sync(&self, note: String) -> Result<VerifyReportView> {
        boundary(|| Ok(self.log()?.verify_against(&note).map_err(from_core)?.into()))
    }

    /// Lets go of this handle and its iterators. Idempotent.
    #[napi]
    pub fn close(&self) {
        self.log.borrow_mut().take();
        for records in self.iterators.take() {
            if let Some(records) = records.upgrade() {
                records.borrow_mut().take();
            }
        }
    }
}

impl NativeAuditLog {
    fn new(log: AuditLog) -> NativeAuditLog {
        NativeAuditLog { log: RefCell::new(Some(log)), iterators: RefCell::default() }
    }

    /// The log, or `CLOSED` once `close` was called.
    fn log(&self) -> Result<AuditLog> {
        self.log.borrow().clone().ok_or_else(closed)
    }

    /// A recorder of `scope` (`"denials"` or `"all"`) into this log, for a
    /// bus or an authority.
    pub(crate) fn recorder(&self, scope: Option<&str>) -> Result<Recorder> {
        let scope = match scope {
            None | Some("denials") => Scope::Denials,
            Some("all") => Scope::All,
            Some(other) => return Err(invalid(format!("unknown audit scope {other:?}"))),
        };
        Ok(Recorder::new(self.log()?, scope))
    }
}

/// The records of a query, read one at a time; `CLOSED` once its log is.
#[napi]
pub struct NativeRecords {
    records: Rc<RefCell<Option<Records>>>,
}

#[napi]
impl NativeRecords {
    /// The next record, or `null` at the end. A record that fails its
    /// check is thrown (`CorruptError`), and the iteration ends there.
    #[napi]
    pub fn next(&self) -> Result<Option<RecordView>> {
        boundary(|| match self.records.borrow_mut().as_mut().ok_or_else(closed)?.next() {
            Some(Ok((index, record))) => Ok(Some(RecordView::new(index, record))),
            Some(Err(e)) => Err(from_core(e)),
            None => Ok(None),
        })
    }
}

/// Checks that `leaf` (a leaf hash) is record `index` of the tree of
/// `size` records whose root is `root`.
#[napi]
pub fn verify_inclusion(
    leaf: Uint8Array,
    index: f64,
    size: f64,
    proof: Vec<Uint8Array>,
    root: Uint8Array,
) -> Result<()> {
    boundary(|| {
        let (leaf, root, proof) = (hash(&leaf, "leaf")?, hash(&root, "root")?, hashes(&proof)?);
        audit::verify_inclusion(&leaf, index as u64, size as u64, &proof, &root).map_err(from_core)
    })
}

/// Checks that the tree of `oldSize` records with `oldRoot` is a prefix of
/// the tree of `newSize` records with `newRoot`.
#[napi]
pub fn verify_consistency(
    old_size: f64,
    new_size: f64,
    old_root: Uint8Array,
    new_root: Uint8Array,
    proof: Vec<Uint8Array>,
) -> Result<()> {
    boundary(|| {
        let (old_root, new_root) = (hash(&old_root, "oldRoot")?, hash(&new_root, "newRoot")?);
        let proof = hashes(&proof)?;
        audit::verify_consistency(old_size as u64, new_size as u64, &old_root, &new_root, &proof)
            .map_err(from_core)
    })
}

/// Verifies a signed checkpoint with one trusted verifier key.
#[napi]
pub fn verify_checkpoint(note: String, verifier_key: String) -> Result<CheckpointView> {
    boundary(|| Ok(audit::verify_checkpoint(&note, &verifier_key).map_err(from_core)?.into()))
}

/// The RFC 9162 leaf hash, `SHA-256(0x00 || leaf)`.
#[napi]
pub fn leaf_hash(leaf: Uint8Array) -> Buffer {
    audit::leaf_hash(&leaf).as_slice().into()
}

/// The canonical encoding of `record` stored at `index`: its Merkle leaf.
#[napi]
pub fn encode_record(record: RecordSpec, index: f64) -> Result<Buffer> {
    boundary(|| Ok(record_of(record)?.encode(index as u64).map_err(from_core)?.into()))
}

/// The core's limits, for `auditLimits`.
#[napi]
pub fn audit_limits() -> AuditLimits {
    AuditLimits {
        max_action_bytes: audit::MAX_ACTION_BYTES as u32,
        max_resource_bytes: audit::MAX_RESOURCE_BYTES as u32,
        max_detail_bytes: audit::MAX_DETAIL_BYTES as u32,
        max_record_bytes: audit::MAX_RECORD_BYTES as u32,
        max_note_bytes: audit::MAX_NOTE_BYTES as u32,
        max_proof_hashes: audit::MAX_PROOF_HASHES as u32,
        record_version: u32::from(audit::RECORD_VERSION),
    }
}

/// Runs `work` on `log` and lets go of this clone of it before the caller
/// settles the Promise: a `close()` right after the `await` then leaves no
/// clone behind on the pool thread, and the file is free to open again at
/// once (the last clone of a log closes its file).
fn released_after<T>(
    log: AuditLog,
    work: impl FnOnce(&AuditLog) -> charter_core::Result<T>,
) -> charter_core::Result<T> {
    work(&log)
}

/// Runs a verification on a pool thread; the Promise resolves with its report.
pub(crate) fn verify_on_pool<'env>(
    env: &'env Env,
    verify: impl FnOnce() -> charter_core::Result<VerifyReport> + Send + 'static,
) -> Result<Object<'env>> {
    on_pool(env, verify, VerifyReportView::from)
}

fn options(spec: AuditSpec, signer: Option<&NativeKeyPair>) -> Result<AuditOptions> {
    let mut options = AuditOptions { signer: signer.map(|s| s.pair.clone()), ..AuditOptions::default() };
    options.fsync = match (spec.fsync.as_deref(), spec.interval_ms) {
        (None | Some("always"), _) => FsyncPolicy::Always,
        (Some("never"), _) => FsyncPolicy::Never,
        (Some("interval"), Some(ms)) => FsyncPolicy::Interval(Duration::from_millis(ms as u64)),
        (Some(other), _) => return Err(invalid(format!("unknown fsync policy {other:?}"))),
    };
    if let Some(origin) = spec.origin {
        options.origin = origin;
    }
    options.checkpoint_every = spec.checkpoint_every.map_or(0, |n| n as u64);
    options.checkpoint_interval = spec.checkpoint_interval_ms.map(|ms| Duration::from_millis(ms as u64));
    Ok(options)
}

fn record_of(spec: RecordSpec) -> Result<Record> {
    Ok(Record {
        time: spec.time as u64,
        actor: spec.actor.as_deref().map(principal).transpose()?,
        actor_unproven: spec.actor_unproven.unwrap_or(false),
        action: spec.action,
        resource: spec.resource,
        decision: decision(&spec.decision)?,
        reason: spec.reason.unwrap_or(0),
        detail: spec.detail.unwrap_or_default(),
    })
}

fn query_of(spec: QuerySpec) -> Result<Query> {
    let mut query = Query::all().from_index(spec.from_index.map_or(0, |i| i as u64));
    if spec.since.is_some() || spec.until.is_some() {
        let since = spec.since.map_or(0, |t| t as u64);
        query = query.time(since..spec.until.map_or(u64::MAX, |t| t as u64));
    }
    if let Some(actor) = spec.actor {
        query = query.actor(principal(&actor)?);
    }
    if let Some(d) = spec.decision {
        query = query.decision(decision(&d)?);
    }
    Ok(query)
}

fn principal(text: &str) -> Result<PrincipalId> {
    PrincipalId::from_text(text).map_err(from_core)
}

fn decision(name: &str) -> Result<Decision> {
    [Decision::Allow, Decision::Deny, Decision::Error]
        .into_iter()
        .find(|d| d.name() == name)
        .ok_or_else(|| invalid(format!("decision must be 'allow', 'deny' or 'error', got {name:?}")))
}

fn hash(bytes: &[u8], what: &str) -> Result<Hash> {
    bytes.try_into().map_err(|_| invalid(format!("{what} must be a 32-byte hash, got {} bytes", bytes.len())))
}

pub(crate) fn hashes(proof: &[Uint8Array]) -> Result<Vec<Hash>> {
    proof.iter().map(|h| hash(h, "each proof hash")).collect()
}

pub(crate) fn buffers(proof: &[Hash]) -> Vec<Buffer> {
    proof.iter().map(|h| h.as_slice().into()).collect()
}

fn closed() -> Error {
    error(ErrorKind::Closed, "the audit log is closed")
}

pub(crate) fn invalid(message: String) -> Error {
    error(ErrorKind::InvalidArgument, message)
}
