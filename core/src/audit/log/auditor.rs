//! The auditor's path: verifying a log file and proving from it without
//! ever writing to it or taking its lock.
//!
//! Invariants:
//! - Nothing here writes to the log or its checkpoint, or locks them: it
//!   works on a read-only file, and beside a live writer.
//! - The checkpoint is read before the records. A writer syncs records
//!   before it replaces the checkpoint, so the records read afterwards
//!   hold at least what that checkpoint covers.
//! - What is read is a consistent prefix: complete, intact frames in
//!   order. A frame the file ends inside is not there yet (a writer is
//!   writing it, or a crash tore it); it is never damage, and never cut.
//! - [`verify_log`] streams: it keeps O(log n) hashes and one record, so
//!   its memory does not grow with the log. [`LogView`] keeps the tree
//!   (about two hashes per record), as proofs need it.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::audit::audit_log::{checkpoint_path, VerifyReport};
use crate::audit::checkpoint::{
    parse_unverified, verifier_key_name, verify_checkpoint, Checkpoint, MAX_NOTE_BYTES,
};
use crate::audit::compact::Compact;
use crate::audit::cosignature::verify_cosigned;
use crate::audit::file::{self, corrupt, next_frame, read_small, Access, Step, HEADER};
use crate::audit::hash::{Hash, EMPTY_ROOT};
use crate::audit::state::TrustState;
use crate::audit::tree::Tree;
use crate::audit::witness::witness_request;
use crate::{quote, quote_path, Error, ErrorKind, Result};

/// What a verifier trusts and requires. The default trusts nothing and
/// checks only that the records are intact and chained.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// The log's note verifier key (`charter audit vkey`). With it the
    /// persisted checkpoint must verify and the records must extend it.
    pub log_key: Option<String>,
    /// With `log_key`: accept a log that has no persisted checkpoint.
    /// Without this such a log fails, since nothing vouches for it.
    pub allow_missing_checkpoint: bool,
    /// An earlier checkpoint note of the log, kept elsewhere: the records
    /// must extend it too. Needs `log_key`.
    pub against: Option<String>,
    /// The cosigner verifier keys of the witnesses trusted.
    pub witnesses: Vec<String>,
    /// How many of `witnesses` must have cosigned the persisted checkpoint.
    pub quorum: usize,
    /// A trust state file (created 0600): the last checkpoint this
    /// verifier accepted per origin. The log must extend it, and a passing
    /// verification records the newest checkpoint it accepted. Needs
    /// `log_key`.
    pub state: Option<PathBuf>,
}

/// A size whose root the stream must capture, and who vouched for it.
struct Target {
    size: u64,
    root: Hash,
    who: &'static str,
    found: Option<Hash>,
}

