"""Batches: `publish_many` publishes each payload as `publish` would, in
order, stopping at the first that fails; `recv_many` takes the next message
and those queued behind it. `qsize`/`empty` read the queue's count."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Iterator

import pytest
from conftest import T0, OpenSession

import charter


def test_publish_many_publishes_each_payload_in_order(bus: charter.Bus) -> None:
    a, b = bus.subscribe("t"), bus.subscribe("t")
    report = bus.publish_many("t", [b"1", bytearray(b"2"), memoryview(b"33")], {"k": "v"})
    assert report == charter.PublishReport(6, 6, 0)
    got = a.recv_many(10, timeout=1)
    assert [m.payload for m in got] == [b"1", b"2", b"33"]
    assert all(m.header("k") == "v" for m in got)
    assert [m.seq for m in got] == sorted(m.seq for m in got)
    assert b.qsize() == 3 and not b.empty()
    assert [m.payload for m in b.recv_many(2)] == [b"1", b"2"]
    assert b.qsize() == 1
    assert [m.payload for m in b.recv_many(2)] == [b"33"]
    assert b.qsize() == 0 and b.empty()
    bus.publish("t", b"left")
    assert b.qsize() == 1
    b.close()
    assert b.qsize() == 0 and b.empty() and b.stats().dropped.closed == 1
    assert a.stats().delivered == 3 and bus.stats().published == 4
    assert bus.publish_many("t", iter([])) == charter.PublishReport(0, 0, 0)
    assert bus.publish_many("t", (bytes([i]) for i in range(5))).matched == 5  # a alone: b is closed


def test_lists_and_tuples_are_read_as_any_iterable(bus: charter.Bus) -> None:
    """A list or tuple is read by index rather than through an iterator:
    each kind gives the same messages, in order; a subclass is iterated
    its own way."""

    class Reversed(list[bytes]):
        def __iter__(self) -> Iterator[bytes]:
            return reversed(list(super().__iter__()))

    sub = bus.subscribe("t", capacity=64)
    kinds: list[Iterable[bytes | bytearray | memoryview]] = [
        [b"a", bytearray(b"b"), b"c"],
        (b"a", memoryview(b"b"), b"c"),
        Reversed([b"c", b"b", b"a"]),
        iter([b"a", b"b", b"c"]),
    ]
    for payloads in kinds:
        assert bus.publish_many("t", payloads).delivered == 3
        assert [m.payload for m in sub.recv_many(64)] == [b"a", b"b", b"c"]


def test_lent_and_copied_payloads_of_every_size(bus: charter.Bus) -> None:
    """`bytes` payloads are lent to the core, which copies those of at most
    1 KiB into its pooled bodies' buffers; a batch with a longer one, or
    with other bytes-like objects, carries each message's own bytes too,
    and so does a single `publish` of either kind."""
    sub = bus.subscribe("t", capacity=256)
    small = [bytes([i]) * i for i in range(1, 65)]
    for _ in range(3):
        bus.publish_many("t", small)
        assert [m.payload for m in sub.recv_many(256)] == small
    long = b"L" * 1025
    mixed: list[bytes | bytearray | memoryview] = [b"a", bytearray(b"bb"), long, memoryview(b"ccc"), long, b""]
    bus.publish_many("t", mixed)
    assert [m.payload for m in sub.recv_many(256)] == [bytes(p) for p in mixed]
    for payload in (b"one", long, bytearray(b"two")):
        bus.publish("t", payload)
        assert sub.recv(timeout=1).payload == bytes(payload)


def test_a_batch_of_bytes_only_over_1_kib_carries_each_payload(bus: charter.Bus) -> None:
    """A batch of `bytes` objects only, one of them over 1 KiB, from a list
    and from a generator: each message gets its own payload, whether the
    same object repeats, or another object of equal or other contents
    follows."""
    sub = bus.subscribe("t", capacity=64)
    long, other = b"L" * 1025, b"M" * 2048
    equal = bytes(bytearray(long))
    batch = [long, long, b"a", other, equal, long, b""]
    bus.publish_many("t", batch)
    assert [m.payload for m in sub.recv_many(64)] == batch
    bus.publish_many("t", (p for p in batch))
    assert [m.payload for m in sub.recv_many(64)] == batch


def test_a_repeated_payload_is_each_message_s_own_bytes(bus: charter.Bus) -> None:
    """One `bytes` object repeated is copied once and shared; a mutable
    buffer repeated is read again each time, as it may change between
    items (here a generator changes it)."""
    sub = bus.subscribe("t", capacity=16)
    same = b"same"
    bus.publish_many("t", [same, same, b"other", same])
    assert [m.payload for m in sub.recv_many(16)] == [b"same", b"same", b"other", b"same"]
    buf = bytearray(b"0")

    def changing() -> Iterator[bytearray]:
        for i in range(3):
            buf[0] = ord("0") + i
            yield buf

    bus.publish_many("t", changing())
    assert [m.payload for m in sub.recv_many(16)] == [b"0", b"1", b"2"]
    with charter.Bus(max_payload=4) as small:
        later = small.subscribe("t")
        with pytest.raises(charter.LimitExceededError):
            small.publish_many("t", [same, same, b"longer"])
        assert later.qsize() == 0


def test_a_batch_stops_at_the_first_message_that_fails(bus: charter.Bus) -> None:
    sub = bus.subscribe("t", capacity=2, overflow=charter.ERROR_ON_FULL)
    with pytest.raises(charter.LimitExceededError) as raised:
        bus.publish_many("t", [b"1", b"2", b"3", b"4"])
    assert raised.value.published == 2
    assert raised.value.report == charter.PublishReport(2, 2, 0)
    assert "message 2 of the batch" in str(raised.value)
    assert [m.payload for m in sub.recv_many(10)] == [b"1", b"2"]
    assert sub.stats().dropped.rejected == 1


def test_bad_batches_publish_nothing() -> None:
    with charter.Bus(max_payload=4) as bus:
        sub = bus.subscribe("t")
        with pytest.raises(charter.LimitExceededError):
            bus.publish_many("t", [b"ok", b"too long"])
        with pytest.raises(TypeError, match="bytes-like"):
            bus.publish_many("t", [b"ok", "text"])  # type: ignore[list-item]
        with pytest.raises(TypeError, match="not one payload"):
            bus.publish_many("t", b"abc")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            bus.publish_many("t", 3)  # type: ignore[arg-type]
        with pytest.raises(charter.InvalidArgumentError):
            bus.publish_many("bad..topic", [b"ok"])
        assert sub.qsize() == 0 and bus.stats().published == 0


def test_a_message_kept_from_a_freed_batch_keeps_its_fields(bus: charter.Bus) -> None:
    """`recv_many` builds its list straight from the core's batch: one
    message kept from each batch, while the rest are freed and their
    memory made into the next batch's, keeps its own fields."""
    sub = bus.subscribe("t", capacity=512)
    kept = []
    for batch in range(8):
        bus.publish_many("t", [f"{batch}.{i}".encode() for i in range(300)])
        got = sub.recv_many(300)
        assert len(got) == 300
        kept.append(got[batch])
        del got
    assert [m.payload for m in kept] == [f"{b}.{b}".encode() for b in range(8)]
    assert len({id(m) for m in kept}) == 8 and len({m.seq for m in kept}) == 8


