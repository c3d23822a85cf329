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
//! A failed write is rolled back by truncating the file to where the frame
//! started; a failed fsync (after which the kernel may have dropped the
//! dirty pages) poisons the log, and every later append and sync fails.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::checkpoint::{verifier_key, verify_checkpoint, Checkpoint, MAX_NOTE_BYTES};
use super::file::{self, corrupt, io, next_frame, Step, HEADER};
use super::hash::{leaf_hash, Hash};
use super::leaves::Leaves;
use super::proof::verify_consistency;
use super::query::{Query, Records};
use super::record::Record;
use super::tree::Tree;
use crate::background::{self, Background};
use crate::capability::KeyPair;
use crate::{Error, ErrorKind, Result};

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
}

impl Default for AuditOptions {
    fn default() -> AuditOptions {
        AuditOptions { fsync: FsyncPolicy::Always, signer: None, origin: "charter.local/audit".into() }
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
#[derive(Clone)]
pub struct AuditLog {
    shared: Arc<Shared>,
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
    /// Serializes checkpoints, so the persisted one is always the latest.
    checkpoint: Mutex<Option<String>>,
}

struct State {
    tree: Tree,
    store: Store,
}

enum Store {
    Memory(Leaves),
    File {
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
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<Background>,
    /// The process that started the thread (see [`crate::background`]).
    pid: u32,
}

impl AuditLog {
    /// Opens the log at `path`, creating it if it does not exist. A torn
    /// last frame (a crash during an append) is cut off and reported in
    /// [`recovery`](Self::recovery); a damaged frame anywhere else fails
    /// with `CORRUPT` naming its record, and the file is left as it is.
    ///
    /// The file is locked for this log alone (an advisory exclusive lock,
    /// released when the last clone of the log is dropped or the process
    /// dies): a second writer, in this process or another, would interleave
    /// frames, so it fails with `WOULD_BLOCK` instead.
    pub fn open(path: impl AsRef<Path>, options: AuditOptions) -> Result<AuditLog> {
        check_options(&options)?;
        check_path(path.as_ref())?;
        let path = path.as_ref().to_path_buf();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io(&format!("opening {}", crate::quote_path(&path)), &e))?;
        lock(&file, &path)?;
        let (tree, offsets, end, recovery) = recover(&mut file, &path)?;
        file.seek(SeekFrom::Start(end)).map_err(|e| io("seeking to the end", &e))?;
        let reader =
            File::open(&path).map_err(|e| io(&format!("opening {}", crate::quote_path(&path)), &e))?;
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
        Ok(AuditLog {
            shared: Arc::new(Shared {
                options,
                path: Some(path),
                state: Mutex::new(State { tree, store: Store::File { file, end, offsets, broken: None } }),
                reader: Some(Mutex::new(reader)),
                disk: Some(disk),
                flusher,
                recovery,
                checkpoint: Mutex::new(None),
            }),
        })
    }

    /// A log kept in memory only: the same tree, proofs and checkpoints,
    /// for tests and for programs that ship checkpoints elsewhere.
    pub fn in_memory(options: AuditOptions) -> Result<AuditLog> {
        check_options(&options)?;
        Ok(AuditLog {
            shared: Arc::new(Shared {
                options,
                path: None,
                state: Mutex::new(State { tree: Tree::new(), store: Store::Memory(Leaves::new()) }),
                reader: None,
                disk: None,
                flusher: None,
                recovery: Recovery::default(),
                checkpoint: Mutex::new(None),
            }),
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
    /// case the record may or may not have been kept.
    pub fn append(&self, record: &Record) -> Result<u64> {
        record.validate()?;
        self.check_process()?;
        let index = {
            let mut state = self.lock_state();
            let index = state.tree.len();
            let hash = match &mut state.store {
                Store::Memory(leaves) => leaf_hash(leaves.push(|out| record.encode_into(index, out))),
                Store::File { file, end, offsets, broken } => {
                    if let Some(e) = broken {
                        return Err(e.clone());
                    }
                    if let Some(disk) = &self.shared.disk {
                        disk.check()?;
                    }
                    let mut leaf = Vec::new();
                    record.encode_into(index, &mut leaf);
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
                    hash
                }
            };
            state.tree.push(hash);
            if let Some(disk) = &self.shared.disk {
                disk.written.store(index + 1, Ordering::Release);
            }
            index
        };
        if let (Some(disk), FsyncPolicy::Always) = (&self.shared.disk, self.shared.options.fsync) {
            disk.sync_to(index + 1)?;
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
        self.lock_state().tree.len()
    }

    /// Whether the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Merkle root of all records.
    pub fn root(&self) -> Hash {
        self.lock_state().tree.root()
    }

    /// The Merkle root of the first `size` records.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        self.lock_state().tree.root_at(size)
    }

    /// The leaf hash of record `index`.
    pub fn leaf_hash(&self, index: u64) -> Result<Hash> {
        self.lock_state().tree.leaf(index).ok_or_else(|| not_found(index))
    }

    /// The proof that record `index` is in the tree of the first `size`
    /// records (check it with [`verify_inclusion`](super::verify_inclusion)).
    pub fn prove_inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        self.lock_state().tree.inclusion_proof(index, size)
    }

    /// The proof that the tree of the first `old` records is a prefix of
    /// the tree of the first `new` (check it with
    /// [`verify_consistency`](super::verify_consistency)).
    pub fn prove_consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        self.lock_state().tree.consistency_proof(old, new)
    }

    /// Record `index`, read back and checked against its leaf hash in the
    /// tree, so a record changed on disk since it was written is `CORRUPT`,
    /// never returned.
    pub fn get(&self, index: u64) -> Result<Record> {
        let (hash, offset, memory) = {
            let state = self.lock_state();
            let hash = state.tree.leaf(index).ok_or_else(|| not_found(index))?;
            match &state.store {
                Store::Memory(leaves) => (hash, 0, leaves.get(index as usize).map(<[u8]>::to_vec)),
                Store::File { offsets, .. } => (hash, offsets[index as usize], None),
            }
        };
        let (stored, leaf, record) = match (memory, &self.shared.reader) {
            (Some(leaf), _) => {
                let (_, record) = Record::decode(&leaf)?;
                (leaf_hash(&leaf), leaf, record)
            }
            (None, Some(reader)) => {
                let mut reader = reader.lock().unwrap_or_else(PoisonError::into_inner);
                let frame = file::read_frame_at(&mut reader, offset, index)?;
                (frame.hash, frame.leaf, frame.record)
            }
            (None, None) => return Err(Error::new(ErrorKind::Internal, "a file log without a reader")),
        };
        if stored != hash || leaf_hash(&leaf) != hash {
            return Err(corrupt(format!("record {index} differs from the one this log appended")));
        }
        Ok(record)
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
        let mut latest = self.shared.checkpoint.lock().unwrap_or_else(PoisonError::into_inner);
        let (size, root) = {
            let state = self.lock_state();
            (state.tree.len(), state.tree.root())
        };
        if let Some(disk) = &self.shared.disk {
            self.check_process()?;
            disk.sync_to(size)?;
        }
        let origin = self.shared.options.origin.clone();
        let note = Checkpoint { origin, size, root }.sign(signer)?;
        if let Some(path) = &self.shared.path {
            write_atomically(&checkpoint_path(path), note.as_bytes())?;
        }
        *latest = Some(note.clone());
        Ok(note)
    }

    /// The latest persisted checkpoint note (for a file log, read from
    /// `<path>.checkpoint`), if any.
    pub fn latest_checkpoint(&self) -> Result<Option<String>> {
        let Some(path) = &self.shared.path else {
            return Ok(self.shared.checkpoint.lock().unwrap_or_else(PoisonError::into_inner).clone());
        };
        let path = checkpoint_path(path);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("opening the checkpoint", &e)),
        };
        let mut note = String::new();
        file.take(MAX_NOTE_BYTES as u64 + 1)
            .read_to_string(&mut note)
            .map_err(|e| io("reading the checkpoint", &e))?;
        if note.len() > MAX_NOTE_BYTES {
            return Err(corrupt(format!("the checkpoint file is over {MAX_NOTE_BYTES} bytes")));
        }
        Ok(Some(note))
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
            Some(Err(why)) => Err(why),
            Some(Ok(cp)) => {
                report.checkpoint = Some(cp.size);
                extends(&tree, &report, &cp)
            }
        };
        report.problem =
            outcome.and_then(|()| earlier.map_or(Ok(()), |cp| extends(&tree, &report, cp))).err();
        Ok(report)
    }

