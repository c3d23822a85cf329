"""A ``str`` with a lone surrogate has no UTF-8 form: every string argument
refuses it with ``InvalidUtf8Error`` (a ``charter.Error``), never with
``UnicodeEncodeError`` or a misleading ``TypeError``."""

from __future__ import annotations

from typing import Callable

import pytest

import charter
from charter import AuditLog, Bus, Grant, InvalidUtf8Error, KeyPair, Token

LONE = "x.\ud800"


def test_topics_and_patterns() -> None:
    with Bus() as bus:
        sub = bus.subscribe("x.*")
        calls: list[Callable[[], object]] = [
            lambda: bus.publish(LONE, b""),
            lambda: bus.publish("x.\udfff", b""),
            lambda: bus.subscribe(LONE),
            lambda: bus.request(LONE, b"", timeout=0.1),
            lambda: charter.validate_topic(LONE),
            lambda: charter.validate_pattern(LONE),
            lambda: charter.topic_matches(LONE, "x.y"),
            lambda: charter.pattern_contains("x.>", LONE),
        ]
        for call in calls:
            with pytest.raises(InvalidUtf8Error, match="lone surrogate at index 2"):
                call()
        assert sub.try_recv() is None, "nothing was published"


def test_headers_grants_tokens_keys_and_audit_fields() -> None:
    root = KeyPair.generate()
    calls: list[Callable[[], object]] = [
        lambda: Grant("publish " + LONE),
        lambda: Token.mint(root, root.public_key, ["publish " + LONE], 1, 2),
        lambda: Token.from_text("charter-tok1:\ud800"),
        lambda: charter.PublicKey.from_text("charter-pk1:\ud800"),
    ]
    with Bus() as bus:
        bus.subscribe("t")
        calls += [
            lambda: bus.publish("t", b"", {"name": "v\udc00"}),
            lambda: bus.publish("t", b"", [("n\udc00", "v")]),
        ]
        with AuditLog.in_memory() as log:
            calls += [
                lambda: log.append("pub\ud800", "r", charter.Decision.ALLOW),
                lambda: log.append("publish", "r\ud800", charter.Decision.ALLOW),
                lambda: log.append("publish", "r", charter.Decision.ALLOW, detail="\udfff"),
            ]
            for call in calls:
                with pytest.raises(InvalidUtf8Error):
                    call()
            assert len(log) == 0


def test_a_wrong_type_is_still_a_type_error() -> None:
    with Bus() as bus:
        with pytest.raises(TypeError):
            bus.publish(3, b"")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            bus.publish("t", b"", {"name": 3})  # type: ignore[arg-type]

