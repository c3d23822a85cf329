//! Issue 15: a log its own host cannot silently roll back. The signer
//! refuses histories that do not extend its checkpoint, only a torn final
//! frame is ever cut, the auditor's path never writes, witnesses cosign
//! only consistent checkpoints, and verifiers remember what they trusted.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use charter_core::audit::{
    cosign, cosigner_key, parse_witness_request, verify_cosigned, verify_log, witness_request, AuditLog,
    AuditOptions, Decision, FsyncPolicy, LogReader, LogView, Record, VerifyOptions, Witness,
};
use charter_core::capability::KeyPair;
use charter_core::ErrorKind;

/// A fresh directory, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "charter-append-only-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir(&path).unwrap();
        Dir(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn record(i: u64) -> Record {
    let mut r = Record::new(1_000 + i, "publish", &format!("orders.{i}"), Decision::Allow);
    r.detail = "x".repeat((i % 7) as usize);
    r
}

fn signer() -> Arc<KeyPair> {
    Arc::new(KeyPair::generate().unwrap())
}

/// Makes a FIFO at `path` without a child process: a child holds every
/// open file of the test process from its fork to its exec, so a log that
/// another test closed and reopens in that moment would find its lock
/// still held (`WOULD_BLOCK`, seen in CI).
fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0, "{}", std::io::Error::last_os_error());
}

fn options(key: &Arc<KeyPair>, origin: &str) -> AuditOptions {
    AuditOptions { signer: Some(Arc::clone(key)), origin: origin.into(), ..AuditOptions::default() }
}

fn fill(path: &Path, options: AuditOptions, n: u64) -> AuditLog {
    let log = AuditLog::open(path, options).unwrap();
    for _ in log.len()..n {
        log.append(&record(log.len())).unwrap();
    }
    log
}

fn checkpoint_of(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.checkpoint", path.display()))
}

/// Where each frame starts in a log of records `0..n`, and its end.
fn starts(n: u64) -> Vec<usize> {
    let mut at = 8;
    let mut out = Vec::new();
    for i in 0..n {
        out.push(at);
        at += 40 + record(i).encode(i).unwrap().len();
    }
    out.push(at);
    out
}

fn vkey_of(log: &AuditLog) -> String {
    log.verifier_key().unwrap()
}

fn trusting(vkey: &str) -> VerifyOptions {
    VerifyOptions { log_key: Some(vkey.into()), ..VerifyOptions::default() }
}

#[test]
fn rollback_split_view_and_deletion_are_refused_by_the_signer() {
    let dir = Dir::new("signer");
    let path = dir.join("audit.log");
    let key = signer();
    let log = fill(&path, options(&key, "example.com/audit"), 70);
    log.checkpoint().unwrap();
    drop(log);
    let full = fs::read(&path).unwrap();
    let at = starts(70);

    // Rollback: cut to 30 records at a frame boundary.
    fs::write(&path, &full[..at[30]]).unwrap();
    let e = AuditLog::open(&path, options(&key, "example.com/audit")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.message().contains("record 30 is missing"), "{e}");
    assert_eq!(fs::read(&path).unwrap(), &full[..at[30]], "nothing is written");

    // Split view: record 5 rewritten with its frame hash recomputed.
    let forged_dir = Dir::new("forged");
    let forged = forged_dir.join("f.log");
    let other = AuditLog::open(&forged, AuditOptions::default()).unwrap();
    for i in 0..70 {
        let mut r = record(i);
        if i == 5 {
            r.decision = Decision::Deny;
        }
        other.append(&r).unwrap();
    }
    drop(other);
    fs::copy(&forged, &path).unwrap();
    let e = AuditLog::open(&path, options(&key, "example.com/audit")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.message().contains("records 0 to 69"), "{e}");

    // Deletion: a fresh log in place of the old one.
    fs::remove_file(&path).unwrap();
    let e = AuditLog::open(&path, options(&key, "example.com/audit")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.message().contains("record 0 is missing"), "{e}");
    assert!(!path.exists(), "a refused open does not create the log");

    // A checkpoint by another key or of another origin is not this log's.
    fs::write(&path, &full).unwrap();
    let e = AuditLog::open(&path, options(&signer(), "example.com/audit")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadSignature, "{e}");
    let e = AuditLog::open(&path, options(&key, "example.com/other")).unwrap_err();
    assert!(e.message().contains("start over"), "{e}");
    assert_eq!(AuditLog::open(&path, options(&key, "example.com/audit")).unwrap().len(), 70);
}