/// Verifies the log at `path` without writing to it: rereads every
/// complete record, checks each frame, hash, encoding and index, and
/// recomputes the tree as a stream; then checks that the records extend
/// every checkpoint `options` asks for. `Ok` with the findings in the
/// report (`problem` set when anything fails, `first_bad` naming the first
/// damaged or missing record); `Err` only when the check could not run:
/// no file (`NOT_FOUND`), not a regular file or inconsistent options
/// (`INVALID_ARGUMENT`), an unreadable file (`IO`), not an audit log or a
/// bad key or `against` note (`CORRUPT`, `MALFORMED`, `BAD_SIGNATURE`).
pub fn verify_log(path: impl AsRef<Path>, options: &VerifyOptions) -> Result<VerifyReport> {
    let path = path.as_ref();
    file::check_path(path)?;
    let log_key = check_options(options)?;
    let mut problems: Vec<(ErrorKind, String)> = Vec::new();
    let mut targets = Vec::new();
    let mut witnesses = Vec::new();
    let mut trusted: Option<Checkpoint> = None;
    let mut persisted_size = None;
    let mut against_size = None;
    let persisted = match log_key {
        Some(_) => read_small(&checkpoint_path(path), MAX_NOTE_BYTES, "checkpoint")?,
        None => None,
    };
    let mut state = None;
    if let Some((vkey, origin)) = &log_key {
        match &persisted {
            None if options.allow_missing_checkpoint => {}
            None => problems.push((
                ErrorKind::BadSignature,
                format!(
                    "{} does not exist: no signed checkpoint vouches for the records",
                    quote_path(checkpoint_path(path))
                ),
            )),
            Some(note) => match persisted_checkpoint(note, vkey, origin, options) {
                Ok((cp, names)) => {
                    witnesses = names;
                    persisted_size = Some(cp.size);
                    targets.push(Target {
                        size: cp.size,
                        root: cp.root,
                        who: "its signed checkpoint",
                        found: None,
                    });
                    trusted = Some(cp);
                }
                Err(why) => problems.push((ErrorKind::BadSignature, why)),
            },
        }
        if let Some(note) = &options.against {
            let cp = verify_checkpoint(note, vkey)?;
            if cp.origin != *origin {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("the earlier checkpoint is of {}, not of {}", quote(&cp.origin), quote(origin)),
                ));
            }
            targets.push(Target { size: cp.size, root: cp.root, who: "the earlier checkpoint", found: None });
            against_size = Some(cp.size);
            if trusted.as_ref().is_none_or(|t| t.size < cp.size) {
                trusted = Some(cp);
            }
        }
        if let Some(state_path) = &options.state {
            let held = TrustState::lock(state_path)?;
            if let Some((size, root)) = held.get(origin) {
                targets.push(Target {
                    size,
                    root,
                    who: "the checkpoint this verifier trusted before",
                    found: None,
                });
            }
            state = Some(held);
        }
    }
    let (report_records, root, first_bad, bad) = stream(path, &mut targets)?;
    let damaged = bad.is_some();
    if let Some(why) = bad {
        problems.insert(0, (ErrorKind::Corrupt, why));
    }
    let mut first_missing = None;
    for target in &targets {
        match target.found {
            // Reading stopped at damage: the records after it are not
            // missing, and the damage is the finding.
            None if damaged => {}
            None => {
                first_missing.get_or_insert(report_records);
                problems.push((
                    ErrorKind::Corrupt,
                    format!(
                        "the log holds {report_records} records, but {} vouches for {}: it was truncated or rolled \
                         back",
                        target.who, target.size
                    ),
                ));
            }
            Some(found) if found != target.root => problems.push((
                ErrorKind::Corrupt,
                format!(
                    "the first {} records are not the ones {} vouches for: the log was rewritten",
                    target.size, target.who
                ),
            )),
            Some(_) => {}
        }
    }
    // Damaged, missing or rewritten records first: they are what an
    // auditor must act on, whatever else is wrong.
    problems.sort_by_key(|(kind, _)| *kind != ErrorKind::Corrupt);
    let problem_kind = problems.first().map(|(kind, _)| *kind);
    let problem = (!problems.is_empty())
        .then(|| problems.iter().map(|(_, why)| why.as_str()).collect::<Vec<_>>().join("; "));
    if let (None, Some(state), Some(cp)) = (&problem, &mut state, &trusted) {
        if state.get(&cp.origin).is_none_or(|(size, _)| size < cp.size) {
            state.set(&cp.origin, cp.size, cp.root)?;
        }
    }
    Ok(VerifyReport {
        records: report_records,
        first_bad: first_bad.or(first_missing),
        problem,
        checkpoint: persisted_size,
        root,
        witnesses,
        against: against_size,
        problem_kind,
    })
}

/// The log key and its name (the origin), after checking that the options
/// fit together.
fn check_options(options: &VerifyOptions) -> Result<Option<(String, String)>> {
    let invalid = |why: &str| Err(Error::new(ErrorKind::InvalidArgument, why.to_owned()));
    let Some(vkey) = &options.log_key else {
        if options.against.is_some()
            || options.state.is_some()
            || !options.witnesses.is_empty()
            || options.quorum > 0
        {
            return invalid("an earlier checkpoint, a trust state or witnesses need the log's verifier key");
        }
        return Ok(None);
    };
    if options.quorum > options.witnesses.len() {
        return invalid("the witness quorum is larger than the number of witnesses");
    }
    Ok(Some((vkey.clone(), verifier_key_name(vkey)?)))
}

/// The persisted checkpoint, verified with the log key (and `quorum`
/// witnesses), with the names of the witnesses that cosigned it; or why
/// it does not verify.
fn persisted_checkpoint(
    note: &str,
    vkey: &str,
    origin: &str,
    options: &VerifyOptions,
) -> std::result::Result<(Checkpoint, Vec<String>), String> {
    let (cp, names) = if options.witnesses.is_empty() {
        verify_checkpoint(note, vkey).map(|cp| (cp, Vec::new()))
    } else {
        verify_cosigned(note, vkey, &options.witnesses, options.quorum).map(|c| (c.checkpoint, c.witnesses))
    }
    .map_err(|e| format!("the persisted checkpoint does not verify: {}", e.message()))?;
    if cp.origin != origin {
        return Err(format!(
            "the persisted checkpoint is of {}, not of {}",
            quote(&cp.origin),
            quote(origin)
        ));
    }
    Ok((cp, names))
}

