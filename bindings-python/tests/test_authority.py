"""The authority: verification of honest and hostile tokens, challenges,
sessions, revocation and the clock."""

from __future__ import annotations

import struct
import time

import pytest
from conftest import T0, OpenSession, run_all

import charter
from charter import Authority, Grant, KeyPair, ManualClock, Token

HOUR = 3600
SKEW = 60


def mint(root: KeyPair, subject: KeyPair, *grants: str, not_after: int = T0 + HOUR) -> Token:
    return Token.mint(root, subject.public_key, grants, T0, not_after)


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_manual_clock() -> None:
    clock = ManualClock(5)
    assert clock.now() == 5
    clock.advance(10)
    assert clock.now() == 15
    clock.set(2)
    assert (clock.now(), repr(clock)) == (2, "ManualClock(2)")
    with pytest.raises(OverflowError):
        clock.advance(-1)


def test_the_default_clock_is_the_system_clock() -> None:
    assert abs(Authority().now() - time.time()) < 5


def test_verify(authority: Authority, root: KeyPair, holder: KeyPair) -> None:
    token = mint(root, holder, "publish orders.>", "subscribe news.*")
    verified = authority.verify(token)
    assert verified.subject == holder.public_key
    assert verified.principal == holder.principal
    assert verified.grants == (Grant("publish orders.>"), Grant("subscribe news.*"))
    assert (verified.not_before, verified.not_after) == (T0, T0 + HOUR)
    assert verified.links == (token.links[0].id,)
    assert holder.principal in repr(verified)


def test_roots_as_text_and_trust_distrust(root: KeyPair, holder: KeyPair, clock: ManualClock) -> None:
    token = mint(root, holder, "publish a")
    authority = Authority([str(root.public_key)], clock=clock)
    assert authority.verify(token).principal == holder.principal
    assert authority.distrust(root.public_key) is True
    assert authority.distrust(root.public_key) is False
    with pytest.raises(charter.UntrustedRootError, match=str(root.public_key)):
        authority.verify(token)
    authority.trust(str(root.public_key))
    authority.verify(token)
    with pytest.raises(TypeError, match="PublicKey or its text"):
        authority.trust(root)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="PublicKey or its text"):
        Authority([root])  # type: ignore[list-item]


def test_untrusted_root(authority: Authority, holder: KeyPair) -> None:
    rogue = KeyPair.generate()
    with pytest.raises(charter.UntrustedRootError, match="not trusted"):
        authority.verify(mint(rogue, holder, "publish a"))


def test_a_link_signed_by_another_key_than_its_root(
    authority: Authority, root: KeyPair, holder: KeyPair
) -> None:
    # A rogue key signs a root link, then names the trusted root as its
    # signer: magic 4, version 1, count 1, length 2, link version 1, kind 1.
    data = bytes(mint(KeyPair.generate(), holder, "publish >"))
    forged = data[:10] + bytes(root.public_key) + data[42:]
    with pytest.raises(charter.BadSignatureError, match="link 0"):
        authority.verify(Token.from_bytes(forged))


def test_flipped_signature_and_grant_bytes(authority: Authority, root: KeyPair, holder: KeyPair) -> None:
    data = bytes(mint(root, holder, "publish orders"))
    with pytest.raises(charter.BadSignatureError, match="does not verify"):
        authority.verify(Token.from_bytes(flip(data, len(data) - 1)))
    at = data.index(b"orders")
    tampered = data[:at] + b"ordert" + data[at + 6 :]
    with pytest.raises(charter.BadSignatureError):
        authority.verify(Token.from_bytes(tampered))


def test_no_single_flipped_bit_verifies(authority: Authority, root: KeyPair, holder: KeyPair) -> None:
    parent = mint(root, holder, "publish orders.>")
    data = bytes(parent.delegate(holder, KeyPair.generate().public_key, ["publish orders.eu"], T0, T0 + 60))
    for at in range(len(data)):
        with pytest.raises(charter.Error) as refused:
            authority.verify(Token.from_bytes(flip(data, at)))
        assert isinstance(
            refused.value,
            (charter.MalformedError, charter.BadSignatureError, charter.UntrustedRootError),
        ), (at, refused.value)


def test_expired_and_not_yet_valid(
    authority: Authority, root: KeyPair, holder: KeyPair, clock: ManualClock
) -> None:
    token = mint(root, holder, "publish a")
    clock.set(T0 - SKEW - 1)
    with pytest.raises(charter.NotYetValidError, match=f"valid from {T0}"):
        authority.verify(token)
    clock.set(T0 - SKEW)
    authority.verify(token)
    clock.set(T0 + HOUR + SKEW - 1)
    authority.verify(token)
    clock.set(T0 + HOUR + SKEW)
    with pytest.raises(charter.ExpiredError, match=f"expired at {T0 + HOUR}"):
        authority.verify(token)


