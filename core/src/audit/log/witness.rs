//! A witness: it keeps the last checkpoint it cosigned for each log it
//! trusts, and cosigns a new one only when a consistency proof shows that
//! the new one extends it. A log that showed two histories to the same
//! witness gets a cosignature for one of them at most, so a verifier that
//! requires `k` witnesses needs `k` of them to collude before it accepts a
//! split view.
//!
//! The checks and their failures follow C2SP `tlog-witness`
//! (`add-checkpoint`), each HTTP status mapped to a status code: unknown
//! origin `NOT_FOUND` (404); no valid signature by the trusted log key
//! `BAD_SIGNATURE` (403); an old size above the checkpoint's, or a
//! malformed request, `INVALID_ARGUMENT`/`MALFORMED` (400); an old size
//! other than the one the witness holds `DENIED` (409, the message and
//! [`Witness::latest`] give the size it holds); a proof that does not
//! verify, the same size with another root, or a size-0 checkpoint with a
//! non-empty root `CORRUPT` (422: evidence of a misbehaving log).
//!
//! Invariant: checking the old size against the state and writing the new
//! state happen under one lock (a mutex in the process, an exclusive file
//! lock across processes), and the state is on disk before the cosignature
//! is returned.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::audit::checkpoint::{
    parse_unverified, verifier_key_name, verify_checkpoint, Checkpoint, MAX_NOTE_BYTES,
};
use crate::audit::cosignature::{cosign, cosigner_key};
use crate::audit::hash::{Hash, EMPTY_ROOT};
use crate::audit::proof::{verify_consistency, MAX_PROOF_HASHES};
use crate::audit::state::TrustState;
use crate::capability::KeyPair;
use crate::{quote, Error, ErrorKind, Result};

/// The most logs a witness may be configured to trust.
pub const MAX_WITNESSED_LOGS: usize = 1024;

/// The most consistency proof lines an `add-checkpoint` request may hold.
const MAX_REQUEST_PROOF: usize = 63;

/// A witness over a state file. Cheap to clone; every method takes `&self`.
#[derive(Clone)]
pub struct Witness {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    key: Arc<KeyPair>,
    vkey: String,
    state: PathBuf,
    /// The trusted logs: origin (the key's name) and verifier key.
    logs: Vec<(String, String)>,
    /// Serializes checks and updates within the process.
    guard: Mutex<()>,
}

impl Witness {
    /// A witness named `name` (a note key name) signing with `key`, keeping
    /// its state in the file `state` (created 0600 on first use), trusting
    /// the logs whose note verifier keys are `logs`. A log's origin is its
    /// key's name. `INVALID_ARGUMENT` for a bad name or too many logs,
    /// `MALFORMED` for a bad verifier key.
    pub fn open(state: impl AsRef<Path>, name: &str, key: Arc<KeyPair>, logs: &[String]) -> Result<Witness> {
        if logs.len() > MAX_WITNESSED_LOGS {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("a witness trusts at most {MAX_WITNESSED_LOGS} logs, got {}", logs.len()),
            ));
        }
        let vkey = cosigner_key(name, &key.public_key())?;
        let mut trusted = Vec::with_capacity(logs.len());
        for vkey in logs {
            trusted.push((verifier_key_name(vkey)?, vkey.clone()));
        }
        Ok(Witness {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                key,
                vkey,
                state: state.as_ref().to_path_buf(),
                logs: trusted,
                guard: Mutex::new(()),
            }),
        })
    }

    /// The witness's cosigner verifier key (type 0x04), for verifiers.
    pub fn verifier_key(&self) -> &str {
        &self.inner.vkey
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Checks `note` against the last checkpoint cosigned for its log with
    /// the consistency `proof` from `old_size`, records it, and returns the
    /// cosignature line (timestamped now) to append to the note.
    pub fn add_checkpoint(&self, old_size: u64, proof: &[Hash], note: &str) -> Result<String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        self.add_checkpoint_at(old_size, proof, note, now)
    }

    /// [`add_checkpoint`](Self::add_checkpoint) with the timestamp given
    /// (POSIX seconds, more than 0: the spec forbids omitting it).
    pub fn add_checkpoint_at(
        &self,
        old_size: u64,
        proof: &[Hash],
        note: &str,
        timestamp: u64,
    ) -> Result<String> {
        if timestamp == 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a witness cosignature needs a timestamp above 0",
            ));
        }
        let claimed = parse_unverified(note)?;
        let Some((_, vkey)) = self.inner.logs.iter().find(|(origin, _)| *origin == claimed.origin) else {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("this witness does not know the log {}", quote(&claimed.origin)),
            ));
        };
        let checkpoint = verify_checkpoint(note, vkey)?;
        check_request(old_size, proof, &checkpoint)?;
        let _guard = self.inner.guard.lock().unwrap_or_else(PoisonError::into_inner);
        let mut state = TrustState::lock(&self.inner.state)?;
        let (held, held_root) = state.get(&checkpoint.origin).unwrap_or((0, EMPTY_ROOT));
        if old_size != held {
            return Err(Error::new(
                ErrorKind::Denied,
                format!(
                    "conflict: the request extends size {old_size}, but the latest checkpoint this witness \
                     cosigned for {} has size {held}",
                    checkpoint.origin
                ),
            ));
        }
        if old_size > 0 {
            verify_consistency(old_size, checkpoint.size, &held_root, &checkpoint.root, proof).map_err(|e| {
                Error::new(
                    ErrorKind::Corrupt,
                    format!(
                        "the checkpoint of size {} does not extend the one of size {old_size} this witness cosigned: \
                         {}",
                        checkpoint.size,
                        e.message()
                    ),
                )
            })?;
        }
        state.set(&checkpoint.origin, checkpoint.size, checkpoint.root)?;
        cosign(note, &self.inner.name, &self.inner.key, timestamp)
    }

    /// The size and root of the last checkpoint cosigned for `origin`.
    pub fn latest(&self, origin: &str) -> Result<Option<(u64, Hash)>> {
        let _guard = self.inner.guard.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(TrustState::lock(&self.inner.state)?.get(origin))
    }
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness").field("name", &self.inner.name).field("state", &self.inner.state).finish()
    }
}

