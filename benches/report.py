#!/usr/bin/env python3
"""Regenerates the measured parts of docs/BENCHMARKS.md from a benchmark run:
the tables between `<!-- report:NAME -->` and `<!-- /report:NAME -->`
markers, and one chart per table (docs/benchmarks/NAME.svg) showing each
ratio against its goal.

Inputs: criterion's estimates (`cargo bench -p charter-benches`), the
instruction counts of benches/budgets.py (callgrind; the binary must be
built), the NATS bridge bench's figures (`cargo bench -p charter-bridge
--bench nats` writes target/nats-bench.json; without that file the bridge
tables are left as they are) and the bindings' results in
target/bench-results/ (written by their bench scripts, which `make bench`
runs before this one; a binding not run shows as not measured). Prose outside the markers is left alone: it
explains the figures and is kept by hand.

Usage: python3 benches/report.py [target/criterion]
       python3 benches/report.py --bridge   (the bridge tables alone)
(`make bench` runs it through benches/report.sh, which installs matplotlib
into a virtual environment under target/.)
"""
import json
import re
import statistics
import sys
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
# Stable element ids, so an unchanged chart regenerates byte for byte.
matplotlib.rcParams["svg.hashsalt"] = "charter"
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import budgets  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
CHARTS = ROOT / "docs" / "benchmarks"
ARGS = [a for a in sys.argv[1:] if a != "--bridge"]
CRITERION = Path(ARGS[0]) if ARGS else ROOT / "target" / "criterion"
BRIDGE_FIGURES = ROOT / "target" / "nats-bench.json"
RESULTS = ROOT / "target" / "bench-results"
COUNTS = [0, 1, 4, 16, 64]
ASYNC_COUNTS = [1, 4, 16, 64]