def test_lifetime_and_skew_options(root: KeyPair, holder: KeyPair, clock: ManualClock) -> None:
    strict = Authority([root.public_key], clock=clock, max_lifetime=HOUR - 1, clock_skew=0)
    with pytest.raises(charter.DeniedError, match=f"allows {HOUR - 1} s"):
        strict.verify(mint(root, holder, "publish a"))
    short = mint(root, holder, "publish a", not_after=T0 + 10)
    strict.verify(short)
    clock.set(T0 + 10)
    with pytest.raises(charter.ExpiredError):
        strict.verify(short)


def _signing_key(key: KeyPair) -> object:
    """`key` for the `cryptography` package: the 32-byte seed sits at a fixed
    offset of the PKCS#8 v2 document the core writes."""
    ed25519 = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    private = ed25519.Ed25519PrivateKey.from_private_bytes(key.to_pkcs8()[16:48])
    raw = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    public = private.public_key().public_bytes(raw.Encoding.Raw, raw.PublicFormat.Raw)
    assert public == bytes(key.public_key)
    return private


def test_a_widening_delegation_signed_by_the_holder_is_denied(
    authority: Authority, root: KeyPair, holder: KeyPair
) -> None:
    # Token.delegate refuses to widen, so the holder signs one by hand: a
    # well-formed, correctly signed link whose grant is wider than its parent's.
    signer = _signing_key(holder)
    parent = mint(root, holder, "publish orders.eu")
    thief = KeyPair.generate()
    pattern = b"orders.>"
    body = (
        bytes([1, 1])
        + bytes.fromhex(parent.links[0].id)
        + bytes(thief.public_key)
        + struct.pack(">QQ", T0, T0 + 60)
        + bytes([1, 1, len(pattern)])
        + pattern
    )
    signature = signer.sign(b"charter/token-link/v1\0" + body)  # type: ignore[attr-defined]
    data = bytes(parent)
    widened = data[:5] + b"\x02" + data[6:] + struct.pack(">H", len(body)) + body + signature
    token = Token.from_bytes(widened)
    assert token.links[1].grants == (Grant("publish orders.>"),)
    with pytest.raises(charter.DeniedError, match="link 1 widens its parent"):
        authority.verify(token)


def test_revocation(authority: Authority, root: KeyPair, holder: KeyPair, clock: ManualClock) -> None:
    parent = mint(root, holder, "publish a.>")
    child = parent.delegate(holder, KeyPair.generate().public_key, ["publish a.b"], T0, T0 + 60)
    child_id = child.links[1].id
    assert authority.revoke(child_id) is True
    assert authority.revoke(child_id) is False
    authority.verify(parent)
    with pytest.raises(charter.RevokedError, match=f"link 1 \\({child_id}\\) is revoked"):
        authority.verify(child)
    assert authority.revoke(parent.links[0].id.upper()) is True
    with pytest.raises(charter.RevokedError, match="link 0"):
        authority.verify(child)
    assert authority.revocations() == sorted([child_id, parent.links[0].id])
    assert authority.unrevoke(parent.links[0].id) is True
    assert authority.unrevoke(parent.links[0].id) is False
    assert authority.revocations() == [child_id]
    authority.verify(parent)


def test_revocations_export_and_import(authority: Authority, root: KeyPair, clock: ManualClock) -> None:
    ids = sorted(["ab" * 32, "cd" * 32])
    for link_id in ids:
        authority.revoke(link_id)
    text = authority.export_revocations()
    assert text == "".join(f"{i}\n" for i in ids)
    other = Authority([root.public_key], clock=clock)
    assert other.import_revocations(f"# revoked\n\n{text}") == 2
    assert other.import_revocations(text) == 0
    assert other.revocations() == ids
    with pytest.raises(charter.MalformedError, match="line 2"):
        other.import_revocations("ef" * 32 + "\nnot-an-id\n")
    assert other.revocations() == ids, "a bad line adds none"
    with pytest.raises(charter.MalformedError, match="64 hex digits"):
        authority.revoke("abc")
    with pytest.raises(charter.MalformedError):
        authority.unrevoke("zz" * 32)


def test_challenges(authority: Authority, root: KeyPair, holder: KeyPair, clock: ManualClock) -> None:
    token = mint(root, holder, "publish a")
    first, second = authority.challenge(), authority.challenge()
    assert len(first) == 32 and first != second
    proof = token.prove(holder, first)
    session = authority.open_session(token, first, proof)
    assert session.principal == holder.principal
    with pytest.raises(charter.DeniedError, match="unknown, used or expired challenge"):
        authority.open_session(token, first, proof)
    with pytest.raises(charter.DeniedError, match="challenge"):
        fake = bytes(32)
        authority.open_session(token, fake, token.prove(holder, fake))
    clock.advance(120)
    with pytest.raises(charter.DeniedError, match="expired challenge"):
        authority.open_session(token, second, token.prove(holder, second))
    with pytest.raises(charter.InvalidArgumentError, match="32 bytes"):
        authority.open_session(token, b"short", proof)