#[test]
fn starting_over_is_explicit_recorded_and_needs_a_new_origin() {
    let dir = Dir::new("start-over");
    let path = dir.join("audit.log");
    let key = signer();
    let log = fill(&path, options(&key, "example.com/audit"), 10);
    let old_note = log.checkpoint().unwrap();
    drop(log);
    fs::remove_file(&path).unwrap();
    let e = AuditLog::start_over(&path, options(&key, "example.com/audit"), "disk lost").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("new origin"), "{e}");
    assert_eq!(
        AuditLog::start_over(&path, AuditOptions::default(), "x").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );

    // A log someone has open for writing is never moved from under it.
    let busy = dir.join("busy.log");
    let writer = AuditLog::open(&busy, AuditOptions::default()).unwrap();
    let e = AuditLog::start_over(&busy, options(&key, "example.com/busy"), "x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e}");
    drop(writer);

    let log = AuditLog::start_over(&path, options(&key, "example.com/audit-2"), "disk lost").unwrap();
    assert_eq!(log.len(), 1);
    let first = log.get(0).unwrap();
    assert_eq!(first.action, "start_over");
    assert_eq!(first.resource, "example.com/audit");
    assert!(first.detail.contains("at size 10") && first.detail.contains("disk lost"), "{first:?}");
    let note = log.latest_checkpoint().unwrap().unwrap();
    assert!(note.starts_with("example.com/audit-2\n1\n"), "{note}");
    let kept: Vec<String> =
        fs::read_dir(&dir.0).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    let old =
        kept.iter().find(|n| n.starts_with("audit.log.checkpoint.replaced-")).expect("old checkpoint kept");
    assert_eq!(fs::read_to_string(dir.join(old)).unwrap(), old_note);
}

#[test]
fn only_a_torn_final_frame_is_cut_and_never_one_a_checkpoint_covers() {
    let dir = Dir::new("torn");
    let path = dir.join("audit.log");
    let key = signer();
    let log = fill(&path, options(&key, "example.com/audit"), 6);
    log.checkpoint().unwrap();
    drop(log);
    let full = fs::read(&path).unwrap();
    let at = starts(6);

    // The last 1, 3 and 5 records zero-filled to the end: CORRUPT, kept.
    for zeroed in [1, 3, 5] {
        let mut bytes = full.clone();
        bytes[at[6 - zeroed]..].fill(0);
        fs::write(&path, &bytes).unwrap();
        let e = AuditLog::open(&path, AuditOptions::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt, "{zeroed}: {e}");
        assert!(e.message().contains("zero-filled"), "{e}");
        assert_eq!(fs::read(&path).unwrap(), bytes, "{zeroed} zeroed records are never truncated");
        let report = verify_log(&path, &VerifyOptions::default()).unwrap();
        assert_eq!(report.first_bad, Some(6 - zeroed as u64), "{report:?}");
    }

    // Record 2's length and inverted length rewritten (8 bytes) so that the
    // file seems to end inside it: the frames it swallows give it away.
    let mut bytes = full.clone();
    let long: u32 = (bytes.len() - at[2]) as u32;
    bytes[at[2]..at[2] + 4].copy_from_slice(&long.to_be_bytes());
    bytes[at[2] + 4..at[2] + 8].copy_from_slice(&(!long).to_be_bytes());
    fs::write(&path, &bytes).unwrap();
    let e = AuditLog::open(&path, AuditOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.message().contains("record 2 ") && e.message().contains("length was rewritten"), "{e}");
    assert_eq!(fs::read(&path).unwrap(), bytes);

    // The last covered record cut short: not cut, since the checkpoint covers it.
    fs::write(&path, &full[..full.len() - 3]).unwrap();
    let e = AuditLog::open(&path, options(&key, "example.com/audit")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.message().contains("record 5 ") && e.message().contains("not cut"), "{e}");
    assert_eq!(fs::read(&path).unwrap().len(), full.len() - 3);

    // A torn frame after the checkpoint is a crash's leftover: cut.
    fs::write(&path, &full).unwrap();
    let log = AuditLog::open(&path, options(&key, "example.com/audit")).unwrap();
    log.append(&record(6)).unwrap();
    drop(log);
    let longer = fs::read(&path).unwrap();
    fs::write(&path, &longer[..longer.len() - 2]).unwrap();
    let log = AuditLog::open(&path, options(&key, "example.com/audit")).unwrap();
    assert_eq!((log.len(), log.recovery().truncated_bytes), (6, longer.len() as u64 - 2 - full.len() as u64));
}

