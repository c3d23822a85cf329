"""Charter's end-to-end scenario (the one ``make demo`` runs in C), in Python.

An operator grants the billing service the right to publish order events,
billing hands a narrower right to a worker, an enforcing bus checks every
call against sessions opened with proof of possession, the operator revokes
the worker, and every decision lands in a signed audit log that an auditor
then verifies from the files alone.

Run: ``python bindings-python/examples/demo.py [DIR]``

It writes ``DIR/audit.log``, its checkpoint ``DIR/audit.log.checkpoint``
and the verifier key ``DIR/audit.vkey``; without ``DIR`` it uses a
temporary directory.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import charter

ORIGIN = "demo.charter.local/audit"
HOUR = 3600


@dataclass
class Party:
    """A principal of the scenario: its key, its token and, once it has
    proven the key, its view of the bus."""

    name: str
    key: charter.KeyPair = field(default_factory=charter.KeyPair.generate)
    token: Optional[charter.Token] = None
    client: Optional[charter.Client] = None


def verdict(who: str, action: str, resource: str, attempt: Callable[[], object]) -> None:
    """Runs ``attempt`` and prints its outcome. A refusal is an expected
    result here, so it is shown with its status and message rather than
    raised; any other error stops the demo."""
    try:
        attempt()
    except (charter.DeniedError, charter.RevokedError, charter.ExpiredError) as e:
        print(f"   denied   {who:<8} {action:<10} {resource}")
        print(f"            {e.code}: {e.message}")
        return
    print(f"   allowed  {who:<8} {action:<10} {resource}")


def open_session(authority: charter.Authority, bus: charter.Bus, party: Party) -> None:
    """Proof of possession: the holder signs a fresh challenge from the
    authority with its key, so a token copied off the wire opens nothing."""
    token = party.token
    assert token is not None

    def attempt() -> None:
        challenge = authority.challenge()
        session = authority.open_session(token, challenge, token.prove(party.key, challenge))
        party.client = bus.client(session)

    verdict(party.name, "open", "session (key proven)", attempt)


def publish(party: Party, topic: str, order: bytes) -> None:
    client = party.client
    assert client is not None
    verdict(party.name, "publish", topic, lambda: client.publish(topic, order))


def play(log_path: Path, vkey_path: Path) -> None:
    print(f"Charter {charter.__version__} end-to-end demo (Python)\n")

    print("1. The operator creates a root key and opens the audit log")
    operator = Party("operator")
    print(f"   root     {operator.key.public_key}")
    # The log signs its checkpoints with a key of its own: auditors then
    # trust the log's key without being able to mint tokens.
    # A fresh log: one that exists was signed with another run's key, and
    # the log refuses to mix histories (a new key is a new history).
    if log_path.exists():
        raise SystemExit(f"{log_path} already exists; give an empty directory")
    with charter.AuditLog.open(log_path, signer=charter.KeyPair.generate(), origin=ORIGIN) as log:
        # "all": allowed calls are evidence too, not only refusals. The
        # authority records session openings, the bus every publish and
        # subscribe.
        authority = charter.Authority([operator.key.public_key], audit=log, audit_scope="all")
        with charter.Bus(authority=authority, audit=log, audit_scope="all") as bus:
            print(f"   log      {log_path}: the authority's and the bus's every decision")
            scenario(operator, authority, bus, log)

        print("\n6. The log signs a checkpoint; auditors get it and the verifier key")
        log.checkpoint()  # kept in <log>.checkpoint
        assert log.verifier_key is not None
        vkey_path.write_text(log.verifier_key + "\n", encoding="utf-8")
        print(f"   checkpoint    {log_path}.checkpoint")
        print(f"   verifier key  {vkey_path}")


def scenario(
    operator: Party, authority: charter.Authority, bus: charter.Bus, log: charter.AuditLog
) -> None:
    now = int(time.time())
    print("\n2. The operator issues billing a token for one hour")
    billing = Party("billing")
    billing_grants = ["publish orders.*.created", "subscribe payments.>"]
    billing.token = charter.Token.mint(
        operator.key, billing.key.public_key, billing_grants, now, now + HOUR
    )
    print(f"   billing  {billing.key.principal}")
    print(f"   grants   {', '.join(billing_grants)}")

    print("\n3. billing delegates a narrower token to a worker for 15 minutes")
    worker = Party("worker")
    worker_grants = ["publish orders.eu.created"]
    worker.token = billing.token.delegate(
        billing.key, worker.key.public_key, worker_grants, now, now + 15 * 60
    )
    print(f"   worker   {worker.key.principal}")
    print(f"   grants   {', '.join(worker_grants)} (a delegation can only narrow)")

    print("\n4. Both prove their keys, open sessions and use the enforcing bus")
    open_session(authority, bus, billing)
    open_session(authority, bus, worker)
    for party in (billing, worker):
        client = party.client
        assert client is not None
        verdict(party.name, "subscribe", "payments.>", lambda: client.subscribe("payments.>"))
    publish(billing, "orders.eu.created", b"order 1001")
    publish(billing, "orders.us.created", b"order 1002")
    publish(billing, "orders.eu.deleted", b"order 1001")
    publish(billing, "payments.eu.settled", b"order 1001")
    publish(worker, "orders.eu.created", b"order 1003")
    publish(worker, "orders.us.created", b"order 1004")

    # Link 0 is the operator's grant to billing, link 1 billing's grant to
    # the worker: revoking link 1 cuts off the worker and no one else.
    print("\n5. The operator revokes the worker's delegation")
    link = worker.token.links[1].id
    authority.revoke(link)
    # The revocation is the operator's act, not a bus or authority
    # decision, so it is appended to the log by hand.
    log.append(
        "revoke", link, "allow", actor=operator.key.principal, detail="the worker's delegation"
    )
    print(f"   revoked  link {link[:16]}...")
    assert worker.client is not None
    print(f"   worker's session active: {'yes' if worker.client.session.active else 'no'}")
    publish(worker, "orders.eu.created", b"order 1005")
    open_session(authority, bus, worker)
    print("   billing's own token is untouched:")
    publish(billing, "orders.eu.created", b"order 1006")


def audit(log_path: Path, vkey_path: Path) -> None:
    """The auditor's side: it trusts only the verifier key and reads the
    log and its checkpoint from the files, once the writer has let go."""
    print("\n7. An auditor checks the files")
    vkey = vkey_path.read_text(encoding="utf-8").strip()
    note = Path(f"{log_path}.checkpoint").read_text(encoding="utf-8")
    checkpoint = charter.verify_checkpoint(note, vkey)
    if checkpoint.origin != ORIGIN:
        raise SystemExit(f"checkpoint of {checkpoint.origin!r}, expected {ORIGIN!r}")
    print(f"   checkpoint  signature valid, size {checkpoint.size} of {checkpoint.origin}")

    with charter.AuditLog.open(log_path) as log:
        report = log.verify()
        if not report.ok:
            raise SystemExit(f"{log_path}: {report.problem}")
        if log.root_at(checkpoint.size) != checkpoint.root:
            raise SystemExit(f"{log_path}: the first {checkpoint.size} records do not match")
        print(
            f"   log         {report.records} records intact,"
            f" the first {checkpoint.size} match the checkpoint"
        )
        counts = Counter(str(record.decision) for _, record in log.records())

    print(
        f"\nSummary: {report.records} records ({counts['allow']} allowed,"
        f" {counts['deny']} denied), verified against the signed checkpoint."
    )


def run(directory: Path) -> None:
    log_path, vkey_path = directory / "audit.log", directory / "audit.vkey"
    play(log_path, vkey_path)
    audit(log_path, vkey_path)


def main() -> None:
    if len(sys.argv) > 2:
        raise SystemExit("usage: demo.py [DIR]")
    if len(sys.argv) == 2:
        run(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as directory:
            run(Path(directory))


if __name__ == "__main__":
    main()
