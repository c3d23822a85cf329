"""Points in time: aware datetimes or Unix seconds, one convention, and a
number that can only be milliseconds is refused, never read as a time some
55,000 years away."""

from __future__ import annotations

import asyncio
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


def test_receive_and_request_timeouts_take_a_timedelta() -> None:
    with charter.Bus() as bus:
        sub = bus.subscribe("t")
        with pytest.raises(charter.TimeoutError):
            sub.recv(timeout=timedelta(milliseconds=1))
        with pytest.raises(charter.TimeoutError):
            sub.recv_many(4, timeout=timedelta(0))
        bus.publish("t", b"x")
        assert sub.recv(timeout=timedelta(seconds=1)).payload == b"x"
        with pytest.raises(charter.InvalidArgumentError, match="timeout"):
            sub.recv(timeout=timedelta(seconds=-1))
        # A request nobody answers: the timedelta is the wait.
        service = bus.subscribe("svc")
        with pytest.raises(charter.TimeoutError):
            bus.request("svc", b"?", timeout=timedelta(milliseconds=1))

        async def waits() -> None:
            with pytest.raises(charter.TimeoutError):
                await sub.recv_async(timeout=timedelta(milliseconds=1))
            with pytest.raises(charter.TimeoutError):
                await sub.recv_many_async(2, timeout=timedelta(milliseconds=1))
            with pytest.raises(charter.TimeoutError):
                await bus.request_async("svc", b"?", timeout=timedelta(milliseconds=1))

        asyncio.run(waits())
        assert service.qsize() == 2  # both requests were published


def test_clock_and_authority_take_datetimes_and_timedeltas() -> None:
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    clock = charter.ManualClock(start)
    assert clock.now() == 1893456000
    clock.advance(timedelta(minutes=1))
    assert clock.now() == 1893456060
    clock.set(start + timedelta(days=1))
    assert clock.now() == 1893456000 + 86400
    with pytest.raises(charter.InvalidArgumentError, match="now: a naive datetime"):
        clock.set(datetime(2030, 1, 1))
    with pytest.raises(charter.InvalidArgumentError, match="seconds must be at least 0"):
        clock.advance(timedelta(seconds=-1))
    root = KeyPair.generate()
    authority = charter.Authority(
        [root.public_key], clock=clock, max_lifetime=timedelta(hours=1), clock_skew=timedelta(seconds=5)
    )
    day = start + timedelta(days=1)
    long_token = Token.mint(root, root.public_key, ["publish a"], day, day + timedelta(hours=2))
    with pytest.raises(charter.Error):
        authority.verify(long_token)
    with pytest.raises(charter.InvalidArgumentError, match="not_after: a naive datetime"):
        Token.mint(root, root.public_key, ["publish a"], start, datetime(2031, 1, 1))


def test_audit_times_take_aware_datetimes() -> None:
    at = datetime(2030, 1, 1, tzinfo=timezone.utc)
    with charter.AuditLog.in_memory() as log:
        log.append("publish", "a", charter.Decision.ALLOW, time=at)
        log.append("publish", "b", charter.Decision.ALLOW, time=at + timedelta(hours=1))
        assert log[0].time == 1893456000000
        found = [r.resource for _, r in log.records(since=at + timedelta(minutes=1), until=at + timedelta(days=1))]
        assert found == ["b"]
        with pytest.raises(charter.InvalidArgumentError, match="since: a naive datetime"):
            log.records(since=datetime(2030, 1, 1))
        with pytest.raises(charter.InvalidArgumentError, match="time: a naive datetime"):
            log.append("publish", "c", charter.Decision.ALLOW, time=datetime(2030, 1, 1))


def test_a_record_takes_an_aware_datetime_and_stores_its_milliseconds() -> None:
    at = datetime(2030, 1, 1, tzinfo=timezone.utc)
    record = charter.Record("publish", "a", "allow", time=at)
    assert record.time == 1893456000000
    assert record == charter.Record("publish", "a", charter.Decision.ALLOW, time=1893456000000)
    with charter.AuditLog.in_memory() as log:
        log.append(record)
        assert log[0] == record
    with pytest.raises(charter.InvalidArgumentError, match="time: a naive datetime"):
        charter.Record("publish", "a", "allow", time=datetime(2030, 1, 1))
    before = time.time_ns() // 1_000_000
    assert before <= charter.Record("publish", "a", "allow").time <= time.time_ns() // 1_000_000


def test_a_cosignature_timestamp_takes_an_aware_datetime() -> None:
    key, witness = KeyPair.generate(), KeyPair.generate()
    with charter.AuditLog.in_memory(signer=key, origin="example.com/log") as log:
        log.append("publish", "a", charter.Decision.ALLOW)
        note = log.checkpoint()
        vkey = log.verifier_key
    assert vkey is not None
    at = datetime(2030, 1, 1, tzinfo=timezone.utc)
    line = charter.cosign(note, "w", witness, at)
    wkey = charter.cosigner_key("w", witness.public_key)
    assert charter.verify_cosigned(note + line, vkey, [wkey], 1).timestamps == (1893456000,)
    with pytest.raises(charter.InvalidArgumentError, match="timestamp: a naive datetime"):
        charter.cosign(note, "w", witness, datetime(2030, 1, 1))
