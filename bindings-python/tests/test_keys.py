"""Key files: Charter's PKCS#8 and PEM load in `cryptography` and OpenSSL 3,
theirs load in Charter, and key files are private (mode 0600, and refused
when group or others may access them)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import charter
from charter import KeyPair

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def raw_public(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(*RAW)


def test_charter_keys_load_in_cryptography() -> None:
    key = KeyPair.generate()
    der = key.to_pkcs8()
    assert len(der) == 48 and der[:16].hex() == "302e020100300506032b657004220420", "RFC 8410 v1"
    loaded = serialization.load_der_private_key(der, password=None)
    assert isinstance(loaded, Ed25519PrivateKey)
    assert raw_public(loaded) == bytes(key.public_key)
    from_pem = serialization.load_pem_private_key(key.to_pem().encode(), password=None)
    assert isinstance(from_pem, Ed25519PrivateKey)
    assert raw_public(from_pem) == bytes(key.public_key)


def test_cryptography_keys_load_in_charter() -> None:
    private = Ed25519PrivateKey.generate()
    pkcs8, none = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    der = private.private_bytes(serialization.Encoding.DER, pkcs8, none)
    pem = private.private_bytes(serialization.Encoding.PEM, pkcs8, none).decode()
    for key in (KeyPair.from_pkcs8(der), KeyPair.from_pem(pem)):
        assert bytes(key.public_key) == raw_public(private)
        assert key.to_pkcs8() == der, "the same v1 document back"


def test_a_v2_document_loads_and_is_saved_as_v1() -> None:
    # ring's PKCS#8 v2 layout, as charter keygen wrote before: version 1,
    # the seed, then the public key as [1] BIT STRING.
    private = Ed25519PrivateKey.generate()
    raw, none = serialization.Encoding.Raw, serialization.NoEncryption()
    seed = private.private_bytes(raw, serialization.PrivateFormat.Raw, none)
    v2 = bytes.fromhex("3051020101300506032b657004220420") + seed + bytes.fromhex("812100") + raw_public(private)
    key = KeyPair.from_pkcs8(v2)
    assert bytes(key.public_key) == raw_public(private)
    assert key.to_pkcs8() == bytes.fromhex("302e020100300506032b657004220420") + seed
    lying = v2[:-1] + bytes([v2[-1] ^ 1])
    with pytest.raises(charter.MalformedError):
        KeyPair.from_pkcs8(lying)


OPENSSL = shutil.which("openssl")


@pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")
def test_keys_interoperate_with_the_openssl_cli(tmp_path: Path) -> None:
    assert OPENSSL is not None

    def openssl(*args: str) -> bytes:
        return subprocess.run([OPENSSL, *args], check=True, capture_output=True, cwd=tmp_path).stdout

    def public_of(file: str, inform: str) -> bytes:
        return openssl("pkey", "-inform", inform, "-in", file, "-pubout", "-outform", "DER")[-32:]

    key = KeyPair.generate()
    key.write_file(tmp_path / "charter.der")
    key.write_file(tmp_path / "charter.pem", pem=True)
    assert public_of("charter.der", "DER") == bytes(key.public_key)
    assert public_of("charter.pem", "PEM") == bytes(key.public_key)
    openssl("genpkey", "-algorithm", "ed25519", "-out", "openssl.pem")
    openssl("pkey", "-in", "openssl.pem", "-outform", "DER", "-out", "openssl.der")
    expected = public_of("openssl.pem", "PEM")
    for name in ("openssl.pem", "openssl.der"):
        os.chmod(tmp_path / name, 0o600)
        assert bytes(KeyPair.read_file(tmp_path / name).public_key) == expected


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_key_files_are_private(tmp_path: Path) -> None:
    key = KeyPair.generate()
    path = tmp_path / "root.key"
    key.write_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert KeyPair.read_file(path).public_key == key.public_key
    with pytest.raises(charter.InvalidArgumentError, match="already exists"):
        key.write_file(path, pem=True)
    for mode in (0o640, 0o604, 0o644, 0o620):
        os.chmod(path, mode)
        with pytest.raises(charter.InvalidArgumentError, match=f"mode {mode:04o}"):
            KeyPair.read_file(path)
        assert KeyPair.read_file(str(path), allow_open_permissions=True).public_key == key.public_key
    with pytest.raises(charter.NotFoundError):
        KeyPair.read_file(tmp_path / "missing")
    with pytest.raises(charter.MalformedError, match="PEM"):
        KeyPair.from_pem("-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n")


def test_keys_move_to_and_from_cryptography() -> None:
    """`cryptography`'s Ed25519 keys and Charter's are the same PKCS#8 (DER
    or PEM) documents: no conversion code on either side."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    ours = charter.KeyPair.generate()
    theirs = serialization.load_der_private_key(ours.to_pkcs8(), password=None)
    assert isinstance(theirs, ed25519.Ed25519PrivateKey)
    raw = theirs.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert raw == bytes(ours.public_key)
    pem = serialization.load_pem_private_key(ours.to_pem().encode(), password=None)
    assert isinstance(pem, ed25519.Ed25519PrivateKey)

    generated = ed25519.Ed25519PrivateKey.generate()
    for document in (
        generated.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    ):
        back = charter.KeyPair.from_pkcs8(document)
        assert bytes(back.public_key) == generated.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    text = generated.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    assert charter.KeyPair.from_pem(text).public_key == charter.KeyPair.from_pkcs8(document).public_key
