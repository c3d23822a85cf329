"""The asyncio half of :class:`charter.Subscription` and :class:`charter.Bus`.

``recv_async``, ``async for`` and ``request_async`` return the coroutines
below. They wait on the event loop itself, with no thread:

* Each event loop gets one ``_Reactor`` (``src/reactor.rs``): a socket the
  loop watches with ``add_reader``. The receivers of one subscription on
  one loop form a ``_Channel``, with one waiter whose notify the core arms
  when the first receiver finds the queue empty. When the subscription
  becomes readable (a message came, or it ended), the core calls that
  notify on the publishing thread; it marks the channel ready and writes a
  byte to the socket, and the loop's reader callback wakes the channel's
  first receiver.
* A woken receiver takes the message itself, in its own step, with the
  core's counted receive. A future only ever says "try now", never carries
  a message, so a receive cancelled at any moment (even after its wake-up)
  has taken nothing: the next receiver gets the message.
* Receivers on one loop are served first come, first served: only the
  first in line takes; when it leaves (with a message, an error or
  cancelled) the next one tries at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import math
import os
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any, Awaitable, Coroutine, Deque, Dict, List, Optional, Union

from ._native import Bus, Client, Message, NotifyReport, Registry, Subscription, _no_reply, _Reactor, _Waiter
from .errors import ClosedError, InvalidArgumentError, TimeoutError

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from ._native import _Headers

__all__ = ["receive", "receive_many", "next_message", "request", "notify", "handler_loop", "start_handler"]

_MIN_RECHECK = 0.001
"""Seconds: the shortest timer set to look at a subscription whose session is expiring."""


class _Turn:
    """One waiting receive: its place in line and the future it awaits."""

    __slots__ = ("future", "__weakref__")

    def __init__(self) -> None:
        self.future: Optional[asyncio.Future[None]] = None

    def wake(self) -> None:
        future = self.future
        if future is not None and not future.done():
            future.set_result(None)


class _Channel:
    """The receivers of one subscription on one event loop, in arrival order.

    The line holds its turns weakly: a turn's future leads to its task and
    its loop, and the module's table of loops must not keep those alive. A
    receive whose loop is gone is collected with it (leaving the line as
    its coroutine closes); a dead entry found at the front is skipped.
    """

    __slots__ = ("sub", "waiter", "line")

    def __init__(self, sub: Subscription, waiter: _Waiter) -> None:
        self.sub = sub
        self.waiter = waiter
        self.line: Deque[weakref.ref[_Turn]] = deque()

    def first(self) -> Optional[_Turn]:
        """The first live turn in line; dead ones before it are dropped."""
        while self.line:
            turn = self.line[0]()
            if turn is not None:
                return turn
            self.line.popleft()
        return None

    def wake_first(self) -> None:
        turn = self.first()
        if turn is not None:
            turn.wake()


class _Loop:
    """One event loop's reactor and the channels waiting on it."""

    __slots__ = ("loop", "reactor", "channels", "by_key", "__weakref__")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = weakref.ref(loop)
        self.reactor = _Reactor()
        self.channels: Dict[Subscription, _Channel] = {}
        self.by_key: Dict[int, _Channel] = {}
        loop.add_reader(self.reactor.fileno(), self._readable)

    def _readable(self) -> None:
        for key in self.reactor.drain():
            channel = self.by_key.get(key)
            if channel is not None:
                channel.wake_first()

    def join(self, sub: Subscription) -> _Channel:
        channel = self.channels.get(sub)
        if channel is None:
            channel = _Channel(sub, self.reactor.waiter())
            self.channels[sub] = channel
            self.by_key[channel.waiter.key] = channel
        return channel

    def leave(self, channel: _Channel, turn: _Turn) -> None:
        """``turn`` is done: the next in line tries, or the channel closes.

        When a loop is collected, its receives' turns die together and
        each closing coroutine leaves in turn: the first to find the line
        empty closes the channel, the others find it closed already.
        """
        was_first = channel.first() is turn
        if was_first:
            channel.line.popleft()
        else:
            channel.line = deque(t for t in channel.line if t() is not None and t() is not turn)
        if channel.line:
            loop = self.loop()
            if was_first and loop is not None and not loop.is_closed():
                channel.wake_first()
            return
        if self.channels.get(channel.sub) is channel:
            channel.sub._disarm(channel.waiter)
            del self.channels[channel.sub]
            del self.by_key[channel.waiter.key]


_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Loop] = weakref.WeakKeyDictionary()


