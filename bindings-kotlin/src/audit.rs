//! The audit log, its records and the standalone verifiers.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use charter_core::audit::{self, AuditOptions, Decision, FsyncPolicy, Query, Record, Scope};
use charter_core::capability::PrincipalId;

use crate::capability::{KeyPair, PublicKey};
use crate::error::{closed, FfiError, Result};
use crate::proof::{hash, hashes, to_vecs};
use crate::time;

/// Which decisions a recording bus or authority writes.
#[derive(uniffi::Enum, Clone, Copy)]
pub enum AuditScope {
    /// Refusals only.
    Denials,
    /// Every decision.
    All,
}

impl From<AuditScope> for Scope {
    fn from(s: AuditScope) -> Scope {
        match s {
            AuditScope::Denials => Scope::Denials,
            AuditScope::All => Scope::All,
        }
    }
}

/// What a record says was decided.
#[derive(uniffi::Enum, Clone, Copy, PartialEq, Eq)]
pub enum AuditDecision {
    /// Allowed.
    Allow,
    /// Refused.
    Deny,
    /// Failed.
    Error,
}

impl From<AuditDecision> for Decision {
    fn from(d: AuditDecision) -> Decision {
        match d {
            AuditDecision::Allow => Decision::Allow,
            AuditDecision::Deny => Decision::Deny,
            AuditDecision::Error => Decision::Error,
        }
    }
}

impl From<Decision> for AuditDecision {
    fn from(d: Decision) -> AuditDecision {
        match d {
            Decision::Allow => AuditDecision::Allow,
            Decision::Deny => AuditDecision::Deny,
            Decision::Error => AuditDecision::Error,
        }
    }
}

/// One audited event.
#[derive(uniffi::Record)]
pub struct AuditRecord {
    /// What was asked, such as `publish`.
    pub action: String,
    /// What it was asked on.
    pub resource: String,
    /// What it came to.
    pub decision: AuditDecision,
    /// Who asked (`charter-id1:...`), when known.
    #[uniffi(default = None)]
    pub actor: Option<String>,
    /// A status code: 0, or the refusal's.
    #[uniffi(default = 0)]
    pub reason: i32,
    /// Free text for people.
    #[uniffi(default = "")]
    pub detail: String,
    /// Unix milliseconds; `None` when appending means now.
    #[uniffi(default = None)]
    pub time: Option<u64>,
    /// The actor is only claimed, never proven.
    #[uniffi(default = false)]
    pub actor_unproven: bool,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl AuditRecord {
    fn to_core(&self) -> Result<Record> {
        let mut record =
            Record::new(self.time.unwrap_or_else(now_ms), &self.action, &self.resource, self.decision.into());
        record.actor = self.actor.as_deref().map(PrincipalId::from_text).transpose()?;
        record.actor_unproven = self.actor_unproven;
        record.reason = self.reason;
        record.detail = self.detail.clone();
        Ok(record)
    }

    fn of(record: Record) -> AuditRecord {
        AuditRecord {
            action: record.action,
            resource: record.resource,
            decision: record.decision.into(),
            actor: record.actor.map(|a| a.to_text()),
            reason: record.reason,
            detail: record.detail,
            time: Some(record.time),
            actor_unproven: record.actor_unproven,
        }
    }
}

/// A record and its index.
#[derive(uniffi::Record)]
pub struct IndexedRecord {
    /// Its index in the log.
    pub index: u64,
    /// The record.
    pub record: AuditRecord,
}

/// When appends reach the disk.
#[derive(uniffi::Enum, Clone, Copy)]
pub enum Fsync {
    /// Durable when `append` returns.
    Always,
    /// Only on `sync` and `checkpoint`.
    Never,
    /// A background thread syncs this often.
    Interval {
        /// The period.
        nanos: i64,
    },
}

/// How a log is opened; `None` keeps the core's default.
#[derive(uniffi::Record)]
pub struct AuditSettings {
    /// When appends reach the disk.
    pub fsync: Fsync,
    /// The checkpoint signer.
    pub signer: Option<Arc<KeyPair>>,
    /// The log's name.
    pub origin: Option<String>,
    /// Sign a checkpoint every this many records (0: never).
    pub checkpoint_every: u64,
    /// Sign a checkpoint this often when records were added.
    pub checkpoint_interval_nanos: Option<i64>,
}

impl AuditSettings {
    fn to_core(&self) -> Result<AuditOptions> {
        let mut options = AuditOptions {
            fsync: match self.fsync {
                Fsync::Always => FsyncPolicy::Always,
                Fsync::Never => FsyncPolicy::Never,
                Fsync::Interval { nanos } => FsyncPolicy::Interval(time::duration(nanos, "fsync interval")?),
            },
            signer: self.signer.as_ref().map(|k| Arc::clone(&k.core)),
            checkpoint_every: self.checkpoint_every,
            checkpoint_interval: time::limit(self.checkpoint_interval_nanos, "checkpointInterval")?,
            ..AuditOptions::default()
        };
        if let Some(origin) = &self.origin {
            options.origin = origin.clone();
        }
        Ok(options)
    }
}

/// What `open` found.
#[derive(uniffi::Record)]
pub struct Recovery {
    /// Records in the file.
    pub records: u64,
    /// Bytes of a torn last append that were cut.
    pub truncated_bytes: u64,
}

/// What `verify` found.
#[derive(uniffi::Record)]
pub struct VerifyReport {
    /// Whether nothing was wrong.
    pub ok: bool,
    /// Records read.
    pub records: u64,
    /// The first damaged record.
    pub first_bad: Option<u64>,
    /// What was wrong.
    pub problem: Option<String>,
    /// The status name of the problem.
    pub problem_code: Option<String>,
    /// The size the kept checkpoint covers.
    pub checkpoint: Option<u64>,
    /// The size of the note checked against.
    pub against: Option<u64>,
    /// The recomputed root.
    pub root: Vec<u8>,
    /// The witnesses whose cosignatures verified.
    pub witnesses: Vec<String>,
}

impl From<audit::VerifyReport> for VerifyReport {
    fn from(r: audit::VerifyReport) -> VerifyReport {
        VerifyReport {
            ok: r.is_ok(),
            records: r.records,
            first_bad: r.first_bad,
            problem: r.problem,
            problem_code: r.problem_kind.map(|k| k.name().to_owned()),
            checkpoint: r.checkpoint,
            against: r.against,
            root: r.root.to_vec(),
            witnesses: r.witnesses,
        }
    }
}

/// A signed tree head.
#[derive(uniffi::Record)]
pub struct CheckpointData {
    /// The log's name.
    pub origin: String,
    /// The number of records.
    pub size: u64,
    /// The root of that tree.
    pub root: Vec<u8>,
}

impl From<audit::Checkpoint> for CheckpointData {
    fn from(c: audit::Checkpoint) -> CheckpointData {
        CheckpointData { origin: c.origin, size: c.size, root: c.root.to_vec() }
    }
}

/// A tamper-evident, append-only log.
#[derive(uniffi::Object)]
pub struct AuditLog {
    core: Mutex<Option<audit::AuditLog>>,
}

impl AuditLog {
    fn new(core: audit::AuditLog) -> Arc<AuditLog> {
        Arc::new(AuditLog { core: Mutex::new(Some(core)) })
    }