    fn check_origin(&self, cp: &Checkpoint) -> std::result::Result<(), String> {
        if cp.origin != self.shared.options.origin {
            return Err(format!(
                "a checkpoint of {}, not of this log ({})",
                crate::quote(&cp.origin),
                crate::quote(&self.shared.options.origin)
            ));
        }
        Ok(())
    }

    /// Rebuilds the tree from the stored records, up to the number the log
    /// holds now.
    fn recompute(&self) -> Result<(VerifyReport, Tree)> {
        let (expected, memory) = {
            let state = self.lock_state();
            let expected: Vec<Hash> = (0..state.tree.len()).filter_map(|i| state.tree.leaf(i)).collect();
            let memory = match &state.store {
                Store::Memory(leaves) => Some(leaves.iter().map(<[u8]>::to_vec).collect::<Vec<_>>()),
                Store::File { .. } => None,
            };
            (expected, memory)
        };
        let mut tree = Tree::new();
        let mut bad = None;
        match (memory, &self.shared.path) {
            (Some(leaves), _) => {
                for (i, leaf) in leaves.into_iter().enumerate() {
                    let index = i as u64;
                    match file::check(leaf_hash(&leaf), leaf, index) {
                        Step::Frame(frame) if frame.hash == expected[i] => tree.push(frame.hash),
                        Step::Frame(_) => bad = Some((index, rewritten(index))),
                        Step::Bad(why) => bad = Some((index, format!("record {index}: {why}"))),
                        Step::End | Step::Torn => bad = Some((index, missing(index))),
                    }
                    if bad.is_some() {
                        break;
                    }
                }
            }
            (None, Some(path)) => {
                let file =
                    File::open(path).map_err(|e| io(&format!("opening {}", crate::quote_path(path)), &e))?;
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
            (None, None) => return Err(Error::new(ErrorKind::Internal, "a file log without a path")),
        }
        let (first_bad, problem) = match bad {
            Some((index, why)) => (Some(index), Some(why)),
            None => (None, None),
        };
        let report =
            VerifyReport { records: tree.len(), first_bad, problem, checkpoint: None, root: tree.root() };
        Ok((report, tree))
    }

    fn signer(&self) -> Result<&KeyPair> {
        self.shared.options.signer.as_deref().ok_or_else(|| {
            Error::new(ErrorKind::InvalidArgument, "the audit log has no signer (AuditOptions::signer)")
        })
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
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = Background::spawn("charter-audit-sync".into(), move || {
            let (flag, wake) = &*signal;
            loop {
                let stopped = flag.lock().unwrap_or_else(PoisonError::into_inner);
                let (stopped, _) = wake
                    .wait_timeout_while(stopped, every, |stopped| !*stopped)
                    .unwrap_or_else(PoisonError::into_inner);
                if *stopped {
                    return;
                }
                drop(stopped);
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
            Err(background::forked("the sync thread of this audit log (FsyncPolicy::Interval)"))
        }
    }

    fn stop(&mut self) {
        if !background::in_owner(self.pid) {
            // A forked child: the thread and whoever held its flag are in
            // the parent; forget the thread without touching the flag.
            self.thread.take();
            return;
        }
        let (flag, wake) = &*self.stop;
        *flag.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            thread.join();
        }
    }
}

fn lock(file: &File, path: &Path) -> Result<()> {
    file.try_lock().map_err(|e| match e {
        std::fs::TryLockError::WouldBlock => Error::new(
            ErrorKind::WouldBlock,
            format!(
                "audit log: {} is open for writing elsewhere; one writer per log",
                crate::quote_path(path)
            ),
        ),
        std::fs::TryLockError::Error(e) => io(&format!("locking {}", crate::quote_path(path)), &e),
    })
}

/// The longest path a log may have, in bytes: Linux's `PATH_MAX`. No
/// longer path can be opened, and refusing it first spares copying it.
pub const MAX_PATH_BYTES: usize = 4096;

fn check_path(path: &Path) -> Result<()> {
    let len = path.as_os_str().len();
    if len > MAX_PATH_BYTES {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!("audit log path {} is over {MAX_PATH_BYTES} bytes", crate::quote_path(path)),
        ));
    }
    Ok(())
}

