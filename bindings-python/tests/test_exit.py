"""Processes that end with registries still open exit promptly, cleanly and silently."""

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
