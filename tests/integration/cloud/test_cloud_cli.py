"""The ``cloud-api`` command: migrate (idempotent), keys create (key alone on the last line), devices."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cloud_api.cli import main
from cloud_api.settings import Settings
from tests.integration.cloud.support import running


def test_migrate_keys_and_devices(
    make_settings: Callable[..., Settings], tmp_path: Path, capsys
) -> None:  # noqa: ANN001
    settings = make_settings()
    assert main(["migrate"], settings) == 0
    assert main(["migrate"], settings) == 0
    assert capsys.readouterr().out.splitlines() == ["schema up to date"] * 2

    assert main(["keys", "create", "--scopes", "read,write", "--name", "ci"], settings) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    key = lines[-1]
    assert key.startswith("dck_") and " " not in key and "scopes=read,write" in lines[0]

    pem = tmp_path / "device.pem"
    pem.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert main(["devices", "add", "cam-7", "--public-key", str(pem)], settings) == 0
    assert main(["devices", "add", "cam-7", "--public-key", str(pem)], settings) == 1  # already registered
    not_ed25519 = tmp_path / "rsa.pem"
    not_ed25519.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    assert main(["devices", "add", "cam-8", "--public-key", str(not_ed25519)], settings) == 1
    assert main(["keys", "create", "--scopes", "root"], settings) == 2
    capsys.readouterr()
    assert main(["devices", "list"], settings) == 0
    listing = capsys.readouterr().out
    assert "cam-7" in listing and "cam-8" not in listing and "1 device(s)" in listing

    with running(settings.replace(worker_enabled=False)) as cloud:
        assert cloud.client.get("/claims", headers={"X-API-Key": key}).status_code == 200
        device = cloud.client.get("/devices/cam-7", headers={"X-API-Key": key}).json()
        assert device["status"] == "UNKNOWN" and device["revoked_at"] is None


def test_console_script_reads_the_environment(tmp_path: Path, database_url: str) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url}
    script = Path(sys.executable).with_name("cloud-api")
    done = subprocess.run(
        [str(script), "keys", "create", "--scopes", "read"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1].startswith("dck_")
    assert "dev.api_key" not in done.stderr and (tmp_path / "data" / "uploads").is_dir()
