"""Witnessed checkpoints (C2SP tlog-cosignature, cosignature/v1): the
witness cosigns only a checkpoint that extends the last one it cosigned
for that log, and a verifier requires k of n witnesses."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path
from typing import List, Tuple

import pytest

import charter
from charter import AuditLog, KeyPair, Witness, verify_log
from conftest import AUDIT_ORIGIN as ORIGIN

T = 1_750_000_000


def witnesses(tmp_path: Path, vkey: str, n: int) -> List[Witness]:
    return [
        Witness.open(tmp_path / f"w{i}.state", name=f"witness{i}.example", key=KeyPair.generate(), logs=[vkey])
        for i in range(n)
    ]


def grow(log: AuditLog, n: int) -> str:
    for i in range(n):
        log.append("publish", f"orders.{len(log)}", "deny", time=T + i)
    return log.checkpoint()


def test_cosigner_key_is_c2sp(key: KeyPair) -> None:
    text = charter.cosigner_key("w.example", key.public_key)
    name, key_id, encoded = text.split("+", 2)
    raw = base64.b64decode(encoded)
    assert name == "w.example" and raw[0] == 0x04 and raw[1:] == bytes(key.public_key)
    assert bytes.fromhex(key_id) == hashlib.sha256(b"w.example\n" + raw).digest()[:4]
    with pytest.raises(charter.InvalidArgumentError):
        charter.cosigner_key("has space", key.public_key)


def test_cosign_and_verify_k_of_n(key: KeyPair, vkey: str) -> None:
    with AuditLog.in_memory(signer=key, origin=ORIGIN) as log:
        note = grow(log, 3)
    keys = [KeyPair.generate() for _ in range(3)]
    wkeys = [charter.cosigner_key(f"w{i}", k.public_key) for i, k in enumerate(keys)]
    lines = [charter.cosign(note, f"w{i}", k, T + i) for i, k in enumerate(keys)]
    assert all(line.startswith("\u2014 w") and line.endswith("\n") for line in lines)

    two = note + lines[0] + lines[2]
    cosigned = charter.verify_cosigned(two, vkey, wkeys, 2)
    assert (cosigned.checkpoint.size, cosigned.witnesses, cosigned.timestamps) == (3, ("w0", "w2"), (T, T + 2))
    # Quorum not met.
    with pytest.raises(charter.BadSignatureError):
        charter.verify_cosigned(two, vkey, wkeys, 3)
    # The same witness twice counts once.
    with pytest.raises(charter.BadSignatureError):
        charter.verify_cosigned(note + lines[1] + lines[1], vkey, wkeys, 2)
    assert charter.verify_cosigned(note + lines[1] + lines[1], vkey, wkeys, 1).witnesses == ("w1",)
    # Listing a witness's key twice does not count it twice either.
    with pytest.raises(charter.BadSignatureError):
        charter.verify_cosigned(note + lines[1], vkey, [wkeys[1], wkeys[1]], 2)
    # A quorum larger than the witnesses can never be met.
    with pytest.raises(charter.InvalidArgumentError):
        charter.verify_cosigned(two, vkey, wkeys, 4)
    # A cosignature over another checkpoint does not verify.
    with AuditLog.in_memory(signer=key, origin=ORIGIN) as other:
        other_note = grow(other, 4)
    foreign = charter.cosign(other_note, "w0", keys[0], T)
    with pytest.raises(charter.BadSignatureError):
        charter.verify_cosigned(note + foreign, vkey, wkeys, 1)


def test_witness_cosigns_what_extends_and_refuses_a_split_view(tmp_path: Path, key: KeyPair, vkey: str) -> None:
    witness, = witnesses(tmp_path, vkey, 1)
    assert witness.name == "witness0.example"
    assert witness.latest(ORIGIN) is None
    with AuditLog.in_memory(signer=key, origin=ORIGIN) as log:
        first = grow(log, 4)
        line = witness.add_checkpoint(0, [], first, timestamp=T)
        assert charter.verify_cosigned(first + line, vkey, [witness.verifier_key], 1).timestamps == (T,)
        assert witness.latest(ORIGIN) == (4, log.root_at(4))
        assert stat.S_IMODE((tmp_path / "w0.state").stat().st_mode) == 0o600

        second = grow(log, 3)
        proof = log.prove_consistency(4, 7)
        with pytest.raises(charter.DeniedError, match="size 4"):
            witness.add_checkpoint(0, [], second)
        line = witness.add_checkpoint(4, proof, second)
        charter.verify_cosigned(second + line, vkey, [witness.verifier_key], 1)

    # A second history under the same key and origin: the witness refuses.
    with AuditLog.in_memory(signer=key, origin=ORIGIN) as fork:
        grow(fork, 4)
        fork.append("publish", "forged", "allow", time=T)
        forked = grow(fork, 3)
        with pytest.raises(charter.CorruptError):
            witness.add_checkpoint(7, [], forked)
        with pytest.raises(charter.CorruptError):
            witness.add_checkpoint(7, fork.prove_consistency(7, 8), forked)
        with pytest.raises(charter.DeniedError):
            witness.add_checkpoint(4, fork.prove_consistency(4, 8), forked)
    assert witness.latest(ORIGIN) is not None and witness.latest(ORIGIN)[0] == 7  # type: ignore[index]


def test_witness_refuses_unknown_and_unsigned(tmp_path: Path, key: KeyPair, vkey: str) -> None:
    witness, = witnesses(tmp_path, vkey, 1)
    with AuditLog.in_memory(signer=KeyPair.generate(), origin="other.example/log") as log:
        with pytest.raises(charter.NotFoundError):
            witness.add_checkpoint(0, [], grow(log, 1))
    with AuditLog.in_memory(signer=KeyPair.generate(), origin=ORIGIN) as log:
        with pytest.raises(charter.BadSignatureError):
            witness.add_checkpoint(0, [], grow(log, 1))
    with pytest.raises(charter.MalformedError):
        Witness.open(tmp_path / "s", name="w", key=key, logs=["not a key"])


def test_witness_request_round_trip(key: KeyPair) -> None:
    with AuditLog.in_memory(signer=key, origin=ORIGIN) as log:
        grow(log, 2)
        note = grow(log, 3)
        proof = log.prove_consistency(2, 5)
    body = charter.witness_request(2, proof, note)
    assert body.startswith("old 2\n")
    assert charter.parse_witness_request(body) == (2, proof, note)
    with pytest.raises(charter.MalformedError):
        charter.parse_witness_request("old x\n\n" + note)


def test_verify_log_requires_a_quorum_of_witnesses(tmp_path: Path, key: KeyPair, vkey: str) -> None:
    path = tmp_path / "audit.log"
    ws = witnesses(tmp_path, vkey, 3)
    wkeys = [w.verifier_key for w in ws]
    with AuditLog.open(path, signer=key, origin=ORIGIN) as log:
        note = grow(log, 5)
    cosigned: Tuple[str, ...] = tuple(w.add_checkpoint(0, [], note, timestamp=T) for w in ws[:2])
    Path(f"{path}.checkpoint").write_text(note + "".join(cosigned))

    report = verify_log(path, log_key=vkey, witnesses=wkeys, quorum=2)
    assert report.ok, report.problem
    assert report.witnesses == ("witness0.example", "witness1.example")
    report = verify_log(path, log_key=vkey, witnesses=wkeys, quorum=3)
    assert not report.ok and report.problem_code == "CHARTER_E_BAD_SIGNATURE"
    # The same cosignature twice is still one witness.
    Path(f"{path}.checkpoint").write_text(note + cosigned[0] + cosigned[0])
    assert not verify_log(path, log_key=vkey, witnesses=wkeys, quorum=2).ok
    assert verify_log(path, log_key=vkey, witnesses=wkeys, quorum=1).witnesses == ("witness0.example",)