def test_proofs_must_be_the_holders(authority: Authority, root: KeyPair, holder: KeyPair) -> None:
    token = mint(root, holder, "publish a")
    challenge = authority.challenge()
    thief = KeyPair.generate()
    stolen = mint(root, thief, "publish a")
    with pytest.raises(charter.BadSignatureError, match="proof of possession"):
        authority.open_session(token, challenge, stolen.prove(thief, challenge))
    challenge = authority.challenge()
    with pytest.raises(charter.BadSignatureError):
        authority.open_session(token, challenge, b"\x00" * 64)
    challenge = authority.challenge()
    with pytest.raises(charter.BadSignatureError):
        authority.open_session(token, challenge, token.prove(holder, challenge)[:63])


def test_open_session_verifies_the_token(
    authority: Authority, root: KeyPair, holder: KeyPair, clock: ManualClock, open_session: OpenSession
) -> None:
    token = mint(root, holder, "publish a")
    clock.set(T0 + HOUR + SKEW)
    with pytest.raises(charter.ExpiredError):
        open_session(token, holder)
    clock.set(T0)
    authority.revoke(token.links[0].id)
    with pytest.raises(charter.RevokedError):
        open_session(token, holder)
    with pytest.raises(charter.UntrustedRootError):
        rogue = KeyPair.generate()
        open_session(mint(rogue, holder, "publish a"), holder)


def test_session(root: KeyPair, holder: KeyPair, open_session: OpenSession) -> None:
    session = open_session(mint(root, holder, "publish orders.*.created", "subscribe news.>"), holder)
    session.check("publish", "orders.eu.created")
    session.check("subscribe", "news.sports.*")
    assert session.active
    assert session.principal == holder.principal
    assert session.subject == holder.public_key
    assert session.grants == (Grant("publish orders.*.created"), Grant("subscribe news.>"))
    assert session.expires_at == T0 + HOUR
    assert repr(session) == f"<charter.Session principal={holder.principal} expires_at={T0 + HOUR}>"
    with pytest.raises(charter.DeniedError) as denied:
        session.check("publish", "orders.eu.deleted")
    assert str(denied.value) == f'no publish grant covers "orders.eu.deleted" for {holder.principal}'
    with pytest.raises(charter.DeniedError, match='no subscribe grant covers "news"'):
        session.check("subscribe", "news")
    with pytest.raises(charter.DeniedError, match="no request grant"):
        session.check("request", "orders.eu.created")
    with pytest.raises(charter.InvalidArgumentError, match="unknown action"):
        session.check("delete", "orders")  # type: ignore[arg-type]


def test_sessions_end_when_the_token_expires(
    root: KeyPair, holder: KeyPair, clock: ManualClock, open_session: OpenSession
) -> None:
    session = open_session(mint(root, holder, "publish a"), holder)
    clock.set(T0 + HOUR + SKEW)
    assert not session.active
    assert repr(session).endswith(" ended>")
    with pytest.raises(charter.ExpiredError, match=f"expired at {T0 + HOUR}"):
        session.check("publish", "a")
    clock.set(T0)
    assert not session.active, "an ended session stays ended"


def test_revoking_any_link_ends_delegated_sessions(
    authority: Authority, root: KeyPair, holder: KeyPair, open_session: OpenSession
) -> None:
    bob = KeyPair.generate()
    parent = mint(root, holder, "publish orders.>")
    child = parent.delegate(holder, bob.public_key, ["publish orders.eu"], T0, T0 + 60)
    session = open_session(child, bob)
    assert session.grants == (Grant("publish orders.eu"),)
    assert session.expires_at == T0 + 60
    with pytest.raises(charter.DeniedError):
        session.check("publish", "orders.us")
    authority.revoke(parent.links[0].id)
    # Revoking ended the session at once; every later check says so.
    with pytest.raises(charter.RevokedError, match="token was revoked"):
        session.check("publish", "orders.eu")
    assert not session.active
    authority.unrevoke(parent.links[0].id)
    assert not session.active, "a revoked session stays ended"


def test_threads_verify_open_and_revoke_at_once(
    authority: Authority, root: KeyPair, holder: KeyPair, open_session: OpenSession
) -> None:
    token = mint(root, holder, "publish a.>")
    victim = mint(root, holder, "publish b.>")
    victim_session = open_session(victim, holder)
    outcomes: list[str] = []

    def verifier() -> None:
        for _ in range(100):
            assert authority.verify(token).principal == holder.principal
            session = open_session(token, holder)
            session.check("publish", "a.b")
            try:
                authority.verify(victim)
                outcomes.append("valid")
            except charter.RevokedError:
                outcomes.append("revoked")

    def revoker() -> None:
        for _ in range(100):
            authority.revoke(victim.links[0].id)
            authority.unrevoke(victim.links[0].id)
        authority.revoke(victim.links[0].id)

    run_all([verifier] * 4 + [revoker])
    assert len(outcomes) == 400
    assert not victim_session.active
    with pytest.raises(charter.RevokedError):
        authority.verify(victim)
