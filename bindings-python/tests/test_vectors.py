"""The shared vectors (`vectors/*.json`, generated from the core) hold in
Python, case by case: status codes, topic rules, capability tokens and the
audit tree. Token signatures and checkpoint notes are also checked without
Charter, with the `cryptography` package's Ed25519."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from audit_reference import checkpoint_body, key_id, split_note
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import charter

VECTORS = Path(__file__).resolve().parents[2] / "vectors"


def load(name: str) -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    assert data["schema"] == 1 and data["description"], name
    return data


STATUS = load("status.json")
TOPICS = load("topics.json")
TOKENS = load("tokens.json")
AUDIT = load("audit.json")


def label(text: str) -> str:
    """A short, printable test id for a topic or pattern."""
    shown = ascii(text)
    return shown if len(shown) <= 40 else f"{shown[:30]}...({len(text.encode())} bytes)"


# Status codes.


def test_status_table() -> None:
    ok, *errors = STATUS["cases"]
    assert ok == {"code": 0, "name": "CHARTER_OK"}
    assert dict(charter.STATUS_CODES) == {case["name"]: case["code"] for case in errors}
    assert set(charter.ERROR_CLASSES) == {case["name"] for case in errors}


@pytest.mark.parametrize("case", STATUS["cases"][1:], ids=lambda case: case["name"])
def test_status(case: Dict[str, Any]) -> None:
    cls = charter.ERROR_CLASSES[case["name"]]
    assert issubclass(cls, charter.Error)
    assert getattr(charter, cls.__name__) is cls
    assert (cls.code, cls.status) == (case["name"], case["code"])
    error = cls("message")
    assert (error.code, error.status, error.message) == (case["name"], case["code"], "message")


# Topics.


@pytest.mark.parametrize("case", TOPICS["validity"], ids=lambda case: label(case["text"]))
def test_topic_validity(case: Dict[str, Any]) -> None:
    text = case["text"]
    for validate, noun, valid in (
        (charter.validate_topic, "topic", case["valid_topic"]),
        (charter.validate_pattern, "pattern", case["valid_pattern"]),
    ):
        if valid:
            validate(text)
        else:
            with pytest.raises(charter.InvalidArgumentError, match=noun) as info:
                validate(text)
            assert str(info.value) == info.value.message


@pytest.mark.parametrize(
    "case", TOPICS["matching"], ids=lambda case: f"{label(case['pattern'])}~{label(case['topic'])}"
)
def test_topic_matching(case: Dict[str, Any]) -> None:
    assert charter.topic_matches(case["pattern"], case["topic"]) is case["matches"]


@pytest.mark.parametrize(
    "case", TOPICS["containment"], ids=lambda case: f"{label(case['inner'])}<{label(case['outer'])}"
)
def test_pattern_containment(case: Dict[str, Any]) -> None:
    assert charter.pattern_contains(case["inner"], case["outer"]) is case["contained"]


def test_invalid_arguments_raise() -> None:
    with pytest.raises(charter.InvalidArgumentError, match="pattern"):
        charter.topic_matches("a.>.b", "a.x.b")
    with pytest.raises(charter.InvalidArgumentError, match="topic"):
        charter.topic_matches("a.*", "a.*")
    with pytest.raises(charter.InvalidArgumentError, match="^inner: "):
        charter.pattern_contains("", "a")
    with pytest.raises(charter.InvalidArgumentError, match="^outer: "):
        charter.pattern_contains("a", "a..b")


# Tokens.


@pytest.mark.parametrize("key", TOKENS["keys"], ids=lambda key: key["name"])
def test_token_key(key: Dict[str, Any]) -> None:
    pair = charter.KeyPair.from_pkcs8(bytes.fromhex(key["pkcs8_hex"]))
    assert str(pair.public_key) == key["public_key"]
    assert bytes(pair.public_key).hex() == key["public_key_hex"]
    assert pair.principal == key["principal"]


def verify(case: Dict[str, Any]) -> charter.Verified:
    authority = charter.Authority(
        case["roots"],
        clock=charter.ManualClock(case["now"]),
        clock_skew=TOKENS["clock_skew"],
        max_lifetime=TOKENS["max_lifetime"],
    )
    for link_id in case["revoked"]:
        assert authority.revoke(link_id)
    return authority.verify(charter.Token.from_bytes(bytes.fromhex(case["token_hex"])))


@pytest.mark.parametrize("case", TOKENS["cases"], ids=lambda case: case["name"])
def test_token(case: Dict[str, Any]) -> None:
    if case["expect"] != "CHARTER_OK":
        with pytest.raises(charter.Error) as info:
            verify(case)
        assert type(info.value) is charter.ERROR_CLASSES[case["expect"]]
        assert info.value.code == case["expect"]
        return
    verified = verify(case)
    assert str(verified.subject) == case["subject"]
    assert verified.principal == charter.PublicKey.from_text(case["subject"]).principal
    assert [str(grant) for grant in verified.grants] == case["grants"]
    assert (verified.not_before, verified.not_after) == (case["not_before"], case["not_after"])
    assert list(verified.links) == case["link_ids"]
    token = charter.Token.from_text(case["token_text"])
    assert bytes(token).hex() == case["token_hex"]
    assert str(charter.Token.from_bytes(bytes(token))) == case["token_text"]
    assert [link.id for link in token.links] == case["link_ids"]


SIGNATURES = [
    pytest.param(case, index, id=f"{case['name']}-link{index}")
    for case in TOKENS["cases"]
    for index in range(len(case.get("signatures", ())))
]


@pytest.mark.parametrize("case, index", SIGNATURES)
def test_token_signature(case: Dict[str, Any], index: int) -> None:
    entry = case["signatures"][index]
    public, message, signature = (
        bytes.fromhex(entry[field]) for field in ("public_key_hex", "message_hex", "signature_hex")
    )
    Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    link = charter.Token.from_text(case["token_text"]).links[index]
    assert bytes(link.issuer) == public
    assert signature.hex() in case["token_hex"]


def test_every_valid_token_has_a_signature_per_link() -> None:
    valid = [case for case in TOKENS["cases"] if case["expect"] == "CHARTER_OK"]
    assert valid and all(len(case["signatures"]) == len(case["link_ids"]) for case in valid)


# The audit tree.

RECORDS: List[Dict[str, Any]] = AUDIT["records"]
ROOTS = [bytes.fromhex(root) for root in AUDIT["roots"]]
LEAF_HASHES = [bytes.fromhex(record["leaf_hash_hex"]) for record in RECORDS]


def record_of(fields: Dict[str, Any]) -> charter.Record:
    names = ("action", "resource", "decision", "actor", "reason", "detail", "time", "actor_unproven")
    return charter.Record(**{name: fields[name] for name in names})


@pytest.fixture(scope="module")
def log() -> Iterator[charter.AuditLog]:
    """A log holding every vector record."""
    with charter.AuditLog.in_memory() as log:
        for record in RECORDS:
            log.append(record_of(record))
        yield log


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: f"record{record['index']}")
def test_audit_record(record: Dict[str, Any]) -> None:
    leaf = bytes.fromhex(record["leaf_hex"])
    assert charter.leaf_hash(leaf).hex() == record["leaf_hash_hex"]
    assert record_of(record).encode(record["index"]) == leaf


def test_audit_roots() -> None:
    assert len(ROOTS) == len(RECORDS) + 1 and ROOTS[0] == charter.EMPTY_ROOT
    with charter.AuditLog.in_memory() as log:
        assert log.root == ROOTS[0]
        for n, record in enumerate(RECORDS, start=1):
            assert log.append(record_of(record)) == record["index"] == n - 1
            assert log.root == ROOTS[n], f"after {n} records"


@pytest.mark.parametrize(
    "case", AUDIT["inclusion"], ids=lambda case: f"index{case['index']}-size{case['size']}"
)
def test_audit_inclusion(case: Dict[str, Any], log: charter.AuditLog) -> None:
    index, size = case["index"], case["size"]
    proof = [bytes.fromhex(node) for node in case["proof"]]
    charter.verify_inclusion(LEAF_HASHES[index], index, size, proof, ROOTS[size])
    assert log.prove_inclusion(index, size) == proof


@pytest.mark.parametrize(
    "case", AUDIT["consistency"], ids=lambda case: f"{case['old_size']}-{case['new_size']}"
)
def test_audit_consistency(case: Dict[str, Any], log: charter.AuditLog) -> None:
    old, new = case["old_size"], case["new_size"]
    proof = [bytes.fromhex(node) for node in case["proof"]]
    charter.verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)
    assert log.prove_consistency(old, new) == proof


def test_audit_verifier_key() -> None:
    signer = charter.KeyPair.from_pkcs8(bytes.fromhex(AUDIT["signer"]["pkcs8_hex"]))
    assert str(signer.public_key) == AUDIT["signer"]["public_key"]
    assert charter.verifier_key(AUDIT["origin"], signer.public_key) == AUDIT["verifier_key"]


@pytest.mark.parametrize("case", AUDIT["checkpoints"], ids=lambda case: f"size{case['size']}")
def test_audit_checkpoint(case: Dict[str, Any]) -> None:
    origin, size, root = AUDIT["origin"], case["size"], bytes.fromhex(case["root_hex"])
    assert root == ROOTS[size]
    checkpoint = charter.verify_checkpoint(case["note"], AUDIT["verifier_key"])
    assert checkpoint == charter.Checkpoint(origin, size, root)

    # C2SP signed note: the verifier key is <name>+<key id>+base64(0x01 || key);
    # a signature line is "— <name> base64(key id || signature over the text)".
    name, kid, encoded = AUDIT["verifier_key"].split("+")
    raw = base64.b64decode(encoded, validate=True)
    public = raw[1:]
    assert (raw[0], public.hex()) == (1, AUDIT["signer"]["public_key_hex"])
    assert bytes.fromhex(kid) == key_id(name, public)
    text, signatures = split_note(case["note"])
    assert text == checkpoint_body(origin, size, root)
    [signature] = [sig for sig_name, sig_kid, sig in signatures if (sig_name, sig_kid.hex()) == (name, kid)]
    Ed25519PublicKey.from_public_bytes(public).verify(signature, text.encode())


WITNESSES = {w["name"]: w for w in AUDIT["witnesses"]}
WITNESS_KEYS = [w["verifier_key"] for w in AUDIT["witnesses"]]


@pytest.mark.parametrize("witness", AUDIT["witnesses"], ids=lambda w: label(w["name"]))
def test_audit_cosigner_key(witness: Dict[str, Any]) -> None:
    key = charter.KeyPair.from_pkcs8(bytes.fromhex(witness["key"]["pkcs8_hex"]))
    assert charter.cosigner_key(witness["name"], key.public_key) == witness["verifier_key"]


@pytest.mark.parametrize("case", AUDIT["cosignatures"], ids=lambda case: label(case["name"]))
def test_audit_cosignatures(case: Dict[str, Any]) -> None:
    if case["valid"]:
        cosigned = charter.verify_cosigned(case["note"], AUDIT["verifier_key"], WITNESS_KEYS, case["quorum"])
        assert cosigned.checkpoint.size == case["size"]
        assert list(cosigned.witnesses) == case["cosigned_by"]
        assert list(cosigned.timestamps) == case["timestamps"]
    else:
        with pytest.raises(charter.Error) as raised:
            charter.verify_cosigned(case["note"], AUDIT["verifier_key"], WITNESS_KEYS, case["quorum"])
        assert raised.value.code == case["status"]


def test_audit_witness_request(tmp_path: Path) -> None:
    """The request body round-trips, and a witness that saw the older
    checkpoint answers it with the vector's exact cosignature."""
    case = AUDIT["witness_request"]
    key = charter.KeyPair.from_pkcs8(bytes.fromhex(WITNESSES[case["witness"]]["key"]["pkcs8_hex"]))
    old_size, proof, note = charter.parse_witness_request(case["request"])
    assert (old_size, note) == (case["old_size"], case["note"])
    assert charter.witness_request(old_size, proof, note) == case["request"]
    assert charter.cosign(note, case["witness"], key, case["timestamp"]) == case["cosignature"]
    # Independently (C2SP tlog-cosignature): the line is "— <name> base64(key
    # id || u64 timestamp || Ed25519 signature of the signed message)".
    name, encoded = case["cosignature"].removeprefix("\u2014 ").removesuffix("\n").split(" ")
    raw = base64.b64decode(encoded, validate=True)
    witness_vkey = WITNESSES[name]["verifier_key"]
    assert raw[:4].hex() == witness_vkey.split("+")[1]
    assert int.from_bytes(raw[4:12], "big") == case["timestamp"]
    assert case["signed_message"] == f"cosignature/v1\ntime {case['timestamp']}\n" + split_note(note)[0]
    public = bytes.fromhex(WITNESSES[name]["key"]["public_key_hex"])
    Ed25519PublicKey.from_public_bytes(public).verify(raw[12:], case["signed_message"].encode())
    [older] = [cp["note"] for cp in AUDIT["checkpoints"] if cp["size"] == old_size]
    witness = charter.Witness.open(tmp_path / "state", name=case["witness"], key=key, logs=[AUDIT["verifier_key"]])
    witness.add_checkpoint(0, [], older, timestamp=case["timestamp"])
    assert witness.add_checkpoint(old_size, proof, note, timestamp=case["timestamp"]) == case["cosignature"]
