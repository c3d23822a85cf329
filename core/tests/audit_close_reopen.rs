//! Closing the last handle of a log with `checkpoint_interval` releases
//! the file and its lock before the drop returns, so an immediate reopen
//! never sees `WOULD_BLOCK`.
//!
//! In its own test binary on purpose: an advisory lock belongs to the open
//! file description, which a child forked by another test thread (before
//! its exec) briefly shares, so a concurrent `Command` in the same process
//! would hold the lock for a moment regardless of this log's own threads.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use charter_core::audit::{AuditLog, AuditOptions, Decision, Record};
use charter_core::capability::KeyPair;

fn record(i: u64) -> Record {
    Record::new(1_000 + i, "publish", &format!("orders.{i}"), Decision::Allow)
}

fn options(key: &Arc<KeyPair>, origin: &str) -> AuditOptions {
    AuditOptions { signer: Some(Arc::clone(key)), origin: origin.into(), ..AuditOptions::default() }
}

/// The checkpoint thread may hold the log while it signs when the last
/// handle goes; the drop waits for it, so the file lock is free at once.
#[test]
fn closing_the_last_handle_releases_the_lock_before_it_returns() {
    let dir = std::env::temp_dir().join(format!("charter-close-reopen-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir(&dir).unwrap();
    let path: PathBuf = dir.join("audit.log");
    let key = Arc::new(KeyPair::generate().unwrap());
    let every =
        AuditOptions { checkpoint_interval: Some(Duration::from_millis(1)), ..options(&key, "close.reopen") };
    for i in 0..200u64 {
        let log = AuditLog::open(&path, every.clone())
            .unwrap_or_else(|e| panic!("reopen {i} right after the last close: {e}"));
        let twin = log.clone();
        log.append(&record(i)).unwrap();
        std::thread::sleep(Duration::from_micros(200 * (i % 8)));
        drop(log);
        drop(twin);
    }
    let log = AuditLog::open(&path, options(&key, "close.reopen")).unwrap();
    assert_eq!(log.len(), 200);
    drop(log);
    fs::remove_dir_all(&dir).unwrap();
}
