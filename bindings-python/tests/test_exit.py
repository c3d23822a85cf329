"""Processes that end with registries or buses still open exit promptly, cleanly and silently."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

SCENARIOS = {
    "open registry with handlers": """
        import charter
        reg = charter.Registry(on_error=lambda hid, exc: None)
        for i in range(100):
            reg.register(lambda e, i=i: i)
        reg.register(lambda e: 1 / 0)
        reg.notify("last words")
    """,
    "handler closing over its registry (a cycle)": """
        import charter
        reg = charter.Registry()
        reg.register(lambda e: reg.notify(e) if e else None)
        reg.on_error = lambda hid, exc: reg.register(print)
        reg.notify(1)
        del reg
    """,
    # Up to CPython 3.13 this used to abort (see src/shutdown.rs).
    "daemon threads inside handlers during shutdown": """
        import threading, time, charter
        reg = charter.Registry(on_error=lambda hid, exc: None)
        reg.register(lambda e: sum(range(100)))
        reg.register(lambda e: time.sleep(0.0005))
        reg.register(lambda e: 1 / 0)
        reg.register(lambda e: reg.notify(e + 1) if e < 3 else None)
        started = threading.Barrier(5)
        def spin():
            started.wait()
            while True:
                reg.notify(0)
        for _ in range(4):
            threading.Thread(target=spin, daemon=True).start()
        started.wait()
        time.sleep(0.05)
    """,
    "open bus with handler threads and daemon publishers and consumers": """
        import threading, time, charter
        bus = charter.Bus(on_error=lambda sid, exc: None)
        seen = []
        bus.subscribe("t.>", lambda m: seen.append(m.seq), dispatch="thread")
        bus.subscribe("t.>", lambda m: 1 / 0, dispatch="thread")
        bus.subscribe("t.slow", lambda m: time.sleep(0.001), dispatch="thread")
        bus.subscribe("t.>", lambda m: bus.publish("u", m.payload))
        queue = bus.subscribe("t.>")
        def publish():
            while True:
                bus.publish("t.slow", b"x")
        def consume():
            for message in queue:
                pass
        for target in (publish, publish, consume):
            threading.Thread(target=target, daemon=True).start()
        time.sleep(0.1)
    """,
    "daemon threads blocked in recv and in a Block publish": """
        import threading, time, charter
        bus = charter.Bus()
        idle = bus.subscribe("idle")
        full = bus.subscribe("full", capacity=1, overflow=charter.Block(60))
        bus.publish("full", b"")
        bus.subscribe("svc", lambda m: None)
        threading.Thread(target=idle.recv, daemon=True).start()
        threading.Thread(target=bus.publish, args=("full", b""), daemon=True).start()
        threading.Thread(target=bus.request, args=("svc", b""), daemon=True).start()
        time.sleep(0.1)
    """,
    "daemon threads denied on a bus that records to an open audit log": """
        import threading, time, charter
        log = charter.AuditLog.in_memory()
        bus = charter.Bus(authority=charter.Authority(), audit=log)
        def publish():
            while True:
                try:
                    bus.publish("t", b"")
                except charter.DeniedError:
                    pass
        def verify():
            while True:
                log.verify()
        for target in (publish, publish, verify):
            threading.Thread(target=target, daemon=True).start()
        time.sleep(0.1)
    """,
    "bus in a reference cycle with a handler thread": """
        import charter
        bus = charter.Bus()
        bus.subscribe("t", lambda m: bus.publish("u", b""), dispatch="thread")
        bus.publish("t", b"")
    """,
}


PROMPT_SECONDS = 10


@pytest.mark.parametrize("code", SCENARIOS.values(), ids=list(SCENARIOS))
def test_exit_is_prompt_clean_and_silent(code: str) -> None:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert time.monotonic() - start < PROMPT_SECONDS
