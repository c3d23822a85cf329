"""The asyncio half of :class:`charter.Subscription` and :class:`charter.Bus`.

``recv_async``, ``async for`` and ``request_async`` return the coroutines
below. An awaiting receive never blocks the event loop: it first tries
without waiting, then waits in a worker thread of its own pool, one slice
(at most 50 ms) at a time, through ``Subscription._wait``.

Cancellation consumes nothing. When the awaiting task is cancelled, a wait
that has not started is simply dropped; one that is running cannot be
stopped, so it is *abandoned*: whatever it takes before its slice ends is
handed back to the subscription, and the next receive returns it, in order
(see ``src/handback.rs``). Until it settles, receives from that
subscription start no worker of their own.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Optional, Union

from ._native import Bus, Client, Message, Subscription
from .errors import ClosedError, TimeoutError

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from ._native import _Headers

__all__ = ["receive", "next_message", "request"]

_MAX_WAITING = 64
"""Worker threads: asyncio receives beyond this many wait their turn."""

_SETTLE_POLL = 0.002
"""Seconds between looks at a subscription whose abandoned wait is settling."""

_pool: Optional[ThreadPoolExecutor] = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_MAX_WAITING, thread_name_prefix="charter-recv")
        return _pool


def _forget_pool() -> None:
    """In a forked child: the parent's worker threads do not exist there."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


async def receive(sub: Subscription, timeout: Optional[float]) -> Message:
    """``sub.recv_async(timeout)``; ``timeout`` was checked by the caller."""
    message = sub.try_recv()
    if message is not None:
        return message
    loop = asyncio.get_running_loop()
    deadline = math.inf if timeout is None else loop.time() + timeout
    while True:
        left = deadline - loop.time()
        if left <= 0:
            raise TimeoutError(f"no message within {timeout} s")
        if sub._settling():
            # An abandoned wait still runs: start no other worker (they
            # would pile up under repeated cancellation) but let it settle.
            await asyncio.sleep(min(_SETTLE_POLL, left))
            message = sub.try_recv()
            if message is not None:
                return message
            continue
        wait = _executor().submit(sub._wait, left)
        try:
            message = await asyncio.wrap_future(wait, loop=loop)
        except asyncio.CancelledError:
            _abandon(sub, wait)
            raise
        if message is not None:
            return message


def _abandon(sub: Subscription, wait: Future[Optional[Message]]) -> None:
    """Makes sure what ``wait`` takes, now that nobody awaits it, is not lost."""
    if wait.cancel():
        return  # it never started, so it took nothing

    def give_back(done: Future[Optional[Message]]) -> None:
        sub._give_back(None if done.exception() is not None else done.result())

    sub._abandon()
    # Runs at once if the wait has already ended.
    wait.add_done_callback(give_back)


async def next_message(sub: Subscription) -> Message:
    """``sub.__anext__()``: iteration ends when the subscription does."""
    try:
        return await receive(sub, None)
    except ClosedError:
        raise StopAsyncIteration from None


async def request(
    bus: Union[Bus, Client],
    topic: str,
    payload: Buffer,
    headers: _Headers,
    timeout: Optional[float],
) -> Message:
    """``bus.request_async(...)`` (or a client's): the request is published when awaited."""
    with bus._request_start(topic, payload, headers) as replies:
        try:
            return await receive(replies, timeout)
        except TimeoutError:
            raise TimeoutError(f'no reply to "{topic}" within {timeout} s') from None
