"""vectors/bridge/messages.json in Python.

Seal cases: the signed bytes are rebuilt here from the message, as
docs/formats.md states them ("NATS bridge message authentication"), and
each proof is checked with the ``cryptography`` package's Ed25519, not
Charter's. Verify cases: each goes, in order, through one
:class:`charter.BridgeVerifier` (the replay window carries from case to
case) and must come out as stated. Seal id cases: the hashed bytes and the
id are rebuilt from the spec with ``hashlib``."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

import charter

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "vectors" / "bridge" / "messages.json").read_text(encoding="utf-8")
)
ENVELOPE = {"Charter-Origin", "Charter-Seq", "Charter-Time", "Charter-Token", "Charter-Proof"}


def headers_of(case: Dict[str, Any]) -> List[Tuple[str, str]]:
    return [(name, value) for name, value in case["headers"]]


def unbase64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def lv(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def signed_bytes(case: Dict[str, Any]) -> bytes:
    """The bytes a proof signs, built from the spec alone."""
    fields = dict((n, v) for n, v in headers_of(case) if n in ENVELOPE)
    token = unbase64url(fields["Charter-Token"].removeprefix("charter-tok1:"))
    others = sorted(
        ((n.encode(), v.encode()) for n, v in headers_of(case) if n not in ENVELOPE)
    )
    out = b"charter/bridge-message/v1\0"
    out += bytes.fromhex(fields["Charter-Origin"])
    out += struct.pack(">QQ", int(fields["Charter-Seq"]), int(fields["Charter-Time"]))
    out += lv(case["subject"]) + lv(case["reply"] or "")
    out += hashlib.sha256(token).digest()
    out += hashlib.sha256(bytes.fromhex(case["payload_hex"])).digest()
    out += struct.pack(">H", len(others))
    for name, value in others:
        out += struct.pack(">H", len(name)) + name + struct.pack(">H", len(value)) + value
    return out


@pytest.mark.parametrize("case", VECTORS["seal_cases"], ids=lambda c: c["name"])
def test_seal_cases_sign_the_documented_bytes(case: Dict[str, Any]) -> None:
    ed25519 = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    signed = signed_bytes(case)
    assert signed.hex() == case["signed_bytes_hex"]
    fields = dict(headers_of(case))
    holder = bytes(charter.Token.from_text(fields["Charter-Token"]).subject)
    key = ed25519.Ed25519PublicKey.from_public_bytes(holder)
    key.verify(unbase64url(fields["Charter-Proof"]), signed)
    with pytest.raises(Exception):
        key.verify(unbase64url(fields["Charter-Proof"]), signed + b"x")


@pytest.mark.parametrize("case", VECTORS["seal_id_cases"], ids=lambda c: c["name"])
def test_seal_id_cases_hash_the_documented_bytes(case: Dict[str, Any]) -> None:
    key = next(k for k in VECTORS["keys"] if k["name"] == case["holder"])
    principal = hashlib.sha256(bytes.fromhex(key["public_key_hex"])).digest()
    assert principal.hex() == case["principal_hex"]
    assert unbase64url(key["principal"].removeprefix("charter-id1:")) == principal
    hashed = b"charter/bridge-seal-id/v1\0" + principal + bytes.fromhex(case["origin"])
    hashed += struct.pack(">Q", int(case["seq"]))
    assert len(hashed) == 82 and hashed.hex() == case["hashed_hex"]
    (seal_id,) = struct.unpack(">Q", hashlib.sha256(hashed).digest()[:8])
    assert str(seal_id) == case["seal_id"]


def vector_verifier() -> charter.BridgeVerifier:
    skew_ms = VECTORS["max_skew_ms"]
    authority = charter.Authority(
        VECTORS["trusted_roots"],
        clock=charter.ManualClock(VECTORS["authority_now"]),
        clock_skew=skew_ms // 1000,
    )
    for link in VECTORS["revoked_links"]:
        assert authority.revoke(link)
    return charter.BridgeVerifier(
        authority, max_skew=skew_ms / 1000, fixed_time_ms=VECTORS["now_ms"]
    )


def test_verify_cases_come_out_as_stated_in_order() -> None:
    verifier = vector_verifier()
    seen = set()
    for case in VECTORS["verify_cases"]:
        expect = case["expect"]
        extra: Dict[str, Any] = {}
        if expect["kind"] == "reply":
            extra = dict(
                request=expect["subject"],
                inbox=expect["inbox"],
                nonce=expect["nonce"],
                sent_ms=expect["sent_ms"],
            )
        try:
            principal = verifier.check(
                case["subject"],
                bytes.fromhex(case["payload_hex"]),
                headers_of(case),
                reply=case["reply"],
                expect=expect["kind"],
                **extra,
            )
            got = "accepted"
            assert principal == case["principal"], case["name"]
        except charter.Error as refusal:
            got = getattr(refusal, "reason")
        assert got == case["result"], case["name"]
        seen.add(got)
    assert seen >= {
        "accepted", "unsigned", "malformed", "chain", "bad_proof",
        "not_granted", "stale", "replayed", "revoked", "misdirected",
    }
    refused = verifier.refused()
    assert sum(refused.values()) == sum(1 for c in VECTORS["verify_cases"] if c["result"] != "accepted")


def test_bad_arguments_are_refused_before_any_check() -> None:
    verifier = vector_verifier()
    with pytest.raises(charter.InvalidArgumentError):
        verifier.check("a.b", b"", expect="reply", inbox="i", nonce="n")
    with pytest.raises(charter.InvalidArgumentError):
        verifier.check("a.b", b"", expect="subscribe")
    with pytest.raises(charter.DeniedError) as unsigned:
        verifier.check("a.b", b"", [("a", "1")])
    assert getattr(unsigned.value, "reason") == "unsigned"
    assert sum(verifier.refused().values()) == 1