def test_recv_many_waits_for_the_first_then_takes_what_is_queued(bus: charter.Bus) -> None:
    sub = bus.subscribe("t")
    with pytest.raises(charter.InvalidArgumentError, match="max"):
        sub.recv_many(0)
    with pytest.raises(charter.InvalidArgumentError, match="max"):
        sub.recv_many(-1)
    with pytest.raises(charter.TimeoutError):
        sub.recv_many(8, timeout=0.01)
    timer = threading.Timer(0.05, lambda: bus.publish_many("t", [b"a", b"b", b"c"]))
    timer.start()
    try:
        first = sub.recv_many(8, timeout=5)
    finally:
        timer.join()
    rest = sub.recv_many(8, timeout=0) if len(first) < 3 else []
    assert [m.payload for m in first + rest] == [b"a", b"b", b"c"]
    bus.publish_many("t", [b"x", b"y"])
    assert [m.payload for m in sub.recv_many(2**63 - 1, timeout=0)] == [b"x", b"y"]
    handled = bus.subscribe("h", lambda m: None)
    with pytest.raises(charter.InvalidArgumentError, match="handler"):
        handled.recv_many(8)
    sub.close()
    with pytest.raises(charter.ClosedError):
        sub.recv_many(8)


def test_client_batches_need_the_grants(
    authority: charter.Authority, root: charter.KeyPair, open_session: OpenSession
) -> None:
    key = charter.KeyPair.generate()
    token = charter.Token.mint(root, key.public_key, ["publish orders.>", "subscribe orders.>"], T0, T0 + 60)
    with charter.Bus(authority=authority) as bus:
        session_client = bus.client(open_session(token, key))
        check_client_batch(session_client)


def check_client_batch(session_client: charter.Client) -> None:
    sub = session_client.subscribe("orders.>")
    assert session_client.publish_many("orders.eu", [b"1", b"2"]).delivered == 2
    with pytest.raises(charter.DeniedError):
        session_client.publish_many("payments.eu", [b"1"])
    assert [m.payload for m in sub.recv_many(5)] == [b"1", b"2"]


def test_recv_many_async(bus: charter.Bus) -> None:
    sub = bus.subscribe("t")

    async def main() -> list[bytes]:
        waiting = asyncio.ensure_future(sub.recv_many_async(4, timeout=5))
        await asyncio.sleep(0.01)
        bus.publish_many("t", [b"1", b"2", b"3", b"4", b"5"])
        batch = await waiting
        rest = await sub.recv_many_async(4)
        return [m.payload for m in batch + rest]

    assert asyncio.run(main()) == [b"1", b"2", b"3", b"4", b"5"]


def test_closing_ends_a_waiting_recv_many(bus: charter.Bus) -> None:
    sub = bus.subscribe("t")
    closer = threading.Timer(0.05, sub.close)
    closer.start()
    try:
        with pytest.raises(charter.ClosedError):
            sub.recv_many(8, timeout=10)
    finally:
        closer.join()
    other = bus.subscribe("u")
    threading.Timer(0.05, bus.close).start()
    with pytest.raises(charter.ClosedError):
        other.recv_many(8, timeout=10)


def test_a_handler_may_publish_a_batch_inline(bus: charter.Bus) -> None:
    sub = bus.subscribe("out")
    bus.subscribe("in", lambda m: bus.publish_many("out", [m.payload] * 3))
    bus.publish("in", b"x")
    assert [m.payload for m in sub.recv_many(10)] == [b"x"] * 3
