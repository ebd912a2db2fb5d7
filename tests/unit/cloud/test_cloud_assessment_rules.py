"""The v1 assessment rules on synthetic signals: prediction sets, priority, severity curve, fraud."""

from __future__ import annotations

import pytest

from cloud_api.domain.assessments.conformal import prediction_set
from cloud_api.domain.assessments.fault import assess_fault, needs_review
from cloud_api.domain.assessments.fraud import assess_fraud
from cloud_api.domain.assessments.priority import review_priority
from cloud_api.domain.assessments.scene import (
    DecodedMotion,
    SceneReading,
    SceneSignals,
    physical_at_peak,
    severity_probabilities,
)
from shared_models import IncidentManifest, MinerTimeline, ReviewPriority, Severity

H, M, L, N = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.NONE


def reading(peak_score: float | None, physical: float | None, motion: float) -> SceneReading:
    decoded = DecodedMotion(
        frame_count=10,
        duration_s=1.0,
        fps=10.0,
        width=64,
        height=64,
        mean_energy=1.0,
        peak_energy=1.0,
        peak_t_s=0.5,
    )
    signals = SceneSignals(
        decoded=decoded,
        motion_norm=motion,
        peak_score=peak_score,
        peak_t_s=0.5,
        physical_at_peak=physical,
        miner_scores={},
    )
    return SceneReading(
        scenario="unclassified",
        severity_probabilities=severity_probabilities(0.5),
        narrative="",
        evidence=[],
        hazards=[],
        signals=signals,
        model="heuristic-v1",
    )


def test_prediction_set_takes_classes_until_the_coverage() -> None:
    assert prediction_set({H: 0.95, M: 0.05, L: 0.0, N: 0.0}) == [H]
    assert prediction_set({H: 0.6, M: 0.25, L: 0.1, N: 0.05}) == [H, M, L]
    assert prediction_set({H: 0.6, M: 0.25, L: 0.1, N: 0.05}, alpha=0.5) == [H]
    with pytest.raises(ValueError):
        prediction_set({H: 1.0}, alpha=0)


@pytest.mark.parametrize(
    ("severities", "fraud", "expected"),
    [
        ([M, H], 0.0, ReviewPriority.URGENT),
        ([L], 0.7, ReviewPriority.URGENT),
        ([N, L], 0.29, ReviewPriority.LOW_PRIORITY),
        ([N, L], 0.3, ReviewPriority.STANDARD),
        ([L, M], 0.0, ReviewPriority.STANDARD),
    ],
)
def test_review_priority(severities: list[Severity], fraud: float, expected: ReviewPriority) -> None:
    assert review_priority(severities, fraud) is expected


def test_severity_probabilities_follow_the_intensity() -> None:
    for intensity in (0.0, 0.3, 0.5, 0.8, 1.0):
        assert sum(severity_probabilities(intensity).values()) == pytest.approx(1, abs=1e-3)
    top = [max(p := severity_probabilities(s), key=p.__getitem__) for s in (0.0, 0.35, 0.65, 1.0)]
    assert top == [N, L, M, H]


def test_physical_signal_is_read_near_the_peak() -> None:
    base = dict(
        device_id="d",
        incident_id="i",
        recorded_at=0.0,
        start_s=0.0,
        peak_s=12.0,
        end_s=13.0,
        clip_start_s=10.0,
        clip_duration_s=4.0,
        score=0.9,
        size_bytes=1,
        sha256="0" * 64,
        chunk_size=1,
        chunk_sha256=["0" * 64],
    )
    scores = [0.0] * 8 + [0.1, 0.7, 0.2] + [0.0] * 5  # 4 Hz: the 0.7 sits at 2.25 s, within 0.5 s of 2.0 s
    m = IncidentManifest(
        **base,
        miner_scores={"motion": 0.3},
        timelines=[
            MinerTimeline(miner="motion", rate_hz=4.0, scores=scores),
            MinerTimeline(miner="proximity", rate_hz=4.0, scores=[1.0] * 16),
        ],
    )
    assert physical_at_peak(m) == 0.7
    assert physical_at_peak(IncidentManifest(**base, miner_scores={"audio": 0.4, "proximity": 0.9})) == 0.4
    assert physical_at_peak(IncidentManifest(**base, miner_scores={"proximity": 0.9})) is None


def test_fraud_reasons() -> None:
    assert assess_fraud(reading(0.9, 0.8, 0.5), []) == (0.0, [])
    score, reasons = assess_fraud(reading(0.9, 0.05, 0.02), ["c-1"])
    assert score == 0.9 and len(reasons) == 2 and "c-1" in reasons[0] and "no physical signal" in reasons[1]
    assert assess_fraud(reading(None, None, 0.0), [])[0] == 0.0  # uploads: nothing claimed, nothing missing
    assert (
        assess_fraud(reading(0.9, None, 0.0), [])[0] == 0.0
    )  # no physical miner on board: no evidence either way


def test_fault_has_no_rule_yet_and_asks_for_review() -> None:
    fault = assess_fault(reading(0.9, 0.8, 0.5))
    assert (
        (fault.fault_ratio, fault.rule) == (50.0, "no-rule")
        and fault.confidence < 0.5
        and needs_review(fault)
    )
