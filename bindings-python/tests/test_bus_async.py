"""asyncio: recv_async, async for, and cancellation that never loses a message."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import List

import pytest

import charter
from charter import Bus


def test_recv_async_returns_a_queued_message(bus: Bus) -> None:
    sub = bus.subscribe("t")
    bus.publish("t", b"ready")
    assert asyncio.run(sub.recv_async()).payload == b"ready"


def test_recv_async_waits_without_blocking_the_loop(bus: Bus) -> None:
    sub = bus.subscribe("t")

    async def main() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.ensure_future(ticker())
        asyncio.get_running_loop().call_later(0.2, bus.publish, "t", b"x")
        message = await sub.recv_async(timeout=10.0)
        ticking.cancel()
        assert message.payload == b"x"
        return ticks

    assert asyncio.run(main()) >= 5


def test_recv_async_times_out(bus: Bus) -> None:
    sub = bus.subscribe("t")
    start = time.monotonic()
    with pytest.raises(charter.TimeoutError, match="no message within 0.1 s"):
        asyncio.run(sub.recv_async(timeout=0.1))
    assert 0.09 <= time.monotonic() - start < 5
    with pytest.raises(charter.InvalidArgumentError):
        sub.recv_async(timeout=-1).close()


def test_async_for_ends_when_the_subscription_closes(bus: Bus) -> None:
    sub = bus.subscribe("t.*")
    for i in range(3):
        bus.publish(f"t.{i}", b"")

    async def main() -> List[str]:
        seen: List[str] = []
        async for message in sub:
            seen.append(message.topic)
            if len(seen) == 3:
                asyncio.get_running_loop().call_later(0.05, sub.close)
        return seen

    assert asyncio.run(main()) == ["t.0", "t.1", "t.2"]


def test_closing_the_bus_wakes_recv_async() -> None:
    bus = Bus()
    sub = bus.subscribe("t")

    async def main() -> None:
        asyncio.get_running_loop().call_later(0.05, bus.close)
        with pytest.raises(charter.ClosedError):
            await sub.recv_async(timeout=30.0)

    asyncio.run(main())


def test_a_cancelled_recv_async_loses_nothing_and_keeps_order(bus: Bus) -> None:
    sub = bus.subscribe("t")

    async def main() -> None:
        waiting = asyncio.ensure_future(sub.recv_async())
        await asyncio.sleep(0.02)  # its worker thread is waiting now
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert sub._settling(), "its wait is abandoned, still running"
        # The abandoned wait is the only receiver: it takes "1" and hands it back.
        bus.publish("t", b"1")
        bus.publish("t", b"2")
        assert (await sub.recv_async(timeout=5.0)).payload == b"1"
        assert sub.recv(timeout=5.0).payload == b"2"
        assert sub.try_recv() is None

    asyncio.run(main())
    stats = sub.stats()
    assert (stats.received, stats.delivered, stats.queued) == (2, 2, 0)


def test_cancelled_just_as_the_message_arrives(bus: Bus) -> None:
    sub = bus.subscribe("t")

    async def main() -> None:
        for i in range(20):
            waiting = asyncio.ensure_future(sub.recv_async())
            await asyncio.sleep(0.005)
            bus.publish("t", bytes([i]))
            time.sleep(0.001 * (i % 3))  # let the worker take it, or not
            waiting.cancel()
            try:
                message = await waiting
            except asyncio.CancelledError:
                message = sub.recv(timeout=5.0)
            assert message.payload == bytes([i])
            assert sub.try_recv() is None

    asyncio.run(main())


def test_wait_for_timeouts_racing_a_publisher_lose_nothing(bus: Bus) -> None:
    """Many receives cancelled at random moments while messages arrive: each
    message is received exactly once, in order."""
    sub = bus.subscribe("t", capacity=10_000)
    count = 300

    def publisher() -> None:
        for n in range(count):
            bus.publish("t", n.to_bytes(2, "big"))
            time.sleep(0.0003)

    async def main() -> List[int]:
        got: List[int] = []
        rng = random.Random(7)
        while len(got) < count:
            try:
                message = await asyncio.wait_for(sub.recv_async(), timeout=rng.uniform(0.0002, 0.003))
            except asyncio.TimeoutError:
                continue
            got.append(int.from_bytes(message.payload, "big"))
        return got

    thread = threading.Thread(target=publisher)
    thread.start()
    got = asyncio.run(main())
    thread.join(60.0)
    assert got == list(range(count))
    assert sub.try_recv() is None
