//! [`AuditLog`]: records appended to a durable file (or kept in memory),
//! the Merkle tree over them, signed checkpoints and verification.
//!
//! # Concurrency and durability
//!
//! An append encodes its record outside any lock, then, under the log's one
//! state lock, takes the next index, writes its frame with one `write` call
//! and pushes the leaf hash into the tree. Nothing else happens under that
//! lock: fsync runs outside it, so appenders keep writing while a sync is in
//! flight. Syncs are shared (group commit): an appender that needs its
//! record durable either starts an `fdatasync` covering everything written
//! so far or waits for the one in flight and then, if that did not cover
//! it, the next. Under [`FsyncPolicy::Interval`] a background thread syncs
//! once per interval instead; it stops and is joined when the last handle
//! to the log is dropped.
//!
//! The thread of [`AuditOptions::checkpoint_interval`] holds the log only
//! while it signs. Dropping the last user handle stops and joins it first,
//! so once that drop returns the file and its lock are released and an
//! immediate reopen succeeds. It is never joined from itself, nor in a
//! forked child (where the thread does not exist).
//!
//! A failed write is rolled back by truncating the file to where the frame
//! started; a failed fsync (after which the kernel may have dropped the
//! dirty pages) poisons the log, and every later append and sync fails.

use std::fs::{self, File};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::audit::checkpoint::{
    check_origin, parse_unverified, verifier_key, verify_checkpoint, Checkpoint, MAX_NOTE_BYTES,
};
use crate::audit::file::{self, corrupt, io, next_frame, write_atomically, Access, Step, HEADER};
use crate::audit::hash::{leaf_hash, Hash};
use crate::audit::leaves::Leaves;
use crate::audit::proof::verify_consistency;
use crate::audit::query::{Query, Records};
use crate::audit::record::Decision;
use crate::audit::record::Record;
use crate::audit::tree::{Subtrees, Tree};
use crate::background::{self, Background, Stop};
use crate::capability::KeyPair;
use crate::{quote, quote_path, Error, ErrorKind, Result};

/// When appended records are forced to stable storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Before `append` returns. Concurrent appenders share fsyncs, so the
    /// cost is one fsync per batch of waiting appenders, not per record.
    Always,
    /// At most this long after `append` returns, by a background thread:
    /// a crash loses at most one interval of records.
    Interval(Duration),
    /// Only on [`AuditLog::sync`], [`AuditLog::checkpoint`] and drop; the
    /// operating system writes the rest back when it likes.
    Never,
}

/// How a log is kept and signed.
#[derive(Clone, Debug)]
pub struct AuditOptions {
    /// When records reach stable storage. Default: [`FsyncPolicy::Always`].
    pub fsync: FsyncPolicy,
    /// The key checkpoints are signed with. Without one the log still
    /// chains every record into its tree, but cannot sign checkpoints.
    pub signer: Option<Arc<KeyPair>>,
    /// The log's name in its checkpoints and the signer's key name: a
    /// note key name (no spaces, no `+`). Default: `charter.local/audit`.
    pub origin: String,
    /// Sign a checkpoint automatically after every this many records
    /// (needs a signer). 0, the default, never does. Records after the
    /// newest checkpoint cannot be authenticated; this bounds how many.
    pub checkpoint_every: u64,
    /// Sign a checkpoint automatically this often, when records were added
    /// since the last one (needs a signer). `None`, the default, never does.
    pub checkpoint_interval: Option<Duration>,
}

impl Default for AuditOptions {
    fn default() -> AuditOptions {
        AuditOptions {
            fsync: FsyncPolicy::Always,
            signer: None,
            origin: "charter.local/audit".into(),
            checkpoint_every: 0,
            checkpoint_interval: None,
        }
    }
}

/// What [`AuditLog::open`] found and repaired.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Intact records in the file.
    pub records: u64,
    /// Bytes of a torn last frame (a crash during an append) that were cut
    /// off. Such a record was never acknowledged under `Always`.
    pub truncated_bytes: u64,
}

/// What [`AuditLog::verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records read back intact, in order, from the start.
    pub records: u64,
    /// The first record that is damaged, rewritten or missing, if any.
    pub first_bad: Option<u64>,
    /// What is wrong, if anything: the damaged record, or a signed
    /// checkpoint the records do not match.
    pub problem: Option<String>,
    /// The size of the signed checkpoint the records were checked against.
    pub checkpoint: Option<u64>,
    /// The root of the first `records` records.
    pub root: Hash,
    /// The witnesses whose cosignatures on the checkpoint verified (by
    /// name), for [`verify_log`](crate::audit::verify_log) with witnesses.
    pub witnesses: Vec<String>,
    /// The size of the earlier checkpoint checked too
    /// ([`verify_against`](AuditLog::verify_against),
    /// [`VerifyOptions::against`](crate::audit::VerifyOptions::against)).
    pub against: Option<u64>,
    /// What kind of failure `problem` is: `CORRUPT` for records damaged,
    /// missing or rewritten, `BAD_SIGNATURE` for a checkpoint that does not
    /// verify, is missing, or lacks its witness quorum.
    pub problem_kind: Option<ErrorKind>,
}

