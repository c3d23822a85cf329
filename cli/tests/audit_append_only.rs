//! Issue 15 from the command line: tamper, rollback, split view, deletion,
//! zeroed tail, rewritten frame length, symlink, read-only file, beside a
//! live writer, a missing checkpoint, a trust state, witnesses and FIFOs.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use charter_core::audit::{AuditLog, AuditOptions, Decision, Record};
use charter_core::capability::KeyPair;

use common::log::{append, append_args, frame_offsets, signed_append, ORIGIN};
use common::{fails, keygen, ok, ok_json, run, run_with_stdin};

fn checkpoint(dir: &Path) {
    ok(dir, &["audit", "checkpoint", "log", "--key", "log.key", "--origin", ORIGIN]);
}

/// A signed log of `n` records with a checkpoint, in a fresh directory.
fn signed_log(n: usize) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    keygen(p, "log.key");
    for i in 0..n {
        append(p, &format!("t{i}"));
    }
    checkpoint(p);
    let vkey = ok(p, &["audit", "vkey", "--key", "log.key", "--origin", ORIGIN]).trim().to_string();
    (dir, vkey)
}

/// Rewrites `log` in `dir` with `change` made at the start of its frame
/// `frame`; the bytes written.
fn tamper(dir: &Path, frame: usize, change: impl FnOnce(&mut Vec<u8>, usize)) -> Vec<u8> {
    let mut bytes = std::fs::read(dir.join("log")).unwrap();
    let at = frame_offsets(&bytes)[frame];
    change(&mut bytes, at);
    std::fs::write(dir.join("log"), &bytes).unwrap();
    bytes
}

#[test]
fn rollback_is_caught_by_verify_and_refused_by_the_signer() {
    let (dir, vkey) = signed_log(7);
    let p = dir.path();
    let bytes = std::fs::read(p.join("log")).unwrap();
    std::fs::write(p.join("log"), &bytes[..frame_offsets(&bytes)[3]]).unwrap();
    let err = fails(p, &["audit", "verify", "log", "--vkey", &vkey], 10, "CORRUPT");
    assert!(err.contains("holds 3 records, but its signed checkpoint vouches for 7"), "{err}");
    // Appending with the key, which used to replace the checkpoint, refuses.
    let err = fails(p, &signed_append("r", "allow"), 10, "CORRUPT");
    assert!(err.contains("record 3 is missing"), "{err}");
    fails(p, &["audit", "checkpoint", "log", "--key", "log.key", "--origin", ORIGIN], 10, "CORRUPT");
    assert!(std::fs::read_to_string(p.join("log.checkpoint")).unwrap().starts_with("example.com/audit\n7\n"));
}

#[test]
fn a_split_view_is_never_signed() {
    let (dir, vkey) = signed_log(6);
    let p = dir.path();
    // Another history of the same length, every frame hash recomputed.
    let other = tempfile::tempdir().unwrap();
    for i in 0..6 {
        append(other.path(), &format!("forged{i}"));
    }
    std::fs::copy(other.path().join("log"), p.join("log")).unwrap();
    let err =
        fails(p, &["audit", "checkpoint", "log", "--key", "log.key", "--origin", ORIGIN], 10, "CORRUPT");
    assert!(err.contains("records 0 to 5 are not the ones"), "{err}");
    let err = fails(p, &["audit", "verify", "log", "--vkey", &vkey], 10, "CORRUPT");
    assert!(err.contains("the first 6 records are not the ones its signed checkpoint vouches for"), "{err}");
}

#[test]
fn deletion_needs_an_explicit_start_over_with_a_new_origin() {
    let (dir, vkey) = signed_log(4);
    let p = dir.path();
    std::fs::remove_file(p.join("log")).unwrap();
    let err = fails(p, &signed_append("r", "allow"), 10, "CORRUPT");
    assert!(err.contains("record 0 is missing"), "{err}");
    fails(p, &["audit", "verify", "log", "--vkey", &vkey], 12, "NOT_FOUND");
    let args =
        ["audit", "start-over", "log", "--key", "log.key", "--origin", ORIGIN, "--reason", "disk replaced"];
    let err = fails(p, &args, 13, "INVALID_ARGUMENT");
    assert!(err.contains("new origin"), "{err}");
    let out = ok_json(
        p,
        &[
            "audit",
            "start-over",
            "log",
            "--key",
            "log.key",
            "--origin",
            "example.com/audit-2",
            "--reason",
            "disk replaced",
        ],
    );
    let new_vkey = out["verifier_key"].as_str().unwrap().to_string();
    assert!(new_vkey.starts_with("example.com/audit-2+"));
    let tail = ok(p, &["audit", "tail", "log"]);
    assert!(tail.contains("start_over  example.com/audit"), "{tail}");
    // The old verifier key no longer vouches for anything here.
    fails(p, &["audit", "verify", "log", "--vkey", &vkey], 7, "BAD_SIGNATURE");
    ok(p, &["audit", "verify", "log", "--vkey", &new_vkey]);
}

