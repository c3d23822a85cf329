"""Blocking receives: timeouts, waking on close, iteration, signals."""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import List

import pytest

import charter
from charter import Bus

JOIN_TIMEOUT = 60.0


def test_recv_times_out_and_consumes_nothing(bus: Bus) -> None:
    sub = bus.subscribe("t")
    start = time.monotonic()
    with pytest.raises(charter.TimeoutError, match="no message within 0.1 s"):
        sub.recv(timeout=0.1)
    assert 0.09 <= time.monotonic() - start < 5
    with pytest.raises(TimeoutError):  # also the built-in
        sub.recv(timeout=0)
    bus.publish("t", b"later")
    assert sub.recv(timeout=0).payload == b"later"
    assert sub.stats().delivered == 1


def test_recv_waits_for_a_publish_from_another_thread(bus: Bus) -> None:
    sub = bus.subscribe("t")
    threading.Timer(0.1, lambda: bus.publish("t", b"hello")).start()
    assert sub.recv(timeout=10.0).payload == b"hello"


@pytest.mark.parametrize("timeout", [-1.0, float("nan")])
def test_bad_timeouts_are_refused(bus: Bus, timeout: float) -> None:
    sub = bus.subscribe("t")
    with pytest.raises(charter.InvalidArgumentError, match="timeout must be a number of seconds"):
        sub.recv(timeout=timeout)


def test_an_infinite_timeout_waits(bus: Bus) -> None:
    sub = bus.subscribe("t")
    threading.Timer(0.1, lambda: bus.publish("t", b"x")).start()
    assert sub.recv(timeout=float("inf")).payload == b"x"


@pytest.mark.parametrize("closer", ["subscription", "bus"])
def test_close_wakes_a_receiver_on_another_thread(closer: str) -> None:
    bus = Bus()
    sub = bus.subscribe("t")
    outcome: List[BaseException] = []

    def receiver() -> None:
        try:
            sub.recv()
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=receiver)
    thread.start()
    time.sleep(0.1)
    assert thread.is_alive(), "the receiver waits"
    start = time.monotonic()
    (sub if closer == "subscription" else bus).close()
    thread.join(JOIN_TIMEOUT)
    assert time.monotonic() - start < 5
    assert len(outcome) == 1 and isinstance(outcome[0], charter.ClosedError)
    bus.close()


def test_for_loop_ends_when_the_subscription_closes(bus: Bus) -> None:
    sub = bus.subscribe("t.*")
    for i in range(3):
        bus.publish(f"t.{i}", b"")
    seen: List[str] = []
    for message in sub:
        seen.append(message.topic)
        if len(seen) == 3:
            threading.Timer(0.05, sub.close).start()
    assert seen == ["t.0", "t.1", "t.2"]


def test_for_loop_over_a_closed_subscription_is_empty() -> None:
    with Bus() as bus:
        sub = bus.subscribe("t")
    assert list(sub) == []


def test_a_handler_subscription_has_nothing_to_receive(bus: Bus) -> None:
    sub = bus.subscribe("t", print)
    with pytest.raises(charter.InvalidArgumentError, match="delivers to its handler"):
        sub.recv(timeout=0)
    with pytest.raises(charter.InvalidArgumentError):
        sub.try_recv()


def test_many_threads_receive_each_message_once(bus: Bus) -> None:
    sub = bus.subscribe("t")
    got: List[int] = []
    lock = threading.Lock()

    def receiver() -> None:
        for message in sub:
            with lock:
                got.append(message.seq)

    threads = [threading.Thread(target=receiver) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(200):
        bus.publish("t", b"")
    deadline = time.monotonic() + 30
    while sub.stats().delivered < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    sub.close()
    for t in threads:
        t.join(JOIN_TIMEOUT)
    assert sorted(got) == list(range(1, 201)), "sequence numbers start at 1 on a new bus"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_interrupts_a_blocked_recv_and_consumes_nothing(bus: Bus) -> None:
    sub = bus.subscribe("t")
    main = threading.get_ident()

    def interrupt_then_publish() -> None:
        time.sleep(0.1)
        signal.pthread_kill(main, signal.SIGINT)
        bus.publish("t", b"kept")

    thread = threading.Thread(target=interrupt_then_publish)
    thread.start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        sub.recv(timeout=30.0)
    assert time.monotonic() - start < 5
    thread.join(JOIN_TIMEOUT)
    assert sub.recv(timeout=5.0).payload == b"kept"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_signal_handlers_run_during_a_wait(bus: Bus) -> None:
    sub = bus.subscribe("t")
    seen: List[int] = []
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: seen.append(signum))
    try:
        main = threading.get_ident()
        threading.Timer(0.05, lambda: signal.pthread_kill(main, signal.SIGUSR1)).start()
        threading.Timer(0.3, lambda: bus.publish("t", b"x")).start()
        assert sub.recv(timeout=30.0).payload == b"x"
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert seen == [signal.SIGUSR1]