    fn lock(&self) -> MutexGuard<'_, Option<audit::AuditLog>> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Another hold on the log (what a bus or authority records to).
    pub(crate) fn handle(&self) -> Result<audit::AuditLog> {
        self.lock().clone().ok_or_else(|| closed("audit log"))
    }
}

#[uniffi::export]
impl AuditLog {
    /// Opens or creates the log at `path`.
    #[uniffi::constructor]
    pub fn open(path: String, settings: AuditSettings) -> Result<Arc<AuditLog>> {
        Ok(AuditLog::new(audit::AuditLog::open(&path, settings.to_core()?)?))
    }

    /// A log kept in memory.
    #[uniffi::constructor]
    pub fn in_memory(settings: AuditSettings) -> Result<Arc<AuditLog>> {
        Ok(AuditLog::new(audit::AuditLog::in_memory(settings.to_core()?)?))
    }

    /// Starts a new log at `path` in place of one that no longer extends
    /// its checkpoint, keeping the old files.
    #[uniffi::constructor]
    pub fn start_over(path: String, settings: AuditSettings, reason: String) -> Result<Arc<AuditLog>> {
        Ok(AuditLog::new(audit::AuditLog::start_over(&path, settings.to_core()?, &reason)?))
    }

    /// Appends `record`; its index.
    pub fn append(&self, record: AuditRecord) -> Result<u64> {
        let log = self.handle()?;
        Ok(log.append(&record.to_core()?)?)
    }

    /// The number of records.
    pub fn len(&self) -> Result<u64> {
        Ok(self.handle()?.len())
    }

    /// Record `index`, reread and checked against the tree.
    pub fn get(&self, index: u64) -> Result<AuditRecord> {
        Ok(AuditRecord::of(self.handle()?.get(index)?))
    }

