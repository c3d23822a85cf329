"""The audit log: record decisions, sign checkpoints, prove and verify.

Run: ``python bindings-python/examples/audit.py``
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import charter

START = 1_700_000_000
HOUR = 3600
ORIGIN = "example.com/orders-audit"


def open_session(
    authority: charter.Authority, token: charter.Token, key: charter.KeyPair
) -> charter.Session:
    challenge = authority.challenge()
    return authority.open_session(token, challenge, token.prove(key, challenge))


def record_denials(log: charter.AuditLog) -> str:
    """An enforcing bus that records every refusal in `log`; returns the
    principal it refused."""
    root, worker = charter.KeyPair.generate(), charter.KeyPair.generate()
    authority = charter.Authority([root.public_key], clock=charter.ManualClock(START))
    token = charter.Token.mint(root, worker.public_key, ["publish orders.eu.*"], START, START + HOUR)
    with charter.Bus(authority=authority, audit=log, audit_scope="denials") as bus:
        client = bus.client(open_session(authority, token, worker))
        client.publish("orders.eu.created", b"order 17")  # allowed: not recorded
        try:
            client.publish("orders.us.created", b"order 18")
        except charter.DeniedError:
            pass
    return worker.principal


def audit(path: Path, log_key: charter.KeyPair) -> None:
    with charter.AuditLog.open(path, fsync="always", signer=log_key, origin=ORIGIN) as log:
        refused = record_denials(log)
        log.append(charter.Record("refund", "order/17", charter.Decision.ALLOW, detail="policy 4"))
        log.append("refund", "order/18", "deny", actor=refused, reason=-10)
        note = log.checkpoint()  # signed, and kept in <path>.checkpoint
        vkey = log.verifier_key
        assert vkey is not None

        for index, record in log.records(decision="deny"):
            who = "the worker" if record.actor == refused else record.actor
            print(f"denied #{index}: {record.action} {record.resource} by {who}")

        # An auditor holding only the note and the verifier key:
        checkpoint = charter.verify_checkpoint(note, vkey)
        print(f"checkpoint: {checkpoint.size} records")
        proof = log.prove_inclusion(1, checkpoint.size)
        leaf = charter.leaf_hash(log[1].encode(1))
        charter.verify_inclusion(leaf, 1, checkpoint.size, proof, checkpoint.root)
        print("record 1 is in it")

        log.append("refund", "order/19", "allow")
        proof = log.prove_consistency(checkpoint.size, len(log))
        charter.verify_consistency(checkpoint.size, len(log), checkpoint.root, log.root, proof)
        print(f"the log of {len(log)} extends it: {log.verify_against(note).ok}")

    # Change one byte of the file: reopening names the damaged record.
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    try:
        charter.AuditLog.open(path)
    except charter.CorruptError as e:
        print(f"tampered: {e.code}, names record 3: {'record 3' in str(e)}")


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        audit(Path(directory) / "audit.log", charter.KeyPair.generate())


if __name__ == "__main__":
    main()
