"""asyncio under attack: event loops on several threads sharing one
subscription, a subscription closed from another thread while a thousand
receives wait, and fork() with receives pending on a loop thread."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import List

import pytest

import charter
from charter import Bus


def test_loops_on_four_threads_share_one_subscription_exactly(bus: Bus) -> None:
    sub = bus.subscribe("t", capacity=64, overflow=charter.Block(60.0))
    n = 20_000
    got: List[int] = []
    ended: List[BaseException] = []
    lock = threading.Lock()

    def run_loop() -> None:
        async def receiver() -> None:
            while True:
                try:
                    message = await sub.recv_async()
                except charter.ClosedError as e:
                    with lock:
                        ended.append(e)
                    return
                with lock:
                    got.append(int(message.payload))

        async def main() -> None:
            await asyncio.gather(*(receiver() for _ in range(25)))

        asyncio.run(main())

    threads = [threading.Thread(target=run_loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    for i in range(n):
        bus.publish("t", str(i).encode())
    deadline = time.monotonic() + 60
    while sub.stats().delivered < n and time.monotonic() < deadline:
        time.sleep(0.01)
    sub.close()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    assert sorted(got) == list(range(n))
    assert len(ended) == 100


def test_closing_from_another_thread_wakes_a_thousand_receives(bus: Bus) -> None:
    sub = bus.subscribe("t")

    async def main() -> None:
        waiting = [asyncio.ensure_future(sub.recv_async()) for _ in range(1_000)]
        await asyncio.sleep(0.05)
        threading.Thread(target=sub.close).start()
        results = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 30)
        assert all(isinstance(r, charter.ClosedError) for r in results)

    asyncio.run(main())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_receives_while_the_parent_has_receives_pending(bus: Bus) -> None:
    sub = bus.subscribe("t")
    loop = asyncio.new_event_loop()
    got: List[bytes] = []
    started = threading.Event()

    def run() -> None:
        async def main() -> None:
            waiting = [asyncio.ensure_future(sub.recv_async()) for _ in range(10)]
            started.set()
            for receive in asyncio.as_completed(waiting):
                got.append((await receive).payload)

        loop.run_until_complete(main())

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(10)
    time.sleep(0.05)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its status
        status = 3
        try:
            bus.publish("t", b"child")
            first = asyncio.run(sub.recv_async(timeout=5.0)).payload

            async def waits() -> bytes:
                threading.Timer(0.05, bus.publish, ("t", b"late")).start()
                return (await sub.recv_async(timeout=5.0)).payload

            if first == b"child" and asyncio.run(waits()) == b"late":
                status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    for i in range(10):
        bus.publish("t", bytes([i]))
    thread.join(30)
    loop.close()
    assert sorted(got) == [bytes([i]) for i in range(10)]
