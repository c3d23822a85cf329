//! The audit log, every comparison in one run:
//!
//! * appending a 200-byte record to an in-memory log, against SHA-256 over
//!   the same 200 leaf bytes alone (the floor: every append hashes its leaf);
//! * appending to a file under `FsyncPolicy::Interval` (group commit);
//! * verifying an inclusion proof in a tree of 1,000,000 records.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use charter_core::audit::{
    leaf_hash, verify_inclusion, AuditLog, AuditOptions, Decision, FsyncPolicy, Record,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const LEAF_BYTES: usize = 200;
const PROOF_TREE: u64 = 1_000_000;

/// A record whose encoding (the Merkle leaf) is exactly `LEAF_BYTES` long.
fn record() -> Record {
    let mut record = Record::new(1_700_000_000_000, "publish", "orders.eu.created", Decision::Allow);
    let base = record.encode(0).unwrap().len();
    record.detail = "d".repeat(LEAF_BYTES - base);
    assert_eq!(record.encode(0).unwrap().len(), LEAF_BYTES);
    record
}

fn scratch(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("charter-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(path.with_extension("checkpoint"));
    path
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("audit-append");
    group.throughput(Throughput::Elements(1));
    let record = record();
    let leaf = record.encode(0).unwrap();
    group.bench_function("sha256-of-leaf", |b| b.iter(|| black_box(leaf_hash(black_box(&leaf)))));

    let memory = AuditLog::in_memory(AuditOptions::default()).unwrap();
    group.bench_function("memory", |b| b.iter(|| black_box(memory.append(black_box(&record)).unwrap())));

    let path = scratch("interval");
    let options =
        AuditOptions { fsync: FsyncPolicy::Interval(Duration::from_millis(10)), ..Default::default() };
    let file = AuditLog::open(&path, options).unwrap();
    group.bench_function("file-interval-10ms", |b| {
        b.iter(|| black_box(file.append(black_box(&record)).unwrap()))
    });
    drop(file);
    let _ = std::fs::remove_file(&path);
    group.finish();
}

fn inclusion(c: &mut Criterion) {
    let log = AuditLog::in_memory(AuditOptions::default()).unwrap();
    let record = record();
    for _ in 0..PROOF_TREE {
        log.append(&record).unwrap();
    }
    let index = PROOF_TREE / 3 + 17;
    let proof = log.prove_inclusion(index, PROOF_TREE).unwrap();
    let leaf = log.leaf_hash(index).unwrap();
    let root = log.root();
    c.bench_function("audit-verify-inclusion/1M", |b| {
        b.iter(|| verify_inclusion(black_box(&leaf), index, PROOF_TREE, black_box(&proof), &root).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4));
    targets = append, inclusion
}
criterion_main!(benches);
