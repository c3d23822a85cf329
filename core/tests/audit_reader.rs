//! `LogReader` follows a log another handle is writing: it never writes,
//! treats a half-written last frame as not there yet, and refuses damage.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use charter_core::audit::{AuditLog, AuditOptions, Decision, FsyncPolicy, LogReader, Record};
use charter_core::ErrorKind;

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("charter-reader-{name}-{}", std::process::id()));
        let _ = fs::remove_file(&path);
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn record(i: u64) -> Record {
    Record::new(1_000 + i, "publish", &format!("orders.{i}"), Decision::Allow)
}

fn options() -> AuditOptions {
    AuditOptions { fsync: FsyncPolicy::Never, ..AuditOptions::default() }
}

#[test]
fn follows_a_log_while_it_is_written() {
    let file = Scratch::new("follow");
    let log = AuditLog::open(&file.0, options()).unwrap();
    log.append(&record(0)).unwrap();
    let mut reader = LogReader::open(&file.0).unwrap();
    assert_eq!(reader.next_record().unwrap().unwrap(), (0, record(0)));
    assert!(reader.next_record().unwrap().is_none());
    log.append(&record(1)).unwrap();
    log.append(&record(2)).unwrap();
    assert_eq!(reader.next_record().unwrap().unwrap(), (1, record(1)));
    assert_eq!(reader.next_record().unwrap().unwrap(), (2, record(2)));
    assert!(reader.next_record().unwrap().is_none());
    assert_eq!(reader.position(), reader.file_len().unwrap());
}

#[test]
fn a_half_written_frame_is_read_once_it_is_whole() {
    let file = Scratch::new("half");
    drop(AuditLog::open(&file.0, options()).unwrap().append(&record(0)));
    let whole = fs::read(&file.0).unwrap();
    let header = 8;
    let (first, second) = whole[header..].split_at((whole.len() - header) / 2);
    fs::write(&file.0, &whole[..header]).unwrap();
    let mut reader = LogReader::open(&file.0).unwrap();
    let mut writer = OpenOptions::new().append(true).open(&file.0).unwrap();
    writer.write_all(first).unwrap();
    assert!(reader.next_record().unwrap().is_none(), "half a frame is not there yet");
    assert_eq!(reader.position(), header as u64);
    writer.write_all(second).unwrap();
    assert_eq!(reader.next_record().unwrap().unwrap(), (0, record(0)));
    assert_eq!(fs::read(&file.0).unwrap(), whole, "the reader never writes");
}

#[test]
fn damage_is_corrupt_and_names_the_record() {
    let file = Scratch::new("damage");
    let log = AuditLog::open(&file.0, options()).unwrap();
    for i in 0..3 {
        log.append(&record(i)).unwrap();
    }
    drop(log);
    let mut bytes = fs::read(&file.0).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    fs::write(&file.0, &bytes).unwrap();
    let mut reader = LogReader::open(&file.0).unwrap();
    assert_eq!(reader.next_record().unwrap().unwrap().0, 0);
    assert_eq!(reader.next_record().unwrap().unwrap().0, 1);
    let e = reader.next_record().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.message().contains("record 2 (at byte"), "{e}");
}

#[test]
fn a_missing_or_foreign_file_is_refused() {
    let file = Scratch::new("missing");
    let e = LogReader::open(&file.0).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.message().contains("no audit log at"), "{e}");
    fs::write(&file.0, "hello, world").unwrap();
    let e = LogReader::open(&file.0).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.message().contains("not a Charter audit log"), "{e}");
}
