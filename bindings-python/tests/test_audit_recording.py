"""Decisions recorded in an audit log by the bus (`Bus(audit=...)`) and by
the authority (`Authority(audit=...)`)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import List

import pytest
from conftest import T0, OpenSession

import charter
from charter import AuditLog, Authority, Bus, Decision, KeyPair, ManualClock, Record, Token

HOUR = 3600
DENIED = charter.STATUS_CODES["CHARTER_E_DENIED"]


def records(log: AuditLog) -> List[Record]:
    return [record for _, record in log.records()]


def test_the_bus_records_denials_with_the_principal(
    authority: Authority, root: KeyPair, holder: KeyPair, open_session: OpenSession
) -> None:
    token = Token.mint(root, holder.public_key, ["publish orders.eu.*"], T0, T0 + HOUR)
    with AuditLog.in_memory() as log, Bus(authority=authority, audit=log) as bus:
        client = bus.client(open_session(token, holder))
        client.publish("orders.eu.created", b"fine")
        assert len(log) == 0
        with pytest.raises(charter.DeniedError) as denied:
            client.publish("orders.us.created", b"refused")
        with pytest.raises(charter.DeniedError):
            client.subscribe("orders.>")
        with pytest.raises(charter.DeniedError):
            bus.publish("orders.eu.created", b"no session")
        publish, subscribe, anonymous = records(log)
        assert (publish.actor, publish.action, publish.resource) == (
            holder.principal,
            "publish",
            "orders.us.created",
        )
        assert (publish.decision, publish.reason) == (Decision.DENY, DENIED)
        assert publish.detail == str(denied.value)
        assert (subscribe.actor, subscribe.action) == (holder.principal, "subscribe")
        assert subscribe.resource == "orders.>"
        assert (anonymous.actor, anonymous.decision) == (None, Decision.DENY)
        assert [i for i, _ in log.records(actor=holder.principal)] == [0, 1]
        assert bus.stats().denied == 3


def test_audit_scope_all_records_allowed_calls(
    authority: Authority, root: KeyPair, holder: KeyPair, open_session: OpenSession
) -> None:
    token = Token.mint(root, holder.public_key, ["publish a", "subscribe a", "request r"], T0, T0 + HOUR)
    with AuditLog.in_memory() as log, Bus(authority=authority, audit=log, audit_scope="all") as bus:
        client = bus.client(open_session(token, holder))
        queue = client.subscribe("a")
        client.publish("a", b"1")
        assert queue.recv(timeout=1).payload == b"1"
        with pytest.raises(charter.NotFoundError):
            client.request("r", b"", timeout=1)
        with pytest.raises(charter.DeniedError):
            client.publish("b", b"2")
        assert [(r.action, r.resource, r.decision, r.actor) for r in records(log)] == [
            ("subscribe", "a", Decision.ALLOW, holder.principal),
            ("publish", "a", Decision.ALLOW, holder.principal),
            ("request", "r", Decision.ALLOW, holder.principal),
            ("publish", "b", Decision.DENY, holder.principal),
        ]


def test_an_open_bus_may_record_too() -> None:
    with AuditLog.in_memory() as log, Bus(audit=log, audit_scope="all") as bus:
        bus.publish("t", b"")
        with Bus(audit=log) as quiet:
            quiet.publish("t", b"")
        recorded = [(r.action, r.actor, r.decision) for r in records(log)]
        assert recorded == [("publish", None, Decision.ALLOW)]


def test_closing_the_bus_and_the_log_frees_the_file_at_once(tmp_path: Path) -> None:
    """No garbage collection needed: the closed objects are still referenced."""
    path = tmp_path / "audit.log"
    log = AuditLog.open(path)
    bus = Bus(audit=log, audit_scope="all")
    sub = bus.subscribe("t")
    bus.publish("t", b"")
    with pytest.raises(charter.WouldBlockError):
        AuditLog.open(path)
    bus.close()
    log.close()
    with AuditLog.open(path) as again:
        assert len(again) == 2
    assert sub is not None and bus.closed and log.closed


def test_the_authority_records_session_openings(
    root: KeyPair, holder: KeyPair, clock: ManualClock
) -> None:
    token = Token.mint(root, holder.public_key, ["publish a"], T0, T0 + HOUR)
    with AuditLog.in_memory() as log:
        authority = Authority([root.public_key], clock=clock, audit=log, audit_scope="all")
        challenge = authority.challenge()
        authority.open_session(token, challenge, token.prove(holder, challenge))
        challenge = authority.challenge()
        with pytest.raises(charter.BadSignatureError):
            authority.open_session(token, challenge, bytes(64))
        allowed, refused = records(log)
        assert (allowed.action, allowed.resource, allowed.actor, allowed.decision) == (
            "open_session",
            str(root.public_key),
            holder.principal,
            Decision.ALLOW,
        )
        assert (refused.decision, refused.reason) == (
            Decision.DENY,
            charter.STATUS_CODES["CHARTER_E_BAD_SIGNATURE"],
        )
        # The refusal names the holder, but nobody proved to be the holder.
        assert (allowed.actor_unproven, refused.actor, refused.actor_unproven) == (
            False,
            holder.principal,
            True,
        )
        denials_only = AuditLog.in_memory()
        authority = Authority([root.public_key], clock=clock, audit=denials_only)
        challenge = authority.challenge()
        authority.open_session(token, challenge, token.prove(holder, challenge))
        assert len(denials_only) == 0


def test_bad_audit_arguments(authority: Authority) -> None:
    log = AuditLog.in_memory()
    with pytest.raises(charter.InvalidArgumentError, match='"denials" or "all", not "some"'):
        Bus(audit=log, audit_scope="some")  # type: ignore[arg-type]
    with pytest.raises(charter.InvalidArgumentError, match="audit_scope"):
        Authority(audit=log, audit_scope="none")  # type: ignore[arg-type]
    log.close()
    with pytest.raises(charter.ClosedError):
        Bus(authority=authority, audit=log)
    with pytest.raises(charter.ClosedError):
        Authority(audit=log)
    with pytest.raises(TypeError):
        Bus(audit="audit.log")  # type: ignore[arg-type]


def test_a_bus_keeps_recording_to_a_log_closed_under_it(tmp_path: Path, authority: Authority) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog.open(path)
    with Bus(authority=authority, audit=log) as bus:
        log.close()
        with pytest.raises(charter.DeniedError):
            bus.publish("t", b"")
    del bus
    with AuditLog.open(path) as reopened:
        assert [(r.action, r.decision) for r in records(reopened)] == [("publish", Decision.DENY)]


def test_threads_denied_concurrently(
    tmp_path: Path, authority: Authority, root: KeyPair, open_session: OpenSession
) -> None:
    threads, each = 4, 50
    keys = [KeyPair.generate() for _ in range(threads)]
    with AuditLog.open(tmp_path / "audit.log") as log, Bus(authority=authority, audit=log) as bus:
        clients = [
            bus.client(open_session(Token.mint(root, k.public_key, ["publish ok"], T0, T0 + HOUR), k))
            for k in keys
        ]
        failures: List[BaseException] = []

        def publish(client: charter.Client) -> None:
            for i in range(each):
                client.publish("ok", b"")
                try:
                    client.publish(f"no.{i}", b"")
                except charter.DeniedError:
                    continue
                except BaseException as exc:
                    failures.append(exc)
                failures.append(AssertionError("not denied"))

        workers = [threading.Thread(target=publish, args=(c,)) for c in clients]
        for t in workers:
            t.start()
        for t in workers:
            t.join(60)
        assert failures == [] and not any(t.is_alive() for t in workers)
        assert len(log) == threads * each
        for k in keys:
            mine = [r.resource for _, r in log.records(actor=k.principal)]
            assert mine == [f"no.{i}" for i in range(each)]
        assert log.verify().ok


def test_a_claimed_actor_round_trips_and_needs_an_actor(holder: KeyPair) -> None:
    with AuditLog.in_memory() as log:
        index = log.append("open_session", "k", "deny", actor=holder.principal, actor_unproven=True)
        assert log[index].actor_unproven and log[index].actor == holder.principal
        assert log.append(Record("x", "", Decision.ALLOW, actor=holder.principal)) == index + 1
        assert not log[index + 1].actor_unproven
        leaf = log[index].encode(index)
        assert leaf[22] == 2 and log[index + 1].encode(index + 1)[22] == 1
        with pytest.raises(charter.InvalidArgumentError, match="cannot mark its actor unproven"):
            log.append("x", "", "deny", actor_unproven=True)
        with pytest.raises(TypeError, match="no other arguments"):
            log.append(Record("x", "", Decision.DENY), actor_unproven=True)  # type: ignore[call-overload]
        assert len(log) == 2