#[test]
fn anything_but_a_regular_file_is_refused_without_blocking() {
    let dir = Dir::new("fifo");
    let fifo = dir.join("fifo.log");
    mkfifo(&fifo);
    let check = |e: charter_core::Error, what: &str| {
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        assert!(e.message().contains(what) && e.message().contains("not a regular file"), "{e}");
    };
    check(AuditLog::open(&fifo, AuditOptions::default()).unwrap_err(), "a FIFO");
    check(LogReader::open(&fifo).err().unwrap(), "a FIFO");
    check(LogView::open(&fifo).unwrap_err(), "a FIFO");
    check(verify_log(&fifo, &VerifyOptions::default()).unwrap_err(), "a FIFO");
    check(AuditLog::open(&dir.0, AuditOptions::default()).unwrap_err(), "a directory");
    check(verify_log(&dir.0, &VerifyOptions::default()).unwrap_err(), "a directory");
    check(verify_log("/dev/null", &VerifyOptions::default()).unwrap_err(), "a device");
}

#[test]
fn files_are_private_and_the_temporary_checkpoint_never_follows_a_symlink() {
    let dir = Dir::new("hygiene");
    let path = dir.join("audit.log");
    let victim = dir.join("victim");
    fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("audit.log.checkpoint.tmp")).unwrap();
    let key = signer();
    let log = fill(&path, options(&key, "example.com/audit"), 3);
    log.checkpoint().unwrap();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&checkpoint_of(&path)), 0o600);
    let state = dir.join("trust.state");
    let options = VerifyOptions { state: Some(state.clone()), ..trusting(&vkey_of(&log)) };
    assert!(verify_log(&path, &options).unwrap().is_ok());
    assert_eq!(mode(&state), 0o600);
}

#[test]
fn the_auditor_reads_a_consistent_prefix_beside_a_live_writer_and_never_writes() {
    let dir = Dir::new("auditor");
    let path = dir.join("audit.log");
    let key = signer();
    let log = fill(&path, options(&key, "example.com/audit"), 20);
    log.checkpoint().unwrap();
    let vkey = vkey_of(&log);
    // The writer holds its lock; a half-written frame sits at the end.
    let mut bytes = fs::read(&path).unwrap();
    let whole = bytes.len();
    let mut frame = vec![];
    let leaf = record(20).encode(20).unwrap();
    frame.extend_from_slice(&(leaf.len() as u32).to_be_bytes());
    frame.extend_from_slice(&(!(leaf.len() as u32)).to_be_bytes());
    frame.extend_from_slice(&charter_core::audit::leaf_hash(&leaf));
    frame.extend_from_slice(&leaf[..5]);
    bytes.extend_from_slice(&frame);
    fs::write(&path, &bytes).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
    let report = verify_log(&path, &trusting(&vkey)).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!((report.records, report.checkpoint), (20, Some(20)));
    let view = LogView::open(&path).unwrap();
    assert_eq!(view.len(), 20);
    assert_eq!(view.root(), log.root_at(20).unwrap());
    assert_eq!(view.prove_consistency(7, 20).unwrap(), log.prove_consistency(7, 20).unwrap());
    assert_eq!(fs::read(&path).unwrap(), bytes, "the torn frame is left for the writer");
    assert_eq!(bytes.len(), whole + frame.len());
}