#[test]
fn a_zeroed_tail_is_corrupt_and_never_truncated() {
    let (dir, _) = signed_log(20);
    let p = dir.path();
    let bytes = tamper(p, 15, |bytes, at| bytes[at..].fill(0));
    let err = fails(p, &["audit", "verify", "log"], 10, "CORRUPT");
    assert!(err.contains("record 15 ") && err.contains("zero-filled"), "{err}");
    fails(p, &append_args("a", "r", "allow"), 10, "CORRUPT");
    assert_eq!(std::fs::read(p.join("log")).unwrap(), bytes, "nothing was cut");
}

#[test]
fn a_rewritten_frame_length_is_corrupt_not_a_torn_tail() {
    let (dir, _) = signed_log(6);
    let p = dir.path();
    let bytes = tamper(p, 2, |bytes, at| {
        let claimed = (bytes.len() - at) as u32;
        bytes[at..at + 4].copy_from_slice(&claimed.to_be_bytes());
        bytes[at + 4..at + 8].copy_from_slice(&(!claimed).to_be_bytes());
    });
    let err = fails(p, &["audit", "verify", "log"], 10, "CORRUPT");
    assert!(err.contains("record 2 ") && err.contains("length was rewritten"), "{err}");
    fails(p, &append_args("a", "r", "allow"), 10, "CORRUPT");
    assert_eq!(std::fs::read(p.join("log")).unwrap(), bytes);
}

#[test]
fn tampering_is_named_without_touching_the_file() {
    let (dir, vkey) = signed_log(5);
    let p = dir.path();
    let bytes = tamper(p, 1, |bytes, at| bytes[at + 60] ^= 0x20);
    let err = fails(p, &["audit", "verify", "log", "--vkey", &vkey], 10, "CORRUPT");
    assert!(err.contains("record 1 (at byte"), "{err}");
    assert_eq!(std::fs::read(p.join("log")).unwrap(), bytes);
}

#[test]
fn a_planted_symlink_is_not_followed() {
    let (dir, _) = signed_log(2);
    let p = dir.path();
    std::fs::write(p.join("victim"), "precious").unwrap();
    std::os::unix::fs::symlink(p.join("victim"), p.join("log.checkpoint.tmp")).unwrap();
    append(p, "t2");
    checkpoint(p);
    assert_eq!(std::fs::read_to_string(p.join("victim")).unwrap(), "precious");
    let mode = |name: &str| std::fs::metadata(p.join(name)).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode("log"), mode("log.checkpoint")), (0o600, 0o600));
}