def _forget_loops() -> None:
    """In a forked child: the parent's reactor sockets are shared with it."""
    global _loops
    _loops = weakref.WeakKeyDictionary()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_loops)


def _state(loop: asyncio.AbstractEventLoop) -> _Loop:
    state = _loops.get(loop)
    if state is None:
        state = _loops[loop] = _Loop(loop)
    return state


async def receive(sub: Subscription, timeout: Optional[float]) -> Message:
    """``sub.recv_async(timeout)``; ``timeout`` was checked by the caller."""
    loop = asyncio.get_running_loop()
    state = _state(loop)
    if sub not in state.channels:
        # Nobody is in line on this loop: no need to queue.
        message = sub.try_recv()
        if message is not None:
            return message
    deadline = math.inf if timeout is None else loop.time() + timeout
    channel = state.join(sub)
    turn = _Turn()
    channel.line.append(weakref.ref(turn))
    try:
        while True:
            recheck = math.inf
            if channel.first() is turn:
                polled = sub._poll(channel.waiter)
                if isinstance(polled, Message):
                    return polled
                recheck = max(polled, _MIN_RECHECK)
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"no message within {timeout} s")
            turn.future = future = loop.create_future()
            wait = min(recheck, left)
            timer = None if wait == math.inf else loop.call_later(wait, turn.wake)
            try:
                await future
            finally:
                turn.future = None
                if timer is not None:
                    timer.cancel()
    finally:
        state.leave(channel, turn)


async def receive_many(sub: Subscription, max: int, timeout: Optional[float]) -> List[Message]:
    """``sub.recv_many_async(max, timeout)``: the first message as ``receive``
    waits for it, then those queued behind it, up to ``max`` in all."""
    state = _state(asyncio.get_running_loop())
    if sub not in state.channels:
        # Nobody is in line on this loop: take what is queued (the core
        # also checks ``max`` here, before any wait).
        try:
            return sub.recv_many(max, 0)
        except TimeoutError:
            pass
    elif max < 1:
        sub.recv_many(max, 0)
    batch = [await receive(sub, timeout)]
    if max > 1:
        try:
            batch += sub.recv_many(max - 1, 0)
        except (TimeoutError, ClosedError):
            pass
    return batch


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
            raise _no_reply(topic, math.inf if timeout is None else timeout) from None


async def notify(registry: Registry, event: object, sequential: bool) -> NotifyReport:
    """``registry.notify_async(event, sequential=...)``.

    The round itself is the core's: every handler is called in firing
    order, and an ``async def`` handler's call only makes its coroutine
    (its body runs when awaited). Then the coroutines are awaited, together
    or one after another. Each one that raises is counted as failed (not
    delivered) and reported, never raised here.
    """
    report, pending = registry._notify_start(event)
    if not pending:
        return report
    failures = 0
    if sequential:
        for handler_id, awaitable in pending:
            try:
                await awaitable
            except Exception as exc:
                failures += 1
                registry._handler_failed(handler_id, exc)
    else:
        outcomes = await asyncio.gather(*(_settle(a) for _, a in pending))
        for (handler_id, _), failure in zip(pending, outcomes):
            if failure is not None:
                failures += 1
                registry._handler_failed(handler_id, failure)
    return NotifyReport(report.delivered - failures, report.failed + failures, report.panicked)


async def _settle(awaitable: Awaitable[object]) -> Optional[Exception]:
    """Awaits ``awaitable``; its exception, if it raised one."""
    try:
        await awaitable
    except Exception as exc:
        return exc
    return None


def start_handler(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, object]) -> concurrent.futures.Future[object]:
    """An async bus handler's coroutine, started on the loop it was subscribed on."""
    return asyncio.run_coroutine_threadsafe(coroutine, loop)


def handler_loop(handler: object, dispatch: Optional[str]) -> Optional[asyncio.AbstractEventLoop]:
    """The event loop an async bus handler's coroutines will run on: the
    one running when it subscribes. ``None`` for a plain handler.

    Such a handler runs on a thread of its subscription's own, which hands
    each message to the loop and waits for the coroutine, so that the bus
    counts its outcome and messages are handled one at a time, in order.
    It cannot run inline: a publish made on the loop's own thread could
    never wait for the loop.
    """
    if not (inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(getattr(handler, "__call__", None))):
        return None
    if dispatch == "inline":
        raise InvalidArgumentError(
            'an async handler cannot run inline (a publish cannot wait for the event loop); '
            'leave dispatch out or pass dispatch="thread"'
        )
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise InvalidArgumentError(
            "an async handler runs on the event loop running when it subscribes, and none is running: "
            "subscribe from a coroutine"
        ) from None