impl VerifyReport {
    /// Whether everything checked out.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// An append-only, tamper-evident log of [`Record`]s. Cloning is cheap and
/// shares the log; every method takes `&self` and may be called from any
/// thread.
pub struct AuditLog {
    shared: Arc<Shared>,
    /// Whether this is a user's handle, counted in `Shared::handles`; the
    /// checkpoint thread's own temporary handle is not.
    counted: bool,
}

impl Clone for AuditLog {
    fn clone(&self) -> AuditLog {
        self.shared.handles.fetch_add(1, Ordering::Relaxed);
        AuditLog { shared: Arc::clone(&self.shared), counted: true }
    }
}

impl Drop for AuditLog {
    /// The last user handle stops and joins the checkpoint thread, which
    /// may hold the log for a moment while it signs: only then is the
    /// file (and its lock) released when this handle's reference goes.
    fn drop(&mut self) {
        if !self.counted || self.shared.handles.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let checkpointer = self.shared.checkpointer.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(mut checkpointer) = checkpointer {
            checkpointer.stop();
        }
    }
}

struct Shared {
    options: AuditOptions,
    path: Option<PathBuf>,
    state: Mutex<State>,
    /// A second handle for reading records back, so reads never move the
    /// writer's position.
    reader: Option<Mutex<File>>,
    disk: Option<Arc<Disk>>,
    flusher: Option<Flusher>,
    recovery: Recovery,
    /// The last signed checkpoint, as a note and as what it says.
    /// Serializes checkpoints, so the persisted one is always the latest,
    /// and each new one is checked to extend it.
    checkpoint: Mutex<Last>,
    /// Signs checkpoints every `checkpoint_interval`.
    checkpointer: Mutex<Option<Checkpointer>>,
    /// Live user handles ([`AuditLog`] clones), not counting the
    /// checkpoint thread's.
    handles: AtomicU64,
    /// The error of the last automatic checkpoint, reported by the next
    /// append.
    auto_failed: Mutex<Option<Error>>,
}

/// The last checkpoint this log signed or found persisted.
#[derive(Default)]
struct Last {
    note: Option<String>,
    checkpoint: Option<Checkpoint>,
}

/// The thread behind [`AuditOptions::checkpoint_interval`]. It holds the
/// log weakly, so it never keeps a dropped log alive.
struct Checkpointer {
    stop: Arc<Stop>,
    thread: Option<JoinHandle<()>>,
    id: ThreadId,
    /// The process that started the thread: a forked child has no such
    /// thread and must not join it.
    pid: u32,
}

struct State {
    store: Store,
}

impl State {
    /// The Merkle tree over the records, however the store keeps it.
    fn tree(&self) -> &dyn Subtrees {
        match &self.store {
            Store::Memory(leaves) => leaves,
            Store::File { tree, .. } => tree,
        }
    }
}

/// What [`AuditLog::recompute`] reads the records against: the in-memory
/// log's leaves themselves (their only copy, checked by their encoding and
/// against the checkpoints: it keeps no leaf hashes to compare with), or
/// the file log's leaf hashes, which the frames on disk must match.
enum Kept {
    Leaves(Vec<Vec<u8>>),
    Hashes(Vec<Hash>),
}

enum Store {
    /// The records and a tree without its lowest levels (see [`Leaves`]).
    Memory(Leaves),
    File {
        /// Every level: the records are on disk, too far to rehash.
        tree: Tree,
        file: File,
        /// Where the next frame goes.
        end: u64,
        /// Where each record's frame starts.
        offsets: Vec<u64>,
        /// Set when a failed write could not be rolled back.
        broken: Option<Error>,
    },
}

/// The durable side of a file log: group commit.
struct Disk {
    file: File,
    /// Records written to the file (not necessarily durable).
    written: AtomicU64,
    sync: Mutex<SyncState>,
    synced: Condvar,
}

#[derive(Default)]
struct SyncState {
    /// Records known durable.
    durable: u64,
    running: bool,
    /// A failed fsync: the log is unusable from then on.
    failed: Option<Error>,
}

struct Flusher {
    stop: Arc<Stop>,
    thread: Option<Background>,
    /// The process that started the thread (see [`crate::background`]).
    pid: u32,
}

impl AuditLog {
    /// Opens the log at `path`, creating it (mode 0600) if it does not
    /// exist. A torn last frame (the file ends inside it: a crash during an
    /// append) is cut off and reported in [`recovery`](Self::recovery),
    /// unless the persisted checkpoint covers it. A damaged or zero-filled
    /// complete frame fails with `CORRUPT` naming its record, and the file
    /// is left as it is. Anything but a regular file is `INVALID_ARGUMENT`.
    ///
    /// The log must extend its persisted checkpoint (`<path>.checkpoint`):
    /// hold at least its records, with its root. A log cut back, rolled
    /// back or rewritten fails with `CORRUPT`; nothing it covers is ever
    /// cut. With a signer the checkpoint must verify with the signer's key
    /// and name this log's origin (`BAD_SIGNATURE`, `INVALID_ARGUMENT`);
    /// without one it is read unverified. Starting a new history is
    /// [`start_over`](Self::start_over), never implicit.
    ///
    /// The file is locked for this log alone (an advisory exclusive lock,
    /// released when the last clone of the log is dropped or the process
    /// dies): a second writer, in this process or another, would interleave
    /// frames, so it fails with `WOULD_BLOCK` instead.
    pub fn open(path: impl AsRef<Path>, options: AuditOptions) -> Result<AuditLog> {
        check_options(&options)?;
        file::check_path(path.as_ref())?;
        let path = path.as_ref().to_path_buf();
        let last = persisted(&path, &options)?;
        let covered = last.checkpoint.as_ref().map_or(0, |cp| cp.size);
        if covered > 0 && fs::symlink_metadata(&path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            return Err(corrupt(format!(
                "record 0 is missing: there is no file, but its signed checkpoint {} vouches for {covered} \
                 records; it was deleted (starting over begins a new history)",
                quote_path(checkpoint_path(&path))
            )));
        }
        let mut file = file::open(&path, Access::Write)?;
        lock(&file, &path)?;
        let (tree, offsets, end, recovery) = recover(&mut file, &path, covered)?;
        if let Some(cp) = &last.checkpoint {
            extends_persisted(&tree, cp)?;
        }
        file.seek(SeekFrom::Start(end)).map_err(|e| io("seeking to the end", &e))?;
        let reader = file::open(&path, Access::Read)?;
        let syncer = file.try_clone().map_err(|e| io("duplicating the file handle", &e))?;
        let count = tree.len();
        let disk = Arc::new(Disk {
            file: syncer,
            written: AtomicU64::new(count),
            sync: Mutex::new(SyncState { durable: count, ..SyncState::default() }),
            synced: Condvar::new(),
        });
        let flusher = match options.fsync {
            FsyncPolicy::Interval(every) => Some(Flusher::start(Arc::clone(&disk), every)?),
            FsyncPolicy::Always | FsyncPolicy::Never => None,
        };
        AuditLog::start(Shared {
            options,
            path: Some(path),
            state: Mutex::new(State { store: Store::File { tree, file, end, offsets, broken: None } }),
            reader: Some(Mutex::new(reader)),
            disk: Some(disk),
            flusher,
            recovery,
            checkpoint: Mutex::new(last),
            checkpointer: Mutex::new(None),
            handles: AtomicU64::new(1),
            auto_failed: Mutex::new(None),
        })
    }

