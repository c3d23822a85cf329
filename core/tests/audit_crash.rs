//! Kill -9 a process appending under `FsyncPolicy::Always` at random points:
//! every reopened log recovers, verifies and holds every record the child
//! was told was appended.
//!
//! The child is this test binary itself, run with `CHILD_ENV` naming the
//! log: it appends forever and prints `ack <index>` once `append` returns.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use charter_core::audit::{AuditLog, AuditOptions, Decision, Record};

const CHILD_ENV: &str = "CHARTER_AUDIT_CRASH_CHILD";
const TRIALS: usize = 50;

/// The record at `index`: its content follows from the index, so the
/// parent knows what every acknowledged record must hold. Details vary in
/// length so frames end at varied offsets.
fn expected(index: u64) -> Record {
    let mut r = Record::new(index, "crash", &format!("trial.record.{index}"), Decision::Allow);
    r.detail = "d".repeat((index % 97) as usize);
    r
}

#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let log = AuditLog::open(&path, AuditOptions::default()).unwrap();
    let mut out = std::io::stdout().lock();
    // Bounded, so a child whose parent died does not run on.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let index = log.append(&expected(log.len())).unwrap();
        writeln!(out, "ack {index}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn kill_nine_never_loses_an_acknowledged_record() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let path = std::env::temp_dir().join(format!("charter-audit-crash-{}-{nanos}", std::process::id()));
    let mut seed = nanos as u64 | 1;
    let mut random = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    let started = Instant::now();
    let mut acknowledged_total = 0;
    // A loaded machine can start a child so slowly that a kill lands before
    // its first acknowledgement: such a trial still checks the log, but
    // the test runs on (up to four times as many trials) until half of
    // `TRIALS` have acknowledged something.
    for trial in 0..TRIALS * 4 {
        if trial >= TRIALS && acknowledged_total >= TRIALS / 2 {
            break;
        }
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|line| line.strip_prefix("ack ").and_then(|n| n.parse::<u64>().ok()))
                .max()
        });
        std::thread::sleep(Duration::from_millis(5 + random(40)));
        child.kill().unwrap();
        child.wait().unwrap();
        // The pipe keeps whatever the child wrote before it died.
        let last_ack = reader.join().unwrap();

        let log = AuditLog::open(&path, AuditOptions::default()).unwrap();
        let report = log.verify().unwrap();
        assert!(report.is_ok(), "trial {trial}: {report:?}");
        if let Some(last) = last_ack {
            acknowledged_total += 1;
            assert!(
                log.len() > last,
                "trial {trial}: record {last} was acknowledged; the log holds {}",
                log.len()
            );
        }
        for (index, record) in log.records(Default::default()).map(Result::unwrap) {
            assert_eq!(record, expected(index), "trial {trial}");
        }
    }
    assert!(acknowledged_total >= TRIALS / 2, "only {acknowledged_total} trials acknowledged anything");
    let _ = std::fs::remove_file(&path);
    assert!(started.elapsed() < Duration::from_secs(20), "the crash test took {:?}", started.elapsed());
}
