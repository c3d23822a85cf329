"""Instructions per message of the binding's hot paths, counted by callgrind.

Wall-clock figures on the shared 2-core machine move with the load;
instruction counts do not. Each case runs N and 2N times in a fresh
interpreter under ``valgrind --tool=callgrind``; the difference divided by
N is the cost of one round, with the interpreter's start and the setup
cancelled out. Run it with each build's interpreter to compare builds
(``abi3`` against version-specific):

``python bindings-python/bench/instructions.py [--rounds N]``

(or ``--case NAME N`` to run one case N times, which is what callgrind
runs).
"""

from __future__ import annotations

import argparse
import queue
import re
import subprocess
import sys
from typing import Callable, Dict

import charter

BATCH = 64
PAYLOAD = b"0123456789abcdef"


def registry_notify(n: int) -> None:
    with charter.Registry() as registry:
        registry.register(lambda event: None)
        for _ in range(n):
            registry.notify(None)


def publish_recv(n: int) -> None:
    with charter.Bus() as bus:
        sub = bus.subscribe("bench.*.created")
        for _ in range(n):
            bus.publish("bench.orders.created", PAYLOAD)
            sub.recv()


def simple_queue(n: int) -> None:
    q: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    for _ in range(n):
        q.put(PAYLOAD)
        q.get()


def batch_64(n: int) -> None:
    """n / 64 batches: the cost per message."""
    batch = [PAYLOAD] * BATCH
    with charter.Bus() as bus:
        sub = bus.subscribe("bench.*.created", capacity=4 * BATCH)
        for _ in range(n // BATCH):
            bus.publish_many("bench.orders.created", batch)
            sub.recv_many(BATCH)


def simple_queue_64(n: int) -> None:
    batch = [PAYLOAD] * BATCH
    q: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    for _ in range(n // BATCH):
        for p in batch:
            q.put(p)
        for _ in batch:
            q.get()


CASES: Dict[str, Callable[[int], None]] = {
    "notify, one handler": registry_notify,
    "publish + recv": publish_recv,
    "SimpleQueue put + get": simple_queue,
    f"publish_many({BATCH}) + recv_many({BATCH}), per message": batch_64,
    f"SimpleQueue {BATCH} puts + {BATCH} gets, per message": simple_queue_64,
}

COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def instructions(case: str, n: int) -> int:
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, __file__, "--case", case, str(n)],
        capture_output=True, text=True, timeout=900, check=False,
    )
    match = COLLECTED.search(run.stderr)
    if run.returncode != 0 or match is None:
        sys.exit(f"{case} {n} failed (exit {run.returncode}):\n{run.stderr[-2000:]}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=BATCH * 200, help="N (a multiple of 64)")
    parser.add_argument("--case", nargs=2, metavar=("NAME", "N"), help="run one case N times")
    args = parser.parse_args()
    if args.case:
        CASES[args.case[0]](int(args.case[1]))
        return
    n = args.rounds
    print(f"python {sys.version.split()[0]}, {charter._native.__file__.rsplit('/', 1)[-1]}, N = {n:,}")
    for case in CASES:
        per = (instructions(case, 2 * n) - instructions(case, n)) / n
        print(f"{case:56} {per:8,.0f} instructions")


if __name__ == "__main__":
    main()
