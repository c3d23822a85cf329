//! The audit file: a header, then one frame per record, append-only.
//!
//! A frame carries its leaf's length twice (plain and inverted) and its leaf
//! hash. The inverted length tells a damaged length from a frame cut short
//! by a crash, so damage is never mistaken for a torn tail and truncated
//! away; the leaf hash is both the frame's checksum and the Merkle tree's
//! stored leaf, so opening a log rebuilds the tree without decoding proofs.
//! Every read is bounded by [`MAX_RECORD_BYTES`] whatever the file claims.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind as IoKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::audit::hash::{leaf_hash, Hash};
use crate::audit::record::{Record, MAX_RECORD_BYTES, MIN_RECORD_BYTES};
use crate::{quote_path, Error, ErrorKind, Result};

/// The first bytes of every audit file.
pub(crate) const MAGIC: [u8; 4] = *b"CHAU";
/// The file format version this build writes and reads.
pub(crate) const FILE_VERSION: u8 = 1;
/// The whole header: magic, version, three zero bytes.
pub(crate) const HEADER: [u8; 8] = [MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], FILE_VERSION, 0, 0, 0];
/// Length, inverted length, leaf hash.
pub(crate) const FRAME_HEAD: usize = 4 + 4 + 32;

/// The frame for `leaf`, whose hash is `hash`.
pub(crate) fn frame(leaf: &[u8], hash: &Hash) -> Vec<u8> {
    let len = leaf.len() as u32;
    let mut out = Vec::with_capacity(FRAME_HEAD + leaf.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&(!len).to_be_bytes());
    out.extend_from_slice(hash);
    out.extend_from_slice(leaf);
    out
}

/// Checks a file's header. `CORRUPT` names what is wrong with it.
pub(crate) fn check_header(header: &[u8]) -> Result<()> {
    if header.len() < HEADER.len() || header[..4] != MAGIC {
        return Err(corrupt("the file header: not a Charter audit log".into()));
    }
    if header[4] != FILE_VERSION {
        return Err(corrupt(format!(
            "the file header: format version {}; this build reads {FILE_VERSION}",
            header[4]
        )));
    }
    if header[5..8] != [0, 0, 0] {
        return Err(corrupt("the file header: reserved bytes are not zero".into()));
    }
    Ok(())
}

pub(crate) fn corrupt(why: String) -> Error {
    Error::new(ErrorKind::Corrupt, format!("audit log: {why}"))
}

pub(crate) fn io(what: &str, e: &io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("audit log: {what}: {e}"))
}

/// One intact frame.
pub(crate) struct Frame {
    pub(crate) hash: Hash,
    pub(crate) leaf: Vec<u8>,
    pub(crate) record: Record,
}

impl Frame {
    /// The frame's size in the file.
    pub(crate) fn size(&self) -> u64 {
        (FRAME_HEAD + self.leaf.len()) as u64
    }
}

/// What the next bytes of a file hold.
pub(crate) enum Step {
    /// An intact frame holding the expected index.
    Frame(Frame),
    /// The file ends cleanly here.
    End,
    /// The file ends inside a frame: what a crash during an append leaves.
    Torn,
    /// A frame that is complete but damaged, and why.
    Bad(String),
}

/// Reads frames one by one from the current position of `reader`.
///
/// Only a frame the file ends inside is [`Step::Torn`]: a complete frame
/// head that fails its length check, zero-filled or not, is damage. So is
/// a "torn" frame that holds the next record's complete frame: its length
/// was rewritten to swallow the records after it, which a crash never does.
pub(crate) fn next_frame(reader: &mut impl Read, index: u64) -> Result<Step> {
    let mut head = [0u8; FRAME_HEAD];
    match fill(reader, &mut head)? {
        0 => return Ok(Step::End),
        n if n < FRAME_HEAD => return Ok(Step::Torn),
        _ => {}
    }
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let inverted = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    if len != !inverted {
        if head.iter().all(|&b| b == 0) {
            return Ok(Step::Bad(
                "the frame is zero-filled (a complete frame erased, not a torn one)".into(),
            ));
        }
        return Ok(Step::Bad("the frame's length check fails".into()));
    }
    let len = len as usize;
    if !(MIN_RECORD_BYTES..=MAX_RECORD_BYTES).contains(&len) {
        return Ok(Step::Bad(format!(
            "a frame of {len} bytes; records are {MIN_RECORD_BYTES} to {MAX_RECORD_BYTES}"
        )));
    }
    let mut leaf = vec![0u8; len];
    let got = fill(reader, &mut leaf)?;
    if got < len {
        if let Some(at) = holds_frame(&leaf[..got], index + 1) {
            return Ok(Step::Bad(format!(
                "the frame claims {len} bytes, but record {} starts {at} bytes into it: its length was rewritten",
                index + 1
            )));
        }
        return Ok(Step::Torn);
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&head[8..]);
    Ok(check(hash, leaf, index))
}

/// Where in `bytes` a complete, intact frame of record `index` starts, if
/// anywhere.
fn holds_frame(bytes: &[u8], index: u64) -> Option<usize> {
    (0..bytes.len().saturating_sub(FRAME_HEAD)).find(|&at| {
        let head = &bytes[at..at + FRAME_HEAD];
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let inverted = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        if len != !inverted || !(MIN_RECORD_BYTES..=MAX_RECORD_BYTES).contains(&(len as usize)) {
            return false;
        }
        let len = len as usize;
        let Some(leaf) = bytes.get(at + FRAME_HEAD..at + FRAME_HEAD + len) else { return false };
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&head[8..]);
        matches!(check(hash, leaf.to_vec(), index), Step::Frame(_))
    })
}

