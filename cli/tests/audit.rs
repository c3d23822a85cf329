//! `audit append`, `verify`, `checkpoint`, `vkey`, `prove` and `tail`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::log::{append, append_args, frame_offsets, signed_append, ORIGIN};
use common::{fails, keygen, ok, ok_json, BIN};

/// A log of `n` records in a fresh directory that also holds `log.key`.
fn log_of(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "log.key");
    for i in 0..n {
        assert_eq!(append(dir.path(), &format!("t{i}"))["index"], i as u64);
    }
    dir
}

fn vkey(dir: &Path) -> String {
    ok(dir, &["audit", "vkey", "--key", "log.key", "--origin", ORIGIN]).trim().to_string()
}

#[test]
fn append_human_and_json_then_tail() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let actor = keygen(p, "alice.key");
    let out =
        ok(p, &[append_args("publish", "orders.eu.created", "allow"), vec!["--actor", &actor]].concat());
    assert!(out.starts_with("appended record 0 to log\nroot  "), "{out}");
    let more = ["--reason", "denied", "--detail", "no grant"];
    let second = ok_json(p, &[append_args("publish", "orders.eu.deleted", "deny"), more.to_vec()].concat());
    assert_eq!(second["index"], 1);
    assert_eq!(second["size"], 2);
    assert_eq!(second["root"].as_str().unwrap().len(), 64);
    assert_eq!(second["checkpoint"], serde_json::Value::Null);

    let tail = ok(p, &["audit", "tail", "log"]);
    let lines: Vec<&str> = tail.lines().collect();
    assert_eq!(lines.len(), 2, "{tail}");
    assert!(
        lines[0].starts_with("#0  20")
            && lines[0].contains("  allow  publish  orders.eu.created  actor=charter-id1:")
    );
    assert!(
        lines[1].ends_with("deny   publish  orders.eu.deleted  reason=DENIED  detail=\"no grant\""),
        "{tail}"
    );

    let last = ok(p, &["audit", "tail", "log", "-n", "1", "--json"]);
    assert_eq!(last.lines().count(), 1);
    let record: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(record["index"], 1);
    assert_eq!(record["decision"], "deny");
    assert_eq!(record["reason"], -10);
    assert_eq!(record["reason_name"], "DENIED");
    assert_eq!(record["detail"], "no grant");
    assert_eq!(record["actor"], serde_json::Value::Null);
}

#[test]
fn append_refuses_bad_fields() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let base = ["audit", "append", "log", "--action", "a", "--resource", "r", "--decision"];
    let err = fails(p, &[&base[..], &["maybe"]].concat(), 2, "USAGE");
    assert!(err.contains("invalid value 'maybe'"), "{err}");
    let err = fails(p, &[&base[..], &["allow", "--actor", "charter-id1:AAAA"]].concat(), 8, "MALFORMED");
    assert!(err.starts_with("error: MALFORMED: --actor: "), "{err}");
    let err = fails(p, &[&base[..], &["allow", "--reason", "SLEEPY"]].concat(), 13, "INVALID_ARGUMENT");
    assert!(err.contains("--reason: \"SLEEPY\" is not a status name or code"), "{err}");
    let long = "x".repeat(65);
    let err = fails(p, &append_args(&long, "r", "allow"), 14, "LIMIT_EXCEEDED");
    assert!(err.contains("a record's action is 65 bytes; the limit is 64"), "{err}");
    let err = fails(p, &[&base[..], &["allow", "--key", "k"]].concat(), 2, "USAGE");
    assert!(err.contains("--origin"), "{err}");
}

#[test]
fn verify_human_and_json() {
    let dir = log_of(4);
    let p = dir.path();
    let last = append(p, "t4");
    let out = ok(p, &["audit", "verify", "log"]);
    assert!(out.starts_with("log: OK\nrecords     5\nroot        "), "{out}");
    let report = ok_json(p, &["audit", "verify", "log"]);
    assert_eq!(report["ok"], true);
    assert_eq!(report["records"], 5);
    assert_eq!(report["checkpoint"], serde_json::Value::Null);
    assert_eq!(report["root"], last["root"], "the recomputed root is the one the appender saw");
}

