from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from cloud_api.blobstore import LocalBlobStore
from cloud_api.domain.audit.services import GENESIS_HASH, _hashed_fields, entry_hash


def row(**changes: object) -> dict:
    base = {
        "seq": 1,
        "claim_id": "c",
        "event_type": "received",
        "actor_type": "DEVICE",
        "actor_id": "d",
        "before_state": None,
        "after_state": '{"b": 1.5, "a": [1, 2]}',
        "at": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    }
    return {**base, **changes}


def test_entry_hash_is_canonical_and_covers_every_field() -> None:
    reference = entry_hash(GENESIS_HASH, _hashed_fields(row()))
    same_instant = datetime(2026, 1, 2, 5, 4, 5, 6, tzinfo=timezone(timedelta(hours=2)))
    assert (
        entry_hash(GENESIS_HASH, _hashed_fields(row(after_state='{"a":[1,2],"b":1.5}', at=same_instant)))
        == reference
    )
    for change in (
        {"seq": 2},
        {"actor_id": "x"},
        {"after_state": '{"a": [1, 2], "b": 1.6}'},
        {"claim_id": None},
    ):
        assert entry_hash(GENESIS_HASH, _hashed_fields(row(**change))) != reference
    assert entry_hash("f" * 64, _hashed_fields(row())) != reference


def test_blob_store_writes_atomically_and_refuses_escaping_keys(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    blobs.write_bytes("incoming/d/i/0", b"abc")
    assert blobs.local_path("incoming/d/i/0").read_bytes() == b"abc" and blobs.exists("incoming/d/i/0")
    staged = blobs.temp_path()
    staged.write_bytes(b"clip")
    blobs.put_file("clips/x.mp4", staged)
    assert not staged.exists() and blobs.local_path("clips/x.mp4").read_bytes() == b"clip"
    blobs.delete_prefix("incoming/d")
    assert not blobs.exists("incoming/d/i/0") and not list((tmp_path / "tmp").iterdir())
    for bad in ("../outside", "/etc/passwd", "a/../../b", ""):
        with pytest.raises(ValueError):
            blobs.write_bytes(bad, b"x")
    with pytest.raises(FileNotFoundError):
        blobs.local_path("clips/missing.mp4")
