//! Runs a bus scenario in a loop, for instruction counting under callgrind:
//!
//! ```sh
//! cargo build --release -p charter-benches --example bus_loop
//! valgrind --tool=callgrind target/release/examples/bus_loop one 100000
//! ```
//!
//! Scenarios: `one` (publish + try_recv, one subscriber), `fanout` (publish
//! to 16, drain all).

use std::hint::black_box;
use std::sync::Arc;

use charter_core::bus::{Bus, BusLimits, SubscribeOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let scenario = args.get(1).map_or("one", String::as_str);
    let iterations: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let bus = Bus::new(BusLimits::default()).unwrap();
    let payload: Arc<[u8]> = Arc::from(&[7u8; 64][..]);
    let subscribers = if scenario == "fanout" { 16 } else { 1 };
    let subs: Vec<_> =
        (0..subscribers).map(|_| bus.subscribe("a.b.c", SubscribeOptions::new()).unwrap()).collect();
    for _ in 0..iterations {
        bus.publish("a.b.c", Arc::clone(&payload), &[]).unwrap();
        for s in &subs {
            black_box(s.try_recv().unwrap());
        }
    }
}
