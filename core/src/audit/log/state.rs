//! Trust state: the last checkpoint trusted per log origin, kept in a file
//! by a witness (what it cosigned) and by a verifier (what it accepted), so
//! a rollback is caught without anyone keeping an old note by hand.
//!
//! Format: the line `charter-audit-state v1`, then one line per origin,
//! `<origin> <size> <base64 root>`, sorted by origin. Origins are note key
//! names (no spaces). The file is created 0600 and replaced atomically
//! (exclusive temporary file, rename); updates are serialized across
//! processes by an exclusive lock on `<state>.lock`, held from reading the
//! state to writing it back, so two updates can never roll each other back.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::audit::checkpoint::check_key_name;
use crate::audit::file::{corrupt, io, read_small, write_atomically};
use crate::audit::hash::Hash;
use crate::{quote, quote_path, Error, ErrorKind, Result};

const FIRST_LINE: &str = "charter-audit-state v1";

/// The largest state file read, and the most origins it may hold.
const MAX_STATE_BYTES: usize = 1 << 20;
const MAX_ORIGINS: usize = 4096;

/// The state file, read under its lock.
pub(crate) struct TrustState {
    path: PathBuf,
    pub(crate) entries: BTreeMap<String, (u64, Hash)>,
    _lock: File,
}

impl TrustState {
    /// Locks the state at `path` (waiting for another holder) and reads it;
    /// a missing file is an empty state.
    pub(crate) fn lock(path: &Path) -> Result<TrustState> {
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let lock =
            options.open(&lock_path).map_err(|e| io(&format!("opening {}", quote_path(&lock_path)), &e))?;
        lock.lock().map_err(|e| io(&format!("locking {}", quote_path(&lock_path)), &e))?;
        let entries = match read_small(path, MAX_STATE_BYTES, "trust state")? {
            Some(text) => {
                parse(&text).map_err(|why| corrupt(format!("trust state {}: {why}", quote_path(path))))?
            }
            None => BTreeMap::new(),
        };
        Ok(TrustState { path: path.to_path_buf(), entries, _lock: lock })
    }

    /// The trusted size and root of `origin`, if any.
    pub(crate) fn get(&self, origin: &str) -> Option<(u64, Hash)> {
        self.entries.get(origin).copied()
    }

    /// Records `origin` at `size` and `root` and writes the state back.
    pub(crate) fn set(&mut self, origin: &str, size: u64, root: Hash) -> Result<()> {
        check_key_name(origin).map_err(|why| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("a trust state origin {why}: it must be a key name"),
            )
        })?;
        if !self.entries.contains_key(origin) && self.entries.len() >= MAX_ORIGINS {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("a trust state holds at most {MAX_ORIGINS} origins"),
            ));
        }
        self.entries.insert(origin.to_owned(), (size, root));
        let mut text = format!("{FIRST_LINE}\n");
        for (origin, (size, root)) in &self.entries {
            text += &format!("{origin} {size} {}\n", STANDARD.encode(root));
        }
        write_atomically(&self.path, text.as_bytes(), "trust state")
    }
}

fn parse(text: &str) -> std::result::Result<BTreeMap<String, (u64, Hash)>, String> {
    let mut lines = text.split_terminator('\n');
    if lines.next() != Some(FIRST_LINE) {
        return Err(format!("it does not start with {FIRST_LINE:?}"));
    }
    let mut entries = BTreeMap::new();
    for (number, line) in lines.enumerate() {
        let number = number + 2;
        if entries.len() >= MAX_ORIGINS {
            return Err(format!("more than {MAX_ORIGINS} origins"));
        }
        let mut parts = line.split(' ');
        let (Some(origin), Some(size), Some(root), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("line {number} is not `<origin> <size> <root>`"));
        };
        check_key_name(origin).map_err(|why| format!("line {number}: the origin {why}"))?;
        let size = size.parse::<u64>().map_err(|_| format!("line {number}: the size is not a number"))?;
        let root: Hash = STANDARD
            .decode(root)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| format!("line {number}: the root is not 32 bytes of base64"))?;
        if entries.insert(origin.to_owned(), (size, root)).is_some() {
            return Err(format!("line {number}: origin {} appears twice", quote(origin)));
        }
    }
    Ok(entries)
}
