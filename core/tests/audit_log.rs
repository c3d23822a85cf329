//! The audit log's durable half: records, the file, recovery, verification,
//! checkpoints, group commit and decision recording.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use charter_core::audit::{
    verify_checkpoint, verify_consistency, verify_inclusion, AuditLog, AuditOptions, Decision, FsyncPolicy,
    Query, Record, Recorder, Recovery, Scope, MAX_ACTION_BYTES, MAX_DETAIL_BYTES, MAX_RECORD_BYTES,
    MAX_RESOURCE_BYTES, MIN_RECORD_BYTES,
};
use charter_core::bus::{Bus, BusLimits, SubscribeOptions};
use charter_core::capability::{Authority, AuthorityOptions, Grant, KeyPair, ManualClock, Token};
use charter_core::ErrorKind;
use proptest::prelude::*;

const HEADER: u64 = 8;
const FRAME_HEAD: u64 = 40;

/// A fresh path in the temporary directory, removed (with its checkpoint)
/// when dropped.
struct TempLog(PathBuf);

impl TempLog {
    fn new(name: &str) -> TempLog {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let file = format!(
            "charter-audit-{name}-{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        TempLog(std::env::temp_dir().join(file))
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn checkpoint(&self) -> PathBuf {
        PathBuf::from(format!("{}.checkpoint", self.0.display()))
    }
}

impl Drop for TempLog {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
        let _ = fs::remove_file(self.checkpoint());
    }
}

fn record(i: u64) -> Record {
    let actor = KeyPair::generate().unwrap().principal();
    Record {
        time: 1_700_000_000_000 + i,
        actor: (i.is_multiple_of(2)).then_some(actor),
        actor_unproven: i % 4 == 2,
        action: "publish".into(),
        resource: format!("orders.{i}.created"),
        decision: [Decision::Allow, Decision::Deny, Decision::Error][(i % 3) as usize],
        reason: if i.is_multiple_of(3) { 0 } else { ErrorKind::Denied.code() },
        detail: "x".repeat((i % 5) as usize),
    }
}

fn signed(fsync: FsyncPolicy) -> AuditOptions {
    AuditOptions {
        fsync,
        signer: Some(Arc::new(KeyPair::generate().unwrap())),
        origin: "example.com/audit".into(),
        ..AuditOptions::default()
    }
}

/// Where each frame starts, and the end of the file.
fn frame_starts(records: &[Record]) -> Vec<u64> {
    let mut at = HEADER;
    let mut starts = Vec::new();
    for (i, r) in records.iter().enumerate() {
        starts.push(at);
        at += FRAME_HEAD + r.encode(i as u64).unwrap().len() as u64;
    }
    starts.push(at);
    starts
}

fn write_log(path: &Path, options: AuditOptions, records: &[Record]) -> AuditLog {
    let log = AuditLog::open(path, options).unwrap();
    for (i, r) in records.iter().enumerate() {
        assert_eq!(log.append(r).unwrap(), i as u64);
    }
    log
}

#[test]
fn records_round_trip_exactly() {
    for i in 0..12 {
        let r = record(i);
        let leaf = r.encode(i).unwrap();
        assert_eq!(Record::decode(&leaf).unwrap(), (i, r.clone()));
        // Every proper prefix and every extension is refused.
        for cut in 0..leaf.len() {
            assert_eq!(Record::decode(&leaf[..cut]).unwrap_err().kind(), ErrorKind::Malformed, "cut {cut}");
        }
        let mut longer = leaf.clone();
        longer.push(0);
        assert_eq!(Record::decode(&longer).unwrap_err().kind(), ErrorKind::Malformed);
    }
}

#[test]
fn the_encoding_is_the_documented_one() {
    let r = Record {
        time: 0x0102_0304_0506_0708,
        actor: None,
        actor_unproven: false,
        action: "ab".into(),
        resource: "t".into(),
        decision: Decision::Deny,
        reason: -10,
        detail: String::new(),
    };
    let expected: Vec<u8> = [
        &[1u8][..],                // version
        &[0, 0, 0, 0, 0, 0, 0, 7], // index
        &[1, 2, 3, 4, 5, 6, 7, 8], // time
        &[1],                      // deny
        &[0xff, 0xff, 0xff, 0xf6], // reason -10
        &[0],                      // no actor
        &[0, 2, b'a', b'b'],       // action
        &[0, 1, b't'],             // resource
        &[0, 0],                   // detail
    ]
    .concat();
    assert_eq!(r.encode(7).unwrap(), expected);
    let actor = KeyPair::generate().unwrap().principal();
    let with_actor = Record { actor: Some(actor), ..r }.encode(7).unwrap();
    assert_eq!(with_actor[22], 1);
    assert_eq!(&with_actor[23..55], actor.as_bytes());
}

#[test]
fn limits_are_enforced_with_named_errors() {
    let ok = record(0);
    for (field, mutate) in [
        (
            "action",
            Box::new(|r: &mut Record| r.action = "a".repeat(MAX_ACTION_BYTES + 1))
                as Box<dyn Fn(&mut Record)>,
        ),
        ("resource", Box::new(|r: &mut Record| r.resource = "r".repeat(MAX_RESOURCE_BYTES + 1))),
        ("detail", Box::new(|r: &mut Record| r.detail = "d".repeat(MAX_DETAIL_BYTES + 1))),
    ] {
        let mut r = ok.clone();
        mutate(&mut r);
        let e = r.encode(0).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LimitExceeded);
        assert!(e.message().contains(field), "{e}");
        let log = AuditLog::in_memory(AuditOptions::default()).unwrap();
        assert_eq!(log.append(&r).unwrap_err().kind(), ErrorKind::LimitExceeded);
        assert_eq!(log.len(), 0);
    }
    let empty = Record { action: String::new(), ..ok.clone() };
    assert_eq!(empty.encode(0).unwrap_err().kind(), ErrorKind::InvalidArgument);
    let max = Record {
        actor: Some(KeyPair::generate().unwrap().principal()),
        action: "a".repeat(MAX_ACTION_BYTES),
        resource: "r".repeat(MAX_RESOURCE_BYTES),
        detail: "d".repeat(MAX_DETAIL_BYTES),
        ..ok
    };
    assert_eq!(max.encode(0).unwrap().len(), MAX_RECORD_BYTES);
    // As docs/formats.md states them.
    assert_eq!((MIN_RECORD_BYTES, MAX_RECORD_BYTES), (30, 2_173));
    assert_eq!(Record::new(0, "a", "", Decision::Allow).encode(0).unwrap().len(), MIN_RECORD_BYTES);
}

