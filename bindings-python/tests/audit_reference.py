"""An independent reference for the audit tests, written from the specs
alone (RFC 9162, C2SP signed-note and tlog-checkpoint, docs/formats.md):
SHA-256 from hashlib, nothing from Charter."""

from __future__ import annotations

import base64
import hashlib
from typing import List, Sequence, Tuple

import charter

DECISION_CODES = {"allow": 0, "deny": 1, "error": 2}
HEADER = b"CHAU\x01\x00\x00\x00"
FRAME_HEAD = 4 + 4 + 32


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(leaf: bytes) -> bytes:
    return sha256(b"\x00" + leaf)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 section 2.1.1, over leaf hashes."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def inclusion_path(m: int, leaves: Sequence[bytes]) -> List[bytes]:
    """PATH(m, D[n]) of section 2.1.3.1."""
    if len(leaves) == 1:
        return []
    k = split(len(leaves))
    if m < k:
        return inclusion_path(m, leaves[:k]) + [mth(leaves[k:])]
    return inclusion_path(m - k, leaves[k:]) + [mth(leaves[:k])]


def consistency_proof(m: int, leaves: Sequence[bytes]) -> List[bytes]:
    """PROOF(m, D[n]) of section 2.1.4.1, for 0 < m < n."""

    def subproof(m: int, leaves: Sequence[bytes], whole: bool) -> List[bytes]:
        if m == len(leaves):
            return [] if whole else [mth(leaves)]
        k = split(len(leaves))
        if m <= k:
            return subproof(m, leaves[:k], whole) + [mth(leaves[k:])]
        return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]

    return subproof(m, leaves, True)


def _shift_until_set(fn: int, sn: int) -> Tuple[int, int]:
    while fn & 1 == 0 and fn != 0:
        fn >>= 1
        sn >>= 1
    return fn, sn


def verifies_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """The verification algorithm of section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if fn & 1 == 0:
                fn, sn = _shift_until_set(fn, sn)
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verifies_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """The verification algorithm of section 2.1.4.2, for 0 < first < second."""
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if fn & 1 == 0:
                fn, sn = _shift_until_set(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def principal_bytes(principal: str) -> bytes:
    text = principal[len("charter-id1:") :]
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(index: int, record: charter.Record) -> bytes:
    """The record's leaf, as docs/formats.md lays it out."""
    out = bytearray([1])
    out += index.to_bytes(8, "big")
    out += record.time.to_bytes(8, "big")
    out.append(DECISION_CODES[record.decision.value])
    out += record.reason.to_bytes(4, "big", signed=True)
    if record.actor is None:
        out.append(0)
    else:
        out.append(2 if record.actor_unproven else 1)
        out += principal_bytes(record.actor)
    for text in (record.action, record.resource, record.detail):
        data = text.encode()
        out += len(data).to_bytes(2, "big") + data
    return bytes(out)


def frame(leaf: bytes) -> bytes:
    """The leaf's frame in the audit file."""
    length = len(leaf)
    return (
        length.to_bytes(4, "big")
        + (length ^ 0xFFFFFFFF).to_bytes(4, "big")
        + leaf_hash(leaf)
        + leaf
    )


def frame_offsets(records: Sequence[charter.Record]) -> List[int]:
    """Where each record's frame starts in the file."""
    offsets, at = [], len(HEADER)
    for index, record in enumerate(records):
        offsets.append(at)
        at += FRAME_HEAD + len(encode(index, record))
    return offsets


def key_id(name: str, public_key: bytes) -> bytes:
    """A signed-note Ed25519 key id."""
    return sha256(name.encode() + b"\n" + b"\x01" + public_key)[:4]


def split_note(note: str) -> Tuple[str, List[Tuple[str, bytes, bytes]]]:
    """A signed note's text and its signature lines as (name, key id, signature)."""
    blank = note.rindex("\n\n")
    text, lines = note[: blank + 1], note[blank + 2 :]
    signatures = []
    for line in lines.splitlines():
        assert line.startswith("\u2014 ")
        name, encoded = line[2:].split(" ")
        raw = base64.b64decode(encoded, validate=True)
        signatures.append((name, raw[:4], raw[4:]))
    return text, signatures


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
