"""Keys, grants and tokens: construction, encodings, delegation, hostile bytes."""

from __future__ import annotations

import pickle
import re

import pytest
from conftest import T0

import charter
from charter import Grant, KeyPair, PublicKey, Token

HEX_ID = re.compile(r"^[0-9a-f]{64}$")
HOUR = 3600


def mint(root: KeyPair, subject: KeyPair, *grants: str) -> Token:
    return Token.mint(root, subject.public_key, grants, T0, T0 + HOUR)


# Keys


def test_key_pair_generate_and_pkcs8_round_trip() -> None:
    key = KeyPair.generate()
    assert str(key.public_key).startswith("charter-pk1:")
    assert key.principal.startswith("charter-id1:")
    assert key.principal == key.public_key.principal
    again = KeyPair.from_pkcs8(key.to_pkcs8())
    assert again.public_key == key.public_key
    assert KeyPair.from_pkcs8(bytearray(key.to_pkcs8())).public_key == key.public_key
    assert KeyPair.generate().public_key != key.public_key


def test_key_pair_keeps_its_secret() -> None:
    key = KeyPair.generate()
    assert repr(key) == f"<charter.KeyPair public_key={key.public_key}>"
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_key_pair_refuses_bad_documents() -> None:
    with pytest.raises(charter.MalformedError, match="PKCS#8"):
        KeyPair.from_pkcs8(b"\x30\x03\x02\x01\x01")
    with pytest.raises(TypeError, match="bytes-like"):
        KeyPair.from_pkcs8("not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        KeyPair()


def test_public_key_encodings_equality_and_hash() -> None:
    key = KeyPair.generate().public_key
    text = str(key)
    assert PublicKey.from_text(text) == key
    assert PublicKey.from_text(f"  {text}\n") == key
    assert PublicKey.from_bytes(bytes(key)) == key
    assert PublicKey.from_bytes(memoryview(bytes(key))) == key
    assert len(bytes(key)) == 32
    assert hash(PublicKey.from_text(text)) == hash(key)
    assert {key: 1}[PublicKey.from_bytes(bytes(key))] == 1
    assert key != KeyPair.generate().public_key
    assert key != text
    assert repr(key) == f"PublicKey.from_text('{text}')"
    assert eval(repr(key), {"PublicKey": PublicKey}) == key


def test_public_key_refuses_malformed_keys() -> None:
    key = KeyPair.generate()
    with pytest.raises(charter.MalformedError, match="charter-pk1:"):
        PublicKey.from_text(key.principal)
    with pytest.raises(charter.MalformedError, match="32 bytes"):
        PublicKey.from_bytes(bytes(31))
    with pytest.raises(charter.MalformedError, match="small order"):
        PublicKey.from_bytes(bytes(32))
    with pytest.raises(charter.MalformedError, match="base64url"):
        PublicKey.from_text("charter-pk1:!!!!")
    with pytest.raises(TypeError):
        PublicKey()


# Grants


def test_grant_parts_equality_and_matching() -> None:
    grant = Grant("publish orders.*.created")
    assert (grant.action, grant.pattern) == ("publish", "orders.*.created")
    assert str(grant) == "publish orders.*.created"
    assert repr(grant) == "Grant('publish orders.*.created')"
    assert grant == Grant("  publish   orders.*.created ")
    assert hash(grant) == hash(Grant("publish orders.*.created"))
    assert grant != Grant("subscribe orders.*.created")
    assert grant.allows("publish", "orders.eu.created")
    assert not grant.allows("publish", "orders.eu.deleted")
    assert not grant.allows("request", "orders.eu.created")
    assert Grant("subscribe payments.>").allows("subscribe", "payments.*.settled")
    assert Grant("publish orders.eu.created").within(grant)
    assert not grant.within(Grant("publish orders.eu.created"))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("delete orders", "unknown action"),
        ("publish", "ACTION PATTERN"),
        ("publish a b", "ACTION PATTERN"),
        ("publish _charter.>", "reserved"),
        ("publish a..b", "empty"),
    ],
)
def test_grant_refuses_bad_text(text: str, why: str) -> None:
    with pytest.raises(charter.InvalidArgumentError, match=why):
        Grant(text)


