"""Handler subscriptions: inline and on their own thread, failures, re-entering the bus."""

from __future__ import annotations

import gc
import sys
import threading
import time
import weakref
from typing import Any, Callable, List, Literal, Tuple

import pytest

import charter
from charter import Bus, Message, PublishReport

Dispatch = Literal["inline", "thread"]
DISPATCHES: List[Dispatch] = ["inline", "thread"]


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.002)


def test_inline_handlers_run_on_the_publishing_thread(bus: Bus) -> None:
    calls: List[Tuple[str, int]] = []
    sub = bus.subscribe("t.*", lambda m: calls.append((m.topic, threading.get_ident())))
    assert bus.publish("t.a", b"") == PublishReport(1, 1, 0)
    assert calls == [("t.a", threading.get_ident())]
    assert sub.stats().delivered == 1


def test_thread_handlers_run_in_order_on_their_own_thread(bus: Bus) -> None:
    calls: List[Tuple[bytes, int]] = []
    sub = bus.subscribe("t", lambda m: calls.append((m.payload, threading.get_ident())), dispatch="thread")
    for i in range(50):
        bus.publish("t", bytes([i]))
    wait_until(lambda: len(calls) == 50)
    assert [p for p, _ in calls] == [bytes([i]) for i in range(50)]
    threads = {t for _, t in calls}
    assert len(threads) == 1 and threading.get_ident() not in threads
    assert sub.stats().delivered == 50


def test_a_handler_subscription_lives_on_without_its_handle(bus: Bus) -> None:
    seen: List[bytes] = []
    bus.subscribe("t", lambda m: seen.append(m.payload))
    gc.collect()
    bus.publish("t", b"still here")
    assert seen == [b"still here"]


@pytest.mark.parametrize("dispatch", DISPATCHES)
def test_exceptions_go_to_on_error_and_are_counted(dispatch: Dispatch) -> None:
    errors: List[Tuple[int, BaseException]] = []
    with Bus(on_error=lambda sid, exc: errors.append((sid, exc))) as bus:

        def failing(message: Message) -> None:
            raise ValueError(message.payload)

        sub = bus.subscribe("t", failing, dispatch=dispatch)
        assert bus.publish("t", b"boom") == PublishReport(1, 1, 0)
        # The failure is counted once the handler has returned.
        wait_until(lambda: sub.stats().handler_failures == 1)
        assert sub.stats().delivered == 1
        [(sid, exc)] = errors
        assert sid == sub.id
        assert isinstance(exc, ValueError) and exc.args == (b"boom",)
        assert exc.__traceback__ is not None