    /// Starts a new history at `path`: the explicit operator act that
    /// replaces a log which no longer extends its checkpoint (deleted,
    /// damaged, rolled back), or retires one.
    ///
    /// Needs a signer, and an origin other than the old checkpoint's, so
    /// the new history can never pass for the old one: verifiers and
    /// witnesses that trusted the old origin must be told of the new one.
    /// The old log and checkpoint are kept, renamed to
    /// `<path>.replaced-<unix ms>` and `<path>.checkpoint.replaced-<unix
    /// ms>`. Record 0 of the new log says what it replaces (action
    /// `start_over`, resource the old origin, detail the old size and root
    /// and `reason`), and its first checkpoint is signed at once. A log
    /// open for writing elsewhere is left alone (`WOULD_BLOCK`).
    pub fn start_over(path: impl AsRef<Path>, options: AuditOptions, reason: &str) -> Result<AuditLog> {
        check_options(&options)?;
        let path = path.as_ref();
        file::check_path(path)?;
        if options.signer.is_none() {
            return Err(Error::new(ErrorKind::InvalidArgument, "starting over needs a signer"));
        }
        let checkpoint = checkpoint_path(path);
        let old = file::read_small(&checkpoint, MAX_NOTE_BYTES, "checkpoint")?
            .map(|note| parse_unverified(&note))
            .transpose()?;
        if let Some(old) = &old {
            if old.origin == options.origin {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "starting over needs a new origin: {} is the origin of the history it replaces",
                        quote(&old.origin)
                    ),
                ));
            }
        }
        // A writer holding the old log keeps it: moving its file away under
        // it would split the history once more.
        let held = match file::open(path, Access::Read) {
            Ok(old) => {
                lock(&old, path)?;
                Some(old)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        for from in [path.to_path_buf(), checkpoint] {
            let mut to = from.as_os_str().to_owned();
            to.push(format!(".replaced-{stamp}"));
            match fs::rename(&from, &to) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&format!("moving {} aside", quote_path(&from)), &e)),
            }
        }
        file::sync_dir(path)?;
        drop(held);
        let log = AuditLog::open(path, options)?;
        let (resource, detail) = match &old {
            Some(cp) => (
                cp.origin.clone(),
                format!(
                    "replaces {} at size {} root {}: {reason}",
                    cp.origin,
                    cp.size,
                    crate::text::hex(&cp.root)
                ),
            ),
            None => (String::new(), format!("replaces a log without a checkpoint: {reason}")),
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let mut record = Record::new(now, "start_over", &resource, Decision::Allow);
        record.detail = detail;
        log.append(&record)?;
        log.checkpoint()?;
        Ok(log)
    }

    /// A log kept in memory only: the same tree, proofs and checkpoints,
    /// for tests and for programs that ship checkpoints elsewhere.
    pub fn in_memory(options: AuditOptions) -> Result<AuditLog> {
        check_options(&options)?;
        AuditLog::start(Shared {
            options,
            path: None,
            state: Mutex::new(State { store: Store::Memory(Leaves::new()) }),
            reader: None,
            disk: None,
            flusher: None,
            recovery: Recovery::default(),
            checkpoint: Mutex::new(Last::default()),
            checkpointer: Mutex::new(None),
            handles: AtomicU64::new(1),
            auto_failed: Mutex::new(None),
        })
    }

    /// What opening the file found and repaired (all zero in memory).
    pub fn recovery(&self) -> Recovery {
        self.shared.recovery
    }

    /// The file the log is kept in; `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.shared.path.as_deref()
    }

    /// The log's options.
    pub fn options(&self) -> &AuditOptions {
        &self.shared.options
    }

    /// Appends `record` and returns its index. Under
    /// [`FsyncPolicy::Always`] the record is on stable storage when this
    /// returns `Ok`. `LIMIT_EXCEEDED` or `INVALID_ARGUMENT` for a record
    /// over its limits; `IO` when the write or the fsync failed, in which
    /// case the record may or may not have been kept, or when an in-memory
    /// log could not map memory for its records, in which case it was not.
    ///
    /// With [`AuditOptions::checkpoint_every`], the append that completes
    /// a batch also signs a checkpoint; if that fails, the record is kept
    /// and the error returned. A failed interval checkpoint is returned by
    /// the next append (the record is not appended).
    pub fn append(&self, record: &Record) -> Result<u64> {
        record.validate()?;
        self.check_process()?;
        // Only the interval thread records a failure: a log without one
        // skips the lock.
        if self.shared.options.checkpoint_interval.is_some() {
            if let Some(e) = self.shared.auto_failed.lock().unwrap_or_else(PoisonError::into_inner).take() {
                return Err(e);
            }
        }
        let index = {
            let mut state = self.lock_state();
            let index = state.tree().len();
            match &mut state.store {
                Store::Memory(leaves) => {
                    leaves.push(record.encoded_size(), |out| record.encode_onto(index, out))?
                }
                Store::File { tree, file, end, offsets, broken } => {
                    if let Some(e) = broken {
                        return Err(e.clone());
                    }
                    if let Some(disk) = &self.shared.disk {
                        disk.check()?;
                    }
                    let mut leaf = vec![0; record.encoded_size()];
                    record.encode_onto(index, &mut leaf);
                    let hash = leaf_hash(&leaf);
                    let frame = file::frame(&leaf, &hash);
                    if let Err(e) = file.write_all(&frame) {
                        let error = io("appending a record", &e);
                        if file.set_len(*end).and_then(|()| file.seek(SeekFrom::Start(*end))).is_err() {
                            *broken = Some(Error::new(
                                ErrorKind::Io,
                                format!("audit log: a failed append could not be rolled back ({e})"),
                            ));
                        }
                        return Err(error);
                    }
                    offsets.push(*end);
                    *end += frame.len() as u64;
                    tree.push(hash);
                }
            }
            if let Some(disk) = &self.shared.disk {
                disk.written.store(index + 1, Ordering::Release);
            }
            index
        };
        if let (Some(disk), FsyncPolicy::Always) = (&self.shared.disk, self.shared.options.fsync) {
            disk.sync_to(index + 1)?;
        }
        let every = self.shared.options.checkpoint_every;
        if every > 0 && (index + 1).is_multiple_of(every) {
            self.checkpoint().map_err(|e| {
                Error::new(
                    e.kind(),
                    format!(
                        "record {index} was appended, but the automatic checkpoint failed: {}",
                        e.message()
                    ),
                )
            })?;
        }
        Ok(index)
    }

    /// Refuses, in a forked child, to write or sync a log whose sync thread
    /// stayed in the parent (see [`crate::background`]): its sync state may
    /// say that thread is mid-sync, which the child would wait for forever.
    fn check_process(&self) -> Result<()> {
        self.shared.flusher.as_ref().map_or(Ok(()), Flusher::check)
    }

    /// Forces every record appended so far to stable storage.
    pub fn sync(&self) -> Result<()> {
        self.check_process()?;
        match &self.shared.disk {
            Some(disk) => disk.sync_to(disk.written.load(Ordering::Acquire)),
            None => Ok(()),
        }
    }

    /// The number of records.
    pub fn len(&self) -> u64 {
        self.lock_state().tree().len()
    }

    /// Whether the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Merkle root of all records.
    pub fn root(&self) -> Hash {
        self.lock_state().tree().root()
    }

    /// The Merkle root of the first `size` records.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        self.lock_state().tree().root_at(size)
    }

    /// The leaf hash of record `index`.
    pub fn leaf_hash(&self, index: u64) -> Result<Hash> {
        self.lock_state().tree().leaf(index).ok_or_else(|| not_found(index))
    }

    /// The proof that record `index` is in the tree of the first `size`
    /// records (check it with [`verify_inclusion`](crate::audit::verify_inclusion)).
    pub fn prove_inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        self.lock_state().tree().inclusion_proof(index, size)
    }

    /// The proof that the tree of the first `old` records is a prefix of
    /// the tree of the first `new` (check it with
    /// [`verify_consistency`](crate::audit::verify_consistency)).
    pub fn prove_consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        self.lock_state().tree().consistency_proof(old, new)
    }

    /// Record `index`, read back and checked against its leaf hash in the
    /// tree, so a record changed on disk since it was written is `CORRUPT`,
    /// never returned. An in-memory record is its leaf's only copy: it is
    /// decoded, with nothing to check it against.
    pub fn get(&self, index: u64) -> Result<Record> {
        let (hash, offset) = {
            let state = self.lock_state();
            match &state.store {
                Store::Memory(leaves) => {
                    let leaf = usize::try_from(index).ok().and_then(|i| leaves.get(i)).map(<[u8]>::to_vec);
                    drop(state);
                    let leaf = leaf.ok_or_else(|| not_found(index))?;
                    return Record::decode(&leaf).map(|(_, record)| record);
                }
                Store::File { tree, offsets, .. } => {
                    (tree.leaf(index).ok_or_else(|| not_found(index))?, offsets[index as usize])
                }
            }
        };
        let reader = self.shared.reader.as_ref();
        let reader = reader.ok_or_else(|| Error::new(ErrorKind::Internal, "a file log without a reader"))?;
        let frame = {
            let mut reader = reader.lock().unwrap_or_else(PoisonError::into_inner);
            file::read_frame_at(&mut reader, offset, index)?
        };
        if frame.hash != hash || leaf_hash(&frame.leaf) != hash {
            return Err(corrupt(format!("record {index} differs from the one this log appended")));
        }
        Ok(frame.record)
    }

    /// The records `query` selects, oldest first, among those in the log
    /// when this is called. Each is read back as [`get`](Self::get) does.
    pub fn records(&self, query: Query) -> Records {
        Records::new(self.clone(), query, self.len())
    }

    /// The note verifier key checkpoints verify with:
    /// `<origin>+<key id>+<key>`. `INVALID_ARGUMENT` without a signer.
    pub fn verifier_key(&self) -> Result<String> {
        verifier_key(&self.shared.options.origin, &self.signer()?.public_key())
    }

    /// Signs a checkpoint of the log as it is now and returns the note.
    /// The records it covers are synced first, whatever the fsync policy,
    /// so a checkpoint never vouches for what a crash could lose. A file
    /// log keeps the latest one next to it, in `<path>.checkpoint`,
    /// replaced atomically. `INVALID_ARGUMENT` without a signer.
    pub fn checkpoint(&self) -> Result<String> {
        let signer = self.signer()?;
        let mut last = self.shared.checkpoint.lock().unwrap_or_else(PoisonError::into_inner);
        let (size, root, proof) = {
            let state = self.lock_state();
            let (size, root) = (state.tree().len(), state.tree().root());
            let proof = match &last.checkpoint {
                Some(cp) if cp.size <= size => Some(state.tree().consistency_proof(cp.size, size)?),
                _ => None,
            };
            (size, root, proof)
        };
        if let Some(cp) = &last.checkpoint {
            let extends = proof
                .as_deref()
                .is_some_and(|proof| verify_consistency(cp.size, size, &cp.root, &root, proof).is_ok());
            if !extends {
                return Err(corrupt(format!(
                    "refusing to sign a tree of {size} records that does not extend the last signed checkpoint \
                     (size {}): signing it would split the log's history",
                    cp.size
                )));
            }
        }
        if let Some(disk) = &self.shared.disk {
            self.check_process()?;
            disk.sync_to(size)?;
        }
        let origin = self.shared.options.origin.clone();
        let checkpoint = Checkpoint { origin, size, root };
        let note = checkpoint.sign(signer)?;
        if let Some(path) = &self.shared.path {
            write_atomically(&checkpoint_path(path), note.as_bytes(), "checkpoint")?;
        }
        *last = Last { note: Some(note.clone()), checkpoint: Some(checkpoint) };
        Ok(note)
    }

    /// The latest persisted checkpoint note (for a file log, read from
    /// `<path>.checkpoint`), if any.
    pub fn latest_checkpoint(&self) -> Result<Option<String>> {
        match &self.shared.path {
            None => Ok(self.shared.checkpoint.lock().unwrap_or_else(PoisonError::into_inner).note.clone()),
            Some(path) => file::read_small(&checkpoint_path(path), MAX_NOTE_BYTES, "checkpoint"),
        }
    }

    /// Rereads every record (from the file, for a file log), checks each
    /// frame, hash, encoding and index, compares each with the leaf this log
    /// holds for it, recomputes the tree and checks it against the latest
    /// persisted checkpoint (when the log has a signer to verify it with).
    /// `Ok` with the findings in the report; `Err` only when the check
    /// itself could not run (I/O, or a file header that is not an audit
    /// log's).
    pub fn verify(&self) -> Result<VerifyReport> {
        self.verify_with(None)
    }

    /// [`verify`](Self::verify), and also checks that the log extends
    /// `note`, an earlier checkpoint of it kept elsewhere, by a consistency
    /// proof: a log truncated, rolled back or rewritten since fails even if
    /// its persisted checkpoint was replaced too. `BAD_SIGNATURE`,
    /// `MALFORMED` or `INVALID_ARGUMENT` when `note` is not a checkpoint of
    /// this log's signer and origin.
    pub fn verify_against(&self, note: &str) -> Result<VerifyReport> {
        let earlier = verify_checkpoint(note, &self.verifier_key()?)?;
        self.check_origin(&earlier).map_err(|why| Error::new(ErrorKind::InvalidArgument, why))?;
        self.verify_with(Some(&earlier))
    }

    fn verify_with(&self, earlier: Option<&Checkpoint>) -> Result<VerifyReport> {
        let (mut report, tree) = self.recompute()?;
        if report.problem.is_some() {
            return Ok(report);
        }
        let persisted = match (&self.shared.options.signer, self.latest_checkpoint()?) {
            (Some(_), Some(note)) => Some(
                verify_checkpoint(&note, &self.verifier_key()?)
                    .map_err(|e| format!("the persisted checkpoint does not verify: {}", e.message()))
                    .and_then(|cp| self.check_origin(&cp).map(|()| cp)),
            ),
            _ => None,
        };
        let outcome = match persisted {
            None => Ok(()),
            Some(Err(why)) => Err((ErrorKind::BadSignature, why)),
            Some(Ok(cp)) => {
                report.checkpoint = Some(cp.size);
                extends(&tree, &report, &cp).map_err(|why| (ErrorKind::Corrupt, why))
            }
        };
        report.against = earlier.map(|cp| cp.size);
        let outcome = outcome.and_then(|()| {
            earlier.map_or(Ok(()), |cp| extends(&tree, &report, cp).map_err(|why| (ErrorKind::Corrupt, why)))
        });
        if let Err((kind, why)) = outcome {
            report.problem_kind = Some(kind);
            report.problem = Some(why);
        }
        Ok(report)
    }

    fn check_origin(&self, cp: &Checkpoint) -> std::result::Result<(), String> {
        if cp.origin != self.shared.options.origin {
            return Err(format!(
                "a checkpoint of {}, not of this log ({})",
                quote(&cp.origin),
                quote(&self.shared.options.origin)
            ));
        }
        Ok(())
    }

    /// Rebuilds the tree from the stored records, up to the number the log
    /// holds now.
    fn recompute(&self) -> Result<(VerifyReport, Tree)> {
        let kept = match &self.lock_state().store {
            Store::Memory(leaves) => Kept::Leaves(leaves.iter().map(<[u8]>::to_vec).collect()),
            Store::File { tree, .. } => Kept::Hashes((0..tree.len()).filter_map(|i| tree.leaf(i)).collect()),
        };
        let mut tree = Tree::new();
        let mut bad = None;
        match kept {
            Kept::Leaves(leaves) => {
                for (i, leaf) in leaves.into_iter().enumerate() {
                    let index = i as u64;
                    match file::check(leaf_hash(&leaf), leaf, index) {
                        Step::Frame(frame) => tree.push(frame.hash),
                        Step::Bad(why) => bad = Some((index, format!("record {index}: {why}"))),
                        Step::End | Step::Torn => bad = Some((index, missing(index))),
                    }
                    if bad.is_some() {
                        break;
                    }
                }
            }
            Kept::Hashes(expected) => {
                let path = self.shared.path.as_ref();
                let path =
                    path.ok_or_else(|| Error::new(ErrorKind::Internal, "a file log without a path"))?;
                let file = file::open(path, Access::Read)?;
                let mut reader = BufReader::with_capacity(64 << 10, file);
                let mut header = [0u8; HEADER.len()];
                let got = reader.read(&mut header).map_err(|e| io("reading the header", &e))?;
                file::check_header(&header[..got])?;
                for (i, hash) in expected.iter().enumerate() {
                    let index = i as u64;
                    match next_frame(&mut reader, index)? {
                        Step::Frame(frame) if frame.hash == *hash => tree.push(frame.hash),
                        Step::Frame(_) => bad = Some((index, rewritten(index))),
                        Step::Bad(why) => bad = Some((index, format!("record {index}: {why}"))),
                        Step::End | Step::Torn => bad = Some((index, missing(index))),
                    }
                    if bad.is_some() {
                        break;
                    }
                }
            }
        }
        let (first_bad, problem) = match bad {
            Some((index, why)) => (Some(index), Some(why)),
            None => (None, None),
        };
        let report = VerifyReport {
            records: tree.len(),
            first_bad,
            problem,
            checkpoint: None,
            root: tree.root(),
            witnesses: Vec::new(),
            against: None,
            problem_kind: first_bad.map(|_| ErrorKind::Corrupt),
        };
        Ok((report, tree))
    }

    fn signer(&self) -> Result<&KeyPair> {
        self.shared
            .options
            .signer
            .as_deref()
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "the audit log has no signer"))
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.shared.path)
            .field("origin", &self.shared.options.origin)
            .field("len", &self.len())
            .finish()
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(checkpointer) = self.checkpointer.get_mut().unwrap_or_else(PoisonError::into_inner) {
            checkpointer.stop();
        }
        if let Some(flusher) = &mut self.flusher {
            flusher.stop();
            if !background::in_owner(flusher.pid) {
                // A forked child: the last sync is the parent's to make.
                return;
            }
        }
        if let (Some(disk), false) = (&self.disk, self.options.fsync == FsyncPolicy::Never) {
            // Best effort: nobody is left to report a failure to, and a
            // failed fsync is already recorded in the disk state.
            let _ = disk.sync_to(disk.written.load(Ordering::Acquire));
        }
    }
}

