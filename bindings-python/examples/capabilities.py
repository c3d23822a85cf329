"""Capabilities: mint, delegate, verify, open sessions, enforce them on a bus, revoke.

Run: ``python bindings-python/examples/capabilities.py``
"""

from __future__ import annotations

import charter

START = 1_700_000_000
HOUR = 3600


def open_session(
    authority: charter.Authority, token: charter.Token, key: charter.KeyPair
) -> charter.Session:
    """What a holder does to open a session: sign the authority's challenge."""
    challenge = authority.challenge()
    return authority.open_session(token, challenge, token.prove(key, challenge))


def main() -> None:
    # Keys: the root the authority trusts, a service, and a worker the
    # service hands part of its rights to.
    root = charter.KeyPair.generate()
    service = charter.KeyPair.generate()
    worker = charter.KeyPair.generate()

    # A manual clock makes the example deterministic; omit it for the
    # system clock.
    clock = charter.ManualClock(START)
    authority = charter.Authority([root.public_key], clock=clock)

    token = charter.Token.mint(
        root, service.public_key, ["publish orders.>", "subscribe orders.>"], START, START + HOUR
    )
    # The service, the token's holder, narrows it for the worker.
    narrower = token.delegate(service, worker.public_key, ["publish orders.eu.*"], START, START + 600)
    print(f"links: {len(narrower.links)}, worker may: {[str(g) for g in narrower.links[-1].grants]}")

    # Tokens travel as text (or bytes) and are verified on arrival.
    received = charter.Token.from_text(str(narrower))
    print(f"verified: {authority.verify(received).principal == worker.principal}")

    with charter.Bus(authority=authority) as bus:
        service_client = bus.client(open_session(authority, token, service))
        worker_client = bus.client(open_session(authority, received, worker))

        orders = service_client.subscribe("orders.>")
        worker_client.publish("orders.eu.created", b"order 17")
        print(f"service got: {orders.recv(timeout=1.0).payload!r}")

        try:
            worker_client.publish("orders.us.created", b"order 18")
        except charter.DeniedError as exc:
            print(f"denied: {exc.code}")

        # Revoking the delegation ends the worker's session, not the service's.
        authority.revoke(narrower.links[-1].id)
        try:
            worker_client.publish("orders.eu.created", b"order 19")
        except charter.RevokedError as exc:
            print(f"revoked: {exc.code}")
        service_client.publish("orders.eu.created", b"order 20")
        print(f"service still publishes: {orders.recv(timeout=1.0).payload!r}")

        # Time runs out for everyone.
        clock.advance(HOUR + 60)
        try:
            service_client.publish("orders.eu.created", b"order 21")
        except charter.ExpiredError as exc:
            print(f"expired: {exc.code}")
        print(f"denied on this bus: {bus.stats().denied}")

    print(f"revocation list: {authority.export_revocations().splitlines() == [narrower.links[-1].id]}")


if __name__ == "__main__":
    main()