#[test]
fn checkpoint_vkey_and_verify_against() {
    let dir = log_of(3);
    let p = dir.path();
    let vkey = vkey(p);
    assert!(vkey.starts_with("example.com/audit+"), "{vkey}");
    assert_eq!(ok_json(p, &["audit", "vkey", "--key", "log.key", "--origin", ORIGIN])["verifier_key"], vkey);

    let out = ok(p, &["audit", "checkpoint", "log", "--key", "log.key", "--origin", ORIGIN]);
    assert!(out.starts_with("example.com/audit\n3\n"), "{out}");
    assert!(out.contains("\n\u{2014} example.com/audit "), "{out}");
    assert!(out.ends_with(&format!("verifier key: {vkey}\n")), "{out}");
    std::fs::copy(p.join("log.checkpoint"), p.join("at3.cp")).unwrap();

    append(p, "t3");
    let signed = ok_json(p, &["audit", "checkpoint", "log", "--key", "log.key", "--origin", ORIGIN]);
    assert_eq!(signed["size"], 4);
    assert_eq!(signed["verifier_key"], vkey);
    assert!(signed["note"].as_str().unwrap().starts_with("example.com/audit\n4\n"));
    append(p, "t4");

    let out = ok(p, &["audit", "verify", "log", "--vkey", &vkey, "--against", "at3.cp"]);
    assert!(out.contains("checkpoint  size 4 of example.com/audit: consistent\n"), "{out}");
    assert!(out.contains("against     size 3 of example.com/audit: consistent\n"), "{out}");
    let report = ok_json(p, &["audit", "verify", "log", "--vkey", &vkey, "--against", "at3.cp"]);
    assert_eq!(report["records"], 5);
    assert_eq!(report["checkpoint"]["size"], 4);
    assert_eq!(report["against"]["size"], 3);

    let unchecked = common::run(p, &["audit", "verify", "log"]);
    assert_eq!(unchecked.code, 0);
    assert!(
        unchecked.stderr.contains("warning: log.checkpoint was not checked: pass --vkey"),
        "{}",
        unchecked.stderr
    );
}

#[test]
fn append_can_sign_a_checkpoint() {
    let dir = log_of(1);
    let p = dir.path();
    let out = ok_json(p, &signed_append("r", "error"));
    assert!(out["checkpoint"].as_str().unwrap().starts_with("example.com/audit\n2\n"));
    let report = ok_json(p, &["audit", "verify", "log", "--vkey", &vkey(p)]);
    assert_eq!(report["checkpoint"]["size"], 2);
}

#[test]
fn append_can_sign_every_n_records() {
    let dir = log_of(0);
    let p = dir.path();
    let signed = |i: u64| {
        let resource = format!("t{i}");
        let args = [&signed_append(&resource, "allow")[..], &["--checkpoint-every", "3"]].concat();
        ok_json(p, &args)["checkpoint"].as_str().map(str::to_string)
    };
    for i in 0..7u64 {
        match signed(i) {
            Some(note) => {
                assert_eq!((i + 1) % 3, 0, "record {i} signed a checkpoint");
                assert!(note.starts_with(&format!("example.com/audit\n{}\n", i + 1)), "{note}");
            }
            None => assert_ne!((i + 1) % 3, 0, "record {i} signed no checkpoint"),
        }
    }
    let report = ok_json(p, &["audit", "verify", "log", "--vkey", &vkey(p)]);
    assert_eq!(report["checkpoint"]["size"], 6);
    assert_eq!(report["records"], 7);
    let base = append_args("a", "r", "allow");
    fails(p, &[&base[..], &["--checkpoint-every", "3"]].concat(), 2, "USAGE");
    fails(
        p,
        &[&base[..], &["--key", "log.key", "--origin", ORIGIN, "--checkpoint-every", "0"]].concat(),
        2,
        "USAGE",
    );
}

#[test]
fn verify_names_the_corrupted_record() {
    let dir = log_of(6);
    let p = dir.path();
    let mut bytes = std::fs::read(p.join("log")).unwrap();
    let frame = frame_offsets(&bytes)[3];
    bytes[frame + 40 + 30] ^= 0x01; // inside record 3's action
    std::fs::write(p.join("log"), &bytes).unwrap();
    let err = fails(p, &["audit", "verify", "log"], 10, "CORRUPT");
    assert!(err.contains("record 3 (at byte"), "{err}");
    assert!(err.contains("the leaf hash does not match the record"), "{err}");
    let err = fails(p, &["audit", "tail", "log"], 10, "CORRUPT");
    assert!(err.contains("record 3 (at byte"), "{err}");
    assert_eq!(std::fs::read(p.join("log")).unwrap(), bytes, "a corrupt log is left as it is");
}

#[test]
fn verify_detects_a_rolled_back_log() {
    let dir = log_of(3);
    let p = dir.path();
    let vkey = vkey(p);
    std::fs::copy(p.join("log"), p.join("log.at3")).unwrap();
    append(p, "t3");
    append(p, "t4");
    ok(p, &["audit", "checkpoint", "log", "--key", "log.key", "--origin", ORIGIN]);
    std::fs::copy(p.join("log.checkpoint"), p.join("at5.cp")).unwrap();
    std::fs::copy(p.join("log.at3"), p.join("log")).unwrap();
    let err = fails(p, &["audit", "verify", "log", "--vkey", &vkey], 10, "CORRUPT");
    assert!(err.contains("the log holds 3 records, but its signed checkpoint vouches for 5"), "{err}");
    std::fs::remove_file(p.join("log.checkpoint")).unwrap();
    let err = fails(p, &["audit", "verify", "log", "--vkey", &vkey, "--against", "at5.cp"], 10, "CORRUPT");
    assert!(err.contains("the earlier checkpoint vouches for 5: it was truncated or rolled back"), "{err}");
}

