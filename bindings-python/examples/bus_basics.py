"""Bus basics: wildcards, a queue and a handler, overflow, request/reply, asyncio.

Run: ``python bindings-python/examples/bus_basics.py``
"""

from __future__ import annotations

import asyncio
import threading

import charter


def main() -> None:
    with charter.Bus() as bus:
        # A queue subscription: messages wait until received.
        created = bus.subscribe("orders.*.created", capacity=100, overflow=charter.DROP_OLDEST)

        # A handler on a thread of its own: publishers never wait for it.
        audited: list[str] = []
        done = threading.Event()

        def audit(message: charter.Message) -> None:
            audited.append(message.topic)
            if len(audited) == 2:
                done.set()

        bus.subscribe("orders.>", audit, dispatch="thread")

        report = bus.publish("orders.eu.created", b"order 17", {"trace": "abc"})
        print(report)
        bus.publish("orders.eu.shipped", b"order 17")
        message = created.recv(timeout=1.0)
        print(f"received {message.payload!r} on {message.topic}, trace {message.header('trace')}")
        done.wait(5.0)
        print(f"audited: {sorted(audited)}")

        # Request/reply: an inline handler answers on the requester's thread.
        bus.subscribe("prices.get", lambda request: bus.respond(request, b"42.00"))
        print(f"price: {bus.request('prices.get', b'ACME', timeout=1.0).payload.decode()}")
        try:
            bus.request("stock.get", b"ACME", timeout=1.0)
        except charter.NotFoundError as exc:
            print(f"no stock service: {exc.code}")

        # asyncio: the event loop never blocks while waiting.
        async def consume() -> bytes:
            bus.publish("orders.us.created", b"order 18")
            return (await created.recv_async(timeout=1.0)).payload

        print(f"async: {asyncio.run(consume())!r}")

        stats = created.stats()
        print(f"queue: received {stats.received}, delivered {stats.delivered}, dropped {stats.dropped.total}")


if __name__ == "__main__":
    main()
