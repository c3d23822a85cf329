//! Hostile bytes through the audit log's readers: as a whole log file
//! (open, verify, read every record back), as one record's encoding, and as
//! a checkpoint note. Every input must give a typed result, never a panic,
//! a hang or an unbounded allocation.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use charter_core::audit::{verify_checkpoint, AuditLog, AuditOptions, FsyncPolicy, Query, Record};
use libfuzzer_sys::fuzz_target;

/// A scratch file per fuzzing process, in memory-backed storage when there is some.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm".into() } else { std::env::temp_dir() };
        dir.join(format!("charter-fuzz-audit-{}", std::process::id()))
    })
}

/// The verifier key of the vectors' audit signer (vectors/audit.json).
const VKEY: &str = "charter.example/audit-vectors+6946ab4c+AYqHX/8es4RRV3rNWv7kBUVlaN18ieCQhjoFV7x69J8X";

fn as_file(data: &[u8]) {
    let path = scratch();
    std::fs::write(path, data).expect("the scratch file is writable");
    let options = AuditOptions { fsync: FsyncPolicy::Never, ..AuditOptions::default() };
    if let Ok(log) = AuditLog::open(path, options) {
        let report = log.verify().expect("an opened log verifies or reports");
        assert!(report.records <= log.len());
        for item in log.records(Query::all()) {
            let (index, record) = item.expect("an opened log reads back");
            assert!(!record.encode(index).expect("a stored record re-encodes").is_empty());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 3 {
        0 => as_file(rest),
        1 => {
            if let Ok((index, record)) = Record::decode(rest) {
                assert_eq!(record.encode(index).expect("a decoded record re-encodes"), rest);
            }
        }
        _ => {
            if let Ok(note) = std::str::from_utf8(rest) {
                let _ = verify_checkpoint(note, VKEY);
            }
        }
    }
});
