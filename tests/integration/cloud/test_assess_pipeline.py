"""The assessment through the real service on SQLite and PostgreSQL: the original response shape,
near-duplicate footage across claims, tampered clips, device claims (signature, clock, frequency), and
recalibration from reviewed claims (every N reviews and ``cloud-api calibrate``) with the coverage."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cloud_api.db.helpers import utcnow
from cloud_api.domain.assessments.calibration import MODEL_PAIRS, CalibrationStore, coverage_summary
from cloud_api.domain.assessments.tables import Calibration
from cloud_api.domain.audit.schemas import ActorType
from cloud_api.domain.claims.schemas import NewClaim
from cloud_api.domain.ingest.tables import Incident
from cloud_api.settings import Settings
from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive
from shared_models import IncidentManifest, encode, signing_bytes
from tests.integration.cloud.support import CloudApp, running, wait_for, write_mp4
from tests.unit.cloud.test_assess_fingerprint import reencode


def upload(cloud: CloudApp, headers: dict[str, str], video: bytes) -> str:
    response = cloud.client.post(
        "/claims/upload", files={"video": ("clip.mp4", video, "video/mp4")}, headers=headers
    )
    assert response.status_code == 202, response.text
    return response.json()["claim_id"]


def assessed(cloud: CloudApp, headers: dict[str, str], claim_id: str) -> dict[str, Any]:
    assert cloud.wait_status(claim_id, headers, {"ASSESSED", "FAILED"})["status"] == "ASSESSED"
    return cloud.client.get(f"/claims/{claim_id}/assessment", headers=headers).json()


def test_assessment_keeps_the_original_shape(cloud: CloudApp, tmp_path: Path) -> None:
    headers = cloud.headers("read,write")
    a = assessed(cloud, headers, upload(cloud, headers, write_mp4(tmp_path / "v.mp4", lambda i: 60 + i)))
    for key in (
        "severity", "confidence", "prediction_set", "review_priority", "fault_assessment",
        "fraud_risk_score", "fraud_reasons", "hazards", "evidence", "processing_time_sec",
    ):  # fmt: skip
        assert key in a, key
    assert {"fault_ratio", "rule", "confidence", "reasoning"} <= set(a["fault_assessment"])
    assert a["severity"] == a["prediction_set"][0] or a["severity"] in a["prediction_set"]
    assert a["confidence"] == a["severity_probabilities"][a["severity"]]
    assert a["calibrated"] is True and a["coverage_target"] == 0.9
    conformal = a["conformal"]
    heldout = json.loads(MODEL_PAIRS.read_text())  # the local model on its held-out generated clips
    assert conformal["calibration_version"] == 1 and conformal["calibration_source"] == "model"
    assert conformal["method"] == "lac" and conformal["calibration_size"] == len(heldout)
    assert any("calibrated on model data, not yet on reviewed claims" in flag for flag in a["review_flags"])
    assert 0 <= a["fraud_risk_score"] <= 1 and a["processing_time_sec"] > 0


def test_near_duplicate_footage_on_another_claim(cloud: CloudApp, tmp_path: Path) -> None:
    headers = cloud.headers("read,write")
    original = tmp_path / "a.mp4"
    write_sample_drive(original, SampleDriveSpec(seed=21, duration_s=6, width=320, height=180, impact_at_s=4))
    reencode(original, tmp_path / "copy.mp4", 256, 144, crf=32)
    first = upload(cloud, headers, original.read_bytes())
    assert assessed(cloud, headers, first)["fraud_risk_score"] == 0.0
    second = assessed(cloud, headers, upload(cloud, headers, (tmp_path / "copy.mp4").read_bytes()))
    signals = {s["signal"]: s for s in second["fraud_signals"]}
    assert set(signals) == {"near_duplicate"} and first in signals["near_duplicate"]["detail"]
    assert second["fraud_risk_score"] == signals["near_duplicate"]["weight"]


def test_a_clip_altered_in_storage_is_flagged(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    with running(make_settings(worker_enabled=False)) as cloud:
        video = write_mp4(tmp_path / "v.mp4", lambda i: 70 + 3 * i)
        cloud.runtime.blobs.write_bytes("clips/v.mp4", video)
        new = NewClaim(
            source="upload", video_key="clips/v.mp4", video_sha256=hashlib.sha256(video).hexdigest(),
            size_bytes=len(video), metadata={},
        )  # fmt: skip
        claim, _ = cloud.call(cloud.runtime.claims.create, new, ActorType.SYSTEM, "test")
        cloud.runtime.blobs.write_bytes("clips/v.mp4", write_mp4(tmp_path / "w.mp4", lambda i: 200 - 3 * i))
        job = cloud.call(cloud.runtime.jobs.lease, "test")
        cloud.call(cloud.runtime.assessments.process, job)
        a = cloud.client.get(f"/claims/{claim.claim_id}/assessment", headers=cloud.headers("read")).json()
        assert [s["signal"] for s in a["fraud_signals"]] == ["integrity"]
        assert "stored clip sha256" in a["fraud_reasons"][0] and a["review_priority"] == "URGENT"


def device_claim(
    cloud: CloudApp, key: Ed25519PrivateKey, video: bytes, *, recorded_at: float, forged: bool = False
) -> str:
    """A device claim as ingest leaves it: the signed manifest in ``incidents``, the claim, its job."""
    incident_id = uuid.uuid4().hex[:16]
    sha = hashlib.sha256(video).hexdigest()
    unsigned = IncidentManifest(
        device_id="dev-fraud", incident_id=incident_id, recorded_at=recorded_at, start_s=10.0, peak_s=11.0,
        end_s=12.0, clip_start_s=10.0, clip_duration_s=2.0, score=0.9, miner_scores={"motion": 0.8},
        size_bytes=len(video), sha256=sha, chunk_size=len(video), chunk_sha256=[sha],
    )  # fmt: skip
    signer = Ed25519PrivateKey.generate() if forged else key
    manifest = msgspec.structs.replace(unsigned, signature=signer.sign(signing_bytes(unsigned)))
    key_name = f"clips/{sha}.mp4"
    cloud.runtime.blobs.write_bytes(key_name, video)
    now = utcnow()
    cloud.call(
        Incident.insert(
            Incident(
                device_id="dev-fraud", incident_id=incident_id, manifest=encode(manifest), sha256=sha,
                chunk_count=1, state="COMPLETE", created_at=now, updated_at=now,
            )
        ).run
    )  # fmt: skip
    new = NewClaim(
        source="device", video_key=key_name, video_sha256=sha, size_bytes=len(video), metadata={},
        device_id="dev-fraud", incident_id=incident_id,
    )  # fmt: skip
    claim, _ = cloud.call(cloud.runtime.claims.create, new, ActorType.DEVICE, "dev-fraud")
    return claim.claim_id


def test_device_claims_signature_clock_and_frequency(cloud: CloudApp, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    cloud.call(cloud.runtime.devices.register, "dev-fraud", pem)
    headers = cloud.headers("read")
    now = time.time()
    signals: list[set[str]] = []
    for i, (recorded_at, forged) in enumerate(
        [(now - 60, False), (now - 60, False), (now + 3600, False), (now - 60, True)]
    ):
        video = write_mp4(tmp_path / f"d{i}.mp4", lambda n, i=i: 30 + 50 * i + 2 * n)
        claim_id = device_claim(cloud, key, video, recorded_at=recorded_at, forged=forged)
        signals.append({s["signal"] for s in assessed(cloud, headers, claim_id)["fraud_signals"]})
    assert signals[0] == signals[1] == set()  # signed, on time, first claims of the device
    assert signals[2] == {"clock"}  # dated an hour after it arrived
    assert signals[3] == {"integrity", "claim_frequency"}  # forged signature; the 4th claim in 30 days


def test_recalibration_from_reviews_and_the_coverage(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(recalibrate_every_n_reviews=10)
    with running(settings) as cloud:
        headers = cloud.headers("read,write")
        ids = [
            upload(cloud, headers, write_mp4(tmp_path / f"r{i}.mp4", lambda n, i=i: 20 + 20 * i + n % 3))
            for i in range(10)
        ]
        sets = {claim_id: assessed(cloud, headers, claim_id)["prediction_set"] for claim_id in ids}
        labels = ["HIGH", "HIGH"] + [sets[c][0] for c in ids[2:]]  # two far outside their sets
        for claim_id, label in zip(ids, labels, strict=True):
            decision = {"decision": "APPROVE", "reasoning": "checked", "severity_override": label}
            assert (
                cloud.client.post(f"/reviews/{claim_id}/decision", json=decision, headers=headers).status_code
                == 201
            )
        covered = sum(label in sets[c] for c, label in zip(ids, labels, strict=True))
        summary = cloud.call(coverage_summary)
        assert (summary.reviewed, summary.covered) == (10, covered) and summary.coverage == covered / 10
        # The worker recalibrates by itself once 10 reviews have arrived.
        version = wait_for(
            lambda: cloud.call(coverage_summary).calibration_version == 2 and 2, 30, "recalibration"
        )
        row = cloud.call(Calibration.select().where(Calibration.version == version).first().run)
        assert (row["source"], row["n"], row["reviews_seen"]) == ("reviews", 10, 10)

        env = {**os.environ, "DATABASE_URL": settings.database_url, "DATA_DIR": str(settings.data_dir)}
        done = subprocess.run(
            [sys.executable, "-m", "cloud_api.cli", "calibrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "new calibration version=3 source=reviews n=10" in done.stdout
        assert f"reviewed claims=10 covered={covered}" in done.stdout
        too_few = subprocess.run(
            [sys.executable, "-m", "cloud_api.cli", "calibrate", "--min-reviews", "50"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert too_few.returncode == 1 and "kept calibration version=3" in too_few.stdout


@pytest.mark.parametrize("content", ['{"probabilities": {"LOW": 1.0}}', "not json"])
def test_calibrate_from_file_rejects_bad_pairs(
    make_settings: Callable[..., Settings], tmp_path: Path, content: str
) -> None:
    settings = make_settings()
    bad = tmp_path / "pairs.jsonl"
    bad.write_text(content + "\n")
    env = {**os.environ, "DATABASE_URL": settings.database_url, "DATA_DIR": str(settings.data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "cloud_api.cli", "calibrate", "--from-file", str(bad)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and f"{bad}:1: not a labelled pair" in done.stderr


@pytest.mark.parametrize(("present", "source", "n"), [(True, "model", 20), (False, "generated", 2000)])
def test_the_first_calibration_is_the_models_held_out_readings_when_present(
    make_settings: Callable[..., Settings], tmp_path: Path, present: bool, source: str, n: int
) -> None:
    pairs = tmp_path / "scene_heldout.json"
    if present:
        readings = [
            {
                "severity_probabilities": {"NONE": 0.7, "LOW": 0.2, "MEDIUM": 0.1, "HIGH": 0.0},
                "severity": label,
            }
            for label in ["NONE"] * 12 + ["LOW"] * 8
        ]
        pairs.write_text(json.dumps(readings))
    with running(make_settings(worker_enabled=False)) as cloud:  # nothing has made version 1 yet
        config = cloud.runtime.calibrations.config
        current = cloud.call(CalibrationStore(config, 0, model_pairs=pairs).current)
        assert (current.version, current.source, current.thresholds.n) == (1, source, n)
        later = CalibrationStore(config, 0, model_pairs=tmp_path / "other")  # another process, later
        assert cloud.call(later.current).source == source  # version 1 is made once, by whoever is first
