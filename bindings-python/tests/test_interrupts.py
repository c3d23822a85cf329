"""Ctrl-C interrupts blocking calls: a real SIGINT, sent to a child process
while its main thread waits inside Charter."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

# Prints "ready" just before the blocking call (SETUP leaves `call` to
# make); the parent then sends SIGINT. The child reports how the call
# ended and how long after the signal, then CHECK runs; os._exit skips
# waiting for handler threads that are still busy.
TEMPLATE = """
import os, sys, threading, time
import charter
bus = charter.Bus()
{setup}
print("ready", flush=True)
try:
    call()
    print("returned", flush=True)
except KeyboardInterrupt:
    print("interrupted", time.monotonic(), flush=True)
{check}
sys.stdout.flush()
os._exit(0)
"""


def interrupt(setup: str, check: str = "") -> list[str]:
    """Runs the child, sends SIGINT 0.3 s after "ready"; the child's lines
    after "ready", with the interrupt's delay in place of its time."""
    source = TEMPLATE.format(setup=textwrap.dedent(setup), check=textwrap.dedent(check))
    child = subprocess.Popen([sys.executable, "-c", source], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=30)
    finally:
        child.kill()
    lines = out.splitlines()
    first = lines[0].split()
    assert first[0] == "interrupted", lines
    assert float(first[1]) - sent < 2.0, "interrupted promptly"
    return lines[1:]


def test_ctrl_c_interrupts_a_blocking_recv_and_consumes_nothing() -> None:
    after = interrupt(
        """
        sub = bus.subscribe("t")
        def call(): sub.recv()
        """,
        """
        bus.publish("t", b"kept")
        print(sub.recv(timeout=5).payload.decode(), sub.stats().delivered)
        """,
    )
    assert after == ["kept 1"]


def test_ctrl_c_interrupts_a_request() -> None:
    interrupt(
        """
        bus.subscribe("svc", lambda m: None)
        def call(): bus.request("svc", b"", timeout=None)
        """
    )


def test_ctrl_c_interrupts_a_close_waiting_for_a_busy_thread_handler() -> None:
    after = interrupt(
        """
        busy = threading.Event()
        def handler(m):
            busy.set()
            time.sleep(30)
        bus.subscribe("t", handler, dispatch="thread")
        bus.publish("t", b"")
        busy.wait(10)
        def call(): bus.close()
        """,
        """
        print(bus.closed)
        """,
    )
    assert after == ["True"]


def test_ctrl_c_interrupts_closing_a_busy_thread_handler_subscription() -> None:
    interrupt(
        """
        busy = threading.Event()
        def handler(m):
            busy.set()
            time.sleep(30)
        sub = bus.subscribe("t", handler, dispatch="thread")
        bus.publish("t", b"")
        busy.wait(10)
        def call(): sub.close()
        """
    )


def test_ctrl_c_interrupts_a_publish_blocked_on_a_full_queue() -> None:
    interrupt(
        """
        sub = bus.subscribe("t", capacity=1, overflow=charter.Block(5.0))
        bus.publish("t", b"fills the queue")
        def call(): bus.publish("t", b"waits for room")
        """
    )
