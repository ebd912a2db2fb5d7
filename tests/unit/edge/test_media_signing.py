"""Device key: created once with mode 0600, reloaded unchanged, signatures verify."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from edge_agent.clips import DeviceKey
from edge_agent.clips.signing import KEY_FILE


def test_created_private_and_reloaded_the_same(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key = DeviceKey.load_or_create(data_dir)
    path = data_dir / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in data_dir.iterdir()] == [KEY_FILE]  # no temporary file left behind
    again = DeviceKey.load_or_create(data_dir)
    assert again.public_key_pem() == key.public_key_pem()
    assert key.public_key_pem().startswith(b"-----BEGIN PUBLIC KEY-----")


def test_signature_verifies_only_for_the_signed_bytes(tmp_path: Path) -> None:
    key = DeviceKey.load_or_create(tmp_path)
    public = load_pem_public_key(key.public_key_pem())
    signature = key.sign(b"clip")
    public.verify(signature, b"clip")
    with pytest.raises(InvalidSignature):
        public.verify(signature, b"clap")


def test_other_key_type_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / KEY_FILE).write_bytes(pem)
    with pytest.raises(ValueError, match="Ed25519"):
        DeviceKey.load_or_create(tmp_path)