/// Checks a frame's hash, its record and its index.
pub(crate) fn check(hash: Hash, leaf: Vec<u8>, index: u64) -> Step {
    if leaf_hash(&leaf) != hash {
        return Step::Bad("the leaf hash does not match the record".into());
    }
    match Record::decode(&leaf) {
        Err(e) => Step::Bad(e.message().into()),
        Ok((stored, _)) if stored != index => Step::Bad(format!("the record says it is record {stored}")),
        Ok((_, record)) => Step::Frame(Frame { hash, leaf, record }),
    }
}

/// Reads the frame at `offset`, which must be intact and hold `index`.
pub(crate) fn read_frame_at(file: &mut File, offset: u64, index: u64) -> Result<Frame> {
    file.seek(SeekFrom::Start(offset)).map_err(|e| io("seeking to a record", &e))?;
    match next_frame(file, index)? {
        Step::Frame(frame) => Ok(frame),
        Step::End | Step::Torn => Err(corrupt(format!("record {index}: the file ends before it"))),
        Step::Bad(why) => Err(corrupt(format!("record {index}: {why}"))),
    }
}

/// Reads until `buf` is full or the reader ends; returns how much it read.
pub(crate) fn fill(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == IoKind::Interrupted => {}
            Err(e) => return Err(io("reading", &e)),
        }
    }
    Ok(got)
}

/// How [`open`] opens a file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reading only: the auditor's path, which never writes.
    Read,
    /// Reading and writing, creating the file (mode 0600) if it is missing.
    Write,
}

/// Opens `path`, which must be a regular file. A FIFO, a directory or a
/// device is refused with `INVALID_ARGUMENT` saying so; the open itself is
/// non-blocking, so a FIFO without a writer cannot hang the caller (on a
/// regular file the flag changes nothing). A missing file is `NOT_FOUND`
/// for [`Access::Read`].
/// The longest path a log may have, in bytes: Linux's `PATH_MAX`. No
/// longer path can be opened, and refusing it first spares copying it.
pub const MAX_PATH_BYTES: usize = 4096;

/// Room for the suffixes the log derives from its path
/// (`.checkpoint.replaced-<ms>` and the like).
const DERIVED_SUFFIX_BYTES: usize = 64;

/// Refuses an empty path (which names no file: a binding that passed one
/// for "no path" would otherwise get an unrelated I/O error) and a path
/// longer than [`MAX_PATH_BYTES`], quoting only its prefix.
pub(crate) fn check_path(path: &Path) -> Result<()> {
    check_within(path, MAX_PATH_BYTES)
}

fn check_within(path: &Path, max: usize) -> Result<()> {
    let len = path.as_os_str().len();
    if len == 0 {
        return Err(Error::new(ErrorKind::InvalidArgument, "audit log path must not be empty"));
    }
    if len > max {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!("audit log path {} is over {max} bytes", crate::quote_path(path)),
        ));
    }
    Ok(())
}

/// Opens a file of the log: its own path, or one derived from it (which
/// may be longer by a suffix), refusing anything longer unread.
pub(crate) fn open(path: &Path, access: Access) -> Result<File> {
    check_within(path, MAX_PATH_BYTES + DERIVED_SUFFIX_BYTES)?;
    let mut options = OpenOptions::new();
    options.read(true);
    if access == Access::Write {
        options.write(true).create(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| match e.kind() {
        IoKind::NotFound if access == Access::Read => {
            Error::new(ErrorKind::NotFound, format!("no audit log at {}", quote_path(path)))
        }
        IoKind::IsADirectory => not_regular(path, "a directory"),
        _ => io(&format!("opening {}", quote_path(path)), &e),
    })?;
    let kind = file.metadata().map_err(|e| io(&format!("reading the type of {}", quote_path(path)), &e))?;
    if !kind.is_file() {
        return Err(not_regular(path, describe(&kind.file_type())));
    }
    Ok(file)
}

fn not_regular(path: &Path, what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!("audit log: {} is {what}, not a regular file; refused", quote_path(path)),
    )
}

fn describe(kind: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Replaces `path` with `bytes` so a crash leaves either the old or the new
/// content: write a temporary file beside it, sync it, rename it over, sync
/// the directory. The temporary file is created exclusively (mode 0600)
/// and never through a symlink: a stale one, or a symlink planted in its
/// place, is removed (the link, never its target) and creation retried once.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8], what: &str) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = match create_exclusive(&tmp) {
        Err(e) if e.kind() == IoKind::AlreadyExists => {
            fs::remove_file(&tmp).map_err(|e| io(&format!("removing a stale {}", quote_path(&tmp)), &e))?;
            create_exclusive(&tmp)
        }
        other => other,
    }
    .map_err(|e| io(&format!("creating {}", quote_path(&tmp)), &e))?;
    file.write_all(bytes).map_err(|e| io(&format!("writing the {what}"), &e))?;
    file.sync_all().map_err(|e| io(&format!("syncing the {what}"), &e))?;
    fs::rename(&tmp, path).map_err(|e| io(&format!("replacing the {what}"), &e))?;
    sync_dir(path)
}

fn create_exclusive(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// Reads a small text file (a checkpoint, a state file) of at most `max`
/// bytes; `None` when it does not exist. A file over `max` is `CORRUPT`.
pub(crate) fn read_small(path: &Path, max: usize, what: &str) -> Result<Option<String>> {
    let file = match open(path, Access::Read) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut text = String::new();
    file.take(max as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| io(&format!("reading the {what}"), &e))?;
    if text.len() > max {
        return Err(corrupt(format!("the {what} {} is over {max} bytes", quote_path(path))));
    }
    Ok(Some(text))
}

/// Makes a file's creation or renaming durable by syncing its directory
/// (on Unix; elsewhere the file system does not offer it).
pub(crate) fn sync_dir(path: &Path) -> Result<()> {
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
