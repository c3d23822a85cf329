"""Points in time: aware datetimes or Unix seconds, one convention, and a
number that can only be milliseconds is refused, never read as a time some
55,000 years away."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

import charter
from charter import KeyPair, Token


def test_token_times_are_aware_datetimes_or_seconds_never_milliseconds() -> None:
    root = KeyPair.generate()
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    token = Token.mint(root, root.public_key, ["publish a"], start, start + timedelta(hours=1))
    assert (token.links[0].not_before, token.links[0].not_after) == (1893456000, 1893459600)
    now_ms = time.time_ns() // 10**6
    with pytest.raises(charter.InvalidArgumentError, match="after the year 9999: milliseconds"):
        Token.mint(root, root.public_key, ["publish a"], now_ms, now_ms + 3_600_000)
    with pytest.raises(charter.InvalidArgumentError, match="naive datetime"):
        Token.mint(root, root.public_key, ["publish a"], datetime(2030, 1, 1), start)


def test_durations_take_a_timedelta_where_they_take_seconds() -> None:
    with charter.Bus() as bus:
        sub = bus.subscribe("t", ttl=timedelta(seconds=30), idle_ttl=timedelta(minutes=5))
        bus.publish("t", b"x")
        assert sub.try_recv() is not None
        blocking = bus.subscribe("u", capacity=1, overflow=charter.Block(timedelta(milliseconds=1)))
        bus.publish("u", b"1")
        with pytest.raises(charter.TimeoutError):
            bus.publish("u", b"2")
        assert blocking.stats().queued == 1