#[test]
fn vkey_without_a_checkpoint_fails_unless_allowed() {
    let dir = Dir::new("missing");
    let path = dir.join("audit.log");
    let key = signer();
    let log = fill(&path, options(&key, "example.com/audit"), 4);
    let vkey = vkey_of(&log);
    let report = verify_log(&path, &trusting(&vkey)).unwrap();
    assert!(report.problem.as_deref().unwrap().contains("no signed checkpoint"), "{report:?}");
    let allowed = VerifyOptions { allow_missing_checkpoint: true, ..trusting(&vkey) };
    assert!(verify_log(&path, &allowed).unwrap().is_ok());
    // Options that cannot be checked are errors, not findings.
    let no_key = VerifyOptions { quorum: 1, ..VerifyOptions::default() };
    assert_eq!(verify_log(&path, &no_key).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

#[test]
fn a_verifier_with_a_state_file_catches_a_rollback_on_its_own() {
    let dir = Dir::new("state");
    let path = dir.join("audit.log");
    let key = signer();
    let log = fill(&path, options(&key, "example.com/audit"), 10);
    let early = log.checkpoint().unwrap();
    let early_bytes = fs::read(&path).unwrap();
    let vkey = vkey_of(&log);
    let state = dir.join("verifier.state");
    let with_state = VerifyOptions { state: Some(state.clone()), ..trusting(&vkey) };
    assert!(verify_log(&path, &with_state).unwrap().is_ok());
    for i in 10..15 {
        log.append(&record(i)).unwrap();
    }
    log.checkpoint().unwrap();
    assert!(verify_log(&path, &with_state).unwrap().is_ok());
    assert!(fs::read_to_string(&state).unwrap().contains("example.com/audit 15 "));
    drop(log);
    // The host rolls both files back to size 10: consistent on their own.
    fs::write(&path, &early_bytes).unwrap();
    fs::write(checkpoint_of(&path), &early).unwrap();
    assert!(verify_log(&path, &trusting(&vkey)).unwrap().is_ok());
    let report = verify_log(&path, &with_state).unwrap();
    assert!(report.problem.as_deref().unwrap().contains("trusted before vouches for 15"), "{report:?}");
    assert_eq!(report.first_bad, Some(10));
    assert!(fs::read_to_string(&state).unwrap().contains("example.com/audit 15 "), "never rolled back");
}

#[test]
fn a_witness_cosigns_only_consistent_checkpoints() {
    let dir = Dir::new("witness");
    let path = dir.join("audit.log");
    let key = signer();
    let log = fill(&path, options(&key, "example.com/audit"), 5);
    let vkey = vkey_of(&log);
    let wkey = signer();
    let witness = Witness::open(
        dir.join("w.state"),
        "witness.example/w1",
        Arc::clone(&wkey),
        std::slice::from_ref(&vkey),
    )
    .unwrap();
    let note5 = log.checkpoint().unwrap();
    let line = witness.add_checkpoint_at(0, &[], &note5, 1_700_000_000).unwrap();
    assert!(line.starts_with("\u{2014} witness.example/w1 "), "{line}");
    assert_eq!(witness.latest("example.com/audit").unwrap().unwrap().0, 5);

    for i in 5..9 {
        log.append(&record(i)).unwrap();
    }
    let note9 = log.checkpoint().unwrap();
    // A stale old size is a conflict naming the size the witness holds.
    let e = witness.add_checkpoint_at(0, &[], &note9, 1_700_000_001).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied);
    assert!(e.message().contains("has size 5"), "{e}");
    let proof = log.prove_consistency(5, 9).unwrap();
    let mut bad = proof.clone();
    bad[0][0] ^= 1;
    assert_eq!(witness.add_checkpoint_at(5, &bad, &note9, 2).unwrap_err().kind(), ErrorKind::Corrupt);
    // The request body round-trips, and the good proof is cosigned.
    let (old, parsed, note) = parse_witness_request(&witness_request(5, &proof, &note9)).unwrap();
    assert_eq!((old, &parsed, &note), (5, &proof, &note9));
    let line9 = witness.add_checkpoint_at(old, &parsed, &note, 1_700_000_002).unwrap();

    // A split view: another size-9 history signed by the same key.
    let other_dir = Dir::new("witness-split");
    let other = AuditLog::open(other_dir.join("o.log"), options(&key, "example.com/audit")).unwrap();
    for i in 0..9 {
        let mut r = record(i);
        r.resource = format!("other.{i}");
        other.append(&r).unwrap();
    }
    let split = other.checkpoint().unwrap();
    assert_eq!(witness.add_checkpoint_at(9, &[], &split, 3).unwrap_err().kind(), ErrorKind::Corrupt);
    // Unknown logs and forged signatures.
    let stranger = AuditLog::in_memory(options(&signer(), "example.com/stranger")).unwrap();
    stranger.append(&record(0)).unwrap();
    assert_eq!(
        witness.add_checkpoint_at(0, &[], &stranger.checkpoint().unwrap(), 4).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let impostor = AuditLog::in_memory(options(&signer(), "example.com/audit")).unwrap();
    impostor.append(&record(0)).unwrap();
    assert_eq!(
        witness.add_checkpoint_at(9, &[], &impostor.checkpoint().unwrap(), 5).unwrap_err().kind(),
        ErrorKind::BadSignature
    );

    // A verifier requiring 2 of 2 witnesses.
    let second_key = signer();
    let second_vkey = cosigner_key("witness.example/w2", &second_key.public_key()).unwrap();
    let witnesses = vec![witness.verifier_key().to_owned(), second_vkey];
    let once = format!("{note9}{line9}");
    assert_eq!(verify_cosigned(&once, &vkey, &witnesses, 2).unwrap_err().kind(), ErrorKind::BadSignature);
    let twice =
        format!("{once}{}", cosign(&note9, "witness.example/w2", &second_key, 1_700_000_003).unwrap());
    let cosigned = verify_cosigned(&twice, &vkey, &witnesses, 2).unwrap();
    assert_eq!(cosigned.witnesses, ["witness.example/w1", "witness.example/w2"]);
    assert_eq!(cosigned.checkpoint.size, 9);
    // verify_log requires the quorum on the persisted checkpoint.
    let k_of_n = VerifyOptions { witnesses: witnesses.clone(), quorum: 2, ..trusting(&vkey) };
    let report = verify_log(&path, &k_of_n).unwrap();
    assert!(report.problem.as_deref().unwrap().contains("0 of the 2"), "{report:?}");
    fs::write(checkpoint_of(&path), &twice).unwrap();
    let report = verify_log(&path, &k_of_n).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.witnesses.len(), 2);
    drop(log);
    // The writer reopens with cosignatures in its checkpoint file.
    assert_eq!(AuditLog::open(&path, options(&key, "example.com/audit")).unwrap().len(), 9);
}

#[test]
fn checkpoints_can_be_signed_automatically() {
    let key = signer();
    let every = AuditOptions { checkpoint_every: 4, ..options(&key, "example.com/audit") };
    let log = AuditLog::in_memory(every).unwrap();
    for i in 0..9 {
        log.append(&record(i)).unwrap();
    }
    assert!(log.latest_checkpoint().unwrap().unwrap().starts_with("example.com/audit\n8\n"));
    let timed = AuditOptions {
        checkpoint_interval: Some(Duration::from_millis(20)),
        fsync: FsyncPolicy::Never,
        ..options(&key, "example.com/audit")
    };
    let log = AuditLog::in_memory(timed).unwrap();
    log.append(&record(0)).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while log.latest_checkpoint().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(log.latest_checkpoint().unwrap().unwrap().starts_with("example.com/audit\n1\n"));
    drop(log);
    let unsigned = AuditOptions { checkpoint_every: 4, ..AuditOptions::default() };
    assert_eq!(AuditLog::in_memory(unsigned).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

#[test]
fn two_witnesses_on_one_state_file_never_both_extend_the_same_size() {
    let dir = Dir::new("witness-race");
    let key = signer();
    let log = AuditLog::in_memory(options(&key, "example.com/audit")).unwrap();
    let vkey = log.verifier_key().unwrap();
    log.append(&record(0)).unwrap();
    let first = log.checkpoint().unwrap();
    let wkey = signer();
    // Two handles, as two processes would have: only the file lock is shared.
    let a = Witness::open(dir.join("w.state"), "w.example", Arc::clone(&wkey), std::slice::from_ref(&vkey))
        .unwrap();
    let b = Witness::open(dir.join("w.state"), "w.example", wkey, std::slice::from_ref(&vkey)).unwrap();
    a.add_checkpoint_at(0, &[], &first, 1).unwrap();
    for round in 0..20u64 {
        let old = log.len();
        log.append(&record(old)).unwrap();
        let note = log.checkpoint().unwrap();
        let proof = log.prove_consistency(old, old + 1).unwrap();
        let results: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|w| {
                let (note, proof) = (note.clone(), proof.clone());
                std::thread::spawn(move || w.add_checkpoint_at(old, &proof, &note, 2 + round))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "round {round}: {results:?}");
        let refused = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert_eq!(refused.kind(), ErrorKind::Denied, "{refused}");
        assert_eq!(a.latest("example.com/audit").unwrap().unwrap().0, old + 1);
    }
}

#[test]
fn hostile_witness_requests_and_state_files_are_refused() {
    let proof_lines = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(64);
    for (body, why) in [
        ("old 01\n\nx\n", "leading zeros"),
        ("old -1\n\nx\n", "leading zeros"),
        ("new 1\n\nx\n", "old <size>"),
        ("old 1\nnot base64\n\nx\n", "proof line 1"),
        ("old 1\n", "blank line"),
        (&format!("old 1\n{proof_lines}\nx\n"), "more than 63"),
    ] {
        let e = parse_witness_request(body).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed, "{body:?}");
        assert!(e.message().contains(why), "{body:?}: {e}");
    }
    let dir = Dir::new("hostile-state");
    let key = signer();
    let log = AuditLog::in_memory(options(&key, "example.com/audit")).unwrap();
    log.append(&record(0)).unwrap();
    let note = log.checkpoint().unwrap();
    let vkey = log.verifier_key().unwrap();
    let state = dir.join("w.state");
    let witness = Witness::open(&state, "w.example", signer(), std::slice::from_ref(&vkey)).unwrap();
    for (text, kind) in [
        ("garbage\n".to_string(), ErrorKind::Corrupt),
        ("charter-audit-state v1\nexample.com/audit 1\n".into(), ErrorKind::Corrupt),
        ("x".repeat((1 << 20) + 1), ErrorKind::Corrupt),
    ] {
        fs::write(&state, &text).unwrap();
        assert_eq!(witness.add_checkpoint_at(0, &[], &note, 1).unwrap_err().kind(), kind);
    }
    fs::remove_file(&state).unwrap();
    mkfifo(&state);
    let e = witness.add_checkpoint_at(0, &[], &note, 1).unwrap_err();
    assert!(e.message().contains("a FIFO"), "{e}");
    // A FIFO in place of the log's checkpoint is refused, never waited on.
    let path = dir.join("audit.log");
    mkfifo(&checkpoint_of(&path));
    let e = AuditLog::open(&path, AuditOptions::default()).unwrap_err();
    assert!(e.message().contains("a FIFO"), "{e}");
    let e = verify_log(&path, &VerifyOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

/// Issue 14 item 4: a message quotes at most a short prefix of a hostile
/// input (origin, note, request body, path), never the whole of it.
#[test]
fn huge_hostile_inputs_yield_short_messages() {
    const HUGE: usize = 4 << 20;
    let short = |what: &str, e: charter_core::Error| {
        assert!(e.message().len() < 1024, "{what}: a {}-byte message", e.message().len());
    };
    let dir = Dir::new("huge-inputs");
    let key = signer();
    let origin = "o".repeat(HUGE);
    short(
        "origin, no signer",
        AuditLog::in_memory(AuditOptions { origin: origin.clone(), ..AuditOptions::default() }).unwrap_err(),
    );
    short(
        "origin with spaces",
        AuditLog::in_memory(AuditOptions { origin: format!("{origin} x"), ..AuditOptions::default() })
            .unwrap_err(),
    );
    short("origin, signer", AuditLog::in_memory(options(&key, &format!("{origin} x"))).unwrap_err());

    let log = AuditLog::in_memory(options(&key, "huge.example")).unwrap();
    log.append(&record(0)).unwrap();
    let note = log.checkpoint().unwrap();
    let vkey = vkey_of(&log);
    let huge_note = format!("huge.example\n{}\n", "9".repeat(HUGE));
    short("note", verify_cosigned(&huge_note, &vkey, &[], 0).unwrap_err());
    let body = format!("old {}\n\n{note}", "1".repeat(HUGE));
    short("request body", parse_witness_request(&body).unwrap_err());
    let body = format!("old {}x\n\n{note}", "1".repeat(60));
    short("request old size", parse_witness_request(&body).unwrap_err());

    let path = dir.join(&"p".repeat(HUGE));
    short("open", AuditLog::open(&path, AuditOptions::default()).unwrap_err());
    short("reader", LogReader::open(&path).err().unwrap());
    short("view", LogView::open(&path).unwrap_err());
    short("verify", verify_log(&path, &VerifyOptions::default()).unwrap_err());
}
