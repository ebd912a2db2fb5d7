"""Mosquitto password-file entries: the same format mosquitto_passwd writes, replaced atomically."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cloud_api.domain.devices.broker_auth import PasswordFile, hash_entry, verify_entry


def test_entries_verify_and_salts_differ() -> None:
    a, b = hash_entry("cam-1", "s3cret"), hash_entry("cam-1", "s3cret")
    assert a != b and a.startswith("cam-1:$7$101$")
    assert (
        verify_entry(a, "s3cret") and not verify_entry(a, "s3cret!") and not verify_entry("cam-1:plain", "x")
    )


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="mosquitto_passwd is not installed")
def test_mosquitto_passwd_entries_verify_the_same_way(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(path), "cam-2", "pa55"], check=True)
    entry = PasswordFile(path).entries()["cam-2"]
    assert verify_entry(entry, "pa55") and not verify_entry(entry, "pa56")


def test_set_replace_and_remove_keep_other_users(tmp_path: Path) -> None:
    file = PasswordFile(tmp_path / "mosquitto" / "passwd")
    first = file.set("cam-1")
    file.set("cloud-api", "service-pw")
    second = file.set("cam-1")  # re-provisioning rotates the password
    entries = file.entries()
    assert set(entries) == {"cam-1", "cloud-api"} and first != second and len(second) >= 24
    assert verify_entry(entries["cam-1"], second) and not verify_entry(entries["cam-1"], first)
    assert file.remove("cam-1") and not file.remove("cam-1")
    assert set(file.entries()) == {"cloud-api"}
    assert (tmp_path / "mosquitto" / "passwd").stat().st_mode & 0o777 == 0o640