def test_an_exception_in_on_error_goes_to_sys_unraisablehook(monkeypatch: pytest.MonkeyPatch) -> None:
    unraisable: List[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    def bad_hook(sid: int, exc: BaseException) -> None:
        raise RuntimeError("hook failed")

    with Bus(on_error=bad_hook) as bus:
        bus.subscribe("t", lambda m: 1 / 0)
        assert bus.publish("t", b"") == PublishReport(1, 1, 0)
    [u] = unraisable
    assert isinstance(u.exc_value, RuntimeError) and u.object is bad_hook


@pytest.mark.parametrize("dispatch", ["inline", "thread"])
def test_without_on_error_a_failure_goes_to_sys_unraisablehook(
    dispatch: Dispatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """publish still reports the failure; the exception is not lost."""
    unraisable: List[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    def handler(message: Message) -> None:
        raise ValueError(message.payload)

    with Bus() as bus:
        sub = bus.subscribe("t", handler, dispatch=dispatch)
        assert bus.publish("t", b"lost?").delivered == 1
        wait_until(lambda: sub.stats().handler_failures == 1)
    [u] = unraisable
    assert isinstance(u.exc_value, ValueError) and u.exc_value.args == (b"lost?",)
    assert u.object is handler


def test_keyboard_interrupt_in_an_inline_handler_reaches_the_publisher(bus: Bus) -> None:
    calls: List[str] = []
    hooked: List[BaseException] = []
    bus.on_error = lambda sid, exc: hooked.append(exc)

    def interrupting(message: Message) -> None:
        calls.append("interrupting")
        raise KeyboardInterrupt

    bus.subscribe("t", interrupting)
    sibling = bus.subscribe("t", lambda m: calls.append("sibling"))
    with pytest.raises(KeyboardInterrupt):
        bus.publish("t", b"")
    assert calls == ["interrupting", "sibling"], "the publish finishes first"
    assert hooked == []
    assert sibling.stats().delivered == 1
    bus.publish("u", b"")  # nothing left pending


def test_keyboard_interrupt_in_a_thread_handler_goes_to_on_error(bus: Bus) -> None:
    hooked: List[BaseException] = []
    bus.on_error = lambda sid, exc: hooked.append(exc)

    def interrupting(message: Message) -> None:
        raise KeyboardInterrupt

    sub = bus.subscribe("t", interrupting, dispatch="thread")
    assert bus.publish("t", b"") == PublishReport(1, 1, 0)
    wait_until(lambda: sub.stats().handler_failures == 1)
    [interrupt] = hooked
    assert isinstance(interrupt, KeyboardInterrupt)


@pytest.mark.parametrize("dispatch", DISPATCHES)
def test_a_handler_may_publish_and_subscribe(bus: Bus, dispatch: Dispatch) -> None:
    received = bus.subscribe("out")
    added: List[charter.Subscription] = []

    def handler(message: Message) -> None:
        bus.publish("out", message.payload + b"!")
        if not added:
            added.append(bus.subscribe("in", lambda m: bus.publish("out", b"second")))

    bus.subscribe("in", handler, dispatch=dispatch)
    bus.publish("in", b"first")
    assert received.recv(timeout=10.0).payload == b"first!"
    wait_until(lambda: len(added) == 1)
    bus.publish("in", b"again")
    payloads = {received.recv(timeout=10.0).payload for _ in range(2)}
    assert payloads == {b"again!", b"second"}


@pytest.mark.parametrize("dispatch", DISPATCHES)
def test_a_handler_may_close_its_own_subscription(bus: Bus, dispatch: Dispatch) -> None:
    calls: List[bytes] = []
    subs: List[charter.Subscription] = []

    def once(message: Message) -> None:
        calls.append(message.payload)
        subs[0].close()

    subs.append(bus.subscribe("t", once, dispatch=dispatch))
    bus.publish("t", b"1")
    wait_until(lambda: subs[0].closed)
    assert bus.publish("t", b"2").matched == 0
    assert calls == [b"1"]


@pytest.mark.parametrize("dispatch", DISPATCHES)
def test_a_handler_may_close_the_bus(dispatch: Dispatch) -> None:
    bus = Bus()
    outcomes: List[str] = []
    others = bus.subscribe("t", lambda m: time.sleep(0.01), dispatch="thread")

    def closer(message: Message) -> None:
        bus.close()
        try:
            bus.publish("t", b"")
        except charter.ClosedError:
            outcomes.append("closed")

    bus.subscribe("t", closer, dispatch=dispatch)
    bus.publish("t", b"")
    wait_until(lambda: outcomes == ["closed"])
    assert bus.closed and others.closed


def test_close_waits_for_a_running_thread_handler(bus: Bus) -> None:
    """Closing joins the handler's thread, which needs the GIL meanwhile."""
    log: List[str] = []
    started = threading.Event()

    def slow(message: Message) -> None:
        started.set()
        time.sleep(0.1)
        log.append("handler done")

    sub = bus.subscribe("t", slow, dispatch="thread")
    bus.publish("t", b"")
    assert started.wait(10.0)
    sub.close()
    log.append("closed")
    assert log == ["handler done", "closed"]


def test_closing_the_bus_runs_queued_thread_handlers_no_further(bus: Bus) -> None:
    calls: List[bytes] = []
    started, gate = threading.Event(), threading.Event()

    def handler(message: Message) -> None:
        started.set()
        gate.wait(10.0)
        calls.append(message.payload)

    sub = bus.subscribe("t", handler, dispatch="thread")
    for i in range(5):
        bus.publish("t", bytes([i]))
    assert started.wait(10.0)
    threading.Timer(0.05, gate.set).start()
    bus.close()
    assert calls == [bytes([0])], "the running call finishes; the queued ones are dropped"
    assert sub.stats() == charter.SubscriptionStats(received=5, delivered=1, dropped=charter.Drops(closed=4))


@pytest.mark.parametrize("dispatch", DISPATCHES)
def test_the_handler_is_released_when_its_subscription_ends(dispatch: Dispatch) -> None:
    class Handler:
        def __call__(self, message: Message) -> None:
            pass

    with Bus() as bus:
        handler = Handler()
        alive = weakref.ref(handler)
        sub = bus.subscribe("t", handler, dispatch=dispatch)
        del handler
        bus.publish("t", b"")
        assert alive() is not None
        sub.close()
        assert alive() is None
        handler2 = Handler()
        alive2 = weakref.ref(handler2)
        bus.subscribe("t", handler2, dispatch=dispatch)
        del handler2
    assert alive2() is None, "closing the bus releases handlers too"


def test_thread_handlers_and_publishers_on_several_threads(bus: Bus) -> None:
    counts = [0, 0]
    lock = threading.Lock()

    def handler(index: int) -> Callable[[Message], None]:
        def count(message: Message) -> None:
            with lock:
                counts[index] += 1

        return count

    subs = [bus.subscribe("t.>", handler(i), dispatch="thread", capacity=100_000) for i in range(2)]

    def publisher() -> None:
        for _ in range(300):
            bus.publish("t.x", b"")

    threads = [threading.Thread(target=publisher) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60.0)
    wait_until(lambda: counts == [1200, 1200])
    assert [s.stats().delivered for s in subs] == [1200, 1200]


def test_a_thread_handler_runs_on_a_named_thread() -> None:
    names: List[str] = []
    with Bus() as bus:
        sub = bus.subscribe("t", lambda m: names.append(threading.current_thread().name), dispatch="thread")
        bus.publish("t", b"")
        bus.publish("t", b"")
        wait_until(lambda: len(names) == 2)
    assert names == [f"charter-sub-{sub.id}"] * 2
