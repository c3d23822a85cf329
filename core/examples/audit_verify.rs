//! Measures the auditor's streaming verification and a witness cosignature,
//! for docs/BENCHMARKS.md:
//!
//! ```sh
//! cargo build --release -p charter-core --example audit_verify
//! target/release/examples/audit_verify write /tmp/a.log 1000000   # prints the verifier key
//! /usr/bin/time -v target/release/examples/audit_verify verify /tmp/a.log VKEY
//! /usr/bin/time -v target/release/examples/audit_verify reopen /tmp/a.log   # the writer's path
//! target/release/examples/audit_verify witness 10000
//! ```

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use charter_core::audit::{
    cosign, verify_checkpoint, verify_consistency, verify_log, AuditLog, AuditOptions, Decision, FsyncPolicy,
    Record, VerifyOptions, Witness,
};
use charter_core::capability::KeyPair;

fn record() -> Record {
    let mut record = Record::new(1_700_000_000_000, "publish", "orders.eu.created", Decision::Allow);
    record.detail = "d".repeat(200 - record.encode(0).unwrap().len());
    record
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("write") => {
            let count: u64 = args[3].parse().unwrap();
            let options = AuditOptions {
                fsync: FsyncPolicy::Never,
                signer: Some(Arc::new(KeyPair::generate().unwrap())),
                origin: "bench.example/audit".into(),
                ..AuditOptions::default()
            };
            let log = AuditLog::open(&args[2], options).unwrap();
            let record = record();
            for _ in 0..count {
                log.append(&record).unwrap();
            }
            log.checkpoint().unwrap();
            println!("{}", log.verifier_key().unwrap());
        }
        Some("verify") => {
            let options = VerifyOptions { log_key: Some(args[3].clone()), ..VerifyOptions::default() };
            let started = Instant::now();
            let report = verify_log(&args[2], &options).unwrap();
            assert!(report.is_ok(), "{report:?}");
            println!("verified {} records in {:?}", report.records, started.elapsed());
        }
        Some("reopen") => {
            // The writer's path, for comparison: open (rebuilding the whole
            // tree in memory), then reread and check every record.
            let started = Instant::now();
            let log = AuditLog::open(&args[2], AuditOptions::default()).unwrap();
            let report = log.verify().unwrap();
            assert!(report.is_ok(), "{report:?}");
            println!("opened and verified {} records in {:?}", report.records, started.elapsed());
        }
        Some("witness") => {
            let rounds: u64 = args[2].parse().unwrap();
            let dir = std::env::temp_dir().join(format!("charter-witness-bench-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let key = Arc::new(KeyPair::generate().unwrap());
            let log = AuditLog::in_memory(AuditOptions {
                signer: Some(key),
                origin: "bench.example/audit".into(),
                ..AuditOptions::default()
            })
            .unwrap();
            let witness = Witness::open(
                dir.join("state"),
                "bench.example/witness",
                Arc::new(KeyPair::generate().unwrap()),
                &[log.verifier_key().unwrap()],
            )
            .unwrap();
            let record = record();
            for _ in 0..100_000 {
                log.append(&record).unwrap();
            }
            let mut old = 0;
            let mut notes = Vec::new();
            for _ in 0..rounds {
                for _ in 0..10 {
                    log.append(&record).unwrap();
                }
                let note = log.checkpoint().unwrap();
                let proof = log.prove_consistency(old, log.len()).unwrap();
                notes.push((old, proof, note));
                old = log.len();
            }
            let started = Instant::now();
            for (old, proof, note) in &notes {
                witness.add_checkpoint_at(*old, proof, note, 1_700_000_000).unwrap();
            }
            let each = started.elapsed() / rounds as u32;
            println!("{rounds} witness cosignatures (state file synced each time): {each:?} each");
            // The same checks and signature without the state file: the
            // log's signature, the consistency proof, the cosignature.
            let vkey = log.verifier_key().unwrap();
            let cosigner = KeyPair::generate().unwrap();
            let mut previous = verify_checkpoint(&notes[0].2, &vkey).unwrap();
            let started = Instant::now();
            for (_, proof, note) in &notes[1..] {
                let checkpoint = verify_checkpoint(note, &vkey).unwrap();
                verify_consistency(previous.size, checkpoint.size, &previous.root, &checkpoint.root, proof)
                    .unwrap();
                black_box(cosign(note, "bench.example/witness", &cosigner, 1_700_000_000).unwrap());
                previous = checkpoint;
            }
            let each = started.elapsed() / (rounds as u32 - 1);
            println!("the same without the state file (verify note, verify proof, cosign): {each:?} each");
            std::fs::remove_dir_all(&dir).unwrap();
        }
        _ => eprintln!("usage: audit_verify write PATH N | verify PATH VKEY | reopen PATH | witness ROUNDS"),
    }
}
