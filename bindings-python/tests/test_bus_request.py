"""Request and reply, blocking and with asyncio."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import List, Literal

import pytest

import charter
from charter import Bus, Message, PublishReport


@pytest.mark.parametrize("dispatch", ["inline", "thread"])
def test_request_gets_the_reply(bus: Bus, dispatch: Literal["inline", "thread"]) -> None:
    def double(request: Message) -> None:
        assert request.reply_to is not None and request.reply_to.startswith("_charter.inbox.")
        report = bus.respond(request, request.payload * 2, {"served-by": "double"})
        assert report == PublishReport(1, 1, 0)

    bus.subscribe("math.double", double, dispatch=dispatch)
    reply = bus.request("math.double", b"ab", {"trace": "t1"}, timeout=10.0)
    assert reply.payload == b"abab"
    assert reply.header("served-by") == "double"
    assert reply.reply_to is None


def test_a_queue_subscriber_can_answer_from_another_thread(bus: Bus) -> None:
    requests = bus.subscribe("svc.>")

    def server() -> None:
        request = requests.recv(timeout=10.0)
        bus.respond(request, b"re: " + request.payload)

    thread = threading.Thread(target=server)
    thread.start()
    assert bus.request("svc.echo", b"hi", timeout=10.0).payload == b"re: hi"
    thread.join(60.0)


def test_only_the_first_reply_counts(bus: Bus) -> None:
    bus.subscribe("svc", lambda m: bus.respond(m, b"first"))
    bus.subscribe("svc", lambda m: bus.respond(m, b"second"))
    assert bus.request("svc", b"", timeout=10.0).payload == b"first"


def test_request_without_subscribers_is_not_found_at_once(bus: Bus) -> None:
    start = time.monotonic()
    with pytest.raises(charter.NotFoundError, match="no subscriber"):
        bus.request("nobody.home", b"", timeout=30.0)
    assert time.monotonic() - start < 5


def test_request_times_out_without_a_reply(bus: Bus) -> None:
    bus.subscribe("silent", lambda m: None)
    start = time.monotonic()
    with pytest.raises(charter.TimeoutError, match='no reply to "silent" within 100 ms'):
        bus.request("silent", b"", timeout=0.1)
    assert 0.09 <= time.monotonic() - start < 5
    assert bus.stats().live_subscriptions == 1, "the reply inbox is gone"


def test_respond_needs_a_request(bus: Bus) -> None:
    sub = bus.subscribe("t")
    bus.publish("t", b"")
    with pytest.raises(charter.InvalidArgumentError, match="not a request"):
        bus.respond(sub.recv(timeout=1.0), b"")


def test_a_late_reply_goes_nowhere(bus: Bus) -> None:
    kept: List[Message] = []
    bus.subscribe("slow", kept.append)
    with pytest.raises(charter.TimeoutError):
        bus.request("slow", b"", timeout=0.01)
    assert bus.respond(kept[0], b"late") == PublishReport(0, 0, 0)


def test_request_async(bus: Bus) -> None:
    bus.subscribe("svc", lambda m: bus.respond(m, m.payload.upper()), dispatch="thread")

    async def main() -> None:
        replies = await asyncio.gather(*(bus.request_async("svc", w, timeout=10.0) for w in (b"a", b"b")))
        assert [r.payload for r in replies] == [b"A", b"B"]
        with pytest.raises(charter.NotFoundError):
            await bus.request_async("nobody", b"")
        bus.subscribe("silent", lambda m: None)
        with pytest.raises(charter.TimeoutError, match='no reply to "silent" within 100 ms'):
            await bus.request_async("silent", b"", timeout=0.1)

    asyncio.run(main())
    assert bus.stats().live_subscriptions == 2, "reply inboxes are gone"
    with pytest.raises(charter.InvalidArgumentError):
        bus.request_async("svc", b"", timeout=-1).close()


def test_request_async_publishes_only_when_awaited(bus: Bus) -> None:
    seen: List[bytes] = []
    bus.subscribe("svc", lambda m: seen.append(m.payload))
    pending = bus.request_async("svc", b"x", timeout=0.01)
    assert seen == []
    with pytest.raises(charter.TimeoutError):
        asyncio.run(pending)
    assert seen == [b"x"]