#[test]
fn hostile_leaves_are_refused() {
    let leaf = record(3).encode(3).unwrap();
    let bad = |at: usize, value: u8| {
        let mut l = leaf.clone();
        l[at] = value;
        Record::decode(&l).unwrap_err()
    };
    assert!(bad(0, 2).message().contains("version"));
    assert!(bad(17, 3).message().contains("decision"));
    assert!(bad(22, 3).message().contains("actor flag"));
    // Action length (record 3 has no actor) claiming more than the limit.
    assert!(bad(23, 0xff).message().contains("limit"));
    // Invalid UTF-8 in the action.
    assert!(bad(25, 0xff).message().contains("UTF-8"));
    let empty_action = [&leaf[..23], &[0, 0], &leaf[25 + 7..]].concat();
    assert_eq!(Record::decode(&empty_action).unwrap_err().kind(), ErrorKind::Malformed);
}

proptest! {
    #[test]
    fn decode_is_total_and_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok((index, record)) = Record::decode(&bytes) {
            prop_assert_eq!(record.encode(index).unwrap(), bytes);
        }
    }

    #[test]
    fn decode_of_mutated_leaves_is_total(i in 0u64..30, at in any::<prop::sample::Index>(), v in any::<u8>()) {
        let mut leaf = record(i).encode(i).unwrap();
        let at = at.index(leaf.len());
        leaf[at] = v;
        if let Ok((index, record)) = Record::decode(&leaf) {
            prop_assert_eq!(record.encode(index).unwrap(), leaf);
        }
    }
}

