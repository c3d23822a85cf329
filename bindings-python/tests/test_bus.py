"""The bus's API: construction, publish and receive, topics, headers, payloads, stats, closing."""

from __future__ import annotations

import array
import gc
import time
import weakref
from typing import Callable, List

import pytest

import charter
from charter import Bus, BusStats, Drops, Message, PublishReport, SubscriptionStats


def test_publish_then_receive(bus: Bus) -> None:
    sub = bus.subscribe("orders.eu.created")
    report = bus.publish("orders.eu.created", b"order 17")
    assert report == PublishReport(matched=1, delivered=1, dropped=0)
    message = sub.recv(timeout=1.0)
    assert isinstance(message, Message)
    assert (message.topic, message.payload, message.headers, message.reply_to) == (
        "orders.eu.created",
        b"order 17",
        (),
        None,
    )
    assert sub.try_recv() is None


@pytest.mark.parametrize(
    "pattern, matching, not_matching",
    [
        ("orders.eu.created", ["orders.eu.created"], ["orders.eu", "orders.eu.created.x"]),
        ("orders.*.created", ["orders.eu.created", "orders.us.created"], ["orders.created", "orders.eu.x.created"]),
        ("*.eu.*", ["orders.eu.created", "a.eu.b"], ["orders.eu", "eu.a.b"]),
        ("orders.>", ["orders.eu", "orders.eu.created.x"], ["orders", "payments.eu"]),
        (">", ["a", "a.b.c"], []),
        ("orders.*.>", ["orders.eu.created", "orders.eu.a.b"], ["orders.eu"]),
    ],
)
def test_wildcards(bus: Bus, pattern: str, matching: List[str], not_matching: List[str]) -> None:
    sub = bus.subscribe(pattern)
    for topic in matching + not_matching:
        expected = 1 if topic in matching else 0
        assert bus.publish(topic, topic.encode()).matched == expected, topic
    received = [sub.recv(timeout=1.0).topic for _ in matching]
    assert received == matching
    assert sub.try_recv() is None


def test_every_matching_subscription_gets_the_message_in_publish_order(bus: Bus) -> None:
    subs = [bus.subscribe(p) for p in ("a.b", "a.*", "a.>", "*.b")]
    other = bus.subscribe("c.>")
    for i in range(5):
        assert bus.publish("a.b", bytes([i])) == PublishReport(4, 4, 0)
    for sub in subs:
        messages = [sub.recv(timeout=1.0) for _ in range(5)]
        assert [m.payload[0] for m in messages] == [0, 1, 2, 3, 4]
        seqs = [m.seq for m in messages]
        assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert other.try_recv() is None


def test_headers_round_trip_in_order_with_repeats(bus: Bus) -> None:
    sub = bus.subscribe("t")
    bus.publish("t", b"", {"trace": "abc", "tenant": "7"})
    bus.publish("t", b"", [("k", "1"), ("k", "2"), ("other", "x\ty")])
    bus.publish("t", b"", (("only", "one"),))
    first, second, third = (sub.recv(timeout=1.0) for _ in range(3))
    assert first.headers == (("trace", "abc"), ("tenant", "7"))
    assert dict(first.headers) == {"trace": "abc", "tenant": "7"}
    assert second.headers == (("k", "1"), ("k", "2"), ("other", "x\ty"))
    assert second.header("k") == "1", "the first header of that name"
    assert second.header("missing") is None
    assert second.header("missing", "fallback") == "fallback"
    assert third.header("only") == "one"


@pytest.mark.parametrize(
    "headers, error",
    [
        ({"bad name": "v"}, charter.InvalidArgumentError),
        ({"": "v"}, charter.InvalidArgumentError),
        ({"k": "line\nbreak"}, charter.InvalidArgumentError),
        ({f"h{i}": "v" for i in range(65)}, charter.LimitExceededError),
        ({"k": "v" * (16 << 10)}, charter.LimitExceededError),
        ({"k": 1}, TypeError),
        ([("k",)], TypeError),
        (["kv"], TypeError),
        (42, TypeError),
    ],
)
def test_bad_headers_are_refused_and_nothing_is_published(
    bus: Bus, headers: object, error: type[BaseException]
) -> None:
    sub = bus.subscribe("t")
    with pytest.raises(error):
        bus.publish("t", b"", headers)  # type: ignore[arg-type]
    assert sub.try_recv() is None
    assert bus.stats().published == 0