    /// The records from `start` that match, oldest first.
    pub fn records(
        &self,
        start: u64,
        since: Option<u64>,
        until: Option<u64>,
        actor: Option<String>,
        decision: Option<AuditDecision>,
    ) -> Result<Vec<IndexedRecord>> {
        let mut query = Query::all().from_index(start);
        if since.is_some() || until.is_some() {
            query = query.time(since.unwrap_or(0)..until.unwrap_or(u64::MAX));
        }
        if let Some(actor) = actor {
            query = query.actor(PrincipalId::from_text(&actor)?);
        }
        if let Some(d) = decision {
            query = query.decision(d.into());
        }
        self.handle()?
            .records(query)
            .map(|r| r.map(|(index, record)| IndexedRecord { index, record: AuditRecord::of(record) }))
            .collect::<charter_core::Result<Vec<_>>>()
            .map_err(FfiError::from)
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Result<Vec<u8>> {
        Ok(self.handle()?.root().to_vec())
    }

    /// The root of the first `size` records.
    pub fn root_at(&self, size: u64) -> Result<Vec<u8>> {
        Ok(self.handle()?.root_at(size)?.to_vec())
    }

    /// Record `index`'s leaf hash.
    pub fn leaf_hash(&self, index: u64) -> Result<Vec<u8>> {
        Ok(self.handle()?.leaf_hash(index)?.to_vec())
    }

    /// The inclusion proof of record `index` in the tree of `size`.
    pub fn prove_inclusion(&self, index: u64, size: u64) -> Result<Vec<Vec<u8>>> {
        Ok(to_vecs(&self.handle()?.prove_inclusion(index, size)?))
    }

    /// The consistency proof between two sizes.
    pub fn prove_consistency(&self, old_size: u64, new_size: u64) -> Result<Vec<Vec<u8>>> {
        Ok(to_vecs(&self.handle()?.prove_consistency(old_size, new_size)?))
    }

    /// Signs a checkpoint of the tree as it is now; the note.
    pub fn checkpoint(&self) -> Result<String> {
        Ok(self.handle()?.checkpoint()?)
    }

    /// The latest checkpoint kept.
    pub fn latest_checkpoint(&self) -> Result<Option<String>> {
        Ok(self.handle()?.latest_checkpoint()?)
    }

    /// `origin+keyid+key`, or `None` without a signer.
    pub fn verifier_key(&self) -> Result<Option<String>> {
        let log = self.handle()?;
        if log.options().signer.is_none() {
            return Ok(None);
        }
        Ok(Some(log.verifier_key()?))
    }

    /// The log's name.
    pub fn origin(&self) -> Result<String> {
        Ok(self.handle()?.options().origin.clone())
    }

    /// Rereads and checks everything.
    pub fn verify(&self) -> Result<VerifyReport> {
        Ok(self.handle()?.verify()?.into())
    }

    /// As `verify`, and that the log extends `note`.
    pub fn verify_against(&self, note: String) -> Result<VerifyReport> {
        Ok(self.handle()?.verify_against(&note)?.into())
    }

    /// Makes every append durable.
    pub fn sync(&self) -> Result<()> {
        Ok(self.handle()?.sync()?)
    }

    /// What opening found.
    pub fn recovery(&self) -> Result<Recovery> {
        let r = self.handle()?.recovery();
        Ok(Recovery { records: r.records, truncated_bytes: r.truncated_bytes })
    }

    /// Gives up this object's hold on the log. Idempotent.
    pub fn end(&self) {
        let log = self.lock().take();
        drop(log);
    }

    /// Whether `close` was called.
    pub fn is_closed(&self) -> bool {
        self.lock().is_none()
    }
}

/// Checks an inclusion proof.
#[uniffi::export]
pub fn verify_inclusion(
    leaf_hash: Vec<u8>,
    index: u64,
    size: u64,
    proof: Vec<Vec<u8>>,
    root: Vec<u8>,
) -> Result<()> {
    Ok(audit::verify_inclusion(
        &hash(&leaf_hash, "a leaf hash")?,
        index,
        size,
        &hashes(&proof)?,
        &hash(&root, "a root")?,
    )?)
}

/// Checks a consistency proof.
#[uniffi::export]
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: Vec<u8>,
    new_root: Vec<u8>,
    proof: Vec<Vec<u8>>,
) -> Result<()> {
    Ok(audit::verify_consistency(
        old_size,
        new_size,
        &hash(&old_root, "a root")?,
        &hash(&new_root, "a root")?,
        &hashes(&proof)?,
    )?)
}

/// Verifies a checkpoint note's signature by `verifier_key`.
#[uniffi::export]
pub fn verify_checkpoint(note: String, verifier_key: String) -> Result<CheckpointData> {
    Ok(audit::verify_checkpoint(&note, &verifier_key)?.into())
}

/// The note verifier key of `name` signed by `key`.
#[uniffi::export]
pub fn verifier_key(name: String, key: Arc<PublicKey>) -> Result<String> {
    Ok(audit::verifier_key(&name, &key.core)?)
}

/// RFC 9162 leaf hash of `leaf`.
#[uniffi::export]
pub fn leaf_hash(leaf: Vec<u8>) -> Vec<u8> {
    audit::leaf_hash(&leaf).to_vec()
}

/// The root of the empty tree.
#[uniffi::export]
pub fn empty_root() -> Vec<u8> {
    audit::EMPTY_ROOT.to_vec()
}

/// The canonical encoding of `record` at `index`: its Merkle leaf.
#[uniffi::export]
pub fn encode_record(record: AuditRecord, index: u64) -> Result<Vec<u8>> {
    Ok(record.to_core()?.encode(index)?)
}
