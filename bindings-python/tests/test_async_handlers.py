"""Async handlers: the registry awaits them in `notify_async` (together or
one after another), the bus awaits them on the loop they subscribed from;
each failure is isolated, counted and reported, never raised into the loop;
where nothing can await a handler, it fails explicitly."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
import warnings
from typing import Any, List, Tuple

import pytest

import charter
from charter import Bus, Message, NotifyReport, Registry


def test_notify_async_awaits_async_handlers_together(registry: Registry) -> None:
    log: List[str] = []

    def handler(name: str, delay: float) -> Any:
        async def run(event: object) -> None:
            log.append(f"{name} start")
            await asyncio.sleep(delay)
            log.append(f"{name} end")

        return run

    registry.register(handler("slow", 0.05), priority=1)
    registry.register(handler("fast", 0.0))
    report = asyncio.run(registry.notify_async("e"))
    assert report == NotifyReport(delivered=2)
    assert log == ["slow start", "fast start", "fast end", "slow end"]

    log.clear()
    report = asyncio.run(registry.notify_async("e", sequential=True))
    assert report == NotifyReport(delivered=2)
    assert log == ["slow start", "slow end", "fast start", "fast end"]


def test_sync_and_async_handlers_mix(registry: Registry) -> None:
    seen: List[object] = []

    async def later(event: object) -> None:
        await asyncio.sleep(0)
        seen.append(("async", event))

    registry.register(lambda e: seen.append(("sync", e)))
    registry.register(later)
    assert asyncio.run(registry.notify_async(7)) == NotifyReport(delivered=2)
    assert sorted(seen, key=str) == [("async", 7), ("sync", 7)]


@pytest.mark.parametrize("sequential", [False, True])
def test_async_failures_are_isolated_counted_and_reported(sequential: bool) -> None:
    failures: List[Tuple[int, BaseException]] = []
    ran: List[str] = []
    registry = Registry(on_error=lambda i, e: failures.append((i, e)))

    async def bad(event: object) -> None:
        await asyncio.sleep(0)
        raise ValueError("async boom")

    async def good(event: object) -> None:
        ran.append("good")

    def sync_bad(event: object) -> None:
        raise KeyError("sync boom")

    bad_id = registry.register(bad, priority=2)
    registry.register(good, priority=1)
    sync_id = registry.register(sync_bad)

    async def main() -> NotifyReport:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: ran.append(f"loop saw {context}"))
        return await registry.notify_async("e", sequential=sequential)

    report = asyncio.run(main())
    assert report == NotifyReport(delivered=1, failed=2)
    assert ran == ["good"], "the loop never saw the failure"
    assert sorted((i, type(e)) for i, e in failures) == sorted([(bad_id, ValueError), (sync_id, KeyError)])
    registry.close()


def test_async_failures_without_a_hook_go_to_unraisablehook(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: List[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)

    async def bad(event: object) -> None:
        raise ValueError("nobody listens")

    registry.register(bad)
    assert asyncio.run(registry.notify_async("e")) == NotifyReport(failed=1)
    assert len(seen) == 1 and isinstance(seen[0].exc_value, ValueError)


def test_plain_notify_refuses_an_async_handler_explicitly(registry: Registry) -> None:
    failures: List[BaseException] = []
    registry.on_error = lambda i, e: failures.append(e)
    ran: List[object] = []

    async def handler(event: object) -> None:
        ran.append(event)

    registry.register(handler)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "coroutine was never awaited"
        assert registry.notify("e") == NotifyReport(failed=1)
        gc.collect()
    assert ran == []
    assert isinstance(failures[0], TypeError)
    assert "notify_async" in str(failures[0])


def test_notify_async_on_a_closed_registry() -> None:
    registry = Registry()
    registry.close()
    with pytest.raises(charter.ClosedError):
        registry.notify_async("e").close()


def test_notify_async_respects_nesting_and_interrupts(registry: Registry) -> None:
    def interrupt(event: object) -> None:
        raise KeyboardInterrupt

    registry.register(interrupt)
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(registry.notify_async("e"))


def test_a_bus_async_handler_runs_on_its_loop_in_order(bus: Bus) -> None:
    seen: List[Tuple[bytes, bool]] = []

    async def main() -> None:
        loop_thread = threading.get_ident()

        async def handler(message: Message) -> None:
            await asyncio.sleep(0.001)
            seen.append((message.payload, threading.get_ident() == loop_thread))

        sub = bus.subscribe("t", handler)
        for i in range(20):
            bus.publish("t", bytes([i]))
        while len(seen) < 20:
            await asyncio.sleep(0.01)
        stats = sub.stats()
        assert (stats.delivered, stats.handler_failures) == (20, 0)

    asyncio.run(main())
    assert seen == [(bytes([i]), True) for i in range(20)]


def test_a_bus_async_handler_failure_is_counted_and_reported() -> None:
    failures: List[Tuple[int, BaseException]] = []
    bus = Bus(on_error=lambda i, e: failures.append((i, e)))

    async def main() -> None:
        async def handler(message: Message) -> None:
            if message.payload == b"bad":
                raise ValueError("handler failed")

        sub = bus.subscribe("t", handler)
        for payload in (b"ok", b"bad", b"ok"):
            bus.publish("t", payload)
        deadline = time.monotonic() + 10
        while sub.stats().delivered < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        stats = sub.stats()
        assert (stats.delivered, stats.handler_failures) == (3, 1)
        assert [(i, type(e)) for i, e in failures] == [(sub.id, ValueError)]

    asyncio.run(main())
    bus.close()


def test_a_bus_async_handler_needs_a_running_loop_and_a_thread(bus: Bus) -> None:
    async def handler(message: Message) -> None:
        pass

    with pytest.raises(charter.InvalidArgumentError, match="none is running"):
        bus.subscribe("t", handler)

    async def main() -> None:
        with pytest.raises(charter.InvalidArgumentError, match="cannot run inline"):
            bus.subscribe("t", handler, dispatch="inline")
        bus.subscribe("t", handler, dispatch="thread").close()

    asyncio.run(main())
    assert bus.stats().live_subscriptions == 0


def test_a_plain_bus_handler_returning_a_coroutine_fails_explicitly() -> None:
    failures: List[BaseException] = []
    bus = Bus(on_error=lambda i, e: failures.append(e))

    async def work() -> None:
        pass

    sub = bus.subscribe("t", lambda m: work())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bus.publish("t", b"")
        gc.collect()
    assert sub.stats().handler_failures == 1
    assert isinstance(failures[0], TypeError) and "async def" in str(failures[0])
    bus.close()


def test_closing_the_bus_from_its_loop_while_an_async_handler_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    unraisable: List[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    bus = Bus()
    started = threading.Event()

    async def main() -> None:
        async def handler(message: Message) -> None:
            started.set()
            await asyncio.sleep(60)

        sub = bus.subscribe("t", handler)
        bus.publish("t", b"")
        while not started.is_set():
            await asyncio.sleep(0.01)
        begin = time.monotonic()
        bus.close()  # joins the handler's thread, which waits for this loop
        assert time.monotonic() - begin < 5
        assert sub.stats().handler_failures == 1, "cancelled by the close: counted as failed"

    asyncio.run(main())
    assert [type(u.exc_value).__name__ for u in unraisable] == ["CancelledError"]