/// Streams the records of `path`, capturing the root at each target's
/// size. Returns the number of intact records, their root, the first bad
/// record and why.
fn stream(path: &Path, targets: &mut [Target]) -> Result<(u64, Hash, Option<u64>, Option<String>)> {
    let mut reader = open_log(path)?;
    let mut compact = Compact::new();
    let capture = |compact: &Compact, targets: &mut [Target]| {
        for target in targets.iter_mut().filter(|t| t.size == compact.len()) {
            target.found = Some(if compact.len() == 0 { EMPTY_ROOT } else { compact.root() });
        }
    };
    capture(&compact, targets);
    let bad = scan(&mut reader, |hash| {
        compact.push(hash);
        capture(&compact, targets);
    })?;
    let (first_bad, why) = bad.unzip();
    Ok((compact.len(), compact.root(), first_bad, why))
}

/// Reads the records of a log whose header `reader` has passed, handing
/// each record's hash to `push`, until the file ends, cleanly or inside a
/// frame (as a live writer leaves it between two writes). A damaged
/// complete frame stops it: that record's index, and why, named with its
/// byte offset.
fn scan(reader: &mut BufReader<File>, mut push: impl FnMut(Hash)) -> Result<Option<(u64, String)>> {
    let mut offset = HEADER.len() as u64;
    let mut index = 0;
    loop {
        match next_frame(reader, index)? {
            Step::Frame(frame) => {
                offset += frame.size();
                push(frame.hash);
                index += 1;
            }
            Step::End | Step::Torn => return Ok(None),
            Step::Bad(why) => return Ok(Some((index, format!("record {index} (at byte {offset}): {why}")))),
        }
    }
}

/// Opens `path` read-only and checks its header.
fn open_log(path: &Path) -> Result<BufReader<File>> {
    let file = file::open(path, Access::Read)?;
    let mut reader = BufReader::with_capacity(64 << 10, file);
    let mut header = [0u8; HEADER.len()];
    let got = file::fill(&mut reader, &mut header)?;
    file::check_header(&header[..got])
        .map_err(|e| Error::new(e.kind(), format!("{}: {}", quote_path(path), e.message())))?;
    Ok(reader)
}

/// A read-only snapshot of a log file, for proofs: the tree of its
/// complete records when it was opened. It never writes and takes no lock.
pub struct LogView {
    path: PathBuf,
    tree: Tree,
}

impl LogView {
    /// Reads the consistent prefix of the log at `path`. A damaged complete
    /// frame is `CORRUPT` naming its record; `NOT_FOUND`, `INVALID_ARGUMENT`
    /// (not a regular file) and `IO` as for opening it.
    pub fn open(path: impl AsRef<Path>) -> Result<LogView> {
        let path = path.as_ref().to_path_buf();
        let mut reader = open_log(&path)?;
        let mut tree = Tree::new();
        if let Some((_, why)) = scan(&mut reader, |hash| tree.push(hash))? {
            return Err(corrupt(why));
        }
        Ok(LogView { path, tree })
    }

    /// The number of records read.
    pub fn len(&self) -> u64 {
        self.tree.len()
    }

    /// Whether no record was read.
    pub fn is_empty(&self) -> bool {
        self.tree.len() == 0
    }

    /// The root of all records read.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The root of the first `size` records.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        self.tree.root_at(size)
    }

    /// The leaf hash of record `index`.
    pub fn leaf_hash(&self, index: u64) -> Result<Hash> {
        self.tree
            .leaf(index)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no audit record {index}")))
    }

    /// As [`AuditLog::prove_inclusion`](crate::audit::AuditLog::prove_inclusion).
    pub fn prove_inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        self.tree.inclusion_proof(index, size)
    }

    /// As [`AuditLog::prove_consistency`](crate::audit::AuditLog::prove_consistency).
    pub fn prove_consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        self.tree.consistency_proof(old, new)
    }

    /// The persisted checkpoint note (`<path>.checkpoint`), if any, read now.
    pub fn checkpoint(&self) -> Result<Option<String>> {
        read_small(&checkpoint_path(&self.path), MAX_NOTE_BYTES, "checkpoint")
    }

    /// The C2SP `add-checkpoint` request a witness that last cosigned size
    /// `old_size` needs for the persisted checkpoint: the consistency proof
    /// from `old_size` to the checkpoint's size, and the note.
    /// `NOT_FOUND` without a checkpoint; `INVALID_ARGUMENT` when the
    /// snapshot does not hold the checkpoint's records or `old_size` is
    /// larger.
    pub fn witness_request(&self, old_size: u64) -> Result<String> {
        let note = self.checkpoint()?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("{} does not exist", quote_path(checkpoint_path(&self.path))),
            )
        })?;
        let size = parse_unverified(&note)?.size;
        let proof = self.tree.consistency_proof(old_size, size)?;
        Ok(witness_request(old_size, &proof, &note))
    }
}

impl std::fmt::Debug for LogView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogView").field("path", &self.path).field("len", &self.tree.len()).finish()
    }
}
