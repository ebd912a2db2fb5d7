"""Manifest: chunk hashes, clip-span timelines, ids; a verifier accepts it and rejects any change."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import msgspec
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from edge_agent.clips import ClipInfo, DeviceKey, build_manifest, new_incident_id, timelines_for_clip
from edge_agent.fusion import Incident
from shared_models import IncidentManifest, MinerTimeline, signing_bytes

INCIDENT = Incident(
    start_s=11.4, peak_s=12.0, end_s=12.8, score=0.9, miner_scores={"audio": 0.7, "motion": 1.0}
)


@pytest.fixture
def clip(tmp_path: Path) -> ClipInfo:
    path = tmp_path / "clip.mp4"
    data = bytes(range(256)) * 41  # 10,496 bytes: two full 4 KiB chunks and a partial one
    path.write_bytes(data)
    return ClipInfo(str(path), 2.0, 15.0, len(data), hashlib.sha256(data).hexdigest())


def make(clip: ClipInfo, key: DeviceKey) -> IncidentManifest:
    timelines = [MinerTimeline(miner="motion", rate_hz=10.0, scores=[0.0] * 150)]
    return build_manifest("dev-1", "inc-1", INCIDENT, clip, timelines, 1_700_000_000.0, 4096, key, "fw-1")


def verify(manifest: IncidentManifest, key: DeviceKey) -> None:
    load_pem_public_key(key.public_key_pem()).verify(manifest.signature, signing_bytes(manifest))


def test_fields_and_chunk_hashes(clip: ClipInfo, tmp_path: Path) -> None:
    manifest = make(clip, DeviceKey.load_or_create(tmp_path / "k"))
    data = Path(clip.path).read_bytes()
    assert manifest.chunk_count == 3
    assert manifest.chunk_sha256 == [hashlib.sha256(data[i : i + 4096]).hexdigest() for i in (0, 4096, 8192)]
    assert (manifest.start_s, manifest.peak_s, manifest.end_s) == (11.4, 12.0, 12.8)
    assert (manifest.clip_start_s, manifest.clip_duration_s, manifest.size_bytes) == (2.0, 15.0, len(data))
    assert manifest.miner_scores == {"audio": 0.7, "motion": 1.0}
    assert manifest.firmware == "fw-1" and manifest.recorded_at == 1_700_000_000.0


MUTATIONS = {
    "device_id": "dev-2",
    "incident_id": "inc-2",
    "recorded_at": 1.0,
    "start_s": 11.0,
    "peak_s": 12.1,
    "end_s": 13.0,
    "clip_start_s": 1.0,
    "clip_duration_s": 14.0,
    "score": 0.5,
    "miner_scores": {"audio": 0.7, "motion": 0.9},
    "size_bytes": 1,
    "sha256": "0" * 64,
    "chunk_size": 8192,
    "chunk_sha256": ["0" * 64],
    "timelines": [],
    "content_type": "video/webm",
    "firmware": "fw-2",
    "reason": "footage_request",
}


def test_mutation_table_covers_every_signed_field() -> None:
    assert set(MUTATIONS) == set(IncidentManifest.__struct_fields__) - {"v", "signature"}


@pytest.mark.parametrize("field", sorted(MUTATIONS))
def test_verifier_accepts_original_and_rejects_any_change(field: str, clip: ClipInfo, tmp_path: Path) -> None:
    key = DeviceKey.load_or_create(tmp_path / "k")
    manifest = make(clip, key)
    verify(manifest, key)
    with pytest.raises(InvalidSignature):
        verify(msgspec.structs.replace(manifest, **{field: MUTATIONS[field]}), key)


def test_other_device_key_does_not_verify(clip: ClipInfo, tmp_path: Path) -> None:
    manifest = make(clip, DeviceKey.load_or_create(tmp_path / "a"))
    with pytest.raises(InvalidSignature):
        verify(manifest, DeviceKey.load_or_create(tmp_path / "b"))


def test_clip_changed_after_cutting_is_refused(clip: ClipInfo, tmp_path: Path) -> None:
    Path(clip.path).write_bytes(b"tampered")
    with pytest.raises(ValueError, match="changed since it was cut"):
        make(clip, DeviceKey.load_or_create(tmp_path / "k"))


def test_contract_violation_is_refused_before_signing(clip: ClipInfo, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="wire contract"):
        build_manifest(
            "bad id!", "inc-1", INCIDENT, clip, [], 0.0, 4096, DeviceKey.load_or_create(tmp_path / "k"), ""
        )


def test_incident_ids_match_the_contract_and_sort_by_time() -> None:
    ids = [new_incident_id() for _ in range(50)]
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)
    assert len(set(ids)) == 50
    assert [i[:16] for i in ids] == sorted(i[:16] for i in ids)


def test_timelines_cut_to_the_clip_span(clip: ClipInfo) -> None:
    whole = {"motion": MinerTimeline(miner="motion", rate_hz=10.0, scores=[i / 1000 for i in range(300)])}
    [cut] = timelines_for_clip(whole, clip)
    assert cut.miner == "motion" and cut.rate_hz == 10.0
    assert len(cut.scores) == 150 and cut.scores[0] == 0.02 and cut.scores[-1] == 0.169
