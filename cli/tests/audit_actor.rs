//! `audit tail` tells a proven actor from one only claimed.

mod common;

use charter_core::audit::{AuditLog, AuditOptions, Decision, Record};
use charter_core::capability::KeyPair;
use common::ok;

#[test]
fn tail_marks_an_unproven_actor_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let principal = KeyPair::generate().unwrap().principal();
    {
        let log = AuditLog::open(p.join("log"), AuditOptions::default()).unwrap();
        let proven = Record { actor: Some(principal), ..Record::new(1_000, "publish", "a", Decision::Allow) };
        log.append(&proven).unwrap();
        let claimed =
            Record { actor_unproven: true, ..Record::new(2_000, "open_session", "k", Decision::Deny) };
        log.append(&Record { actor: Some(principal), ..claimed }).unwrap();
    }
    let tail = ok(p, &["audit", "tail", "log"]);
    let lines: Vec<&str> = tail.lines().collect();
    assert!(lines[0].ends_with(&format!("  actor={principal}")), "{tail}");
    assert!(lines[1].ends_with(&format!("  actor={principal} (unproven)")), "{tail}");
    let json = ok(p, &["audit", "tail", "log", "--json"]);
    let records: Vec<serde_json::Value> = json.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records[0]["actor_unproven"], false);
    assert_eq!(records[1]["actor_unproven"], true);
    assert_eq!(records[1]["actor"], principal.to_text());
}