def test_payloads_are_any_bytes_like_but_not_str(bus: Bus) -> None:
    sub = bus.subscribe("t")
    data = bytearray(b"abc")
    for payload in (b"abc", data, memoryview(b"xabcx")[1:4], array.array("B", b"abc")):
        bus.publish("t", payload)
        assert sub.recv(timeout=1.0).payload == b"abc"
    bus.publish("t", data)
    data[0] = ord("X")
    assert sub.recv(timeout=1.0).payload == b"abc", "the payload is copied at publish"
    with pytest.raises(TypeError, match="payload must be bytes-like, not str: encode it first"):
        bus.publish("t", "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="payload must be bytes-like, not int"):
        bus.publish("t", 3)  # type: ignore[arg-type]
    assert sub.try_recv() is None


def test_payload_size_limit(bus: Bus) -> None:
    bus.subscribe("t")
    bus.publish("t", bytes(1 << 20))
    with pytest.raises(charter.LimitExceededError, match="payload is 1048577 bytes"):
        bus.publish("t", bytes((1 << 20) + 1))
    with charter.Bus(max_payload=4) as small:
        small.publish("t", b"1234")
        with pytest.raises(charter.LimitExceededError):
            small.publish("t", b"12345")


@pytest.mark.parametrize(
    "topic, why",
    [("a..b", "empty token"), ("a.*", "wildcard"), ("a b", "contains the character ' '"), ("_charter.x", "reserved")],
)
def test_bad_topics_say_which_rule(bus: Bus, topic: str, why: str) -> None:
    with pytest.raises(charter.InvalidArgumentError, match=why):
        bus.publish(topic, b"")


@pytest.mark.parametrize("pattern", ["a.>.b", "", "a..b", "_charter.>", "x" * 257])
def test_bad_patterns_are_refused(bus: Bus, pattern: str) -> None:
    with pytest.raises(charter.InvalidArgumentError):
        bus.subscribe(pattern)


def test_limits_are_keyword_arguments() -> None:
    with Bus(max_subscriptions=2) as bus:
        kept = [bus.subscribe("a"), bus.subscribe("b")]
        with pytest.raises(charter.LimitExceededError, match="2 subscriptions"):
            bus.subscribe("c")
        assert len(kept) == 2
    with Bus(max_queue_messages=10) as bus:
        with pytest.raises(charter.LimitExceededError, match="capacity 11"):
            bus.subscribe("a", capacity=11)
    with Bus(max_topic_tokens=2) as bus:
        with pytest.raises(charter.InvalidArgumentError):
            bus.publish("a.b.c", b"")
    with pytest.raises(charter.InvalidArgumentError, match="topic length limit must be 1 to 256"):
        Bus(max_topic_len=300)
    with pytest.raises(charter.InvalidArgumentError, match="subscription limit must be at least 1"):
        Bus(max_subscriptions=0)
    with pytest.raises(TypeError):
        Bus(10)  # type: ignore[call-arg, arg-type]


def test_subscribe_arguments_are_checked(bus: Bus) -> None:
    with pytest.raises(charter.InvalidArgumentError, match="capacity"):
        bus.subscribe("t", capacity=0)
    with pytest.raises(OverflowError):
        bus.subscribe("t", capacity=-1)
    with pytest.raises(charter.InvalidArgumentError, match="thread dispatch applies to subscriptions with a handler only"):
        bus.subscribe("t", dispatch="thread")
    with pytest.raises(charter.InvalidArgumentError, match='"inline" or "thread"'):
        bus.subscribe("t", print, dispatch="fast")  # type: ignore[arg-type]
    with pytest.raises(charter.InvalidArgumentError, match="idle_ttl"):
        bus.subscribe("t", print, idle_ttl=1.0)
    with pytest.raises(charter.InvalidArgumentError, match="ttl"):
        bus.subscribe("t", ttl=0.0)
    with pytest.raises(charter.InvalidArgumentError, match="ttl must be a number of seconds"):
        bus.subscribe("t", ttl=-1.0)
    with pytest.raises(TypeError, match="handler must be callable"):
        bus.subscribe("t", "print")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        bus.subscribe("t", overflow="drop_oldest")  # type: ignore[arg-type]
    assert bus.stats().live_subscriptions == 0


def test_overflow_policies_are_values() -> None:
    assert (charter.DROP_OLDEST.policy, charter.DROP_OLDEST.timeout) == ("drop_oldest", None)
    assert charter.DROP_NEWEST.policy == "drop_newest"
    assert charter.ERROR_ON_FULL.policy == "error"
    block = charter.Block(0.25)
    assert (block.policy, block.timeout) == ("block", 0.25)
    assert block == charter.Block(0.25) and block != charter.Block(1)
    assert len({charter.Block(0.25), block, charter.DROP_OLDEST, charter.DROP_OLDEST}) == 2
    assert repr(block) == "charter.Block(0.25)" and repr(charter.ERROR_ON_FULL) == "charter.ERROR_ON_FULL"
    assert charter.Block(float("inf")).timeout == float("inf")
    with pytest.raises(charter.InvalidArgumentError):
        charter.Block(-1)
    with pytest.raises(charter.InvalidArgumentError):
        charter.Block(float("nan"))


def test_message_is_read_only_and_has_a_short_repr(bus: Bus) -> None:
    sub = bus.subscribe("t")
    bus.publish("t", b"x" * 100, {"k": "v"})
    message = sub.recv(timeout=1.0)
    with pytest.raises(AttributeError):
        message.topic = "other"  # type: ignore[misc]
    assert repr(message) == (
        f"<charter.Message seq={message.seq} topic='t' payload=b'{'x' * 32}'... (100 bytes)"
        " headers=(('k', 'v'),)>"
    )
    with pytest.raises(TypeError):
        Message()


def test_stats_account_for_every_message(bus: Bus) -> None:
    sub = bus.subscribe("t", capacity=2, overflow=charter.DROP_NEWEST)
    for _ in range(5):
        bus.publish("t", b"abc")
    sub.recv(timeout=1.0)
    assert sub.stats() == SubscriptionStats(
        received=5, delivered=1, queued=1, dropped=Drops(overflow=3), slow_episodes=1
    )
    assert sub.stats().dropped.total == 3
    sub.close()
    after = sub.stats()
    assert (after.queued, after.dropped.closed) == (0, 1), "still readable after close"
    stats = bus.stats()
    assert stats == BusStats(published=5, subscriptions=after, live_subscriptions=0)
    assert "received=5" in repr(stats)


def test_ttl_drops_expired_messages_on_receive(bus: Bus) -> None:
    sub = bus.subscribe("t", ttl=0.05)
    bus.publish("t", b"old")
    time.sleep(0.1)
    bus.publish("t", b"new")
    assert sub.recv(timeout=1.0).payload == b"new"
    assert sub.stats().dropped.expired == 1


def test_idle_subscriptions_are_evicted(bus: Bus) -> None:
    idle = bus.subscribe("t", idle_ttl=0.05)
    busy = bus.subscribe("t", idle_ttl=60.0)
    assert bus.evict_idle() == 0
    time.sleep(0.1)
    assert bus.evict_idle() == 1
    assert idle.closed and not busy.closed
    with pytest.raises(charter.ClosedError):
        idle.recv(timeout=0)


def test_subscription_identity_and_close(bus: Bus) -> None:
    first, second = bus.subscribe("a.>"), bus.subscribe("b")
    # Ids are random (not a counter): distinct, positive, below 2**53.
    assert first.id != second.id and 0 < first.id < 2**53 and 0 < second.id < 2**53
    assert first.pattern == "a.>"
    assert repr(first) == f"<charter.Subscription id={first.id} pattern='a.>'>"
    with first:
        assert not first.closed
    assert first.closed and repr(first).endswith(" closed>")
    first.close()
    assert bus.publish("a.x", b"").matched == 0
    with pytest.raises(charter.ClosedError):
        first.recv()
    with pytest.raises(charter.ClosedError):
        first.try_recv()
    assert bus.stats().live_subscriptions == 1


def test_dropping_a_queue_subscription_ends_it(bus: Bus) -> None:
    bus.subscribe("t")
    gc.collect()
    assert bus.publish("t", b"").matched == 0
    assert bus.stats().live_subscriptions == 0


def test_everything_raises_closed_error_after_close() -> None:
    bus = Bus()
    sub = bus.subscribe("t")
    handler_sub = bus.subscribe("h", print)
    with bus:
        pass
    assert bus.closed and sub.closed and handler_sub.closed
    assert repr(bus) == "<charter.Bus closed>"
    calls: List[Callable[[], object]] = [
        lambda: bus.publish("t", b""),
        lambda: bus.subscribe("t"),
        lambda: bus.request("t", b""),
        lambda: bus.evict_idle(),
        lambda: bus.on_error,
        lambda: bus.__enter__(),
        lambda: sub.recv(),
        lambda: sub.try_recv(),
    ]
    for call in calls:
        with pytest.raises(charter.ClosedError):
            call()
    bus.close()
    sub.close()
    assert bus.stats().live_subscriptions == 0


def test_queued_messages_are_counted_as_dropped_on_close() -> None:
    bus = Bus()
    sub = bus.subscribe("t")
    bus.publish("t", b"1")
    bus.publish("t", b"2")
    bus.close()
    assert sub.stats() == SubscriptionStats(received=2, dropped=Drops(closed=2))


def test_on_error_is_a_property(bus: Bus) -> None:
    assert bus.on_error is None

    def hook(sid: int, exc: BaseException) -> None:
        pass

    bus.on_error = hook
    assert bus.on_error is hook
    bus.on_error = None
    assert bus.on_error is None
    with pytest.raises(TypeError, match="on_error must be callable or None"):
        bus.on_error = 3  # type: ignore[assignment]


def test_a_bus_its_handler_refers_to_is_collected() -> None:
    bus = Bus()
    bus.subscribe("t", lambda m: bus.publish("u", m.payload))
    bus.on_error = lambda sid, exc: bus.close()
    alive = weakref.ref(bus)
    del bus
    gc.collect()
    assert alive() is None


def test_repr_of_an_open_bus(bus: Bus) -> None:
    sub = bus.subscribe("a")
    assert repr(bus) == "<charter.Bus subscriptions=1>"
    sub.close()
    assert repr(bus) == "<charter.Bus subscriptions=0>"