impl Disk {
    fn check(&self) -> Result<()> {
        match &self.lock().failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Returns once the first `target` records are durable: by running an
    /// fsync that covers everything written so far, or by waiting for the
    /// one in flight (group commit).
    fn sync_to(&self, target: u64) -> Result<()> {
        let mut state = self.lock();
        loop {
            if let Some(e) = &state.failed {
                return Err(e.clone());
            }
            if state.durable >= target {
                return Ok(());
            }
            if state.running {
                state = self.synced.wait(state).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.running = true;
            let covers = self.written.load(Ordering::Acquire);
            drop(state);
            let outcome = self.file.sync_data();
            state = self.lock();
            state.running = false;
            match outcome {
                Ok(()) => state.durable = state.durable.max(covers),
                Err(e) => {
                    state.failed = Some(Error::new(
                        ErrorKind::Io,
                        format!("audit log: fsync failed ({e}); records since the last sync may be lost"),
                    ))
                }
            }
            self.synced.notify_all();
        }
    }

    fn lock(&self) -> MutexGuard<'_, SyncState> {
        self.sync.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Flusher {
    fn start(disk: Arc<Disk>, every: Duration) -> Result<Flusher> {
        let stop = Arc::new(Stop::default());
        let signal = Arc::clone(&stop);
        let thread = Background::spawn("charter-audit-sync".into(), move || {
            while !signal.sleep(every) {
                // A failure is kept in the disk state; the next append
                // or sync reports it.
                let _ = disk.sync_to(disk.written.load(Ordering::Acquire));
            }
        })
        .map_err(|e| Error::new(ErrorKind::LimitExceeded, format!("cannot start the sync thread: {e}")))?;
        Ok(Flusher { stop, thread: Some(thread), pid: std::process::id() })
    }

    /// Refuses, in a forked child, to append to a log whose promise of a
    /// sync per interval only the parent's thread could keep.
    fn check(&self) -> Result<()> {
        if background::in_owner(self.pid) {
            Ok(())
        } else {
            Err(background::forked("the sync thread of this audit log (fsync at an interval)"))
        }
    }

    fn stop(&mut self) {
        if !background::in_owner(self.pid) {
            // A forked child: the thread and whoever held its flag are in
            // the parent; forget the thread without touching the flag.
            self.thread.take();
            return;
        }
        self.stop.stop();
        if let Some(thread) = self.thread.take() {
            thread.join();
        }
    }
}

impl AuditLog {
    /// The first handle of the log `shared` describes, with its checkpoint
    /// thread started.
    fn start(shared: Shared) -> Result<AuditLog> {
        let log = AuditLog { shared: Arc::new(shared), counted: true };
        log.start_checkpointer()?;
        Ok(log)
    }

    /// Starts the thread of [`AuditOptions::checkpoint_interval`], if set.
    fn start_checkpointer(&self) -> Result<()> {
        let Some(every) = self.shared.options.checkpoint_interval else { return Ok(()) };
        let stop = Arc::new(Stop::default());
        let signal = Arc::clone(&stop);
        let log: Weak<Shared> = Arc::downgrade(&self.shared);
        let thread = std::thread::Builder::new()
            .name("charter-audit-checkpoint".into())
            .spawn(move || {
                while !signal.sleep(every) {
                    let Some(shared) = log.upgrade() else { return };
                    let log = AuditLog { shared, counted: false };
                    let signed = log
                        .shared
                        .checkpoint
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .checkpoint
                        .as_ref()
                        .map(|cp| cp.size);
                    if signed != Some(log.len()) && !log.is_empty() {
                        if let Err(e) = log.checkpoint() {
                            *log.shared.auto_failed.lock().unwrap_or_else(PoisonError::into_inner) =
                                Some(Error::new(
                                    e.kind(),
                                    format!("the automatic checkpoint failed: {}", e.message()),
                                ));
                        }
                    }
                }
            })
            .map_err(|e| {
                Error::new(ErrorKind::LimitExceeded, format!("cannot start the checkpoint thread: {e}"))
            })?;
        let id = thread.thread().id();
        *self.shared.checkpointer.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(Checkpointer { stop, thread: Some(thread), id, pid: std::process::id() });
        Ok(())
    }
}

impl Checkpointer {
    fn stop(&mut self) {
        self.stop.stop();
        // The thread itself may drop the last handle to the log (it holds
        // one while it signs); it cannot join itself, and it is about to
        // see the stop flag and return anyway.
        if std::thread::current().id() == self.id || self.pid != std::process::id() {
            return;
        }
        if let Some(thread) = self.thread.take() {
            // The thread only signs; a panic there has nothing to hand back.
            let _ = thread.join();
        }
    }
}

fn lock(file: &File, path: &Path) -> Result<()> {
    file.try_lock().map_err(|e| match e {
        std::fs::TryLockError::WouldBlock => Error::new(
            ErrorKind::WouldBlock,
            format!("audit log: {} is open for writing elsewhere; one writer per log", quote_path(path)),
        ),
        std::fs::TryLockError::Error(e) => io(&format!("locking {}", quote_path(path)), &e),
    })
}

fn check_options(options: &AuditOptions) -> Result<()> {
    let automatic = options.checkpoint_every > 0 || options.checkpoint_interval.is_some();
    if automatic && options.signer.is_none() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "automatic checkpoints (checkpoint_every, checkpoint_interval) need a signer",
        ));
    }
    if options.checkpoint_interval.is_some_and(|every| every.is_zero()) {
        return Err(Error::new(ErrorKind::InvalidArgument, "checkpoint_interval must be longer than zero"));
    }
    if let FsyncPolicy::Interval(every) = options.fsync {
        if every.is_zero() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "the fsync interval must be longer than zero",
            ));
        }
    }
    match &options.signer {
        // Fails now, not at the first checkpoint, on an origin that cannot
        // name a key.
        Some(signer) => verifier_key(&options.origin, &signer.public_key()).map(|_| ()),
        None => check_origin(&options.origin),
    }
}

