"""Cost of ``Bus.publish`` plus ``Subscription.recv`` against ``queue.SimpleQueue`` put plus get.

Both are timed in the same process, each as the best of several repeats of
many round trips, so the ratio compares like with like. The target is a
ratio of at most 2. A publish that matches no subscription is timed too: it
is the cost of the call into Rust, the topic check and the match lookup.

Batches: ``publish_many`` of 64 payloads then ``recv_many(64)``, per
message, against 64 ``put`` then 64 ``get`` (the goal: at most 2x); then
the same reading each message's payload, as a consumer does. When
pyzmq is installed (``scripts/bench.sh`` installs it into its own venv),
an inproc PUSH/PULL pair is timed in the same run, one message and 64 at a
time, as the nearest peer a pyzmq user knows.

``scripts/bench.sh`` installs the build a user of this CPython gets (the
version-specific one ``make dist`` ships for it; ``BENCH_ABI3=1``: the
abi3 one); the output and the results file name it.

Each case is timed by the thread's CPU time (``--wall``: by the clock),
which leaves out the time other processes of a shared machine held the
cores. The figures also go to ``target/bench-results/python-bus.json`` at the
repository root, which ``benches/report.py`` reads for the targets table
of docs/BENCHMARKS.md.

Run: ``python bindings-python/bench/bench_bus.py [--number N] [--repeat R]``
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import queue
import sys
import time
import timeit
from pathlib import Path
from typing import Any, Callable, Optional

import charter

TARGET_RATIO = 2.0
TOPIC = "bench.orders.created"
PAYLOAD = b"0123456789abcdef"
BATCH = 64
RESULTS = Path(__file__).resolve().parents[2] / "target" / "bench-results" / "python-bus.json"


def timer(stmt: str, namespace: dict[str, object], clock: Callable[[], float]) -> timeit.Timer:
    """A timer for ``stmt`` in which the names in ``namespace`` are locals."""
    setup = "; ".join(f"{name} = _ns[{name!r}]" for name in namespace)
    return timeit.Timer(stmt, setup=setup, timer=clock, globals={"_ns": namespace})


def zmq_pair() -> Optional[tuple[Any, Any, Any]]:
    """An inproc PUSH/PULL pair (context, push, pull), or ``None`` without pyzmq."""
    try:
        zmq: Any = importlib.import_module("zmq")
    except ImportError:
        return None
    context = zmq.Context()
    pull = context.socket(zmq.PULL)
    pull.bind("inproc://bench")
    push = context.socket(zmq.PUSH)
    push.connect("inproc://bench")
    return context, push, pull


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=100_000, help="round trips per repeat")
    parser.add_argument("--repeat", type=int, default=30, help="repeats; the best counts")
    parser.add_argument("--wall", action="store_true",
                        help="time by the clock instead of the thread's CPU time")
    args = parser.parse_args()
    clock = time.perf_counter if args.wall else time.thread_time

    zmq = zmq_pair()
    with charter.Bus() as bus:
        sub = bus.subscribe("bench.*.created", capacity=4 * BATCH)
        namespace: dict[str, object] = {
            "q": queue.SimpleQueue(),
            "bus": bus,
            "sub": sub,
            "topic": TOPIC,
            "payload": PAYLOAD,
            "batch": [PAYLOAD] * BATCH,
            "n": BATCH,
            "nowhere": "bench.nobody",
        }
        cases = {
            "SimpleQueue put + get": ("q.put(payload); q.get()", 1),
            "publish + recv": ("bus.publish(topic, payload); sub.recv()", 1),
            "publish + try_recv": ("bus.publish(topic, payload); sub.try_recv()", 1),
            "publish, no subscription": ("bus.publish(nowhere, payload)", 1),
            f"SimpleQueue {BATCH} puts + {BATCH} gets": (
                "for p in batch: q.put(p)\nfor _ in batch: q.get()",
                BATCH,
            ),
            f"publish_many({BATCH}) + recv_many({BATCH})": ("bus.publish_many(topic, batch); sub.recv_many(n)", BATCH),
            # What a consumer does: read each payload, as `get` returns it.
            f"publish_many({BATCH}) + recv_many({BATCH}), payloads read": (
                "bus.publish_many(topic, batch)\nfor m in sub.recv_many(n): m.payload",
                BATCH,
            ),
        }
        if zmq is not None:
            namespace["push"], namespace["pull"] = zmq[1], zmq[2]
            cases["pyzmq inproc PUSH send + PULL recv"] = ("push.send(payload); pull.recv()", 1)
            cases[f"pyzmq inproc {BATCH} sends + {BATCH} recvs"] = (
                "for p in batch: push.send(p)\nfor _ in batch: pull.recv()",
                BATCH,
            )
        # The timers take turns within each repeat, so a burst of load on
        # the machine slows all of them alike instead of skewing the ratio.
        timers = [timer(stmt, namespace, clock) for stmt, _ in cases.values()]
        # A batch case runs its statement number / BATCH times, so every
        # case moves about the same number of messages.
        numbers = [max(1, args.number // per) for _, per in cases.values()]
        best = [float("inf")] * len(timers)
        for _ in range(args.repeat):
            for i, (t, number) in enumerate(zip(timers, numbers)):
                best[i] = min(best[i], t.timeit(number) / number * 1e9)
        per_message = {name: ns / per for (name, (_, per)), ns in zip(cases.items(), best)}
        assert sub.try_recv() is None and sub.stats().delivered == sub.stats().received
    if zmq is not None:
        zmq[1].close(linger=0)
        zmq[2].close(linger=0)
        zmq[0].term()

    # Which build was measured: the abi3 one, or one for this CPython only.
    build = "abi3" if ".abi3." in str(charter._native.__file__) else "version-specific"
    simple = per_message["SimpleQueue put + get"]
    simple_batch = per_message[f"SimpleQueue {BATCH} puts + {BATCH} gets"]
    print(
        f"python {platform.python_version()} ({sys.implementation.name}), "
        f"charter {charter.__version__} ({build} build), best of {args.repeat} x about {args.number:,} messages, "
        f"timed by {'the clock' if args.wall else 'the thread CPU time'}"
    )
    print(f"{'case':48} {'ns/message':>10}  vs SimpleQueue")
    for name, ns in per_message.items():
        base = simple_batch if str(BATCH) in name else simple
        print(f"{name:48} {ns:10.1f}  {ns / base:5.2f}x")
    ratio = per_message["publish + recv"] / simple
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(f"publish + recv vs SimpleQueue: {ratio:.2f}x, {verdict} the {TARGET_RATIO:g}x target")
    batch_ratio = per_message[f"publish_many({BATCH}) + recv_many({BATCH})"] / simple_batch
    verdict = "within" if batch_ratio <= TARGET_RATIO else "OVER"
    print(f"batches of {BATCH} vs SimpleQueue: {batch_ratio:.2f}x, {verdict} the {TARGET_RATIO:g}x target")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "python": platform.python_version(),
        "build": build,
        "unit": "ns/message, best of the repeats",
        "clock": "wall" if args.wall else "thread CPU time",
        "cases": per_message,
    }, indent=1) + "\n")


if __name__ == "__main__":
    main()
