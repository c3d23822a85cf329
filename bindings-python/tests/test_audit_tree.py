"""The audit tree against an independent implementation of RFC 9162 (every
root and proof of every tree up to 32 records), and checkpoints against an
independent Ed25519 verifier of C2SP signed notes (the `cryptography`
package)."""

from __future__ import annotations

import base64
from typing import Iterator, List, Tuple

import pytest
from audit_reference import (
    checkpoint_body,
    consistency_proof,
    encode,
    inclusion_path,
    key_id,
    leaf_hash,
    mth,
    sha256,
    split_note,
    verifies_consistency,
    verifies_inclusion,
)
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

import charter
from charter import AuditLog, Decision, KeyPair, Record
from conftest import AUDIT_ORIGIN as ORIGIN

N = 32


@pytest.fixture(scope="module")
def tree() -> Iterator[Tuple[AuditLog, List[bytes]]]:
    """A log of N records and their leaf hashes, computed independently."""
    actor = KeyPair.generate().principal
    with AuditLog.in_memory() as log:
        leaves = []
        for i in range(N):
            record = Record(
                "publish",
                f"orders.{i}",
                Decision.DENY if i % 3 else Decision.ALLOW,
                actor=actor if i % 2 else None,
                reason=-10 if i % 3 else 0,
                detail="x" * i,
                time=1_700_000_000_000 + i,
            )
            log.append(record)
            leaves.append(leaf_hash(encode(i, record)))
        yield log, leaves


def test_leaves_and_roots(tree: Tuple[AuditLog, List[bytes]]) -> None:
    log, leaves = tree
    assert [log.leaf_hash(i) for i in range(N)] == leaves
    assert [charter.leaf_hash(log[i].encode(i)) for i in range(N)] == leaves
    assert charter.EMPTY_ROOT == sha256(b"") == mth([])
    for n in range(N + 1):
        assert log.root_at(n) == mth(leaves[:n]), n
    assert log.root == mth(leaves)


def test_every_inclusion_proof(tree: Tuple[AuditLog, List[bytes]]) -> None:
    log, leaves = tree
    for n in range(1, N + 1):
        root = mth(leaves[:n])
        for i in range(n):
            proof = log.prove_inclusion(i, n)
            assert proof == inclusion_path(i, leaves[:n]), (i, n)
            charter.verify_inclusion(leaves[i], i, n, proof, root)
            assert verifies_inclusion(i, n, leaves[i], proof, root)


def test_every_consistency_proof(tree: Tuple[AuditLog, List[bytes]]) -> None:
    log, leaves = tree
    for n in range(1, N + 1):
        new_root = mth(leaves[:n])
        for m in range(1, n):
            proof = log.prove_consistency(m, n)
            assert proof == consistency_proof(m, leaves[:n]), (m, n)
            old_root = mth(leaves[:m])
            charter.verify_consistency(m, n, old_root, new_root, proof)
            assert verifies_consistency(m, n, old_root, new_root, proof)
        assert log.prove_consistency(n, n) == log.prove_consistency(0, n) == []
        charter.verify_consistency(n, n, new_root, new_root, [])
        charter.verify_consistency(0, n, charter.EMPTY_ROOT, new_root, [])


def test_wrong_proofs_fail_both_verifiers(tree: Tuple[AuditLog, List[bytes]]) -> None:
    log, leaves = tree
    n, i, m = 21, 6, 13
    root, old_root = mth(leaves[:n]), mth(leaves[:m])
    proof = log.prove_inclusion(i, n)
    for at in range(len(proof)):
        bad = list(proof)
        bad[at] = bytes(32)
        with pytest.raises(charter.BadSignatureError):
            charter.verify_inclusion(leaves[i], i, n, bad, root)
        assert not verifies_inclusion(i, n, leaves[i], bad, root)
    with pytest.raises(charter.BadSignatureError):
        charter.verify_inclusion(leaves[i + 1], i, n, proof, root)
    assert not verifies_inclusion(i, n, leaves[i + 1], proof, root)
    with pytest.raises(charter.MalformedError):
        charter.verify_inclusion(leaves[i], i, n, proof[:-1], root)
    with pytest.raises(charter.InvalidArgumentError):
        charter.verify_inclusion(leaves[i], n, n, proof, root)
    with pytest.raises(charter.InvalidArgumentError, match="must be 32 bytes, not 31"):
        charter.verify_inclusion(leaves[i], i, n, [proof[0][1:]] + proof[1:], root)
    with pytest.raises(TypeError, match="bytes-like"):
        charter.verify_inclusion("leaf", i, n, proof, root)  # type: ignore[arg-type]

    proof = log.prove_consistency(m, n)
    for at in range(len(proof)):
        bad = list(proof)
        bad[at] = bytes(32)
        with pytest.raises(charter.BadSignatureError):
            charter.verify_consistency(m, n, old_root, root, bad)
        assert not verifies_consistency(m, n, old_root, root, bad)
    with pytest.raises(charter.BadSignatureError):
        charter.verify_consistency(m, n, mth(leaves[: m - 1]), root, proof)
    with pytest.raises(charter.MalformedError):
        charter.verify_consistency(m, n, old_root, root, proof + proof[:1])
    with pytest.raises(charter.InvalidArgumentError):
        charter.verify_consistency(n, m, root, old_root, proof)