/// The request checks that need no state.
fn check_request(old_size: u64, proof: &[Hash], checkpoint: &Checkpoint) -> Result<()> {
    if old_size > checkpoint.size {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("old size {old_size} is above the checkpoint's size {}", checkpoint.size),
        ));
    }
    if checkpoint.size == 0 && checkpoint.root != EMPTY_ROOT {
        return Err(Error::new(ErrorKind::Corrupt, "a checkpoint of size 0 must have the empty tree's root"));
    }
    if old_size == 0 && !proof.is_empty() {
        return Err(Error::new(ErrorKind::Corrupt, "a consistency proof from size 0 must be empty"));
    }
    Ok(())
}

/// The body of a C2SP `tlog-witness` `add-checkpoint` request: the old
/// size line, the proof (one base64 hash per line), a blank line, the note.
pub fn witness_request(old_size: u64, proof: &[Hash], note: &str) -> String {
    let mut body = format!("old {old_size}\n");
    for hash in proof {
        body += &STANDARD.encode(hash);
        body.push('\n');
    }
    body.push('\n');
    body + note
}

/// Parses an `add-checkpoint` request body into its old size, proof and
/// note. `MALFORMED` names what is wrong; the body is bounded by the note
/// limit plus 63 proof lines.
pub fn parse_witness_request(body: &str) -> Result<(u64, Vec<Hash>, String)> {
    let bad = |why: String| Error::new(ErrorKind::Malformed, format!("witness request: {why}"));
    if body.len() > MAX_NOTE_BYTES + 100 * (MAX_REQUEST_PROOF + 1) {
        return Err(bad(format!("{} bytes is too long", body.len())));
    }
    let (first, mut rest) = body.split_once('\n').ok_or_else(|| bad("no old size line".into()))?;
    let size = first.strip_prefix("old ").ok_or_else(|| bad("the first line is not `old <size>`".into()))?;
    if size.is_empty()
        || !size.bytes().all(|b| b.is_ascii_digit())
        || (size.len() > 1 && size.starts_with('0'))
    {
        return Err(bad(format!("the old size {} is not a decimal without leading zeros", quote(size))));
    }
    let old_size: u64 = size.parse().map_err(|_| bad("the old size is too large".into()))?;
    let mut proof = Vec::new();
    loop {
        let (line, next) =
            rest.split_once('\n').ok_or_else(|| bad("no blank line before the checkpoint".into()))?;
        rest = next;
        if line.is_empty() {
            break;
        }
        if proof.len() == MAX_REQUEST_PROOF.min(MAX_PROOF_HASHES) {
            return Err(bad(format!("more than {MAX_REQUEST_PROOF} proof lines")));
        }
        let hash: Hash = STANDARD
            .decode(line)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| bad(format!("proof line {} is not a base64 hash", proof.len() + 1)))?;
        proof.push(hash);
    }
    Ok((old_size, proof, rest.to_owned()))
}