#[test]
fn reopen_keeps_everything() {
    let tmp = TempLog::new("reopen");
    let options = signed(FsyncPolicy::Never);
    let records: Vec<Record> = (0..25).map(record).collect();
    let (root, note) = {
        let log = write_log(tmp.path(), options.clone(), &records);
        assert_eq!(log.recovery(), Recovery::default());
        let note = log.checkpoint().unwrap();
        assert_eq!(fs::read_to_string(tmp.checkpoint()).unwrap(), note);
        (log.root(), note)
    };
    let log = AuditLog::open(tmp.path(), options.clone()).unwrap();
    assert_eq!(log.recovery(), Recovery { records: 25, truncated_bytes: 0 });
    assert_eq!((log.len(), log.root()), (25, root));
    for (i, r) in records.iter().enumerate() {
        assert_eq!(&log.get(i as u64).unwrap(), r);
    }
    assert_eq!(log.get(25).unwrap_err().kind(), ErrorKind::NotFound);
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!((report.records, report.first_bad, report.checkpoint), (25, None, Some(25)));
    let cp = verify_checkpoint(&note, &log.verifier_key().unwrap()).unwrap();
    assert_eq!((cp.size, cp.root, cp.origin.as_str()), (25, root, "example.com/audit"));
    // And it keeps growing where it left off.
    assert_eq!(log.append(&record(99)).unwrap(), 25);
    assert!(log.verify_against(&note).unwrap().is_ok());
}

