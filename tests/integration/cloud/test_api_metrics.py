"""/metrics on a real database: every family the insurer's dashboard needs, with values that follow the
data (decisions, review time, confidence, fraud share, queue, devices, refused uploads)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cloud_api.db.helpers import to_json, utcnow
from cloud_api.domain.assessments.tables import Assessment
from cloud_api.domain.claims.tables import Claim
from cloud_api.domain.reviews.coverage import label_in_set
from cloud_api.domain.reviews.tables import Review
from tests.integration.cloud.support import CloudApp

FAMILIES = (
    "dashclaim_claims",
    "dashclaim_review_queue_depth",
    "dashclaim_processing_rate_per_hour",
    "dashclaim_review_decision_rate",
    "dashclaim_review_time_seconds_mean",
    "dashclaim_ai_confidence_mean",
    "dashclaim_conformal_coverage",
    "dashclaim_fraud_rate",
    "dashclaim_ingest_rejections_total",
    "dashclaim_upload_rejections_total",
    "dashclaim_devices",
    "dashclaim_duplicate_clips_total",
    "dashclaim_incidents_expired_total",
)


def values(text: str) -> dict[str, float]:
    """``name{labels}`` -> value for every sample line of a Prometheus text answer."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


async def _seed() -> None:
    """Four assessed claims (one an hour old), three decided 10, 20 and 30 minutes after assessment."""
    now = utcnow()
    rows = [  # (status, confidence, fraud, minutes to decision, decision, assessed hours ago)
        ("REVIEWED", 0.9, 0.1, 10, "APPROVE", 0),
        ("REVIEWED", 0.7, 0.8, 20, "REJECT", 0),
        ("REVIEWED", 0.5, 0.2, 30, "APPROVE", 0),
        ("ASSESSED", 0.3, 0.9, None, None, 2),
    ]
    for status, confidence, fraud, minutes, decision, hours_ago in rows:
        claim_id = str(uuid.uuid4())
        assessed_at = now - timedelta(hours=hours_ago, minutes=60)
        await Claim.insert(
            Claim(
                id=claim_id,
                claim_number=claim_id[:8],
                source="upload",
                video_key="clips/x.mp4",
                video_sha256=uuid.uuid4().hex,
                size_bytes=1,
                status=status,
                progress_percent=100,
                received_at=assessed_at,
                updated_at=assessed_at,
                metadata="{}",
            )
        ).run()
        body = to_json({"prediction_set": ["LOW"], "severity_probabilities": {"LOW": 1.0}})
        await Assessment.insert(
            Assessment(
                claim_id=claim_id,
                severity="LOW",
                confidence=confidence,
                review_priority="URGENT",
                priority_rank=0,
                fraud_risk_score=fraud,
                fault_ratio=50.0,
                model="test",
                body=body,
                created_at=assessed_at + timedelta(minutes=60) if hours_ago == 0 else assessed_at,
            )
        ).run()
        if decision:
            await Review.insert(
                Review(
                    claim_id=claim_id,
                    decision=decision,
                    reviewer_id="t",
                    reasoning="r",
                    overrides="{}",
                    created_at=assessed_at + timedelta(minutes=60 + minutes),
                    label_in_set=label_in_set({}, "LOW", body),  # as ReviewService.decide stores it
                )
            ).run()


def test_metrics_follow_the_data(cloud: CloudApp) -> None:
    headers = cloud.headers("read,write")
    cloud.call(_seed)
    pem = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    cloud.call(cloud.runtime.devices.register, "dev-metrics-1", pem)
    cloud.client.post("/claims/upload", files={"video": ("x.mp4", b"not a video")}, headers=headers)
    response = cloud.client.get("/metrics", headers=headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "text/plain; version=0.0.4"
    )
    text = response.text
    for family in FAMILIES:
        assert f"# TYPE {family} " in text, family
    got = values(text)
    assert got['dashclaim_claims{status="REVIEWED"}'] == 3 and got['dashclaim_claims{status="ASSESSED"}'] == 1
    assert got['dashclaim_review_queue_depth{priority="URGENT"}'] == 1
    assert got["dashclaim_processing_rate_per_hour"] == 3  # the fourth was assessed hours ago
    assert got['dashclaim_review_decisions{decision="APPROVE"}'] == 2
    assert abs(got['dashclaim_review_decision_rate{decision="APPROVE"}'] - 2 / 3) < 1e-6
    assert abs(got['dashclaim_review_decision_rate{decision="REJECT"}'] - 1 / 3) < 1e-6
    assert got['dashclaim_review_decision_rate{decision="REQUEST_MORE_INFO"}'] == 0
    assert abs(got["dashclaim_review_time_seconds_mean"] - 20 * 60) < 1.0
    assert abs(got["dashclaim_ai_confidence_mean"] - 0.6) < 1e-6
    assert got["dashclaim_fraud_rate"] == 0.5  # 0.8 and 0.9 of four are >= 0.7
    assert got["dashclaim_conformal_reviewed"] == 3 and got["dashclaim_conformal_coverage"] == 1.0
    assert got['dashclaim_upload_rejections_total{reason="not_video"}'] == 1
    assert got['dashclaim_devices{status="UNKNOWN"}'] == 1  # registered, never heard from
    assert sum(v for k, v in got.items() if k.startswith("dashclaim_devices{")) == 1


def test_metrics_before_any_data_say_unknown_not_zero(cloud: CloudApp) -> None:
    got = values(cloud.client.get("/metrics", headers=cloud.headers("read")).text)
    for name in (
        "dashclaim_ai_confidence_mean",
        "dashclaim_fraud_rate",
        "dashclaim_review_time_seconds_mean",
        "dashclaim_conformal_coverage",
    ):
        assert got[name] != got[name], f"{name} should be NaN before any data"  # NaN != NaN


def test_a_failing_figure_reads_nan_and_the_rest_still_answers(
    cloud: CloudApp, monkeypatch, caplog
) -> None:  # noqa: ANN001
    from cloud_api.domain.system import services

    async def broken() -> None:
        raise RuntimeError("the number of query arguments cannot exceed 32767")

    monkeypatch.setattr(services, "coverage_summary", broken)
    response = cloud.client.get("/metrics", headers=cloud.headers("read"))
    assert response.status_code == 200
    got = values(response.text)
    assert got["dashclaim_conformal_coverage"] != got["dashclaim_conformal_coverage"]  # NaN
    assert (
        "dashclaim_claims" in response.text and "metrics.part_failed part=conformal_coverage" in caplog.text
    )