# Why a missed target is missed and what comes next, as last measured
# (docs/BENCHMARKS.md explains each in its section). Shown only while
# the target is missed.
REASONS = {
    "notify-rust": "fixed cost about 53 instructions a round (1 handler: 88 = 15 for the "
                   "caller's loop and empty check, 20 for the handler, about 53 for the round: "
                   "the snapshot's read lock in and out about 17, parking_lot's fast path "
                   "checking the writer bit and overflow; the nesting level about 11; the "
                   "stale flag's two checks and the fence between them and the lock 7; the "
                   "loop's set-up about 8; the report about 6) "
                   "against registry-io's about 38; per handler 20 against 17 (the entry's "
                   "pointer, the state check the mid-round unregister rule needs, the box's "
                   "data and vtable). By time: since round 10 a round makes two atomic "
                   "read-modify-writes (the read lock in and out) where it made four and "
                   "registry-io's makes one (its hazard pointer's store). Next: 0.8x needs "
                   "a round with no read-modify-write at all, which only a per-thread "
                   "snapshot gives, and that keeps removed handlers alive in threads that "
                   "stop notifying (docs/registry.md promises their drop when the last "
                   "round holding them ends); a read lock of Charter's own with a "
                   "one-compare fast path would save about 8 instructions but needs unsafe "
                   "code for its guard",
    "notify-capi": "about 89 instructions fixed on top of the Rust round (1 handler: 177 "
                   "against 88): the export's frame (about 16), the handle's lookup and tag "
                   "check (about 12), the borrow count (about 14: one compare-and-swap, one "
                   "subtraction), the firewall's hook-install check, scope and last-error "
                   "check (about 15), the event's checks (8) and the result's plumbing (about "
                   "12). Per handler C costs 17 against Rust's 20 since round 8 (the core's "
                   "round calls the stored C function and user data directly, with no boxed "
                   "closure), so the target is met from 16 handlers up and missed below, where "
                   "the fixed part would have to be at most about 26 (1 handler) or 44 (4) "
                   "instructions; next: the costs every export shares (the hook-install check "
                   "inlined, the result kept in registers), which cannot go that far while a "
                   "call validates and borrows its handle",
    "bus-one-time": "bus round 22 (branch `busring`, criterion paired with main's build at load 0.6 to 0.9): 64.2 "
                    "and 64.2 ns against crossbeam's 33.3 and 33.0, 1.93x and 1.94x, main 2.07x and 2.09x in the "
                    "same minutes: the last reference moves its body into the pool, 11 atomic read-modify-writes "
                    "a round instead of 13; of the 11, the bench's own 2, the shard lock 2, the sequence 1, the "
                    "queue's lock 4, the spare's swaps 2; next: the spare's swaps (a per-thread body that "
                    "survives a thread's exit), then the queue's lock. Before: the lead's idle pairs after bus "
                    "round 21, 2.08x and 2.18x against main's 2.39x and 2.38x (bus round 19: 81.3 ns against "
                    "crossbeam's 33.6 ns; before round 17 2.95x)",
    "bus-one": "bus round 23 (309 -> 305; literal 272 -> 270): a message's drop tests for its last reference "
               "with a relaxed load of the count (the acquire load made the field's drop reload and test the "
               "message again) and the queue's ring keeps its mask (one instruction fewer a push and a take); "
               "still paid: bus round 22's `Option<Message>` without a null niche (the message's reference is "
               "itself an `Option`, so that the last reference moves it into the pool, two atomic "
               "read-modify-writes fewer a round): its tag and pointer go through the stack around the queue's "
               "unlock, about 8 instructions; next: a receive without the `Option` layer, or the last "
               "reference's recycle given its reference in a register (tried: 302, but the fan-out 1,608). "
               "Before: bus round 19 (309 -> 300; literal 274 -> 267): the match cache's held route is the "
               "shard's guard mapped to the route, the bare publish's delivery inlined without an empty text "
               "and inbox in the stack (`Bare`/`Dressed`), the report made by `send_held` with `send_rest` "
               "returning its drop count, the long topic compare and the \"inside a handler\" flag off the common "
               "path; round 17 (323 -> 309): delivery under the shard lock, the payload taken before it. Left: "
               "the hash and compare (about 24), the bench's `black_box` (about 10), the report still built in "
               "memory and the payload's fat pointer through three stack slots",
    "bus-fanout-time": "the lead's idle runs of the final build (bus round 23): 1.51x to 1.55x against main's 1.41x to "
                       "1.45x in the same minutes, about 5% slower, and level with bus round 22's build (543 to 561 ns "
                       "against 547 to 551 ns in alternate runs): round 23's fewer instructions do not show in time; "
                       "bus round 22 (criterion paired with main's build at load 0.6 to 0.9): 555.8 and 545.9 ns "
                       "against tokio broadcast's 365.5 and 361.2, 1.52x and 1.51x; main's charter 526.4 and 529.1 ns "
                       "in the same minutes, so about 4% slower: the fan-out's 16 receives each pay about 10 "
                       "instructions for the `Option<Message>` without a niche, against two atomic operations saved a "
                       "publish (101 instead of 103). Per subscriber the queue's lock both ways and a reference count "
                       "up and down, each an atomic read-modify-write, where broadcast's receivers share one slot; "
                       "next: win back the receive's cost (see the instructions row), then a single-consumer queue "
                       "without the lock that keeps every overflow policy and an exact stats snapshot (the lead's idle "
                       "pairs after bus round 21: 1.43x and 1.45x; after bus round 19: 1.48x)",
    "bus-fanout": "bus round 23 (1,659 -> 1,595, met): the receive's drop tests for the last reference with a "
                  "relaxed load, so the message is not reloaded and tested again for its field's drop, and the "
                  "ring keeps its mask; bus round 22 (1,496 -> 1,659) had paid about 10 instructions a subscriber "
                  "for the `Option<Message>` without a null niche, of which about 8 are left. Besides: per "
                  "subscriber the queue's lock both ways (about 18 of its instructions) and a reference count up "
                  "and down, each an atomic read-modify-write, where broadcast's receivers share one slot",
    "bus-crowded": "a warm publish's fixed cost (about 437 instructions, round 7: the "
                   "cache's hash, lock and probe, the nesting level, the route's kept "
                   "message, the inline handler's catch and the counting lock); next: a "
                   "set-associative match cache and lock-free counting for inline handlers",
    "audit-ratio": "at the goal line, not under it: the lead's idle runs of the merged build (criterion, "
                   "`--measurement-time 3` and `5`, load 0.8 to 1.0) give a median of 2.005x over ten runs (1.96x "
                   "to 2.06x; append 398.6 to 415.3 ns against the leaf's 197.4 to 206.0 ns), main's build a median"
                   " of 2.01x in six pairs run in turn (its append 404.0 to 416.3 ns), so the round's gain is real "
                   "(about 1.5% of an append, idle) but too small to settle the 2x; audit round 9 moved the "
                   "in-memory log's records past its first 64 KiB into anonymous mappings populated when made "
                   "(memmap2), doubling from 128 KiB to 4 MiB, instead of heap memory the kernel faults in a page "
                   "at a time: page faults for 2M appends 100,470 -> 2,575, CPU per append 434 -> 421 ns (perf "
                   "stat, 6 pairs, all faster, load 3.1 to 3.8), 13,857 -> 13,846 instructions; under criterion at "
                   "load 1.5 to 3.1 the append faster in 9 pairs of 10 (median 443 -> 409 ns) and a median ratio of"
                   " 2.00x against main's 2.07x, the leaf hash alone ranging 197 to 244 ns; huge pages were tried "
                   "and not kept (compaction stalls of up to a second on this machine's memory, full of page "
                   "cache); by instructions 1.53x (floor 1.5x: six SHA-256 blocks against the leaf's four); what is"
                   " left above the blocks is ring's set-up and finish of the two digests, the page cache's reclaim"
                   " and zeroing of the record's 201 bytes (now in one call per chunk), and the state mutex; next: "
                   "the tree's hashes and group starts in the same chunks (the 2,575 faults left, under 1% of the "
                   "time), then ring's set-up of the node digest and the state mutex",
    "audit-rate": "as above: the six SHA-256 blocks, the fresh memory of a log that "
                  "criterion grows to several million records, and the machine's load",
    "bridge-throughput": "CPU per message: the bridges' threads take 3x to 4x the CPU time of the "
                         "raw clients' (two client legs instead of one, each with a NATS header "
                         "map that async-nats builds, hashes, writes, parses and frees; the local "
                         "bus's publish with its header text and payload copy; the receiver's "
                         "wake-up), and on 2 cores throughput follows CPU; round 6 cut the "
                         "instructions of the bridges' own tasks by 27% (callgrind, 9,191 to 6,697 "
                         "per message); round 7 imports a burst with one publish_each (one queue "
                         "lock and one wake-up per subscriber per burst): the bridges' CPU per "
                         "message 10% (16 B) and 18% (1 KiB) less, half the futex calls; ten "
                         "runs on a loaded machine gave 0.36x to 1.32x (16 B) and 0.36x to 0.75x "
                         "(1 KiB); round 9 builds the imported message's header text in one "
                         "allocation (72 instructions fewer) and measured the one NATS header an "
                         "unsealed export sends at half the bridges' CPU per message (8,300 "
                         "instructions: async-nats's header map, its serialisation and parse); "
                         "without it 16 B ran at 0.85x to 1.24x; round 10 makes that the opt-in "
                         "bare exports (rows below: the bridges' CPU per message 45% less at 16 B, "
                         "40% at 1 KiB); the default wire keeps its header for JetStream dedup and "
                         "loop prevention through relays",
    "bridge-throughput-bare": "CPU per message: with no header on the wire the bridges' threads still "
                              "take about 1.7x the raw clients' CPU time at 16 B (two client legs, the "
                              "local bus's publish and the receiver's wake-up), and on 2 shared cores "
                              "throughput follows CPU and the machine's load: ten runs gave 0.29x to "
                              "1.63x (16 B) and 0.47x to 1.19x (1 KiB); round 11 counted the legs on "
                              "their own (callgrind, 7,444 instructions per message for both bridges' "
                              "threads, of which the clients' connection tasks 4,118, as raw's) and cut "
                              "15% (a burst's repeated header text built once, the export's publish "
                              "awaited directly): CPU per message at 16 B 1.06 to 0.92 µs (medians, load "
                              "6), throughput median 0.70x there; next: the idle-machine run, then the "
                              "kernel's share (wake-ups and socket calls); round 13 cut the import task's"
                              " own instructions by 35% (1,745 to 1,130 a message: payloads copied into "
                              "pooled bodies, a headerless message's marks built once per burst, a run of"
                              " one subject and header list published as one publish_many, the client's "
                              "messages taken in one poll), the whole path by 9%, throughput inside the "
                              "noise at load 3 to 9 (16 B medians 0.84x to 0.92x against the base's 0.74x"
                              " to 0.92x); next: an idle-machine run"
                              "; round 14 counted the exporting bridge's thread (3,320 instructions a message, about 2,300 "
                              "of them async-nats's per-publish cost that raw's publisher pays too: the PUB line formatted "
                              "through core::fmt, the ping timer reset per command, its channel; 250 the core's pool "
                              "freeing bodies in the bench's 100,000-message burst) and cut 3% (the publish awaited in a "
                              "pinned slot, one move of its future instead of two; no header walk for a message without "
                              "headers): the bridges' CPU per message at 16 B 1.04 to 0.99 µs and 0.875 to 0.855 µs "
                              "(medians of alternating runs, load 2.6 to 5), throughput inside the noise; the exporting "
                              "bridge writes as often as raw's publisher (about 133 messages a write); next: an "
                              "idle-machine run, then the client's per-publish cost (a change of async-nats) or the "
                              "server's and the bench thread's shares; round 15 moved the run detection into the core's "
                              "publish_each (every caller gains it; the import task's own instructions back up to about "
                              "1,300 a message, publish_each keeping per message what publish_many keeps per chunk); bus round "
                              "15 cut publish_each's run path to publish_many's cost (budget case 440 to 353; the import "
                              "task about 1,270 to 1,195 a message, callgrind); round 16, "
                              "idle: 16 B median 0.70x over eight runs of two builds (0.53x to 0.80x), 1 KiB 0.79x to "
                              "0.95x, p50 medians 1.18x to 1.28x with a third of runs over 1.3x (two more thread "
                              "hand-offs than raw, each waking an idle core); the bench now takes turns between the paths, "
                              "each ratio against its own round's raw run: idle, 0.69x (median of 7 rounds) and 0.60x "
                              "(9 rounds, 0.36x to 0.67x), p50 1.12x; next: the bridges' CPU per message (1.1 µs "
                              "against the raw clients' 0.7 to 0.8 µs: async-nats's per-publish cost on both legs and "
                              "the local bus's publish and receive on each side); round 17 counted each thread (perf trace, 16 B): "
                              "the bridged path makes a fifth of raw's context switches and futex calls (27 against 138 a "
                              "thousand messages), its exporting bridge writes as often as raw's publisher and its importing "
                              "one reads less often than raw's subscriber, and over a whole run of both sizes the server takes as many CPU "
                              "samples as for raw; what the bridges' threads spend beyond raw's clients (42% more samples) is "
                              "the core (19% of theirs: most of it the export's message drops on the process's one pool of "
                              "bodies, which the publisher and the receiver use on their threads at the same time), bytes and "
                              "malloc; the export now drops a batch's messages together (Message::drop_all, one pool lock for "
                              "64) and copies payloads of at most 256 bytes into a buffer of its own (no owner box, no count "
                              "on the publisher's payload): the bridges' CPU per message 0.99 to 0.87 µs (medians, load 1 "
                              "to 4), 16 B throughput medians 0.67x to 0.74x over 7 alternating pairs and 0.68x to 0.72x "
                              "over a three-way set, 0.74x in a whole run (single rounds 0.55x to 0.84x); next: the pool's "
                              "shared spare and list (a core change: a per-thread cache of bodies), then an idle-machine "
                              "run",
    "bridge-latency-bare": "as for the default wire: three extra hand-offs, each waking an idle core; bridge round "
                           "18, idle, medians of 7 rounds over twelve runs: 1.16x to 1.41x (16 B, median 1.28x) and "
                           "1.19x to 1.39x (1 KiB, median 1.33x); bridge round 19 (a blocking receive spins up to "
                           "50 µs before it parks), quiet machine, ten paired runs: medians 0.71x (16 B) and 0.78x "
                           "(1 KiB), every run under 0.9x, without the spin medians 1.20x and 1.37x; next: the idle "
                           "run of round 19's command, which replaces these figures",
    "bridge-verify": "the verifier's rate for messages sealed in the batches of 64 that an "
                     "export under load sends (one Ed25519 check per batch, an inclusion proof "
                     "per message); each message signed alone it is {alone:,.0f}/s, at the "
                     "machine's Ed25519 floor ({ed25519:,.0f}/s in this run)",
    "bridge-latency": "one message at a time takes three extra hand-offs (the export's wake-up, the import's "
                      "local publish, the receiver's wake-up), each waking a core that went idle: on an idle "
                      "machine raw's p50 is about 90 µs (about 25 µs while the cores are busy) and the bridge's "
                      "110 to 130 µs; bridge round 18, idle, three whole runs of 7 rounds: 1.17x and 1.42x (16 "
                      "B), 1.38x and 1.34x (1 KiB), against 0.94x and 1.20x with the cores busy; bridge round 19: "
                      "a blocking receive spins up to 50 µs before it parks, so the import's publish finds the "
                      "receiver running: quiet machine, ten paired runs, medians 0.64x (16 B) and 0.80x (1 KiB), "
                      "every run under 0.9x, without the spin medians 1.29x and 1.40x; next: the idle run of "
                      "round 19's command, which replaces these figures, then the export's wake-up",
    "node-batch": "bus round 22 (the last reference moves its body into the pool) moved the batch inside the noise"
                  " of `emit`'s own figure (132.8 against 128.1 ns, `emit` 9.3 against 8.2 ns); bus round 21's "
                  "cheaper return of a body to the pool took about 8% off; round 8 counted the binding under "
                  "callgrind: payload views made by the typed array constructor instead of `Buffer.from` and the "
                  "packing's `set` called directly took 1,940 to 1,624 instructions a message, 9.3x `emit`'s 174, "
                  "but by CPU time the batch stays about 17x, since the core's queueing and pooled bodies run at "
                  "fewer instructions a cycle than `emit`'s JIT loop; JS is at its floor for a `Message` and a "
                  "`Buffer` per message; next: the core's share (`Message::drop_all`, `send_many`)",
    "go-batch": "near the goal and noisy (round 8: 2.96x at the median, two runs in five "
                "over 3x); since round 8 the C ABI makes no vector a call (the payload array is checked once and iterated; the "
                "receive takes through a vector its thread keeps and copies each message in the "
                "look that decides whether it fits) and Go copies a batch's payloads at once and "
                "allocates 3 times a batch, not 5 (callgrind: 1,007 to 752 instructions a message, "
                "about 350 of them the core's); what is left is mostly the core's atomics "
                "(`Message::drop_all` 17% of a `perf` profile, `Run::in_chunks` 11%) and Go's "
                "collector for the batch's returned values (about 12%); next: fewer atomic "
                "read-modify-writes a message in the core's body release",
    "python-batch": "round 9 (binding only): `bench.sh` measures the version-specific wheel `make dist` "
                    "ships for this CPython (1.92x–2.00x in eight alternated runs, 1.97x–2.06x before the "
                    "round; round 8's 2.59x–2.76x was the `abi3` build in the release profile); `recv_many` "
                    "receives into a vector made to size and `publish_many` lends a batch of `bytes` as a "
                    "vector of pointers (880 to 828 instructions a message); the `abi3` wheel, for other "
                    "CPythons, 2.20x–2.28x; next: the core's return of a body to the pool with fewer atomic "
                    "read-modify-writes (28% of the batch's CPU time by `perf`, about 80 of its instructions)",
    "python-pyzmq": "",
}