#[test]
fn verify_with_the_wrong_key_or_a_missing_log() {
    let dir = log_of(2);
    let p = dir.path();
    ok(p, &["audit", "checkpoint", "log", "--key", "log.key", "--origin", ORIGIN]);
    keygen(p, "other.key");
    let other = ok(p, &["audit", "vkey", "--key", "other.key", "--origin", ORIGIN]);
    let err = fails(p, &["audit", "verify", "log", "--vkey", other.trim()], 7, "BAD_SIGNATURE");
    assert!(err.contains("the persisted checkpoint does not verify: the note has no signature by"), "{err}");
    let err = fails(p, &["audit", "verify", "log", "--vkey", "not-a-key"], 8, "MALFORMED");
    assert!(err.contains("a verifier key is <name>+<key id>+<key>"), "{err}");

    let err = fails(p, &["audit", "verify", "nolog"], 12, "NOT_FOUND");
    assert!(err.contains("no audit log at \"nolog\""), "{err}");
    assert!(!p.join("nolog").exists(), "verify never creates a log");
    let err =
        fails(p, &["audit", "verify", "log", "--vkey", &vkey(p), "--against", "no.cp"], 12, "NOT_FOUND");
    assert!(err.contains("cannot open checkpoint file no.cp"), "{err}");
    fails(p, &["audit", "verify", "log", "--against", "no.cp"], 2, "USAGE");
}

#[test]
fn checkpoint_refuses_a_foreign_key_and_a_bad_origin() {
    let dir = log_of(1);
    let p = dir.path();
    std::fs::write(p.join("junk.key"), [0u8; 16]).unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(p.join("junk.key"), std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .unwrap();
    let err =
        fails(p, &["audit", "checkpoint", "log", "--key", "junk.key", "--origin", ORIGIN], 8, "MALFORMED");
    assert!(err.contains("key file junk.key"), "{err}");
    let err = fails(
        p,
        &["audit", "checkpoint", "log", "--key", "log.key", "--origin", "has space"],
        13,
        "INVALID_ARGUMENT",
    );
    assert!(err.contains("contains a space"), "{err}");
    fails(p, &["audit", "checkpoint", "missing", "--key", "log.key", "--origin", ORIGIN], 12, "NOT_FOUND");
}

#[test]
fn prove_inclusion_and_consistency() {
    let dir = log_of(8);
    let p = dir.path();
    let out = ok(p, &["audit", "prove", "log", "--index", "2"]);
    assert!(out.starts_with("inclusion of record 2 in the tree of 8 records\nleaf  "), "{out}");
    assert!(out.contains("proof (3 hashes)\n"), "{out}");
    let proof = ok_json(p, &["audit", "prove", "log", "--index", "2", "--size", "5"]);
    assert_eq!(proof["kind"], "inclusion");
    assert_eq!(proof["size"], 5);
    assert_eq!(proof["proof"].as_array().unwrap().len(), 3);
    assert!(proof["proof"].as_array().unwrap().iter().all(|h| h.as_str().unwrap().len() == 64));

    let out = ok(p, &["audit", "prove", "log", "--consistency", "3"]);
    assert!(out.starts_with("consistency of the tree of 3 records with the tree of 8\nold root  "), "{out}");
    let proof = ok_json(p, &["audit", "prove", "log", "--consistency", "3", "--size", "6"]);
    assert_eq!(proof["kind"], "consistency");
    assert_eq!(proof["old_size"], 3);
    assert_eq!(proof["proof"].as_array().unwrap().len(), 4);

    let err = fails(p, &["audit", "prove", "log", "--index", "8"], 13, "INVALID_ARGUMENT");
    assert!(err.contains("leaf index 8 is not in a tree of size 8"), "{err}");
    fails(p, &["audit", "prove", "log", "--consistency", "9"], 13, "INVALID_ARGUMENT");
    fails(p, &["audit", "prove", "log"], 2, "USAGE");
    fails(p, &["audit", "prove", "log", "--index", "1", "--consistency", "1"], 2, "USAGE");
}

#[test]
fn tail_of_a_missing_or_foreign_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let err = fails(p, &["audit", "tail", "nolog"], 12, "NOT_FOUND");
    assert!(err.contains("no audit log at \"nolog\""), "{err}");
    std::fs::write(p.join("notes"), "hello, world").unwrap();
    let err = fails(p, &["audit", "tail", "notes"], 10, "CORRUPT");
    assert!(err.contains("not a Charter audit log"), "{err}");
}

#[test]
fn tail_follow_prints_records_as_they_are_appended() {
    let dir = log_of(3);
    let p = dir.path();
    let mut child = Command::new(BIN)
        .args(["audit", "tail", "log", "-n", "1", "-f", "--json"])
        .current_dir(p)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (send, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if send.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || -> serde_json::Value {
        let line = lines.recv_timeout(Duration::from_secs(20)).expect("tail -f printed a line in time");
        serde_json::from_str(&line).unwrap()
    };
    assert_eq!(next()["index"], 2);
    append(p, "late");
    let record = next();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(record["index"], 3);
    assert_eq!(record["resource"], "late");
}
