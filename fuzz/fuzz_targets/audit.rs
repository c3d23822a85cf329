//! Hostile bytes through the audit log's readers: as a whole log file
//! (open, verify, read every record back; and the auditor's read-only
//! path, which must agree with it), as one record's encoding, as a
//! checkpoint note, as a cosigned note and as a witness request. Every input must give a typed result, never a panic,
//! a hang or an unbounded allocation.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use charter_core::audit::{
    parse_witness_request, verify_checkpoint, verify_cosigned, verify_log, AuditLog, AuditOptions,
    FsyncPolicy, LogView, Query, Record, VerifyOptions,
};
use libfuzzer_sys::fuzz_target;

/// A scratch file per fuzzing process, in memory-backed storage when there is some.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir =
            if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm".into() } else { std::env::temp_dir() };
        dir.join(format!("charter-fuzz-audit-{}", std::process::id()))
    })
}

/// The verifier key of the vectors' audit signer (vectors/audit.json).
const VKEY: &str = "charter.example/audit-vectors+6946ab4c+AYqHX/8es4RRV3rNWv7kBUVlaN18ieCQhjoFV7x69J8X";

/// The cosigner key of the vectors' first witness (vectors/audit.json).
const WITNESS: &str = "witness.example/w1+fea3b187+BBOY9ixtGkV8UbpqS189vS9p/KkyFiGNyJl+QWvRfZPK";

fn as_file(data: &[u8]) {
    let path = scratch();
    std::fs::write(path, data).expect("the scratch file is writable");
    // The read-only path first: it must never change the file.
    let streamed = verify_log(path, &VerifyOptions::default());
    let viewed = LogView::open(path);
    if let (Ok(report), Ok(view)) = (&streamed, &viewed) {
        assert!(report.is_ok() && report.records == view.len() && report.root == view.root());
    }
    assert_eq!(std::fs::read(path).expect("the scratch file is readable"), data, "the auditor wrote");
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
    match mode % 5 {
        0 => as_file(rest),
        1 => {
            if let Ok((index, record)) = Record::decode(rest) {
                assert_eq!(record.encode(index).expect("a decoded record re-encodes"), rest);
            }
        }
        3 => {
            if let Ok(note) = std::str::from_utf8(rest) {
                let _ = verify_cosigned(note, VKEY, &[WITNESS.to_owned()], 1);
            }
        }
        4 => {
            if let Ok(body) = std::str::from_utf8(rest) {
                if let Ok((_, proof, _)) = parse_witness_request(body) {
                    assert!(proof.len() <= 63);
                }
            }
        }
        _ => {
            if let Ok(note) = std::str::from_utf8(rest) {
                let _ = verify_checkpoint(note, VKEY);
            }
        }
    }
});