/// The checkpoint persisted beside the log at `path`, if any: verified
/// with the signer's key and checked to name this log's origin when there
/// is a signer, read unverified otherwise.
fn persisted(path: &Path, options: &AuditOptions) -> Result<Last> {
    let Some(note) = file::read_small(&checkpoint_path(path), MAX_NOTE_BYTES, "checkpoint")? else {
        return Ok(Last::default());
    };
    let checkpoint = match &options.signer {
        Some(signer) => {
            let vkey = verifier_key(&options.origin, &signer.public_key())?;
            let cp = verify_checkpoint(&note, &vkey).map_err(|e| {
                Error::new(
                    e.kind(),
                    format!(
                        "audit log: its checkpoint {} does not verify with this log's key and origin {} ({}); \
                         a new key or origin is a new history: start over explicitly",
                        quote_path(checkpoint_path(path)),
                        quote(&options.origin),
                        e.message()
                    ),
                )
            })?;
            if cp.origin != options.origin {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "audit log: its checkpoint is of origin {}, not {}; a new origin is a new history: \
                         start over explicitly",
                        quote(&cp.origin),
                        quote(&options.origin)
                    ),
                ));
            }
            cp
        }
        None => parse_unverified(&note)?,
    };
    Ok(Last { note: Some(note), checkpoint: Some(checkpoint) })
}

