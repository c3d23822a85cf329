"""Shared fixtures for the binding's tests."""

from __future__ import annotations

import threading
from typing import Callable, Iterator, List

import pytest

import charter


@pytest.fixture
def registry() -> Iterator[charter.Registry]:
    """A fresh registry, closed after the test."""
    with charter.Registry() as reg:
        yield reg


@pytest.fixture
def bus() -> Iterator[charter.Bus]:
    """A fresh bus, closed after the test."""
    with charter.Bus() as b:
        yield b


T0 = 1_700_000_000
"""The time every capability test starts at (by a `ManualClock`)."""


@pytest.fixture
def root() -> charter.KeyPair:
    """The root key the `authority` fixture trusts."""
    return charter.KeyPair.generate()


@pytest.fixture
def holder() -> charter.KeyPair:
    """A key that tokens are minted to."""
    return charter.KeyPair.generate()


@pytest.fixture
def clock() -> charter.ManualClock:
    """The `authority` fixture's clock, stopped at `T0`."""
    return charter.ManualClock(T0)


@pytest.fixture
def authority(root: charter.KeyPair, clock: charter.ManualClock) -> charter.Authority:
    """An authority that trusts `root`, on `clock`, with the default limits."""
    return charter.Authority([root.public_key], clock=clock)


OpenSession = Callable[[charter.Token, charter.KeyPair], charter.Session]


@pytest.fixture
def open_session(authority: charter.Authority) -> OpenSession:
    """Opens a session with `authority` the way a holder does: a fresh
    challenge, signed with the holder's key."""

    def open_(token: charter.Token, key: charter.KeyPair) -> charter.Session:
        challenge = authority.challenge()
        return authority.open_session(token, challenge, token.prove(key, challenge))

    return open_


AUDIT_ORIGIN = "example.com/audit"
"""The origin the audit tests' logs sign their checkpoints as."""


@pytest.fixture
def key() -> charter.KeyPair:
    """A fresh key: an audit log's signer."""
    return charter.KeyPair.generate()


@pytest.fixture
def vkey(key: charter.KeyPair) -> str:
    """The note verifier key of `key`'s checkpoints under `AUDIT_ORIGIN`."""
    return charter.verifier_key(AUDIT_ORIGIN, key.public_key)


JOIN_TIMEOUT = 60.0
"""How long a test thread may take before it counts as hung."""


def run_all(targets: List[Callable[[], None]], *, together: bool = False) -> None:
    """Runs each target on its own thread (``together``: all released at
    once, after every thread has started); fails on a hang or an exception."""
    failures: list[BaseException] = []
    start = threading.Barrier(len(targets)) if together else None

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            if start is not None:
                start.wait()
            try:
                target()
            except BaseException as exc:
                failures.append(exc)

        return run

    threads = [threading.Thread(target=guarded(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert failures == []
