"""Overflow policies, and exact accounting with publishers on several threads."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Callable, Dict, List

import pytest
from conftest import JOIN_TIMEOUT, run_all

import charter
from charter import Bus, Drops, PublishReport, SubscriptionStats


def test_drop_oldest_keeps_the_newest(bus: Bus) -> None:
    sub = bus.subscribe("t", capacity=3)
    reports = [bus.publish("t", bytes([i])) for i in range(5)]
    assert reports == [PublishReport(1, 1, 0)] * 5, "the new message is always taken"
    assert [sub.recv(timeout=1.0).payload[0] for _ in range(3)] == [2, 3, 4]
    assert sub.stats().dropped == Drops(overflow=2)


def test_drop_newest_keeps_the_oldest(bus: Bus) -> None:
    sub = bus.subscribe("t", capacity=3, overflow=charter.DROP_NEWEST)
    reports = [bus.publish("t", bytes([i])) for i in range(5)]
    assert reports == [PublishReport(1, 1, 0)] * 3 + [PublishReport(1, 0, 1)] * 2
    assert [sub.recv(timeout=1.0).payload[0] for _ in range(3)] == [0, 1, 2]
    assert sub.stats().dropped == Drops(overflow=2)


def test_error_refuses_and_the_others_still_get_it(bus: Bus) -> None:
    strict = bus.subscribe("t", capacity=2, overflow=charter.ERROR_ON_FULL)
    relaxed = bus.subscribe("t")
    bus.publish("t", b"1")
    bus.publish("t", b"2")
    with pytest.raises(charter.LimitExceededError, match="1 of 2 subscriptions accepted it"):
        bus.publish("t", b"3")
    assert [relaxed.recv(timeout=1.0).payload for _ in range(3)] == [b"1", b"2", b"3"]
    assert [strict.recv(timeout=1.0).payload for _ in range(2)] == [b"1", b"2"]
    assert strict.stats().dropped == Drops(rejected=1)


def test_max_bytes_counts_topic_payload_and_headers(bus: Bus) -> None:
    sub = bus.subscribe("t", max_bytes=10, overflow=charter.DROP_NEWEST)
    assert bus.publish("t", b"123456789").delivered == 1  # 1 + 9 bytes
    assert bus.publish("t", b"").dropped == 1, "the topic alone no longer fits"
    assert sub.recv(timeout=1.0).payload == b"123456789"
    assert bus.publish("t", b"1", {"k": "12345678"}).dropped == 1
    strict = bus.subscribe("u", max_bytes=4, overflow=charter.ERROR_ON_FULL)
    with pytest.raises(charter.LimitExceededError, match="can never fit"):
        bus.publish("u", b"1234")
    assert strict.stats().dropped == Drops(rejected=1)


def test_block_waits_for_a_python_consumer(bus: Bus) -> None:
    """The publisher waits without the GIL, or the consumer thread could never run."""
    sub = bus.subscribe("t", capacity=1, overflow=charter.Block(10.0))
    bus.publish("t", b"1")
    got: list[bytes] = []

    def consumer() -> None:
        time.sleep(0.1)
        got.append(sub.recv(timeout=5.0).payload)

    thread = threading.Thread(target=consumer)
    thread.start()
    start = time.monotonic()
    assert bus.publish("t", b"2") == PublishReport(1, 1, 0)
    assert time.monotonic() - start >= 0.05
    thread.join(JOIN_TIMEOUT)
    assert got == [b"1"]
    assert sub.recv(timeout=1.0).payload == b"2"


def test_block_times_out(bus: Bus) -> None:
    sub = bus.subscribe("t", capacity=1, overflow=charter.Block(0.05))
    bus.publish("t", b"1")
    start = time.monotonic()
    with pytest.raises(charter.TimeoutError, match="stayed full"):
        bus.publish("t", b"2")
    assert time.monotonic() - start >= 0.04
    assert sub.stats().dropped == Drops(timeout=1)


def test_block_is_released_by_close(bus: Bus) -> None:
    sub = bus.subscribe("t", capacity=1, overflow=charter.Block(30.0))
    bus.publish("t", b"1")
    threading.Timer(0.1, sub.close).start()
    start = time.monotonic()
    assert bus.publish("t", b"2") == PublishReport(1, 0, 1)
    assert time.monotonic() - start < 10
    assert sub.stats().dropped == Drops(closed=2)


def test_block_inside_a_handler_of_the_same_bus_would_block(bus: Bus) -> None:
    full = bus.subscribe("full", capacity=1, overflow=charter.Block(30.0))
    bus.publish("full", b"1")
    errors: list[BaseException] = []

    def handler(message: charter.Message) -> None:
        try:
            bus.publish("full", b"2")
        except charter.WouldBlockError as exc:
            errors.append(exc)

    bus.subscribe("go", handler)
    start = time.monotonic()
    bus.publish("go", b"")
    assert time.monotonic() - start < 10
    assert len(errors) == 1
    assert full.stats().dropped == Drops(timeout=1)


def unaccounted(stats: SubscriptionStats) -> int:
    """Received but neither delivered, dropped nor queued: 0 once publishes are done."""
    return stats.received - (stats.delivered + stats.dropped.total + stats.queued)


PUBLISHERS = 4
PER_PUBLISHER = 400


@pytest.mark.parametrize(
    "overflow",
    [charter.DROP_OLDEST, charter.DROP_NEWEST, charter.ERROR_ON_FULL, charter.Block(0.002)],
    ids=lambda o: o.policy,
)
def test_accounting_is_exact_with_four_publishers(bus: Bus, overflow: charter.Overflow) -> None:
    sub = bus.subscribe("acct.*", capacity=16, overflow=overflow)
    lock = threading.Lock()
    outcomes: Dict[str, int] = defaultdict(int)
    received: Dict[str, List[int]] = defaultdict(list)
    snapshots: List[SubscriptionStats] = []
    publishing = threading.Semaphore(0)

    def publisher(name: str) -> Callable[[], None]:
        def run() -> None:
            try:
                for n in range(PER_PUBLISHER):
                    try:
                        report = bus.publish(f"acct.{name}", n.to_bytes(2, "big"))
                    except (charter.LimitExceededError, charter.TimeoutError):
                        outcome = "refused"
                    else:
                        assert report.matched == 1
                        outcome = "taken" if report.delivered else "dropped"
                    with lock:
                        outcomes[outcome] += 1
            finally:
                publishing.release()

        return run

    def consumer() -> None:
        done = 0
        while True:
            message = sub.try_recv()
            if message is not None:
                received[message.topic].append(int.from_bytes(message.payload, "big"))
            elif done == PUBLISHERS:
                return
            else:
                snapshots.append(sub.stats())
                time.sleep(0.0005)
            if publishing.acquire(blocking=False):
                done += 1

    run_all([publisher(str(i)) for i in range(PUBLISHERS)] + [consumer], together=True)

    stats = sub.stats()
    total = PUBLISHERS * PER_PUBLISHER
    assert stats.received == total
    assert stats.queued == 0
    assert unaccounted(stats) == 0
    # While they run, only publishers waiting for room in a Block queue
    # have a message that is counted as received and not yet anything else.
    in_flight = PUBLISHERS if overflow.policy == "block" else 0
    assert all(0 <= unaccounted(s) <= in_flight for s in snapshots)
    assert stats.delivered == sum(len(v) for v in received.values())
    assert outcomes["taken"] + outcomes["dropped"] + outcomes["refused"] == total
    if overflow == charter.DROP_OLDEST:
        assert outcomes["dropped"] == outcomes["refused"] == 0
        assert stats.dropped == Drops(overflow=total - stats.delivered)
    else:
        assert stats.delivered == outcomes["taken"]
        assert stats.dropped.total == outcomes["dropped"] + outcomes["refused"]
    for seqs in received.values():
        assert seqs == sorted(seqs), "FIFO per publisher"
