"""Handlers that publish again: the core bounds the nesting, so no recursion
reaches a native stack overflow, and every failure reaches ``on_error``."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import charter
from charter import Bus, Message

# The core's bound on publishes of one bus nested on one thread.
MAX_NESTING = 16


def depth() -> int:
    """How many frames the calling thread has on its stack."""
    frame = sys._getframe(1)
    n = 0
    while frame is not None:
        n += 1
        frame = frame.f_back  # type: ignore[assignment]
    return n


@contextmanager
def recursion_limit(limit: int) -> Iterator[None]:
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def test_a_handler_publishing_to_its_own_topic_stops_at_the_bound() -> None:
    errors: list[BaseException] = []
    with recursion_limit(5000), Bus(on_error=lambda _id, e: errors.append(e)) as bus:
        calls = [0]

        def again(message: Message) -> None:
            calls[0] += 1
            bus.publish("loop", b"")

        bus.subscribe("loop", again)
        bus.publish("loop", b"")
        assert calls[0] == MAX_NESTING
        assert [type(e) for e in errors] == [charter.LimitExceededError]
        assert "nested more than 16 levels" in str(errors[0])
        stats = bus.stats()
        assert stats.depth_exceeded == 1
        assert stats.subscriptions.handler_failures == 1


def test_two_buses_ping_ponging_are_bounded() -> None:
    errors: list[BaseException] = []
    hook = lambda _id, e: errors.append(e)  # noqa: E731
    with recursion_limit(5000), Bus(on_error=hook) as a, Bus(on_error=hook) as b:
        calls = [0]

        def to(other: Bus):  # type: ignore[no-untyped-def]
            def handler(message: Message) -> None:
                calls[0] += 1
                other.publish("ping", b"")

            return handler

        a.subscribe("ping", to(b))
        b.subscribe("ping", to(a))
        a.publish("ping", b"")
        assert calls[0] <= 2 * MAX_NESTING
        assert a.stats().depth_exceeded + b.stats().depth_exceeded == 1
        assert any(isinstance(e, charter.LimitExceededError) for e in errors)


def test_a_thread_handler_publishing_to_its_own_topic_stops_at_the_bound() -> None:
    # A handler thread has a small native stack (2 MiB): the bound must
    # hold there too.
    errors: list[BaseException] = []
    done = threading.Event()
    def record(_id: int, error: BaseException) -> None:
        errors.append(error)
        done.set()

    with recursion_limit(1500), Bus(on_error=record) as bus:
        inner = [0]

        def deeper(message: Message) -> None:
            inner[0] += 1
            bus.publish("inner", b"")

        bus.subscribe("inner", deeper)
        bus.subscribe("outer", lambda m: bus.publish("inner", b""), dispatch="thread")
        bus.publish("outer", b"")
        assert done.wait(10.0)
        # The handler thread holds one level of its bus for as long as it runs.
        assert inner[0] == MAX_NESTING - 1
        assert isinstance(errors[0], charter.LimitExceededError)


def test_a_recursion_error_at_the_default_limit_reaches_on_error() -> None:
    errors: list[BaseException] = []
    with Bus(on_error=lambda _id, e: errors.append(e)) as bus:

        def runaway(n: int) -> int:
            return runaway(n + 1) + 1

        bus.subscribe("deep", lambda m: runaway(0))

        def near_the_limit(n: int) -> None:
            if n > 0:
                near_the_limit(n - 1)
            else:
                bus.publish("deep", b"")

        # Publish from close to the limit: the hook itself must still run.
        near_the_limit(sys.getrecursionlimit() - depth() - 15)
        assert [type(e) for e in errors] == [RecursionError]
        assert bus.stats().subscriptions.handler_failures == 1


@pytest.mark.parametrize("dispatch", ["inline", "thread"])
def test_a_recursion_error_in_a_handler_reaches_on_error(dispatch: str) -> None:
    errors: list[BaseException] = []
    done = threading.Event()
    def record(_id: int, error: BaseException) -> None:
        errors.append(error)
        done.set()

    with Bus(on_error=record) as bus:

        def runaway(n: int) -> int:
            return runaway(n + 1) + 1

        bus.subscribe("deep", lambda m: runaway(0), dispatch=dispatch)  # type: ignore[arg-type]
        bus.publish("deep", b"")
        assert done.wait(10.0)
        assert [type(e) for e in errors] == [RecursionError]