def test_grant_allows_refuses_an_unknown_action() -> None:
    with pytest.raises(charter.InvalidArgumentError, match="unknown action"):
        Grant("publish a").allows("delete", "a")  # type: ignore[arg-type]


# Tokens


def test_mint_links_and_accessors() -> None:
    root, holder = KeyPair.generate(), KeyPair.generate()
    token = Token.mint(
        root, str(holder.public_key), [Grant("publish orders.>"), "subscribe news.*"], T0, T0 + HOUR
    )
    assert token.subject == holder.public_key
    assert token.root_key == root.public_key
    (link,) = token.links
    assert HEX_ID.match(link.id)
    assert (link.index, link.is_root) == (0, True)
    assert link.issuer == root.public_key
    assert link.subject == holder.public_key
    assert link.grants == (Grant("publish orders.>"), Grant("subscribe news.*"))
    assert (link.not_before, link.not_after) == (T0, T0 + HOUR)
    assert link.id in repr(link) and "(root)" in repr(link)
    assert repr(token) == f"<charter.Token links=1 subject={holder.public_key}>"


def test_token_encodings_round_trip() -> None:
    token = mint(KeyPair.generate(), KeyPair.generate(), "request rpc.>")
    data = bytes(token)
    assert data.startswith(b"CHTK\x01\x01")
    text = str(token)
    assert text.startswith("charter-tok1:")
    assert Token.from_bytes(data) == token
    assert Token.from_bytes(bytearray(data)) == token
    assert Token.from_bytes(memoryview(data)) == token
    assert Token.from_text(f"  {text}\n") == token
    assert hash(Token.from_text(text)) == hash(token)
    assert token != mint(KeyPair.generate(), KeyPair.generate(), "request rpc.>")
    assert token != text


def test_inspect_names_every_link() -> None:
    root, alice, bob = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    parent = mint(root, alice, "publish orders.>", "subscribe news.>")
    child = parent.delegate(alice, bob.public_key, ["publish orders.eu"], T0, T0 + 60)
    account = child.inspect()
    assert account.startswith(f"token: 2 link(s), {len(bytes(child))} bytes\n")
    for want in [
        child.links[0].id,
        child.links[1].id,
        str(root.public_key),
        str(alice.public_key),
        bob.principal,
        "publish orders.>",
        "publish orders.eu",
        "link 1 (delegation)",
    ]:
        assert want in account


def test_mint_refuses_bad_arguments() -> None:
    root, holder = KeyPair.generate(), KeyPair.generate()
    subject = holder.public_key
    with pytest.raises(charter.InvalidArgumentError, match="1 to 64 grants"):
        Token.mint(root, subject, [], T0, T0 + 1)
    with pytest.raises(charter.InvalidArgumentError, match="must start before it ends"):
        Token.mint(root, subject, ["publish a"], T0, T0)
    with pytest.raises(TypeError, match="not one str"):
        Token.mint(root, subject, "publish a", T0, T0 + 1)
    with pytest.raises(TypeError, match="Grant objects"):
        Token.mint(root, subject, [42], T0, T0 + 1)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="PublicKey or its text"):
        Token.mint(root, holder, ["publish a"], T0, T0 + 1)  # type: ignore[arg-type]
    with pytest.raises(charter.MalformedError):
        Token.mint(root, "charter-pk1:AAAA", ["publish a"], T0, T0 + 1)
    with pytest.raises(OverflowError):
        Token.mint(root, subject, ["publish a"], -1, T0)