fn check_options(options: &AuditOptions) -> Result<()> {
    if let FsyncPolicy::Interval(every) = options.fsync {
        if every.is_zero() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "FsyncPolicy::Interval must be longer than zero",
            ));
        }
    }
    match &options.signer {
        // Fails now, not at the first checkpoint, on an origin that cannot
        // name a key.
        Some(signer) => verifier_key(&options.origin, &signer.public_key()).map(|_| ()),
        None if options.origin.is_empty() || options.origin.contains(['\n', ' ', '+']) => Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "origin {} must be non-empty, without spaces, newlines or '+'",
                crate::quote(&options.origin)
            ),
        )),
        None => Ok(()),
    }
}

/// Reads `file` from the start: checks or writes the header, rebuilds the
/// tree from the frames and cuts off a torn last frame.
fn recover(file: &mut File, path: &Path) -> Result<(Tree, Vec<u64>, u64, Recovery)> {
    let size = file.metadata().map_err(|e| io("reading the file size", &e))?.len();
    let mut reader = BufReader::with_capacity(64 << 10, &*file);
    let mut header = [0u8; HEADER.len()];
    let got = reader.read(&mut header).map_err(|e| io("reading the header", &e))?;
    let mut recovery = Recovery::default();
    if (size as usize) < HEADER.len() && header[..got] == HEADER[..got] {
        // New, or a crash while it was being created.
        drop(reader);
        recovery.truncated_bytes = size;
        file.set_len(0).map_err(|e| io("truncating a partial header", &e))?;
        file.seek(SeekFrom::Start(0)).map_err(|e| io("seeking", &e))?;
        file.write_all(&HEADER).map_err(|e| io("writing the header", &e))?;
        file.sync_all().map_err(|e| io("syncing the header", &e))?;
        sync_dir(path)?;
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

fn checkpoint_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".checkpoint");
    PathBuf::from(name)
}

/// Replaces `path` with `bytes` so a crash leaves either the old or the new
/// content: write a temporary file, sync it, rename it over, sync the
/// directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = File::create(&tmp).map_err(|e| io("creating the checkpoint", &e))?;
    file.write_all(bytes).map_err(|e| io("writing the checkpoint", &e))?;
    file.sync_all().map_err(|e| io("syncing the checkpoint", &e))?;
    fs::rename(&tmp, path).map_err(|e| io("replacing the checkpoint", &e))?;
    sync_dir(path)
}

/// Makes a file's creation or renaming durable by syncing its directory
/// (on Unix; elsewhere the file system does not offer it).
fn sync_dir(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io("syncing the directory", &e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
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
