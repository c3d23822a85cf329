"""The enforcing bus: `Bus(authority=...)` and the session-bound `Client`."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from typing import Callable, Iterator

import pytest
from conftest import T0, OpenSession, run_all

import charter
from charter import Authority, Bus, Client, KeyPair, ManualClock, Message, Token

HOUR = 3600


@pytest.fixture
def enforcing(authority: Authority) -> Iterator[Bus]:
    with Bus(authority=authority) as bus:
        yield bus


def client_for(
    bus: Bus, root: KeyPair, open_session: OpenSession, *grants: str
) -> tuple[Client, Token, KeyPair]:
    key = KeyPair.generate()
    token = Token.mint(root, key.public_key, grants, T0, T0 + HOUR)
    return bus.client(open_session(token, key)), token, key


def test_an_enforcing_bus_needs_a_session(enforcing: Bus) -> None:
    with pytest.raises(charter.DeniedError, match='publish on "orders.eu" refused: this bus requires a session'):
        enforcing.publish("orders.eu", b"x")
    with pytest.raises(charter.DeniedError, match="requires a session"):
        enforcing.subscribe("orders.*")
    with pytest.raises(charter.DeniedError, match="requires a session"):
        enforcing.request("orders.eu", b"x", timeout=0)
    assert enforcing.stats().denied == 3


def test_client_calls_within_grants(enforcing: Bus, root: KeyPair, open_session: OpenSession) -> None:
    client, _, key = client_for(
        enforcing, root, open_session, "publish orders.>", "subscribe orders.*", "request prices.get"
    )
    assert not hasattr(client, "bus"), "a client gives no way to the bus (to close it)"
    assert client.session.principal == key.principal
    assert repr(client) == f"<charter.Client principal={key.principal}>"
    orders = client.subscribe("orders.*")
    assert client.publish("orders.eu", b"order 17", {"trace": "abc"}) == charter.PublishReport(1, 1, 0)
    message = orders.recv(timeout=1.0)
    assert (message.topic, message.payload, message.header("trace")) == ("orders.eu", b"order 17", "abc")

    pricer, _, _ = client_for(enforcing, root, open_session, "subscribe prices.get")
    pricer.subscribe("prices.get", lambda m: pricer.respond(m, b"42"))
    assert client.request("prices.get", b"ACME", timeout=1.0).payload == b"42"
    assert asyncio.run(client.request_async("prices.get", b"ACME", timeout=1.0)).payload == b"42"
    assert enforcing.stats().denied == 0


def test_denials_name_the_topic_and_the_grant(
    enforcing: Bus, root: KeyPair, open_session: OpenSession
) -> None:
    client, _, key = client_for(enforcing, root, open_session, "publish orders.eu", "subscribe orders.*")
    with pytest.raises(charter.DeniedError) as denied:
        client.publish("orders.us", b"x")
    assert str(denied.value) == f'no publish grant covers "orders.us" for {key.principal}'
    with pytest.raises(charter.DeniedError, match='no subscribe grant covers "orders.>"'):
        client.subscribe("orders.>")
    with pytest.raises(charter.DeniedError, match='no subscribe grant covers "orders.eu.x"'):
        client.subscribe("orders.eu.x", lambda m: None, dispatch="thread")
    with pytest.raises(charter.DeniedError, match='no request grant covers "orders.eu"'):
        client.request("orders.eu", b"x")

    async def ask() -> Message:
        return await client.request_async("orders.eu", b"x")

    with pytest.raises(charter.DeniedError, match="no request grant"):
        asyncio.run(ask())
    assert enforcing.stats().denied == 5
    assert enforcing.stats().live_subscriptions == 0


def test_reserved_topics_stay_reserved(enforcing: Bus, root: KeyPair, open_session: OpenSession) -> None:
    client, _, _ = client_for(enforcing, root, open_session, "publish orders.>")
    with pytest.raises(charter.InvalidArgumentError, match="reserved"):
        client.publish("_charter.inbox.x", b"x")


def test_a_session_of_another_authority_is_denied(
    enforcing: Bus, root: KeyPair, holder: KeyPair, clock: ManualClock
) -> None:
    other = Authority([root.public_key], clock=clock)
    token = Token.mint(root, holder.public_key, ["publish >"], T0, T0 + HOUR)
    challenge = other.challenge()
    client = enforcing.client(other.open_session(token, challenge, token.prove(holder, challenge)))
    with pytest.raises(charter.DeniedError, match="another authority"):
        client.publish("orders", b"x")


def test_an_open_bus_still_checks_a_client(
    bus: Bus, authority: Authority, root: KeyPair, open_session: OpenSession
) -> None:
    client, _, _ = client_for(bus, root, open_session, "publish orders.>")
    bus.publish("anything", b"anyone may")
    client.publish("orders.eu", b"x")
    with pytest.raises(charter.DeniedError):
        client.publish("payments", b"x")


def test_bad_arguments(enforcing: Bus, root: KeyPair, open_session: OpenSession) -> None:
    with pytest.raises(TypeError):
        enforcing.client("session")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Bus(authority="root")  # type: ignore[arg-type]
    client, _, _ = client_for(enforcing, root, open_session, "subscribe a")
    with pytest.raises(TypeError, match="handler must be callable"):
        client.subscribe("a", 42)  # type: ignore[arg-type]
    with pytest.raises(charter.InvalidArgumentError, match="thread dispatch applies to subscriptions with a handler only"):
        client.subscribe("a", dispatch="thread")


def test_revocation_ends_the_client_and_its_subscriptions(
    enforcing: Bus, authority: Authority, root: KeyPair, open_session: OpenSession
) -> None:
    client, token, _ = client_for(enforcing, root, open_session, "publish orders.>", "subscribe orders.>")
    publisher, _, _ = client_for(enforcing, root, open_session, "publish orders.>")
    queue = client.subscribe("orders.>")
    inline: list[bytes] = []
    client.subscribe("orders.>", lambda m: inline.append(m.payload))
    threaded: list[bytes] = []
    done = threading.Event()

    def on_thread(message: Message) -> None:
        threaded.append(message.payload)
        done.set()

    client.subscribe("orders.>", on_thread, dispatch="thread")
    assert publisher.publish("orders.eu", b"before") == charter.PublishReport(3, 3, 0)
    assert done.wait(5.0)

    publisher.publish("orders.eu", b"queued")
    authority.revoke(token.links[0].id)
    assert not client.session.active
    with pytest.raises(charter.RevokedError):
        client.publish("orders.eu", b"x")
    with pytest.raises(charter.RevokedError):
        client.subscribe("orders.eu")
    # Revocation ended every subscription of the session at once: the queued
    # messages were dropped and counted, and nothing more reaches them.
    assert queue.closed
    assert queue.stats().dropped.session_ended == 2
    assert publisher.publish("orders.eu", b"after") == charter.PublishReport(0, 0, 0)
    with pytest.raises(charter.RevokedError):
        queue.recv(timeout=1.0)
    assert inline == [b"before", b"queued"]
    assert threaded[0] == b"before"  # "queued" may have been in flight on its thread
    assert enforcing.stats().live_subscriptions == 0


def test_a_lapsed_thread_handler_is_ended_while_it_waits_for_the_gil(
    enforcing: Bus, authority: Authority, root: KeyPair, open_session: OpenSession
) -> None:
    # The publish that ends the subscription joins its handler thread,
    # which is waiting for the GIL this thread holds until publish lets go.
    client, token, _ = client_for(enforcing, root, open_session, "subscribe jobs")
    publisher, _, _ = client_for(enforcing, root, open_session, "publish jobs")
    seen: list[bytes] = []
    client.subscribe("jobs", lambda m: seen.append(m.payload), dispatch="thread")
    for round_ in range(20):
        publisher.publish("jobs", b"%d" % round_)
    authority.revoke(token.links[0].id)
    publisher.publish("jobs", b"last")
    assert enforcing.stats().live_subscriptions == 0
    assert b"last" not in seen


def test_expiry_ends_the_client(
    enforcing: Bus, clock: ManualClock, root: KeyPair, open_session: OpenSession
) -> None:
    client, _, _ = client_for(enforcing, root, open_session, "publish orders.>")
    client.publish("orders.eu", b"x")
    clock.advance(HOUR + 60)
    with pytest.raises(charter.ExpiredError):
        client.publish("orders.eu", b"x")


def test_a_closed_bus_closes_its_clients(root: KeyPair, authority: Authority, open_session: OpenSession) -> None:
    bus = Bus(authority=authority)
    client, _, _ = client_for(bus, root, open_session, "publish a", "subscribe a")
    bus.close()
    with pytest.raises(charter.ClosedError):
        client.publish("a", b"x")
    with pytest.raises(charter.ClosedError):
        client.subscribe("a")


def test_a_client_in_its_own_handler_is_collected(
    authority: Authority, root: KeyPair, open_session: OpenSession
) -> None:
    bus = Bus(authority=authority)
    client, _, _ = client_for(bus, root, open_session, "publish echo", "subscribe echo")
    client.subscribe("echo", lambda m: client.publish("echo", b"") if m.payload else None)
    client.publish("echo", b"once")
    bus_ref, client_ref = weakref.ref(bus), weakref.ref(client)
    del bus, client
    gc.collect()
    assert bus_ref() is None and client_ref() is None


def test_threads_publish_and_subscribe_while_sessions_are_revoked(
    enforcing: Bus, authority: Authority, root: KeyPair, open_session: OpenSession
) -> None:
    clients = [
        client_for(enforcing, root, open_session, "publish work.>", "subscribe work.>") for _ in range(4)
    ]
    outcomes: dict[str, int] = {"ok": 0, "denied": 0, "revoked": 0}
    lock = threading.Lock()

    def worker(client: Client) -> Callable[[], None]:
        sub = client.subscribe("work.>")

        def work() -> None:
            for n in range(300):
                try:
                    client.publish("work.a" if n % 3 else "other", b"x")
                    outcome = "ok"
                except charter.DeniedError:
                    outcome = "denied"
                except charter.RevokedError:
                    outcome = "revoked"
                with lock:
                    outcomes[outcome] += 1
                sub.try_recv()

        return work

    def revoke() -> None:
        for _, token, _ in clients[:2]:
            authority.revoke(token.links[0].id)

    run_all([worker(c) for c, _, _ in clients] + [revoke])
    assert sum(outcomes.values()) == 1200
    assert outcomes["denied"] >= 200, "the two clients never revoked are denied every third time"
    assert [c.session.active for c, _, _ in clients] == [False, False, True, True]
    assert enforcing.stats().denied == outcomes["denied"] + outcomes["revoked"]