#[test]
fn the_auditor_reads_a_read_only_log_beside_a_live_writer() {
    let (dir, vkey) = signed_log(5);
    let p = dir.path();
    // A half-written frame at the end, as a live writer leaves it between
    // two syscalls; the file is read-only.
    let mut bytes = std::fs::read(p.join("log")).unwrap();
    bytes.extend_from_slice(&[0, 0, 0, 60, 0xff, 0xff, 0xff, 0xc3, 1, 2, 3]);
    std::fs::write(p.join("log"), &bytes).unwrap();
    std::fs::set_permissions(p.join("log"), std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(p.join("log.checkpoint"), std::fs::Permissions::from_mode(0o444)).unwrap();
    let report = ok_json(p, &["audit", "verify", "log", "--vkey", &vkey]);
    assert_eq!((report["records"].as_u64(), report["checkpoint"]["size"].as_u64()), (Some(5), Some(5)));
    ok(p, &["audit", "prove", "log", "--index", "4"]);
    ok(p, &["audit", "tail", "log"]);
    assert_eq!(std::fs::read(p.join("log")).unwrap(), bytes, "the auditor never writes");

    // Beside a live writer: this process holds the log open for writing
    // (and its lock) and appends from a thread while the auditor's
    // commands run; a second writer is refused at once.
    std::fs::set_permissions(p.join("log"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(p.join("log.checkpoint"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(p.join("log"), &bytes[..bytes.len() - 11]).unwrap();
    let key = Arc::new(KeyPair::from_pkcs8(&std::fs::read(p.join("log.key")).unwrap()).unwrap());
    let options = AuditOptions { signer: Some(key), origin: ORIGIN.into(), ..AuditOptions::default() };
    let writer = AuditLog::open(p.join("log"), options).unwrap();
    let appender = {
        let writer = writer.clone();
        std::thread::spawn(move || {
            for i in 0..200 {
                writer.append(&Record::new(i, "publish", &format!("live{i}"), Decision::Allow)).unwrap();
            }
        })
    };
    for _ in 0..5 {
        let report = ok_json(p, &["audit", "verify", "log", "--vkey", &vkey]);
        assert!(report["records"].as_u64().unwrap() >= 5);
        ok(p, &["audit", "prove", "log", "--consistency", "5"]);
        ok(p, &["audit", "tail", "log", "-n", "1"]);
    }
    let err =
        fails(p, &["audit", "checkpoint", "log", "--key", "log.key", "--origin", ORIGIN], 15, "WOULD_BLOCK");
    assert!(err.contains("hint: another process has the log open for writing"), "{err}");
    appender.join().unwrap();
    writer.checkpoint().unwrap();
    drop(writer);
    let report = ok_json(p, &["audit", "verify", "log", "--vkey", &vkey]);
    assert_eq!((report["records"].as_u64(), report["checkpoint"]["size"].as_u64()), (Some(205), Some(205)));
}

#[test]
fn vkey_without_a_checkpoint_fails_unless_allowed() {
    let (dir, vkey) = signed_log(3);
    let p = dir.path();
    std::fs::remove_file(p.join("log.checkpoint")).unwrap();
    let err = fails(p, &["audit", "verify", "log", "--vkey", &vkey], 7, "BAD_SIGNATURE");
    assert!(err.contains("no signed checkpoint vouches for the records"), "{err}");
    let allowed = run(p, &["audit", "verify", "log", "--vkey", &vkey, "--allow-no-checkpoint"]);
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    assert!(allowed.stderr.contains("nothing vouches for its records"), "{}", allowed.stderr);
}

#[test]
fn a_state_file_catches_a_rollback_of_both_files() {
    let (dir, vkey) = signed_log(4);
    let p = dir.path();
    ok(p, &["audit", "verify", "log", "--vkey", &vkey, "--state", "trust"]);
    std::fs::copy(p.join("log"), p.join("log.at4")).unwrap();
    std::fs::copy(p.join("log.checkpoint"), p.join("cp.at4")).unwrap();
    append(p, "t4");
    append(p, "t5");
    checkpoint(p);
    ok(p, &["audit", "verify", "log", "--vkey", &vkey, "--state", "trust"]);
    std::fs::copy(p.join("log.at4"), p.join("log")).unwrap();
    std::fs::copy(p.join("cp.at4"), p.join("log.checkpoint")).unwrap();
    ok(p, &["audit", "verify", "log", "--vkey", &vkey]);
    let err = fails(p, &["audit", "verify", "log", "--vkey", &vkey, "--state", "trust"], 10, "CORRUPT");
    assert!(err.contains("this verifier trusted before vouches for 6"), "{err}");
}

#[test]
fn witnesses_cosign_and_verify_requires_k_of_n() {
    let (dir, vkey) = signed_log(3);
    let p = dir.path();
    keygen(p, "w1.key");
    keygen(p, "w2.key");
    let wkey = |n: &str| {
        ok(p, &["audit", "witness-key", "--key", &format!("{n}.key"), "--name", &format!("{n}.example")])
            .trim()
            .to_string()
    };
    let (w1, w2) = (wkey("w1"), wkey("w2"));
    let witness = |n: &str, request: &str| {
        run_with_stdin(
            p,
            &[
                "audit",
                "witness",
                "--state",
                &format!("{n}.state"),
                "--key",
                &format!("{n}.key"),
                "--name",
                &format!("{n}.example"),
                "--log",
                &vkey,
                "--time",
                "1700000000",
            ],
            request,
        )
    };
    let request = ok(p, &["audit", "witness-request", "log", "--old", "0"]);
    assert!(request.starts_with("old 0\n\nexample.com/audit\n3\n"), "{request}");
    let one = witness("w1", &request);
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert!(one.stdout.starts_with("\u{2014} w1.example "), "{}", one.stdout);
    let mut cosigned = std::fs::read_to_string(p.join("log.checkpoint")).unwrap() + &one.stdout;
    std::fs::write(p.join("log.checkpoint"), &cosigned).unwrap();
    let args = ["audit", "verify", "log", "--vkey", &vkey, "--witness", &w1, "--witness", &w2];
    let err = fails(p, &args, 7, "BAD_SIGNATURE");
    assert!(err.contains("1 of the 2 trusted witnesses"), "{err}");
    let report = ok_json(p, &[&args[..], &["--quorum", "1"]].concat());
    assert_eq!(report["witnesses"], serde_json::json!(["w1.example"]));
    let two = witness("w2", &request);
    cosigned += &two.stdout;
    std::fs::write(p.join("log.checkpoint"), &cosigned).unwrap();
    ok(p, &args);

    // The log grows; w1 needs a proof from 3. A stale request conflicts.
    append(p, "t3");
    checkpoint(p);
    let stale = witness("w1", &ok(p, &["audit", "witness-request", "log", "--old", "0"]));
    assert_eq!(stale.code, 3, "{}", stale.stderr);
    assert!(stale.stderr.contains("has size 3"), "{}", stale.stderr);
    let fresh = witness("w1", &ok(p, &["audit", "witness-request", "log", "--old", "3"]));
    assert_eq!(fresh.code, 0, "{}", fresh.stderr);

    // A split view: another history of size 4 signed by the same key.
    let other = tempfile::tempdir().unwrap();
    std::fs::copy(p.join("log.key"), other.path().join("log.key")).unwrap();
    for i in 0..4 {
        append(other.path(), &format!("other{i}"));
    }
    checkpoint(other.path());
    let split =
        ok(other.path(), &["audit", "witness-request", "log", "--old", "0"]).replacen("old 0", "old 4", 1);
    let refused = witness("w1", &split);
    assert_eq!(refused.code, 10, "{}", refused.stderr);
    assert!(refused.stderr.starts_with("error: CORRUPT: "), "{}", refused.stderr);
}

#[test]
fn a_fifo_is_refused_and_never_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    assert!(std::process::Command::new("mkfifo").arg(p.join("log")).status().unwrap().success());
    for args in [
        &["audit", "verify", "log"][..],
        &["audit", "tail", "log"],
        &["audit", "prove", "log", "--index", "0"],
        &append_args("a", "r", "allow"),
    ] {
        let err = fails(p, args, 13, "INVALID_ARGUMENT");
        assert!(err.contains("is a FIFO, not a regular file"), "{args:?}: {err}");
    }
}

#[test]
fn tail_escapes_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    append(p, "orders\n#999  2026-01-01T00:00:00.000Z  allow  forged  line\u{1b}[31m\u{202e}");
    let out = ok(p, &["audit", "tail", "log"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("orders\\n#999") && out.contains("\\u{1b}[31m") && out.contains("\\u{202e}"),
        "{out}"
    );
    assert!(!out.contains('\u{1b}') && !out.contains('\u{202e}'), "{out}");
}

/// Issue 15, observation 4, for real: `verify`, `prove` and `tail` as an
/// unprivileged user who can only read the log. Runs when the tests run as
/// root with `setpriv` at hand (otherwise root ignores file modes and the
/// test would prove nothing, so it says so and returns).
#[test]
fn an_unprivileged_reader_verifies_proves_and_tails() {
    let root = std::process::Command::new("id").arg("-u").output().unwrap();
    let setpriv = Path::new("/usr/bin/setpriv");
    if String::from_utf8_lossy(&root.stdout).trim() != "0" || !setpriv.exists() {
        eprintln!("skipped: needs root and /usr/bin/setpriv to drop to an unprivileged user");
        return;
    }
    let (dir, vkey) = signed_log(4);
    let p = dir.path();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    for name in ["log", "log.checkpoint"] {
        std::fs::set_permissions(p.join(name), std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    let as_nobody = |args: &[&str]| {
        std::process::Command::new(setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", common::BIN])
            .args(args)
            .current_dir(p)
            .output()
            .unwrap()
    };
    for args in [
        &["audit", "verify", "log", "--vkey", &vkey][..],
        &["audit", "prove", "log", "--consistency", "2"],
        &["audit", "tail", "log"],
        &["audit", "witness-request", "log", "--old", "0"],
    ] {
        let out = as_nobody(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // The privilege drop is real: that user cannot write the log.
    let out = as_nobody(&append_args("a", "r", "allow"));
    assert_eq!(out.status.code(), Some(11), "{}", String::from_utf8_lossy(&out.stderr));
}
