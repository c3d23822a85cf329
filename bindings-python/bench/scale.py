"""Async at scale: many asyncio receivers waiting on one bus.

For each count of waiters (100, 1,000 and 10,000 by default), one asyncio
task per subscription loops on ``await sub.recv_async()``, and this prints:

* OS threads above the process's baseline (Linux: /proc/self/status);
* resident memory (RSS);
* CPU used while everything waits (1 s, all threads of the process);
* wake latency: another thread publishes one message to a random waiter
  and waits for it to arrive; p50 and p99 over the samples;
* burst: another thread publishes one message to every waiter; the time
  until the last has arrived, and the CPU time the process used meanwhile
  (on a loaded machine, the difference is time spent waiting for a CPU);
* cancel latency: ``task.cancel()`` until the cancelled task has ended,
  p50 and p99, and then whether a message published to each cancelled
  subscription is still queued (a cancelled receive consumes nothing);
* loss: messages published minus messages received or still queued.

Usage: python scale.py [--waiters 100,1000,10000] [--samples 200]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import random
import statistics
import threading
import time
from typing import Dict, List

import charter


def _status(field: str) -> int:
    """A number from /proc/self/status (0 where there is none)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _percentile(values: List[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


async def _run(waiters: int, samples: int) -> Dict[str, str]:
    loop = asyncio.get_running_loop()
    base_threads = _status("Threads")
    bus = charter.Bus()
    subs = [bus.subscribe(f"w.{i}") for i in range(waiters)]
    arrived = threading.Event()
    received = [0]
    last_arrival = [0.0]

    async def consume(sub: charter.Subscription) -> None:
        while True:
            await sub.recv_async()
            received[0] += 1
            last_arrival[0] = time.perf_counter()
            arrived.set()

    tasks = [asyncio.ensure_future(consume(s)) for s in subs]
    await asyncio.sleep(0.3)  # every task is waiting now
    threads = _status("Threads") - base_threads
    rss_mib = _status("VmRSS") / 1024

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.sleep(1.0)
    idle_cpu = (time.process_time() - cpu) / (time.perf_counter() - wall) * 100

    rng = random.Random(1)
    picks = [rng.randrange(waiters) for _ in range(samples)]
    latencies: List[float] = []

    def ping() -> None:
        for i in picks:
            arrived.clear()
            start = time.perf_counter()
            bus.publish(f"w.{i}", b"ping")
            arrived.wait(10.0)
            latencies.append(last_arrival[0] - start)

    await loop.run_in_executor(None, ping)

    goal = received[0] + waiters

    def burst() -> float:
        start = time.perf_counter()
        for i in range(waiters):
            bus.publish(f"w.{i}", b"burst")
        return start

    burst_cpu = time.process_time()
    burst_start = await loop.run_in_executor(None, burst)
    while received[0] < goal:
        await asyncio.sleep(0.001)
    burst_time = last_arrival[0] - burst_start
    burst_cpu = time.process_time() - burst_cpu

    cancel_times: List[float] = []
    cancelled = rng.sample(range(waiters), min(samples, waiters))
    for i in cancelled:
        start = time.perf_counter()
        tasks[i].cancel()
        try:
            await tasks[i]
        except asyncio.CancelledError:
            pass
        cancel_times.append(time.perf_counter() - start)
    for i in cancelled:
        bus.publish(f"w.{i}", b"after cancel")
    kept = sum(subs[i].stats().queued for i in cancelled)

    published = samples + waiters + len(cancelled)
    accounted = sum(s.stats().delivered + s.stats().queued for s in subs)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    bus.close()
    del subs, tasks
    gc.collect()
    return {
        "waiters": f"{waiters:,}",
        "threads": f"+{threads}",
        "RSS": f"{rss_mib:,.0f} MiB",
        "idle CPU": f"{idle_cpu:.2f}%",
        "wake p50": _us(statistics.median(latencies)),
        "wake p99": _us(_percentile(latencies, 99)),
        "burst to all": f"{burst_time * 1e3:,.1f} ms",
        "burst CPU": f"{burst_cpu * 1e3:,.1f} ms",
        "cancel p50": _us(statistics.median(cancel_times)),
        "cancel p99": _us(_percentile(cancel_times, 99)),
        "kept after cancel": f"{kept}/{len(cancelled)}",
        "lost": f"{published - accounted}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiters", default="100,1000,10000")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=None, help="ignored (bench.sh passes it to every benchmark)")
    args = parser.parse_args()
    rows = [asyncio.run(_run(int(n), args.samples)) for n in args.waiters.split(",")]
    headers = list(rows[0])
    widths = [max(len(h), *(len(r[h]) for r in rows)) for h in headers]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Python asyncio, CPython {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.1f}")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |")
    print("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(row[h].rjust(w) for h, w in zip(headers, widths)) + " |")


if __name__ == "__main__":
    main()