def estimate(*parts: str) -> float | None:
    """Criterion's mean in nanoseconds for a benchmark, or None if absent."""
    path = CRITERION.joinpath(*parts, "new", "estimates.json")
    if not path.exists():
        return None
    return json.loads(path.read_text())["mean"]["point_estimate"]


def ns(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.2f} ns" if value < 100 else f"{value:,.0f} ns"


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def verdict(measured: float | None, goal: float, key: str, explained: set[str],
            at_least: bool = False) -> tuple[str, str]:
    """Met or missed (at most `goal`, or at least it with `at_least`); a
    miss's reason the first time its key comes up."""
    if measured is None:
        return "not measured", ""
    if (measured >= goal) if at_least else (measured <= goal):
        return "met", ""
    if key in explained:
        return "missed", "as above"
    explained.add(key)
    return "missed", REASONS.get(key, "")


def chart(name: str, title: str, labels: list[str], ratios: list[float | None],
          goals: list[float], ylabel: str, at_least: list[bool] | None = None) -> None:
    """A bar per ratio with its goal drawn across the bar. A goal is a
    ceiling unless `at_least` marks it a floor (a throughput's)."""
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    positions = range(len(labels))
    heights = [r if r is not None else 0 for r in ratios]
    floors = at_least or [False] * len(goals)
    colors = ["#3a7d44" if r is not None and (r >= g if floor else r <= g) else "#c0392b"
              for r, g, floor in zip(ratios, goals, floors)]
    ax.bar(positions, heights, color=colors, width=0.6, label="measured (green: goal met)")
    for p, goal in zip(positions, goals):
        ax.hlines(goal, p - 0.4, p + 0.4, colors="black", linestyles="dashed", linewidth=1.5)
    ax.plot([], [], color="black", linestyle="dashed", label="goal")
    ax.set_xticks(list(positions), labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.legend(fontsize=8)
    fig.tight_layout()
    CHARTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(CHARTS / f"{name}.svg", metadata={"Date": None})
    plt.close(fig)


def registry() -> list[str]:
    rows = ["| handlers | charter (Rust) | registry-io 1.1 | charter / registry-io | "
            "charter C ABI | C ABI / Rust |", "|---:|---:|---:|---:|---:|---:|"]
    labels, ratios, goals = [], [], []
    for n in COUNTS:
        ours = estimate("notify", "charter", str(n))
        theirs = estimate("notify", "registry-io", str(n))
        cabi = estimate("notify", "charter-c-abi", str(n))
        rows.append(f"| {n} | {ns(ours)} | {ns(theirs)} | {x(ratio(ours, theirs))} | "
                    f"{ns(cabi)} | {x(ratio(cabi, ours))} |")
        labels += [f"Rust/registry-io, {n}", f"C ABI/Rust, {n}"]
        ratios += [ratio(ours, theirs), ratio(cabi, ours)]
        goals += [0.8, 1.3]
    chart("registry", "notify: ratios against their goals (criterion time)", labels, ratios, goals,
          "ratio (log scale)")
    return rows + ["", "![notify ratios against their goals](benchmarks/registry.svg)"]


def registry_async() -> list[str]:
    rows = ["| handlers | charter notify | registry-io notify | ratio | "
            "charter notify_sequential | registry-io notify_sequential | ratio |",
            "|---:|---:|---:|---:|---:|---:|---:|"]
    labels, ratios = [], []
    for n in ASYNC_COUNTS:
        ours = estimate("async_notify", "charter", str(n))
        theirs = estimate("async_notify", "registry-io", str(n))
        ours_seq = estimate("async_notify", "charter-sequential", str(n))
        theirs_seq = estimate("async_notify", "registry-io-sequential", str(n))
        rows.append(f"| {n} | {ns(ours)} | {ns(theirs)} | {x(ratio(ours, theirs))} | "
                    f"{ns(ours_seq)} | {ns(theirs_seq)} | {x(ratio(ours_seq, theirs_seq))} |")
        labels += [f"notify, {n}", f"sequential, {n}"]
        ratios += [ratio(ours, theirs), ratio(ours_seq, theirs_seq)]
    chart("registry-async", "async notify / registry-io's (criterion time)", labels, ratios,
          [1.0] * len(labels), "ratio (log scale)")
    return rows + ["", "![async notify ratios against their goal](benchmarks/registry-async.svg)"]


def bus() -> list[str]:
    one = estimate("publish_recv_1", "charter")
    crossbeam = estimate("publish_recv_1", "crossbeam-channel")
    fan = estimate("fanout_16", "charter")
    tokio = estimate("fanout_16", "tokio-broadcast")
    crowd = {n: estimate("publish_among", "charter", str(n)) for n in (100, 1_000, 10_000)}
    rows = ["| case | charter | baseline | ratio | goal |", "|---|---:|---:|---:|---:|",
            f"| publish + receive, 1 subscriber, exact topic | {ns(one)} | crossbeam-channel "
            f"send + recv: {ns(crossbeam)} | {x(ratio(one, crossbeam))} | 2x |",
            f"| publish to 16 subscribers, drain all | {ns(fan)} | `tokio::sync::broadcast`, "
            f"16 receivers: {ns(tokio)} | {x(ratio(fan, tokio))} | 1x |"]
    for n, value in crowd.items():
        goal = "100 ns" if n == 10_000 else ""
        rows.append(f"| publish, {n:,} subscriptions (1 matching) | {ns(value)} | | | {goal} |")
    chart("bus", "bus: ratios against their goals (criterion time)",
          ["publish+recv / crossbeam", "fan-out 16 / tokio broadcast", "10,000 subs / 100 ns"],
          [ratio(one, crossbeam), ratio(fan, tokio), ratio(crowd[10_000], 100.0)], [2.0, 1.0, 1.0],
          "ratio (log scale)")
    return rows + ["", "![bus ratios against their goals](benchmarks/bus.svg)"]


def audit() -> list[str]:
    memory = estimate("audit-append", "memory")
    leaf = estimate("audit-append", "sha256-of-leaf")
    rate = None if memory is None else 1e9 / memory
    rows = ["| case | charter | baseline | ratio | goal |", "|---|---:|---:|---:|---:|",
            f"| in-memory append, 200-byte record | {ns(memory)} "
            f"({'n/a' if rate is None else f'{rate / 1e3:,.0f}k/s'}) | SHA-256 of the leaf: "
            f"{ns(leaf)} | {x(ratio(memory, leaf))} | at least 1M/s, at most 2x |"]
    file = estimate("audit-append", "file-interval-10ms")
    file_rate = "n/a" if file is None else f"{1e9 / file / 1e3:,.0f}k/s"
    rows.append(f"| file append, `Interval(10 ms)` | {ns(file)} ({file_rate}) | | | at least 200k/s |")
    chart("audit", "audit in-memory append: ratios against their goals (criterion time)",
          ["append / leaf hash", "append time / 1 us (1M/s)"],
          [ratio(memory, leaf), ratio(memory, 1000.0)], [2.0, 1.0], "ratio (log scale)")
    return rows + ["", "![audit ratios against their goals](benchmarks/audit.svg)"]


def instructions(measured: dict[str, float]) -> list[str]:
    config = budgets.load()
    rows = ["| case | instructions per round | budget (+10% fails `make test`) | goal |",
            "|---|---:|---:|---:|"]
    for case in config["case"]:
        goal = f"{case['goal']:,}" if "goal" in case else ""
        rows.append(f"| {case['name']} | {measured[case['name']]:,.0f} | {case['budget']:,} | {goal} |")
    labels, ratios, goals = [], [], []
    for case in config["case"]:
        if "goal" in case:
            labels.append(case["name"].replace("registry ", "").replace("bus ", ""))
            ratios.append(measured[case["name"]] / case["goal"])
            goals.append(1.0)
    for n in (0, 1, 4, 16):
        rust = measured[f"registry notify, {n} handler{'' if n == 1 else 's'} (Rust)"]
        cabi = measured[f"registry notify, {n} handler{'' if n == 1 else 's'} (C ABI)"]
        labels.append(f"C ABI / Rust, {n}")
        ratios.append(cabi / rust)
        goals.append(1.3)
    append = measured["audit in-memory append, 200-byte record"]
    leaf = measured["audit leaf hash, 200-byte record (baseline)"]
    labels.append("audit append / leaf hash")
    ratios.append(append / leaf)
    goals.append(2.0)
    chart("instructions", "instruction counts (callgrind): ratios against their goals", labels,
          ratios, goals, "measured / goal basis (log scale)")
    return rows + ["", "![instruction ratios against their goals](benchmarks/instructions.svg)"]


def targets(measured: dict[str, float]) -> list[str]:
    """One row per target: measured, goal, met or missed, and why."""
    rows = ["| target | measured | goal | status | reason and next step (while missed) |",
            "|---|---:|---:|---|---|"]
    explained: set[str] = set()

    def row(target: str, shown: str, goal: str, value: float | None, limit: float, key: str):
        status, why = verdict(value, limit, key, explained)
        rows.append(f"| {target} | {shown} | {goal} | {status} | {why} |")

    names = {0: "0 handlers", 1: "1 handler", 4: "4 handlers", 16: "16 handlers", 64: "64 handlers"}
    io = {0: 32, 1: 55, 4: 106, 16: 310, 64: 1126}
    for n, label in names.items():
        rust = measured[f"registry notify, {label} (Rust)"]
        row(f"Rust `notify`, {label}: instructions vs registry-io", f"{rust:,.0f}", f"{io[n]}",
            rust, io[n], "notify-rust")
    for n, label in names.items():
        rust = measured[f"registry notify, {label} (Rust)"]
        cabi = measured[f"registry notify, {label} (C ABI)"]
        row(f"C ABI `notify`, {label}: vs Rust (instructions)", f"{cabi / rust:.2f}x", "1.3x",
            cabi / rust, 1.3, "notify-capi")
    for n in COUNTS:
        r = ratio(estimate("notify", "charter", str(n)), estimate("notify", "registry-io", str(n)))
        row(f"Rust `notify`, {n} handler{'' if n == 1 else 's'}: time vs registry-io", x(r), "0.8x", r, 0.8, "notify-rust")
    one = measured["bus publish + try_recv, 1 subscriber"]
    row("bus publish + try_recv: instructions", f"{one:,.0f}", "300", one, 300, "bus-one")
    hidden = measured["bus publish + try_recv, 1 subscriber, run-time topic"]
    row("bus publish + try_recv, run-time topic: instructions", f"{hidden:,.0f}", "300", hidden,
        300, "bus-one")
    r = ratio(estimate("publish_recv_1", "charter"), estimate("publish_recv_1", "crossbeam-channel"))
    row("bus publish + try_recv: time vs crossbeam", x(r), "2x", r, 2.0, "bus-one-time")
    fan = measured["bus publish to 16 subscribers + drain"]
    row("fan-out 16 + drain: instructions", f"{fan:,.0f}", "1,600", fan, 1600, "bus-fanout")
    r = ratio(estimate("fanout_16", "charter"), estimate("fanout_16", "tokio-broadcast"))
    row("fan-out 16 + drain: time vs tokio broadcast", x(r), "1x", r, 1.0, "bus-fanout-time")
    crowd = estimate("publish_among", "charter", "10000")
    row("publish among 10,000 subscriptions", ns(crowd), "100 ns", crowd, 100.0, "bus-crowded")
    memory = estimate("audit-append", "memory")
    r = ratio(memory, estimate("audit-append", "sha256-of-leaf"))
    row("audit in-memory append vs leaf hash (time)", x(r), "2x", r, 2.0, "audit-ratio")
    rate = None if memory is None else 1e9 / memory
    row("audit in-memory append rate", "n/a" if rate is None else f"{rate / 1e6:.2f}M/s", "1M/s",
        None if memory is None else memory, 1000.0, "audit-rate")
    binding_targets(row)
    return rows


def bridge_figures() -> dict | None:
    """The last NATS bridge bench's figures, or None when it has not run."""
    if not BRIDGE_FIGURES.exists():
        return None
    return json.loads(BRIDGE_FIGURES.read_text())


def bridge_path(figures: dict, size: int, path: str) -> dict | None:
    rows = [r for r in figures["paths"] if r["payload"] == size and r["path"] == path]
    return rows[0] if rows else None


def vs_raw(path: dict, raw: dict, key: str, field: str) -> float:
    """A bridged path's ratio to raw: the median of its rounds' own ratios
    (each against the raw run of its round) where the bench took turns,
    else the ratio of the two figures."""
    rounds = path.get(key)
    return statistics.median(rounds) if rounds else path[field] / raw[field]


def bridge_runs(figures: dict) -> list[str]:
    """The run's figures: each path against raw, wall clock and CPU time."""
    rows = ["| payload | path | msgs/s | vs raw | p50 latency | vs raw | clients' CPU per message | "
            "server's CPU per message |",
            "|---:|---|---:|---:|---:|---:|---:|---:|"]
    names = {"raw": "raw async-nats", "bridge": "bridge", "bare": "bridge, bare exports",
             "sealed": "bridge, sealed + verified"}
    for size in (16, 1024):
        raw = bridge_path(figures, size, "raw")
        for path, name in names.items():
            f = bridge_path(figures, size, path)
            if f is None or raw is None:
                continue
            label = "16 B" if size == 16 else "1 KiB"
            rows.append(f"| {label} | {name} | {f['msgs_per_s']:,.0f} | "
                        f"{x(vs_raw(f, raw, 'throughput_vs_raw', 'msgs_per_s'))} | {f['p50_us']:.0f} µs | "
                        f"{x(vs_raw(f, raw, 'p50_vs_raw', 'p50_us'))} | {f['client_cpu_us']:.2f} µs | "
                        f"{f['server_cpu_us']:.2f} µs |")
    labels, ratios, goals, floors = [], [], [], []
    for path, name in (("bridge", "default"), ("bare", "bare")):
        for size, label in ((16, "16 B"), (1024, "1 KiB")):
            raw, f = bridge_path(figures, size, "raw"), bridge_path(figures, size, path)
            if f is None or raw is None:
                continue
            labels += [f"msgs/s, {name}, {label}", f"p50, {name}, {label}"]
            ratios += [vs_raw(f, raw, "throughput_vs_raw", "msgs_per_s"), vs_raw(f, raw, "p50_vs_raw", "p50_us")]
            goals += [0.7, 1.3]
            floors += [True, False]
    chart("bridge", "unauthenticated bridge / raw async-nats: ratios against their goals",
          labels, ratios, goals, "ratio to raw (log scale)", floors)
    rows += ["", "![bridge ratios against their goals (throughput at least, p50 at most)](benchmarks/bridge.svg)"]
    verifier = figures.get("verifier", {})
    if verifier:
        rows += ["", "| verification on one core (CPU time) | per second |", "|---|---:|",
                 f"| one ring Ed25519 verify | {verifier['ed25519']:,.0f} |",
                 f"| the bridge's verifier, 16 B payload, each message signed alone | "
                 f"{verifier.get('16-alone', 0.0):,.0f} |",
                 f"| the bridge's verifier, 16 B payload, signed batches of 64 | {verifier['16']:,.0f} |",
                 f"| the bridge's verifier, 1 KiB payload, each message signed alone | "
                 f"{verifier.get('1024-alone', 0.0):,.0f} |",
                 f"| the bridge's verifier, 1 KiB payload, signed batches of 64 | {verifier['1024']:,.0f} |"]
    return rows


def bridge_targets(figures: dict) -> list[str]:
    """Issue #20's bridge targets: measured, goal, met or missed, and why."""
    rows = ["| target | measured | goal | status | reason and next step (while missed) |",
            "|---|---:|---:|---|---|"]
    explained: set[str] = set()
    # The default wire, then the opt-in bare exports (no header per message).
    for path, which, suffix in (("bridge", "", ""), ("bare", "-bare", " with bare exports")):
        for size, label in ((16, "16 B"), (1024, "1 KiB")):
            raw, plain = bridge_path(figures, size, "raw"), bridge_path(figures, size, path)
            r = None if raw is None or plain is None else vs_raw(plain, raw, "throughput_vs_raw", "msgs_per_s")
            status, why = verdict(r, 0.7, f"bridge-throughput{which}", explained, at_least=True)
            rows.append(f"| unauthenticated bridge{suffix} throughput vs raw async-nats, {label} | "
                        f"{x(r)} | at least 0.7x | {status} | {why} |")
        for size, label in ((16, "16 B"), (1024, "1 KiB")):
            raw, plain = bridge_path(figures, size, "raw"), bridge_path(figures, size, path)
            r = None if raw is None or plain is None else vs_raw(plain, raw, "p50_vs_raw", "p50_us")
            status, why = verdict(r, 1.3, f"bridge-latency{which}", explained)
            rows.append(f"| unauthenticated bridge{suffix} p50 latency vs raw async-nats, {label} | "
                        f"{x(r)} | at most 1.3x | {status} | {why} |")
    verifier = figures.get("verifier", {})
    for size, label in (("16", "16 B"), ("1024", "1 KiB")):
        rate = verifier.get(size)
        status, why = verdict(rate, 20000, "bridge-verify", explained, at_least=True)
        why = why.format(ed25519=verifier.get("ed25519", 0.0), alone=verifier.get(f"{size}-alone", 0.0))
        shown = "n/a" if rate is None else f"{rate:,.0f}/s"
        rows.append(f"| authenticated: verified messages per receiving core (CPU time), {label} | "
                    f"{shown} | at least 20,000/s | {status} | {why} |")
    return rows
def results(name: str) -> dict | None:
    """A binding's results file in target/bench-results/, or None."""
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def go_batch() -> tuple[float | None, float | None, str]:
    """BenchmarkBatch's figures per message (median over -count runs): the
    batch, a buffered channel's single round trip, and the unit: the
    thread's CPU time (cpu-ns/msg) where the run has it, else the clock."""
    path = RESULTS / "go-bench.txt"
    if not path.exists():
        return None, None, ""
    lines = path.read_text().splitlines()

    def median(name: str, unit: str) -> float | None:
        # The name, then "-N" (GOMAXPROCS, when above 1) or the columns.
        pattern = re.compile(rf"BenchmarkBatch/{re.escape(name)}(?:-\d+)?\s.*\s([\d.]+) {unit}")
        xs = sorted(float(m.group(1)) for m in map(pattern.match, lines) if m)
        return xs[len(xs) // 2] if xs else None

    for unit, shown in (("cpu-ns/msg", "CPU time"), ("ns/msg", "clock")):
        batch, channel = median("publish-batch-recv-many-64", unit), median("buffered-channel-1", unit)
        if batch is not None and channel is not None:
            return batch, channel, shown
    return None, None, ""


def binding_targets(row) -> None:
    """The bindings' rows of the targets table: batches of 64 against each
    language's own baseline, and Python's single message against pyzmq."""
    node = results("node-batch.json")
    if node is not None:
        cases = node["cases"]
        r = ratio(cases["publishMany + recvMany, 64 a call"]["cpu"], cases["EventEmitter.emit, 1 listener"]["cpu"])
    else:
        r = None
    row("Node `publishMany` + `recvMany`, 64 a call: per message vs `emit` (CPU time)", x(r), "10x",
        r, 10.0, "node-batch")
    batch, channel, clock = go_batch()
    r = ratio(batch, channel)
    row(f"Go `PublishBatch` + `RecvMany`, 64 a call: per message vs a channel round trip ({clock or 'n/a'})",
        x(r), "3x", r, 3.0, "go-batch")
    python = results("python-bus.json")
    cases = python["cases"] if python is not None else {}
    r = ratio(cases.get("publish_many(64) + recv_many(64)"), cases.get("SimpleQueue 64 puts + 64 gets"))
    clock = f" ({python['clock']})" if python is not None and "clock" in python else ""
    row(f"Python `publish_many` + `recv_many`, 64 a call: per message vs `SimpleQueue` (64 puts, 64 gets){clock}",
        x(r), "2x", r, 2.0, "python-batch")
    r = ratio(cases.get("publish + recv"), cases.get("pyzmq inproc PUSH send + PULL recv"))
    row(f"Python `publish` + `recv` vs pyzmq inproc PUSH `send` + PULL `recv`{clock}", x(r), "under 1x",
        r, 1.0, "python-pyzmq")


def replace(doc: str, name: str, lines: list[str]) -> str:
    pattern = re.compile(rf"(<!-- report:{name} -->\n).*?(<!-- /report:{name} -->)", re.S)
    if not pattern.search(doc):
        sys.exit(f"docs/BENCHMARKS.md has no <!-- report:{name} --> section")
    return pattern.sub(lambda m: m.group(1) + "\n".join(lines) + "\n" + m.group(2), doc)


def main() -> None:
    doc = DOC.read_text()
    figures = bridge_figures()
    if figures is not None:
        doc = replace(doc, "bridge-targets", bridge_targets(figures))
        doc = replace(doc, "bridge", bridge_runs(figures))
    if "--bridge" in sys.argv[1:]:
        DOC.write_text(doc)
        print(f"regenerated the bridge tables of {DOC.relative_to(ROOT)}"
              + ("" if figures else f" (none: no {BRIDGE_FIGURES.relative_to(ROOT)})"))
        return
    measured = budgets.measured_by_name()
    for name, lines in [("targets", targets(measured)), ("instructions", instructions(measured)),
                        ("registry", registry()), ("registry-async", registry_async()),
                        ("bus", bus()), ("audit", audit())]:
        doc = replace(doc, name, lines)
    DOC.write_text(doc)
    print(f"regenerated {DOC.relative_to(ROOT)} and {CHARTS.relative_to(ROOT)}/*.svg")


if __name__ == "__main__":
    main()