def private_key_pair() -> Tuple[Ed25519PrivateKey, KeyPair]:
    """One Ed25519 key, held by `cryptography` and by Charter."""
    private = Ed25519PrivateKey.generate()
    der = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return private, KeyPair.from_pkcs8(der)


def test_checkpoints_are_c2sp_signed_notes() -> None:
    key = KeyPair.generate()
    public = bytes(key.public_key)
    with AuditLog.in_memory(signer=key, origin=ORIGIN) as log:
        for i in range(5):
            log.append("a", str(i), "allow")
        note = log.checkpoint()
        encoded = base64.b64encode(b"\x01" + public).decode()
        assert log.verifier_key == f"{ORIGIN}+{key_id(ORIGIN, public).hex()}+{encoded}"
        root = log.root
    text, signatures = split_note(note)
    assert text == checkpoint_body(ORIGIN, 5, root)
    assert len(signatures) == 1
    name, kid, signature = signatures[0]
    assert (name, kid) == (ORIGIN, key_id(ORIGIN, public))
    Ed25519PublicKey.from_public_bytes(public).verify(signature, text.encode())
    with pytest.raises(InvalidSignature):
        Ed25519PublicKey.from_public_bytes(public).verify(signature, text.replace("5", "6", 1).encode())


def sign_note(private: Ed25519PrivateKey, name: str, text: str) -> str:
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    public = private.public_key().public_bytes(*raw)
    signature = key_id(name, public) + private.sign(text.encode())
    return f"{text}\n\u2014 {name} {base64.b64encode(signature).decode()}\n"


def test_notes_signed_independently_verify() -> None:
    private, key = private_key_pair()
    vkey = charter.verifier_key(ORIGIN, key.public_key)
    root = bytes(range(32))
    note = sign_note(private, ORIGIN, checkpoint_body(ORIGIN, 9, root))
    assert charter.verify_checkpoint(note, vkey) == charter.Checkpoint(ORIGIN, 9, root)

    cosigned = note + sign_note(Ed25519PrivateKey.generate(), "witness.example", "").split("\n", 1)[1]
    assert charter.verify_checkpoint(cosigned, vkey).size == 9
    with pytest.raises(charter.BadSignatureError):
        charter.verify_checkpoint(note.replace("\n9\n", "\n8\n"), vkey)
    with pytest.raises(charter.BadSignatureError, match="no signature by"):
        charter.verify_checkpoint(note, charter.verifier_key(ORIGIN, KeyPair.generate().public_key))
    with pytest.raises(charter.MalformedError):
        charter.verify_checkpoint(note, "not a verifier key")


def test_verify_against_a_checkpoint_of_another_origin() -> None:
    private, key = private_key_pair()
    with AuditLog.in_memory(signer=key, origin=ORIGIN) as log:
        log.append("a", "r", "allow")
        note = sign_note(private, ORIGIN, checkpoint_body("example.com/other", 1, log.root))
        with pytest.raises(charter.InvalidArgumentError, match="not of this log"):
            log.verify_against(note)
        assert log.verify_against(sign_note(private, ORIGIN, checkpoint_body(ORIGIN, 1, log.root))).ok
        forked = sign_note(private, ORIGIN, checkpoint_body(ORIGIN, 1, bytes(32)))
        report = log.verify_against(forked)
        assert not report.ok and report.problem is not None
