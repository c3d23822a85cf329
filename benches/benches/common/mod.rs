//! How the bus, capability and registry benchmarks run criterion: a short
//! warm-up and measurement, with the sample count each chooses.

use std::time::Duration;

use criterion::Criterion;

pub fn settings(samples: usize) -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(800))
        .measurement_time(Duration::from_secs(2))
        .sample_size(samples)
}
