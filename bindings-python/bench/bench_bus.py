"""Cost of ``Bus.publish`` plus ``Subscription.recv`` against ``queue.SimpleQueue`` put plus get.

Both are timed in the same process, each as the best of several repeats of
many round trips, so the ratio compares like with like. The target is a
ratio of at most 2. A publish that matches no subscription is timed too: it
is the cost of the call into Rust, the topic check and the match lookup.

Run: ``python bindings-python/bench/bench_bus.py [--number N] [--repeat R]``
"""

from __future__ import annotations

import argparse
import platform
import queue
import sys
import timeit

import charter

TARGET_RATIO = 2.0
TOPIC = "bench.orders.created"
PAYLOAD = b"0123456789abcdef"


def timer(stmt: str, namespace: dict[str, object]) -> timeit.Timer:
    """A timer for ``stmt`` in which the names in ``namespace`` are locals."""
    setup = "; ".join(f"{name} = _ns[{name!r}]" for name in namespace)
    return timeit.Timer(stmt, setup=setup, globals={"_ns": namespace})


def best_ns(timers: list[timeit.Timer], number: int, repeat: int) -> list[float]:
    """Best time per round trip of each timer, in nanoseconds.

    The timers take turns within each repeat, so a burst of load on the
    machine slows all of them alike instead of skewing the ratio.
    """
    best = [float("inf")] * len(timers)
    for _ in range(repeat):
        for i, t in enumerate(timers):
            best[i] = min(best[i], t.timeit(number) / number * 1e9)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=100_000, help="round trips per repeat")
    parser.add_argument("--repeat", type=int, default=30, help="repeats; the best counts")
    args = parser.parse_args()

    with charter.Bus() as bus:
        sub = bus.subscribe("bench.*.created")
        namespace = {
            "q": queue.SimpleQueue(),
            "bus": bus,
            "sub": sub,
            "topic": TOPIC,
            "payload": PAYLOAD,
            "nowhere": "bench.nobody",
        }
        timers = [
            timer("q.put(payload); q.get()", namespace),
            timer("bus.publish(topic, payload); sub.recv()", namespace),
            timer("bus.publish(topic, payload); sub.try_recv()", namespace),
            timer("bus.publish(nowhere, payload)", namespace),
        ]
        simple, recv, try_recv, unmatched = best_ns(timers, args.number, args.repeat)
        assert sub.try_recv() is None and sub.stats().delivered == sub.stats().received

    ratio = recv / simple
    print(
        f"python {platform.python_version()} ({sys.implementation.name}), "
        f"best of {args.repeat} x {args.number:,} round trips"
    )
    print(f"SimpleQueue put + get           {simple:7.1f} ns  1.00x")
    print(f"publish + recv                  {recv:7.1f} ns  {ratio:5.2f}x")
    print(f"publish + try_recv              {try_recv:7.1f} ns  {try_recv / simple:5.2f}x")
    print(f"publish, no subscription        {unmatched:7.1f} ns  {unmatched / simple:5.2f}x")
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(f"publish + recv vs SimpleQueue: {ratio:.2f}x, {verdict} the {TARGET_RATIO:g}x target")


if __name__ == "__main__":
    main()