def test_delegate_narrows_and_chains() -> None:
    root, alice, bob = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    parent = mint(root, alice, "publish orders.>", "subscribe news.>")
    child = parent.delegate(alice, bob.public_key, ["publish orders.eu.*"], T0, T0 + 60)
    assert child.subject == bob.public_key
    assert child.root_key == root.public_key
    assert [link.index for link in child.links] == [0, 1]
    assert child.links[0].id == parent.links[0].id
    assert child.links[1].id != parent.links[0].id
    assert child.links[1].issuer == alice.public_key
    assert not child.links[1].is_root
    assert child.links[1].grants == (Grant("publish orders.eu.*"),)


@pytest.mark.parametrize(
    ("grants", "not_before", "not_after", "why"),
    [
        (["publish >"], T0, T0 + 60, "not within the parent's grants"),
        (["request orders.eu"], T0, T0 + 60, "not within the parent's grants"),
        (["publish orders.eu"], T0 - 1, T0 + 60, "not within the parent's"),
        (["publish orders.eu"], T0, T0 + HOUR + 1, "not within the parent's"),
    ],
)
def test_delegate_refuses_to_widen(grants: list[str], not_before: int, not_after: int, why: str) -> None:
    root, alice, bob = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    parent = mint(root, alice, "publish orders.>")
    with pytest.raises(charter.DeniedError, match=why):
        parent.delegate(alice, bob.public_key, grants, not_before, not_after)


def test_only_the_holder_delegates_and_chains_are_bounded() -> None:
    root, alice = KeyPair.generate(), KeyPair.generate()
    token = mint(root, alice, "publish a.>")
    with pytest.raises(charter.InvalidArgumentError, match="only the token's subject"):
        token.delegate(root, alice.public_key, ["publish a.>"], T0, T0 + 60)
    key = alice
    for _ in range(7):
        nxt = KeyPair.generate()
        token = token.delegate(key, nxt.public_key, ["publish a.>"], T0, T0 + 60)
        key = nxt
    assert len(token.links) == 8
    with pytest.raises(charter.LimitExceededError, match="at most 8 links"):
        token.delegate(key, alice.public_key, ["publish a.>"], T0, T0 + 60)


def test_prove() -> None:
    root, holder = KeyPair.generate(), KeyPair.generate()
    token = mint(root, holder, "publish a")
    challenge = bytes(range(32))
    proof = token.prove(holder, challenge)
    assert len(proof) == 64
    assert token.prove(holder, bytearray(challenge)) == proof
    with pytest.raises(charter.InvalidArgumentError, match="only the token's subject"):
        token.prove(root, challenge)
    with pytest.raises(charter.InvalidArgumentError, match="32 bytes, got 31"):
        token.prove(holder, challenge[:31])


def test_every_truncation_is_malformed() -> None:
    root, alice, bob = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    token = mint(root, alice, "publish orders.>")
    data = bytes(token.delegate(alice, bob.public_key, ["publish orders.eu"], T0, T0 + 60))
    for end in range(len(data)):
        with pytest.raises(charter.MalformedError):
            Token.from_bytes(data[:end])
    with pytest.raises(charter.MalformedError):
        Token.from_bytes(data + b"\x00")


def test_hostile_encodings_are_malformed() -> None:
    data = bytes(mint(KeyPair.generate(), KeyPair.generate(), "publish a"))
    with pytest.raises(charter.MalformedError, match="bad magic"):
        Token.from_bytes(b"CHTX" + data[4:])
    with pytest.raises(charter.MalformedError, match="version 2"):
        Token.from_bytes(data[:4] + b"\x02" + data[5:])
    with pytest.raises(charter.MalformedError, match="1 to 8 links"):
        Token.from_bytes(data[:5] + b"\x00" + data[6:])
    with pytest.raises(charter.MalformedError):
        Token.from_bytes(bytes(20_000))
    with pytest.raises(charter.MalformedError, match="charter-tok1:"):
        Token.from_text(str(KeyPair.generate().public_key))
    with pytest.raises(charter.MalformedError, match="base64url"):
        Token.from_text("charter-tok1:$$$")
    with pytest.raises(TypeError, match="bytes-like"):
        Token.from_bytes(str(mint(KeyPair.generate(), KeyPair.generate(), "publish a")))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Token()