#[test]
fn proofs_from_the_log_verify() {
    let log = AuditLog::in_memory(signed(FsyncPolicy::Always)).unwrap();
    for i in 0..13 {
        log.append(&record(i)).unwrap();
    }
    for n in 1..=13 {
        let root = log.root_at(n).unwrap();
        for i in 0..n {
            let proof = log.prove_inclusion(i, n).unwrap();
            verify_inclusion(&log.leaf_hash(i).unwrap(), i, n, &proof, &root).unwrap();
        }
        for m in 0..=n {
            let proof = log.prove_consistency(m, n).unwrap();
            verify_consistency(m, n, &log.root_at(m).unwrap(), &root, &proof).unwrap();
        }
    }
    assert_eq!(log.prove_inclusion(13, 13).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(log.root(), log.root_at(13).unwrap());
}

#[test]
fn checkpoints_need_a_signer() {
    let log = AuditLog::in_memory(AuditOptions::default()).unwrap();
    log.append(&record(0)).unwrap();
    assert_eq!(log.checkpoint().unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(log.verifier_key().unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert!(log.verify().unwrap().is_ok());
    let bad_origin = AuditOptions { origin: "has space".into(), ..signed(FsyncPolicy::Always) };
    assert_eq!(AuditLog::in_memory(bad_origin).unwrap_err().kind(), ErrorKind::InvalidArgument);
    let zero = AuditOptions { fsync: FsyncPolicy::Interval(Duration::ZERO), ..AuditOptions::default() };
    assert_eq!(AuditLog::in_memory(zero).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

/// An empty path names no file; a binding that passed "" where it meant
/// "no path" must get an error, never an in-memory log or an OS error.
#[test]
fn an_empty_path_is_refused() {
    let e = AuditLog::open("", AuditOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.message().contains("must not be empty"), "{e}");
    let e = AuditLog::start_over("", signed(FsyncPolicy::Always), "why").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let e = charter_core::audit::verify_log("", &Default::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
}

#[test]
fn a_torn_tail_is_cut_off_at_every_offset() {
    let tmp = TempLog::new("torn");
    let records: Vec<Record> = (0..4).map(record).collect();
    drop(write_log(tmp.path(), AuditOptions::default(), &records));
    let full = fs::read(tmp.path()).unwrap();
    let starts = frame_starts(&records);
    let last = starts[3];
    assert_eq!(starts[4], full.len() as u64);
    for cut in last..full.len() as u64 {
        fs::write(tmp.path(), &full[..cut as usize]).unwrap();
        let log = AuditLog::open(tmp.path(), AuditOptions::default()).unwrap();
        assert_eq!(log.recovery(), Recovery { records: 3, truncated_bytes: cut - last }, "cut at {cut}");
        assert_eq!(fs::metadata(tmp.path()).unwrap().len(), last);
        assert!(log.verify().unwrap().is_ok());
        assert_eq!(log.append(&records[3]).unwrap(), 3);
        drop(log);
        assert_eq!(fs::read(tmp.path()).unwrap(), full, "re-appending restores the same bytes");
    }
    // A whole zero-filled frame head is not a torn frame: it is damage,
    // refused and left as it is (issue 15, observation 2).
    let mut zeros = full.clone();
    zeros.extend_from_slice(&[0u8; 100]);
    fs::write(tmp.path(), &zeros).unwrap();
    let e = AuditLog::open(tmp.path(), AuditOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.message().contains("record 4 ") && e.message().contains("zero-filled"), "{e}");
    assert_eq!(fs::read(tmp.path()).unwrap(), zeros);
}

#[test]
fn a_partial_header_is_rewritten() {
    let tmp = TempLog::new("header");
    for len in 0..8 {
        fs::write(tmp.path(), &b"CHAU\x01\0\0\0"[..len]).unwrap();
        let log = AuditLog::open(tmp.path(), AuditOptions::default()).unwrap();
        assert_eq!(log.recovery(), Recovery { records: 0, truncated_bytes: len as u64 });
        assert_eq!(fs::read(tmp.path()).unwrap(), b"CHAU\x01\0\0\0");
    }
    fs::write(tmp.path(), b"not an audit log at all").unwrap();
    assert_eq!(AuditLog::open(tmp.path(), AuditOptions::default()).unwrap_err().kind(), ErrorKind::Corrupt);
}

#[test]
fn every_flipped_byte_is_detected_and_named() {
    let tmp = TempLog::new("flip");
    // The open log holds its file's lock: fresh opens read a copy.
    let copy = TempLog::new("flip-copy");
    let records: Vec<Record> = (0..5).map(record).collect();
    let log = write_log(tmp.path(), AuditOptions::default(), &records);
    let clean = fs::read(tmp.path()).unwrap();
    let starts = frame_starts(&records);
    let index_at = |offset: u64| starts.iter().rposition(|&s| s <= offset).unwrap() as u64;
    for offset in 0..clean.len() {
        let mut damaged = clean.clone();
        damaged[offset] ^= 0x01;
        fs::write(tmp.path(), &damaged).unwrap();

        // The open log rereads the file and names the record.
        let verified = log.verify();
        // A fresh open refuses the file, naming the record, and leaves it be.
        fs::write(copy.path(), &damaged).unwrap();
        let reopened = AuditLog::open(copy.path(), AuditOptions::default());
        assert_eq!(fs::read(copy.path()).unwrap(), damaged, "a damaged file is never truncated");
        let e = reopened.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt, "byte {offset}");
        if (offset as u64) < HEADER {
            assert!(e.message().contains("header"), "byte {offset}: {e}");
            assert!(verified.unwrap_err().message().contains("header"));
        } else {
            let index = index_at(offset as u64);
            assert!(e.message().contains(&format!("record {index} ")), "byte {offset}: {e}");
            let report = verified.unwrap();
            assert_eq!(report.first_bad, Some(index), "byte {offset}: {report:?}");
            assert_eq!(report.records, index);
            assert!(!report.is_ok());
            // Reading it back refuses too.
            assert_eq!(log.get(index).unwrap_err().kind(), ErrorKind::Corrupt);
        }
    }
    fs::write(tmp.path(), &clean).unwrap();
    assert!(log.verify().unwrap().is_ok());
}

#[test]
fn one_writer_per_file() {
    let tmp = TempLog::new("lock");
    let log = AuditLog::open(tmp.path(), AuditOptions::default()).unwrap();
    log.append(&record(0)).unwrap();
    let second = AuditLog::open(tmp.path(), AuditOptions::default()).unwrap_err();
    assert_eq!(second.kind(), ErrorKind::WouldBlock);
    assert!(second.message().contains("one writer per log"), "{second}");
    let clone = log.clone();
    drop(log);
    assert_eq!(
        AuditLog::open(tmp.path(), AuditOptions::default()).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    drop(clone);
    assert_eq!(AuditLog::open(tmp.path(), AuditOptions::default()).unwrap().len(), 1);
}

#[test]
fn a_hostile_frame_length_is_corrupt_not_an_allocation() {
    let tmp = TempLog::new("hostile");
    let records: Vec<Record> = (0..2).map(record).collect();
    drop(write_log(tmp.path(), AuditOptions::default(), &records));
    let mut bytes = fs::read(tmp.path()).unwrap();
    let second = frame_starts(&records)[1] as usize;
    let huge: u32 = 0xffff_fff0;
    bytes[second..second + 4].copy_from_slice(&huge.to_be_bytes());
    bytes[second + 4..second + 8].copy_from_slice(&(!huge).to_be_bytes());
    fs::write(tmp.path(), &bytes).unwrap();
    let e = AuditLog::open(tmp.path(), AuditOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.message().contains("record 1 ") && e.message().contains("4294967280"), "{e}");
}

#[test]
fn a_rewritten_record_fails_against_the_checkpoint() {
    let tmp = TempLog::new("rewrite");
    let options = signed(FsyncPolicy::Always);
    let records: Vec<Record> = (0..6).map(record).collect();
    drop(write_log(tmp.path(), options.clone(), &records).checkpoint().unwrap());
    // Rewrite record 2 with a valid frame (hash recomputed): only the
    // signed checkpoint can tell.
    let mut forged = records.clone();
    forged[2].decision = Decision::Allow;
    forged[2].reason = 0;
    let other = TempLog::new("rewrite-forged");
    drop(write_log(other.path(), AuditOptions::default(), &forged));
    fs::copy(other.path(), tmp.path()).unwrap();
    let forged_bytes = fs::read(tmp.path()).unwrap();
    // The signer refuses to open a log that does not extend its own
    // checkpoint, so it can never sign the rewritten history.
    let e = AuditLog::open(tmp.path(), options).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.message().contains("records 0 to 5"), "{e}");
    assert_eq!(fs::read(tmp.path()).unwrap(), forged_bytes);
    // Without a key the checkpoint is read unverified, with the same result.
    assert_eq!(AuditLog::open(tmp.path(), AuditOptions::default()).unwrap_err().kind(), ErrorKind::Corrupt);
}

#[test]
fn verify_against_catches_truncation_and_rollback() {
    let tmp = TempLog::new("rollback");
    let options = signed(FsyncPolicy::Always);
    let records: Vec<Record> = (0..10).map(record).collect();
    let log = write_log(tmp.path(), options.clone(), &records[..6]);
    let early = log.checkpoint().unwrap();
    let early_file = fs::read(tmp.path()).unwrap();
    for r in &records[6..] {
        log.append(r).unwrap();
    }
    let late = log.checkpoint().unwrap();
    assert!(log.verify_against(&early).unwrap().is_ok());
    drop(log);

    // Cut back to 8 records at a frame boundary: nothing torn to notice.
    let starts = frame_starts(&records);
    let full = fs::read(tmp.path()).unwrap();
    fs::write(tmp.path(), &full[..starts[8] as usize]).unwrap();
    let e = AuditLog::open(tmp.path(), options.clone()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.message().contains("record 8 is missing"), "{e}");
    // The attacker removes the persisted checkpoint too: the one kept
    // elsewhere still catches it.
    fs::remove_file(tmp.checkpoint()).unwrap();
    let log = AuditLog::open(tmp.path(), options.clone()).unwrap();
    assert_eq!(log.recovery(), Recovery { records: 8, truncated_bytes: 0 });
    assert!(log.verify().unwrap().is_ok());
    let report = log.verify_against(&late).unwrap();
    assert!(report.problem.as_deref().unwrap().contains("truncated"), "{report:?}");
    assert!(log.verify_against(&early).unwrap().is_ok());
    drop(log);

    // Rolled back to the early file, then grown differently.
    fs::write(tmp.path(), &early_file).unwrap();
    let log = AuditLog::open(tmp.path(), options.clone()).unwrap();
    for i in 6..12 {
        log.append(&record(100 + i)).unwrap();
    }
    let report = log.verify_against(&late).unwrap();
    assert!(report.problem.as_deref().unwrap().contains("first 10 records"), "{report:?}");

    // A note of another key or log is an error, not a finding.
    let stranger = AuditLog::in_memory(signed(FsyncPolicy::Always)).unwrap();
    stranger.append(&record(0)).unwrap();
    let foreign = stranger.checkpoint().unwrap();
    assert!(log.verify_against(&foreign).is_err());
}

#[test]
fn concurrent_appenders_share_fsyncs_and_lose_nothing() {
    let tmp = TempLog::new("group");
    let log = AuditLog::open(tmp.path(), AuditOptions::default()).unwrap();
    let threads = 8;
    let per_thread = 50;
    let indexes: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let log = log.clone();
                s.spawn(move || {
                    (0..per_thread)
                        .map(|i| {
                            let mut r = record(i);
                            r.detail = format!("thread {t} record {i}");
                            log.append(&r).unwrap()
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<u64> = indexes.concat();
    all.sort_unstable();
    assert_eq!(all, (0..threads * per_thread).collect::<Vec<u64>>());
    drop(log);
    let log = AuditLog::open(tmp.path(), AuditOptions::default()).unwrap();
    assert_eq!(log.recovery(), Recovery { records: threads * per_thread, truncated_bytes: 0 });
    for (t, mine) in indexes.iter().enumerate() {
        for (i, &index) in mine.iter().enumerate() {
            assert_eq!(log.get(index).unwrap().detail, format!("thread {t} record {i}"));
        }
    }
    assert!(log.verify().unwrap().is_ok());
}

#[test]
fn interval_and_never_policies_keep_records_across_reopen() {
    for policy in [FsyncPolicy::Interval(Duration::from_millis(5)), FsyncPolicy::Never] {
        let tmp = TempLog::new("interval");
        let options = AuditOptions { fsync: policy, ..AuditOptions::default() };
        {
            let log = AuditLog::open(tmp.path(), options.clone()).unwrap();
            for i in 0..20 {
                log.append(&record(i)).unwrap();
                if i == 10 {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            log.sync().unwrap();
        }
        let log = AuditLog::open(tmp.path(), options).unwrap();
        assert_eq!(log.len(), 20);
        assert!(log.verify().unwrap().is_ok());
    }
}

#[test]
fn queries_filter_by_time_actor_and_decision() {
    let log = AuditLog::in_memory(AuditOptions::default()).unwrap();
    let alice = KeyPair::generate().unwrap().principal();
    for i in 0..30u64 {
        let mut r = Record::new(
            1_000 + i,
            "publish",
            "t",
            if i.is_multiple_of(3) { Decision::Deny } else { Decision::Allow },
        );
        r.actor = (i.is_multiple_of(2)).then_some(alice);
        log.append(&r).unwrap();
    }
    let indexes = |q: Query| log.records(q).map(|r| r.unwrap().0).collect::<Vec<u64>>();
    assert_eq!(indexes(Query::all()).len(), 30);
    assert_eq!(indexes(Query::all().time(1_005..1_008)), vec![5, 6, 7]);
    assert_eq!(indexes(Query::all().actor(alice).decision(Decision::Deny)), vec![0, 6, 12, 18, 24]);
    assert_eq!(indexes(Query::all().decision(Decision::Deny).from_index(20)), vec![21, 24, 27]);
    assert_eq!(indexes(Query::all().decision(Decision::Error)), Vec::<u64>::new());
}

fn enforcing_setup(recorder: Option<Recorder>) -> (Authority, charter_core::capability::Session, KeyPair) {
    let root = KeyPair::generate().unwrap();
    let holder = KeyPair::generate().unwrap();
    let clock = Arc::new(ManualClock::new(1_000));
    let options = AuthorityOptions { clock, recorder, ..AuthorityOptions::default() };
    let authority = Authority::new([root.public_key()], options);
    let grants =
        [Grant::parse("publish orders.*.created").unwrap(), Grant::parse("subscribe orders.>").unwrap()];
    let token = Token::mint(&root, &holder.public_key(), &grants, 1_000, 4_600).unwrap();
    let challenge = authority.challenge().unwrap();
    let proof = token.prove(&holder, &challenge).unwrap();
    let session = authority.open_session(&token, &challenge, &proof).unwrap();
    (authority, session, holder)
}

#[test]
fn the_bus_records_denials_with_the_principal() {
    let log = AuditLog::in_memory(AuditOptions::default()).unwrap();
    let (authority, session, holder) = enforcing_setup(None);
    let recorder = Recorder::new(log.clone(), Scope::Denials);
    let bus = Bus::with_recorder(BusLimits::default(), Some(authority), recorder).unwrap();
    let client = bus.with_session(&session);

    client.publish("orders.eu.created", &b"ok"[..], &[]).unwrap();
    assert_eq!(log.len(), 0, "allowed decisions are not recorded under Denials");
    let e = client.publish("orders.eu.deleted", &b"no"[..], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied);
    assert_eq!(log.len(), 1);
    let r = log.get(0).unwrap();
    assert_eq!(r.actor, Some(holder.principal()));
    assert_eq!((r.action.as_str(), r.resource.as_str()), ("publish", "orders.eu.deleted"));
    assert_eq!((r.decision, r.reason), (Decision::Deny, ErrorKind::Denied.code()));
    assert_eq!(r.detail, e.message());
    // A caller without a session is recorded without an actor.
    bus.subscribe("orders.>", SubscribeOptions::new()).unwrap_err();
    let r = log.get(1).unwrap();
    assert_eq!((r.actor, r.action.as_str(), r.decision), (None, "subscribe", Decision::Deny));
}

#[test]
fn the_bus_records_every_decision_under_all_and_fails_closed() {
    let tmp = TempLog::new("bus-all");
    let log = AuditLog::open(tmp.path(), AuditOptions::default()).unwrap();
    let (authority, session, holder) = enforcing_setup(None);
    let bus =
        Bus::with_recorder(BusLimits::default(), Some(authority), Recorder::new(log.clone(), Scope::All))
            .unwrap();
    let client = bus.with_session(&session);
    let sub = client.subscribe("orders.>", SubscribeOptions::new()).unwrap();
    client.publish("orders.eu.created", &b"ok"[..], &[]).unwrap();
    assert!(sub.try_recv().unwrap().is_some());
    let decisions: Vec<(String, Decision)> = log
        .records(Query::all().actor(holder.principal()))
        .map(|r| r.unwrap().1)
        .map(|r| (r.action, r.decision))
        .collect();
    assert_eq!(decisions, vec![("subscribe".into(), Decision::Allow), ("publish".into(), Decision::Allow)]);
}

#[test]
fn the_authority_records_session_openings() {
    let log = AuditLog::in_memory(AuditOptions::default()).unwrap();
    let (authority, _session, holder) = enforcing_setup(Some(Recorder::new(log.clone(), Scope::All)));
    let opened = log.get(0).unwrap();
    assert_eq!(
        (opened.actor, opened.action.as_str(), opened.decision),
        (Some(holder.principal()), "open_session", Decision::Allow)
    );
    // A replayed challenge is refused and recorded.
    let stranger = KeyPair::generate().unwrap();
    let token =
        Token::mint(&stranger, &holder.public_key(), &[Grant::parse("publish a").unwrap()], 1_000, 2_000)
            .unwrap();
    let challenge = authority.challenge().unwrap();
    let proof = token.prove(&holder, &challenge).unwrap();
    let e = authority.open_session(&token, &challenge, &proof).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UntrustedRoot);
    let refused = log.get(1).unwrap();
    assert_eq!((refused.decision, refused.reason), (Decision::Deny, ErrorKind::UntrustedRoot.code()));
    assert_eq!(refused.resource, stranger.public_key().to_text());
    // The refusal names the token's subject, which nobody proved to hold.
    assert_eq!((refused.actor, refused.actor_unproven), (Some(holder.principal()), true));
    assert!(!opened.actor_unproven, "an opened session proved its holder");
}

#[test]
fn a_newer_file_version_is_refused() {
    let tmp = TempLog::new("extra");
    let mut f = OpenOptions::new().create(true).truncate(true).write(true).open(tmp.path()).unwrap();
    f.write_all(b"CHAU\x02\0\0\0").unwrap();
    drop(f);
    let e = AuditLog::open(tmp.path(), AuditOptions::default()).unwrap_err();
    assert!(e.message().contains("version 2"), "{e}");
}

/// Closing a bus lets go of its recorder's log at once: with the log's own
/// handle dropped, the file lock is free even while a subscription still
/// holds the bus (a binding's object waiting for its garbage collector).
#[test]
fn closing_a_bus_releases_its_audit_log() {
    let tmp = TempLog::new("bus-close");
    let log = AuditLog::open(tmp.path(), AuditOptions::default()).unwrap();
    let bus = Bus::with_recorder(BusLimits::default(), None, Recorder::new(log.clone(), Scope::All)).unwrap();
    let still_held = bus.subscribe("t", SubscribeOptions::default()).unwrap();
    drop(log);
    assert_eq!(
        AuditLog::open(tmp.path(), AuditOptions::default()).unwrap_err().kind(),
        ErrorKind::WouldBlock,
        "the open bus records into the log"
    );
    bus.close();
    AuditLog::open(tmp.path(), AuditOptions::default()).expect("closed: the lock is free");
    drop(still_held);
}

/// A checkpoint the interval thread failed to sign reaches the next
/// append as its error, and that append keeps no record. (An append skips
/// looking for such a failure only on a log without the thread.)
#[test]
fn a_failed_interval_checkpoint_fails_the_next_append() {
    let temp = TempLog::new("interval-fails");
    let options =
        AuditOptions { checkpoint_interval: Some(Duration::from_millis(10)), ..signed(FsyncPolicy::Never) };
    let log = AuditLog::open(temp.path(), options).unwrap();
    // A non-empty directory where the checkpoint goes: replacing it fails.
    fs::create_dir(temp.checkpoint()).unwrap();
    fs::write(temp.checkpoint().join("keep"), b"x").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (before, error) = loop {
        let before = log.len();
        if let Err(e) = log.append(&record(before)) {
            break (before, e);
        }
        assert!(Instant::now() < deadline, "no automatic checkpoint failed within 30 s");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(error.message().starts_with("the automatic checkpoint failed: "), "{}", error.message());
    assert_eq!(log.len(), before, "the refused append kept its record");
    drop(log);
    fs::remove_dir_all(temp.checkpoint()).unwrap();
}