/// Checks that `tree`, as read from the file, extends the persisted
/// checkpoint `cp`.
fn extends_persisted(tree: &Tree, cp: &Checkpoint) -> Result<()> {
    if cp.size > tree.len() {
        return Err(corrupt(format!(
            "record {} is missing: the file holds {} records, but its signed checkpoint vouches for {}; \
             it was truncated, rolled back or replaced",
            tree.len(),
            tree.len(),
            cp.size
        )));
    }
    if tree.root_at(cp.size)? != cp.root {
        return Err(corrupt(format!(
            "records 0 to {} are not the ones its signed checkpoint (size {}) vouches for: \
             at least one of them was rewritten",
            cp.size - 1,
            cp.size
        )));
    }
    Ok(())
}

/// Reads `file` from the start: checks or writes the header, rebuilds the
/// tree from the frames and cuts off a torn last frame, unless it is one
/// of the first `covered` records (which a signed checkpoint vouches for).
fn recover(file: &mut File, path: &Path, covered: u64) -> Result<(Tree, Vec<u64>, u64, Recovery)> {
    let size = file.metadata().map_err(|e| io("reading the file size", &e))?.len();
    let mut reader = BufReader::with_capacity(64 << 10, &*file);
    let mut header = [0u8; HEADER.len()];
    let got = file::fill(&mut reader, &mut header)?;
    let mut recovery = Recovery::default();
    if (size as usize) < HEADER.len() && header[..got] == HEADER[..got] {
        if covered > 0 {
            return Err(corrupt(format!(
                "record 0 is missing: the file is empty, but its signed checkpoint vouches for {covered} records; \
                 it was deleted or replaced"
            )));
        }
        // New, or a crash while it was being created.
        drop(reader);
        recovery.truncated_bytes = size;
        file.set_len(0).map_err(|e| io("truncating a partial header", &e))?;
        file.seek(SeekFrom::Start(0)).map_err(|e| io("seeking", &e))?;
        file.write_all(&HEADER).map_err(|e| io("writing the header", &e))?;
        file.sync_all().map_err(|e| io("syncing the header", &e))?;
        file::sync_dir(path)?;
        return Ok((Tree::new(), Vec::new(), HEADER.len() as u64, recovery));
    }
    file::check_header(&header[..got])?;
    let mut tree = Tree::new();
    let mut offsets = Vec::new();
    let mut end = HEADER.len() as u64;
    loop {
        let index = tree.len();
        match next_frame(&mut reader, index)? {
            Step::Frame(frame) => {
                offsets.push(end);
                end += frame.size();
                tree.push(frame.hash);
            }
            Step::End => break,
            Step::Torn if index < covered => {
                return Err(corrupt(format!(
                    "record {index} (at byte {end}) is cut short, but a signed checkpoint vouches for {covered} \
                     records; it is not cut off"
                )));
            }
            Step::Torn => {
                recovery.truncated_bytes = size - end;
                break;
            }
            Step::Bad(why) => {
                return Err(corrupt(format!("record {index} (at byte {end}): {why}")));
            }
        }
    }
    drop(reader);
    if recovery.truncated_bytes > 0 {
        file.set_len(end).map_err(|e| io("cutting off a torn record", &e))?;
        file.sync_all().map_err(|e| io("syncing after recovery", &e))?;
    }
    recovery.records = tree.len();
    Ok((tree, offsets, end, recovery))
}

/// Whether `tree` (the records as read back, `report.records` of them)
/// extends the signed checkpoint `cp`.
fn extends(tree: &Tree, report: &VerifyReport, cp: &Checkpoint) -> std::result::Result<(), String> {
    if cp.size > report.records {
        return Err(format!(
            "the log holds {} records; a signed checkpoint vouches for {}: it was truncated or rolled back",
            report.records, cp.size
        ));
    }
    let proof = tree.consistency_proof(cp.size, report.records).map_err(|e| e.message().to_string())?;
    verify_consistency(cp.size, report.records, &cp.root, &report.root, &proof).map_err(|_| {
        format!("the first {} records are not the ones a signed checkpoint vouches for", cp.size)
    })
}

pub(crate) fn checkpoint_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".checkpoint");
    PathBuf::from(name)
}

fn not_found(index: u64) -> Error {
    Error::new(ErrorKind::NotFound, format!("no audit record {index}"))
}

fn rewritten(index: u64) -> String {
    format!("record {index} differs from the one this log appended")
}

fn missing(index: u64) -> String {
    format!("record {index} is missing: the file ends before it")
}
