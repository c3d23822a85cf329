"""Cost of ``Registry.notify`` with one handler against calling that handler directly.

Both are timed in the same process, each as the best of several repeats of
many calls, so the ratio compares like with like. The target is a ratio of
at most 3. ``notify`` on an empty registry is timed too: it is the cost of
the call into Rust alone.

Run: ``python bindings-python/bench/bench_registry.py [--number N] [--repeat R]``
"""

from __future__ import annotations

import argparse
import platform
import sys
import timeit

import charter

TARGET_RATIO = 3.0


def handler(event: object) -> None:
    """The handler both ways: it does nothing, so overhead is all that is measured."""


def timer(stmt: str, namespace: dict[str, object]) -> timeit.Timer:
    """A timer for ``stmt`` in which the names in ``namespace`` are locals."""
    setup = "; ".join(f"{name} = _ns[{name!r}]" for name in namespace)
    return timeit.Timer(stmt, setup=setup, globals={"_ns": namespace})


def best_ns(timers: list[timeit.Timer], number: int, repeat: int) -> list[float]:
    """Best time per call of each timer, in nanoseconds.

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
    parser.add_argument("--number", type=int, default=200_000, help="calls per repeat")
    parser.add_argument("--repeat", type=int, default=30, help="repeats; the best counts")
    args = parser.parse_args()

    event = object()
    with charter.Registry() as registry, charter.Registry() as empty:
        registry.register(handler)
        namespace = {"handler": handler, "registry": registry, "empty": empty, "event": event}
        timers = [
            timer("handler(event)", namespace),
            timer("registry.notify(event)", namespace),
            timer("empty.notify(event)", namespace),
        ]
        direct, notify, bare = best_ns(timers, args.number, args.repeat)

    ratio = notify / direct
    print(
        f"python {platform.python_version()} ({sys.implementation.name}), "
        f"best of {args.repeat} x {args.number:,} calls"
    )
    print(f"direct call of the handler    {direct:7.1f} ns/call")
    print(f"notify, one handler           {notify:7.1f} ns/call  {ratio:5.2f}x")
    print(f"notify, no handler            {bare:7.1f} ns/call  {bare / direct:5.2f}x")
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(f"one handler vs direct: {ratio:.2f}x, {verdict} the {TARGET_RATIO:g}x target")


if __name__ == "__main__":
    main()
