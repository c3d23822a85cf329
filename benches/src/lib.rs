//! Benchmarks live in `benches/`; `make bench` runs them and
//! `benches/report.py` turns criterion's output into the tables of
//! `docs/BENCHMARKS.md`.
