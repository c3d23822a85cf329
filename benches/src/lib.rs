//! Benchmarks live in `benches/`; `make bench` runs them and
//! `benches/report.py` turns criterion's output into the tables of
//! `docs/BENCHMARKS.md`.
//!
//! This library holds what the benchmarks and the instruction-counting
//! loops (`examples/notify_loop.rs`, `src/bin/budget_loop.rs`) share, so
//! that a loop measures the same setup as the benchmark it stands for.

use std::future::Future;
use std::task::{Context, Poll, Waker};

/// Polls `future` to completion with a waker that does nothing: an async
/// round measured without any executor's own work.
pub fn run<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// The pattern of subscription `i` of a crowded bus: exact, `*` and `>`
/// patterns in turn, none of them matching `orders.eu.created`.
pub fn crowded_pattern(i: usize) -> String {
    match i % 4 {
        0 => format!("svc{i}.events.created"),
        1 => format!("svc{i}.*.created"),
        2 => format!("region.{i}.>"),
        _ => format!("*.audit{i}.entry"),
    }
}
