//! A read-only reader of audit file frames, for following a live log.
//!
//! `AuditLog::open` repairs what it finds: a frame cut short is taken for a
//! crash and truncated away. A follower runs while a writer appends, so it
//! would see the writer's frame half written and cut it off under it. This
//! reader never writes: an incomplete frame at the end is simply not there
//! yet, and is read again on the next poll. Each complete frame is checked
//! as the core checks it (length, leaf hash, record encoding, index); the
//! layout is the one in docs/formats.md, "Audit records and file".

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use charter_core::audit::{leaf_hash, Record, MAX_RECORD_BYTES, MIN_RECORD_BYTES};

use crate::status::{CliError, CliResult, Status};

/// Magic, format version 1, three reserved zero bytes.
const HEADER: [u8; 8] = *b"CHAU\x01\0\0\0";
/// Length, inverted length, leaf hash.
const FRAME_HEAD: usize = 4 + 4 + 32;

pub struct Frames {
    path: PathBuf,
    reader: BufReader<File>,
    /// Where the next frame starts.
    offset: u64,
    /// The index the next frame must hold.
    index: u64,
}

impl Frames {
    pub fn open(path: &Path) -> CliResult<Frames> {
        let file = File::open(path).map_err(|e| {
            CliError::io("no audit log at", path, &e)
                .hint("check the path; `charter audit append` creates a log")
        })?;
        let mut frames =
            Frames { path: path.to_path_buf(), reader: BufReader::new(file), offset: 0, index: 0 };
        let mut header = [0u8; HEADER.len()];
        if frames.fill(&mut header)? < HEADER.len() || header != HEADER {
            return Err(CliError::new(
                Status::Corrupt,
                format!("{}: not a Charter audit log (format version 1)", path.display()),
            ));
        }
        frames.offset = HEADER.len() as u64;
        Ok(frames)
    }

    /// The file's current length, to tell whether polling should read.
    pub fn file_len(&self) -> CliResult<u64> {
        self.reader
            .get_ref()
            .metadata()
            .map(|m| m.len())
            .map_err(|e| CliError::io("cannot read the size of", &self.path, &e))
    }

    /// Where the next frame starts: everything before it has been read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next complete record, or `None` when the file ends (perhaps
    /// inside a frame still being written). A damaged frame is `CORRUPT`,
    /// naming its record.
    pub fn next(&mut self) -> CliResult<Option<(u64, Record)>> {
        let mut head = [0u8; FRAME_HEAD];
        if self.fill(&mut head)? < FRAME_HEAD {
            return self.rewind();
        }
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let inverted = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        if head.iter().all(|&b| b == 0) {
            // Space allocated ahead of a write that has not landed yet.
            return self.rewind();
        }
        if len != !inverted {
            return Err(self.corrupt("the frame's length check fails"));
        }
        let len = len as usize;
        if !(MIN_RECORD_BYTES..=MAX_RECORD_BYTES).contains(&len) {
            return Err(self.corrupt(&format!("a frame of {len} bytes is out of range")));
        }
        let mut leaf = vec![0u8; len];
        if self.fill(&mut leaf)? < len {
            return self.rewind();
        }
        if leaf_hash(&leaf)[..] != head[8..] {
            return Err(self.corrupt("the leaf hash does not match the record"));
        }
        let (stored, record) = Record::decode(&leaf).map_err(|e| self.corrupt(e.message()))?;
        if stored != self.index {
            return Err(self.corrupt(&format!("the record says it is record {stored}")));
        }
        let index = self.index;
        self.index += 1;
        self.offset += (FRAME_HEAD + len) as u64;
        Ok(Some((index, record)))
    }

    /// Goes back to the start of the incomplete frame, to read it whole
    /// once it is.
    fn rewind(&mut self) -> CliResult<Option<(u64, Record)>> {
        self.reader
            .seek(SeekFrom::Start(self.offset))
            .map_err(|e| CliError::io("cannot seek in", &self.path, &e))?;
        Ok(None)
    }

    fn corrupt(&self, why: &str) -> CliError {
        CliError::new(
            Status::Corrupt,
            format!("{}: record {} (at byte {}): {why}", self.path.display(), self.index, self.offset),
        )
        .hint("`charter audit verify` checks the whole log; keep the file for investigation")
    }

    /// Reads until `buf` is full or the file ends; returns how much it read.
    fn fill(&mut self, buf: &mut [u8]) -> CliResult<usize> {
        let mut got = 0;
        while got < buf.len() {
            match self.reader.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(CliError::io("cannot read", &self.path, &e)),
            }
        }
        Ok(got)
    }
}
