//! The audit file: a header, then one frame per record, append-only.
//!
//! A frame carries its leaf's length twice (plain and inverted) and its leaf
//! hash. The inverted length tells a damaged length from a frame cut short
//! by a crash, so damage is never mistaken for a torn tail and truncated
//! away; the leaf hash is both the frame's checksum and the Merkle tree's
//! stored leaf, so opening a log rebuilds the tree without decoding proofs.
//! Every read is bounded by [`MAX_RECORD_BYTES`] whatever the file claims.

use std::fs::File;
use std::io::{self, ErrorKind as IoKind, Read, Seek, SeekFrom};

use super::hash::{leaf_hash, Hash};
use super::record::{Record, MAX_RECORD_BYTES, MIN_RECORD_BYTES};
use crate::{Error, ErrorKind, Result};

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
    /// The file ends inside a frame, or continues with zeros only (space a
    /// crash allocated but never filled): what a crash leaves behind.
    Torn,
    /// A frame that is complete but damaged, and why.
    Bad(String),
}

/// Reads frames one by one from the current position of `reader`.
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
        if head.iter().all(|&b| b == 0) && zeros_to_end(reader)? {
            return Ok(Step::Torn);
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
    if fill(reader, &mut leaf)? < len {
        return Ok(Step::Torn);
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&head[8..]);
    Ok(check(hash, leaf, index))
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

fn zeros_to_end(reader: &mut impl Read) -> Result<bool> {
    let mut buf = [0u8; 4096];
    loop {
        match fill(reader, &mut buf)? {
            0 => return Ok(true),
            n if buf[..n].iter().any(|&b| b != 0) => return Ok(false),
            _ => {}
        }
    }
}
