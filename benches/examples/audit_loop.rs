//! Appends 200-byte records to an in-memory audit log in a loop, for
//! instruction counting:
//! `valgrind --tool=callgrind target/release/examples/audit_loop 100000`.

use std::hint::black_box;

use charter_core::audit::{AuditLog, AuditOptions, Decision, Record};

fn main() {
    let iterations: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let log = AuditLog::in_memory(AuditOptions::default()).unwrap();
    let mut record = Record::new(1_700_000_000_000, "publish", "orders.eu.created", Decision::Allow);
    record.detail = "d".repeat(200 - record.encode(0).unwrap().len());
    for _ in 0..iterations {
        black_box(log.append(black_box(&record)).unwrap());
    }
}
