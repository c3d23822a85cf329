"""Every rule is the core's: for each subscription the core refuses, each
bus limit it refuses, and a respond to a message that is not a request, the binding raises the
core's error class with the core's exact message. The cases, with the
core's status and words, come from the core itself
(`vectors/rules/refusals.json`, written by `make vectors`), so a check
added or re-worded in the binding fails here."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any, Dict

import pytest
from conftest import T0, OpenSession

import charter

REFUSALS: Dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "vectors" / "rules" / "refusals.json").read_text(encoding="utf-8")
)


def keywords(options: Dict[str, Any]) -> Dict[str, Any]:
    """The vectors' neutral option names as `subscribe`'s keywords."""
    names = {"capacity": "capacity", "max_bytes": "max_bytes", "dispatch": "dispatch"}
    seconds = {"ttl_ms": "ttl", "idle_ttl_ms": "idle_ttl"}
    given: Dict[str, Any] = {}
    for name, value in options.items():
        if name in names:
            given[names[name]] = value
        else:
            given[seconds[name]] = value / 1000
    return given


def test_the_vectors_cover_every_kind_of_refusal() -> None:
    statuses = {case["status"] for case in REFUSALS["subscribe"]}
    assert statuses == {"CHARTER_E_INVALID_ARGUMENT", "CHARTER_E_LIMIT_EXCEEDED"}
    assert len(REFUSALS["subscribe"]) >= 9
    assert len(REFUSALS["bus"]) >= 7


@pytest.mark.parametrize("case", REFUSALS["subscribe"], ids=lambda case: case["name"])
def test_subscribe_refusals_are_the_cores(
    case: Dict[str, Any],
    bus: charter.Bus,
    authority: charter.Authority,
    open_session: OpenSession,
    root: charter.KeyPair,
) -> None:
    handler = (lambda message: None) if case["handler"] else None
    key = charter.KeyPair.generate()
    token = charter.Token.mint(root, key.public_key, ["subscribe rules"], T0, T0 + 3600)
    with charter.Bus(authority=authority) as enforcing:
        # The bus's own calls and a session's client: the same rules.
        for caller in (bus, enforcing.client(open_session(token, key))):
            with pytest.raises(charter.ERROR_CLASSES[case["status"]]) as info:
                caller.subscribe("rules", handler, **keywords(case["options"]))
            assert (info.value.code, info.value.message) == (case["status"], case["message"])


@pytest.mark.parametrize("case", REFUSALS["bus"], ids=lambda case: case["name"])
def test_bus_limit_refusals_are_the_cores(case: Dict[str, Any]) -> None:
    # The vectors name limits as the core's fields, which are `Bus`'s keywords.
    with pytest.raises(charter.ERROR_CLASSES[case["status"]]) as info:
        charter.Bus(**case["limits"])
    assert (info.value.code, info.value.message) == (case["status"], case["message"])


@pytest.mark.parametrize("case", REFUSALS["respond"], ids=lambda case: case["name"])
def test_respond_refusals_are_the_cores(case: Dict[str, Any], bus: charter.Bus) -> None:
    sub = bus.subscribe("plain")
    bus.publish("plain", b"")
    received = sub.recv(timeout=1.0)
    # A received message, and one that crossed a pickle (no core message
    # behind it, only its parts).
    for message in (received, pickle.loads(pickle.dumps(received))):
        with pytest.raises(charter.ERROR_CLASSES[case["status"]]) as info:
            bus.respond(message, b"")
        assert (info.value.code, info.value.message) == (case["status"], case["message"])
