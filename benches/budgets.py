#!/usr/bin/env python3
"""Instruction budgets of the hot paths: counts each case of
`target/release/budget_loop` under callgrind and fails when one costs more
than its budget in benches/budgets.toml plus the tolerance.

A case's cost is (instructions at 2N iterations - instructions at N) / N,
so setup, teardown and the process's own start cancel out; callgrind
counts instructions, not time, so the figures do not depend on load.

Usage:
  python3 benches/budgets.py            check (what `make budgets` runs)
  python3 benches/budgets.py --record   measure and write the budgets
  python3 benches/budgets.py --table    print the Markdown table of
                                        docs/BENCHMARKS.md
"""
import concurrent.futures
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGETS = ROOT / "benches" / "budgets.toml"
BINARY = ROOT / "target" / "release" / "budget_loop"
ITERATIONS = 10_000

COLLECTED = re.compile(rb"Collected\s*:\s*(\d+)")


def instructions(args: list[str], iterations: int) -> int:
    """Total instructions of one run of the binary under callgrind."""
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         str(BINARY), *args, str(iterations)],
        capture_output=True, timeout=600, check=False)
    match = COLLECTED.search(run.stderr)
    if run.returncode != 0 or match is None:
        sys.exit(f"budget_loop {' '.join(args)} {iterations} failed "
                 f"(exit {run.returncode}):\n{run.stderr.decode(errors='replace')[-2000:]}")
    return int(match.group(1))


def per_round(args: list[str]) -> float:
    """Instructions per round of the case `args`."""
    return (instructions(args, 2 * ITERATIONS) - instructions(args, ITERATIONS)) / ITERATIONS


def measure(cases: list[dict]) -> list[float]:
    workers = max(1, min(len(cases), os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda case: per_round(case["args"]), cases))


def load() -> dict:
    """The budgets file."""
    return tomllib.loads(BUDGETS.read_text())


def measured_by_name() -> dict[str, float]:
    """Every case's instructions per round, by case name."""
    if not BINARY.exists():
        sys.exit(f"{BINARY} is missing: cargo build --release -p charter-benches --bin budget_loop")
    cases = load()["case"]
    return {case["name"]: figure for case, figure in zip(cases, measure(cases))}


def record(config: dict, measured: list[float]) -> None:
    """Rewrites each case's `budget` line with its measured count."""
    text = BUDGETS.read_text()
    blocks = text.split("[[case]]")
    for i, figure in enumerate(measured, start=1):
        blocks[i] = re.sub(r"(?m)^budget = \d+$", f"budget = {round(figure)}", blocks[i], count=1)
    BUDGETS.write_text("[[case]]".join(blocks))


def main() -> None:
    config = load()
    cases = config["case"]
    tolerance = config["tolerance"]
    if not BINARY.exists():
        sys.exit(f"{BINARY} is missing: cargo build --release -p charter-benches --bin budget_loop")
    measured = measure(cases)
    if "--record" in sys.argv:
        record(config, measured)
        print(f"recorded {len(cases)} budgets in {BUDGETS.relative_to(ROOT)}")
        return
    if "--table" in sys.argv:
        print("| case | instructions per round | budget | goal |")
        print("|---|---:|---:|---:|")
        for case, figure in zip(cases, measured):
            goal = f"{case['goal']:,}" if "goal" in case else ""
            print(f"| {case['name']} | {figure:,.0f} | {case['budget']:,} | {goal} |")
        return
    failed = []
    for case, figure in zip(cases, measured):
        limit = case["budget"] * (1 + tolerance)
        verdict = "ok" if figure <= limit else "OVER BUDGET"
        print(f"{case['name']:<48} {figure:>9,.0f} instr  budget {case['budget']:>7,}  {verdict}")
        if figure > limit:
            failed.append(case["name"])
    if failed:
        sys.exit(f"{len(failed)} case(s) cost more than budget + {tolerance:.0%}: "
                 + ", ".join(failed)
                 + " (if the increase is intended, run `python3 benches/budgets.py --record` "
                 "and say why in the commit)")
    print(f"every case within its budget + {tolerance:.0%}")


if __name__ == "__main__":
    main()
