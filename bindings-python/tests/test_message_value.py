"""A message is a value: its payload is read without copying after the
first read, and it pickles and compares as its fields."""

from __future__ import annotations

import copy
import pickle
import threading
import tracemalloc

import pytest

import charter

MIB = 1024 * 1024


def test_reading_a_large_payload_again_copies_nothing() -> None:
    with charter.Bus(max_payload=64 * MIB, max_queue_bytes=128 * MIB) as bus:
        sub = bus.subscribe("big", max_bytes=128 * MIB)
        bus.publish("big", bytes(50 * MIB))
        message = sub.recv(timeout=1)
        first = message.payload
        tracemalloc.start()
        try:
            again = [message.payload for _ in range(10)]
            view = memoryview(message.payload)[MIB:2 * MIB]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < MIB, f"reading the payload again allocated {peak} bytes"
        assert all(p is first for p in again)
        assert view.obj is first and len(view) == MIB
        assert bytes(message.payload) is first and len(first) == 50 * MIB


def test_first_reads_from_several_threads_give_one_payload_object(bus: charter.Bus) -> None:
    """The payload's `bytes` is made at the first read without letting the
    GIL go; threads racing to read it first still all get the one kept."""
    sub = bus.subscribe("t", capacity=512)
    bus.publish_many("t", [str(i).encode() for i in range(500)])
    messages = sub.recv_many(500)
    start = threading.Barrier(4)
    seen: list[list[bytes]] = []

    def read() -> None:
        start.wait()
        seen.append([m.payload for m in messages])

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4
    for i, m in enumerate(messages):
        assert m.payload == str(i).encode()
        assert all(reads[i] is m.payload for reads in seen)


def test_messages_pickle_and_compare_by_their_fields(bus: charter.Bus) -> None:
    sub = bus.subscribe("orders.>")
    other = bus.subscribe("orders.*")
    bus.publish("orders.eu", b"17", [("trace", "a"), ("trace", "b")])
    bus.publish("orders.eu", b"17", [("trace", "a"), ("trace", "b")])
    message, copy_of_it = sub.recv(timeout=1), other.recv(timeout=1)
    later = sub.recv(timeout=1)
    assert message == copy_of_it and hash(message) == hash(copy_of_it)
    assert message != later  # the same content, another publish (seq)
    assert message != b"17"
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(message, protocol))
        assert type(back) is charter.Message and back == message and hash(back) == hash(message)
        assert (back.seq, back.topic, back.payload, back.headers, back.reply_to) == (
            message.seq, message.topic, message.payload, message.headers, message.reply_to,
        )
        assert back.header("trace") == "a" and repr(back) == repr(message)
    assert copy.copy(message) == message and copy.deepcopy(message) == message


def test_an_unpickled_request_can_still_be_answered(bus: charter.Bus) -> None:
    service = bus.subscribe("svc")
    replies = bus._request_start("svc", b"?")
    request = pickle.loads(pickle.dumps(service.recv(timeout=1)))
    assert request.reply_to is not None
    bus.respond(request, b"!")
    assert replies.recv(timeout=1).payload == b"!"
    bus.publish("svc", b"not a request")
    plain = pickle.loads(pickle.dumps(service.recv(timeout=1)))
    with pytest.raises(charter.InvalidArgumentError):
        bus.respond(plain, b"!")
