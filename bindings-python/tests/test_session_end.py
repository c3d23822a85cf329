"""Revocation, distrust and expiry end a session's subscriptions at once:
queued messages are dropped and counted, waiting receivers wake, nothing
more is delivered."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

import charter
from charter import Authority, Bus, Client, KeyPair, ManualClock, Subscription, Token

from conftest import T0, OpenSession

HOUR = 3600
# The wake-up bound: the core wakes receivers before `revoke` returns;
# this leaves room for a loaded machine and the GIL.
WAKE = 0.1


@pytest.fixture
def enforcing(authority: Authority) -> Iterator[Bus]:
    with Bus(authority=authority) as bus:
        yield bus


def client(bus: Bus, root: KeyPair, open_session: OpenSession, *grants: str) -> tuple[Client, Token]:
    key = KeyPair.generate()
    token = Token.mint(root, key.public_key, grants, T0, T0 + HOUR)
    return bus.client(open_session(token, key)), token


def waiting(sub: Subscription) -> tuple[threading.Thread, list[object]]:
    """A thread blocked in `sub.recv()`; its outcome and time land in the list."""
    outcome: list[object] = []

    def run() -> None:
        try:
            sub.recv()
        except charter.Error as e:
            outcome.extend([e, time.monotonic()])

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.05)
    return thread, outcome


@pytest.mark.parametrize("how", ["revoke", "distrust", "expire"])
def test_ending_a_session_ends_its_subscriptions_at_once(
    how: str,
    enforcing: Bus,
    authority: Authority,
    clock: ManualClock,
    root: KeyPair,
    open_session: OpenSession,
) -> None:
    reader, token = client(enforcing, root, open_session, "subscribe news.>")
    writer, _ = client(enforcing, root, open_session, "publish news.>")
    queued = reader.subscribe("news.>")
    writer.publish("news.a", b"1")
    writer.publish("news.a", b"2")
    thread, outcome = waiting(reader.subscribe("news.waiting"))
    def expire() -> int:
        clock.set(T0 + HOUR + 60)
        return authority.sweep()

    end: dict[str, Callable[[], object]] = {
        "revoke": lambda: authority.revoke(token.links[0].id),
        "distrust": lambda: authority.distrust(root.public_key),
        "expire": expire,
    }
    expected = charter.ExpiredError if how == "expire" else charter.RevokedError
    started = time.monotonic()
    end[how]()
    thread.join(5.0)
    assert isinstance(outcome[0], expected)
    assert isinstance(outcome[1], float) and outcome[1] - started < WAKE
    assert queued.stats().dropped.session_ended == 2
    with pytest.raises(expected):
        queued.recv(timeout=1.0)
    if how == "revoke":  # distrust and expiry ended the writer's session too
        assert writer.publish("news.a", b"late") == charter.PublishReport(0, 0, 0)
    assert enforcing.stats().live_subscriptions == 0


def test_evict_idle_ends_expired_sessions_subscriptions(
    enforcing: Bus, clock: ManualClock, root: KeyPair, open_session: OpenSession
) -> None:
    reader, _ = client(enforcing, root, open_session, "subscribe news.>")
    sub = reader.subscribe("news.>")
    clock.set(T0 + HOUR + 60)
    assert enforcing.evict_idle() == 1
    assert sub.closed
    with pytest.raises(charter.ExpiredError):
        sub.recv(timeout=0)
