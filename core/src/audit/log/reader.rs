//! A read-only reader of an audit file, for following a live log.
//!
//! [`AuditLog::open`](crate::audit::AuditLog::open) repairs what it finds and
//! locks the file for its one writer. A follower (`charter audit tail -f`,
//! a shipper of records) runs beside that writer, so it must never write,
//! and a frame the writer has only half written is not damage: it is not
//! there yet. This reader checks each complete frame exactly as `open` does
//! (length, leaf hash, record, index) and leaves an incomplete one to be
//! read again on a later call.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::audit::file::{self, corrupt, io, next_frame, Access, Step, HEADER};
use crate::audit::record::Record;
use crate::{quote_path, Error, Result};

/// Reads the records of an audit file in order, without writing to it.
pub struct LogReader {
    path: PathBuf,
    reader: BufReader<File>,
    /// Where the next frame starts: everything before it has been read.
    offset: u64,
    /// The index the next frame must hold.
    index: u64,
}

impl LogReader {
    /// Opens the log at `path` for reading. `NOT_FOUND` when there is no
    /// file, `INVALID_ARGUMENT` when it is not a regular file (a FIFO is
    /// refused, never waited on), `CORRUPT` when it does not start with a
    /// Charter audit header.
    pub fn open(path: impl AsRef<Path>) -> Result<LogReader> {
        let path = path.as_ref().to_path_buf();
        let file = file::open(&path, Access::Read)?;
        let mut reader = BufReader::new(file);
        let mut header = [0u8; HEADER.len()];
        let got = file::fill(&mut reader, &mut header)?;
        file::check_header(&header[..got])
            .map_err(|e| Error::new(e.kind(), format!("{}: {}", quote_path(&path), e.message())))?;
        Ok(LogReader { path, reader, offset: HEADER.len() as u64, index: 0 })
    }

    /// The next complete record and its index, or `None` when the file
    /// ends, perhaps inside a frame still being written (call again later).
    /// A damaged frame is `CORRUPT`, naming its record and byte offset.
    pub fn next_record(&mut self) -> Result<Option<(u64, Record)>> {
        match next_frame(&mut self.reader, self.index)? {
            Step::Frame(frame) => {
                let index = self.index;
                self.index += 1;
                self.offset += frame.size();
                Ok(Some((index, frame.record)))
            }
            Step::End | Step::Torn => {
                self.reader.seek(SeekFrom::Start(self.offset)).map_err(|e| io("seeking back", &e))?;
                Ok(None)
            }
            Step::Bad(why) => Err(corrupt(format!("record {} (at byte {}): {why}", self.index, self.offset))),
        }
    }

    /// Where the next frame starts, in bytes from the start of the file.
    pub fn position(&self) -> u64 {
        self.offset
    }

    /// The file's length now, to tell whether there may be more to read.
    pub fn file_len(&self) -> Result<u64> {
        self.reader
            .get_ref()
            .metadata()
            .map(|m| m.len())
            .map_err(|e| io(&format!("reading the size of {}", quote_path(&self.path)), &e))
    }
}
