#!/usr/bin/env python3
"""Turns criterion's estimates for the registry benchmark into the tables and
ratios recorded in docs/BENCHMARKS.md (sync notify, then async notify).

Usage: python3 benches/report.py [target/criterion]
"""
import json
import sys
from pathlib import Path

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
COUNTS = [0, 1, 4, 16, 64]
ASYNC_COUNTS = [1, 4, 16, 64]


def mean_ns(group: str, impl: str, n: int) -> float:
    path = ROOT / group / impl / str(n) / "new" / "estimates.json"
    return json.loads(path.read_text())["mean"]["point_estimate"]


def main() -> None:
    print("| handlers | charter (Rust) | registry-io | charter / registry-io | "
          "charter C ABI | C ABI / Rust |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n in COUNTS:
        ours = mean_ns("notify", "charter", n)
        theirs = mean_ns("notify", "registry-io", n)
        cabi = mean_ns("notify", "charter-c-abi", n)
        print(f"| {n} | {ours:.2f} ns | {theirs:.2f} ns | {ours / theirs:.2f}x | "
              f"{cabi:.2f} ns | {cabi / ours:.2f}x |")
    print()
    print("| handlers | charter notify | registry-io notify | ratio | "
          "charter notify_sequential | registry-io notify_sequential | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in ASYNC_COUNTS:
        ours = mean_ns("async_notify", "charter", n)
        theirs = mean_ns("async_notify", "registry-io", n)
        ours_seq = mean_ns("async_notify", "charter-sequential", n)
        theirs_seq = mean_ns("async_notify", "registry-io-sequential", n)
        print(f"| {n} | {ours:.0f} ns | {theirs:.0f} ns | {ours / theirs:.2f}x | "
              f"{ours_seq:.0f} ns | {theirs_seq:.0f} ns | {ours_seq / theirs_seq:.2f}x |")


if __name__ == "__main__":
    main()
