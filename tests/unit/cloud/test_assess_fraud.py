"""Each fraud signal on its own: it fires on its evidence, stays quiet without it, and adds its weight;
the score is the capped sum, every point with a reason."""

from __future__ import annotations

import pytest

from cloud_api.domain.assessments.fraud import (
    FREQUENCY_LIMIT,
    WEIGHTS,
    FraudEvidence,
    assess_fraud,
    claim_frequency,
    clock,
    duplicate_clip,
    integrity,
    near_duplicate,
    no_physical_signal,
)

NOW = 1_790_000_000.0


def test_nothing_suspicious_scores_zero() -> None:
    clean = FraudEvidence(
        claimed_impact_at=NOW - 600,
        received_at=NOW,
        device_claims_in_window=1,
        peak_score=0.9,
        physical_at_peak=0.8,
        motion_norm=0.5,
    )
    assert assess_fraud(clean) == (0.0, [])
    assert assess_fraud(FraudEvidence()) == (0.0, [])  # an upload: nothing claimed, nothing to contradict


def test_duplicate_clip() -> None:
    signal = duplicate_clip(FraudEvidence(duplicate_claims=["c-2", "c-1"]))
    assert signal and signal.weight == WEIGHTS["duplicate_clip"] and "c-1, c-2" in signal.detail


def test_near_duplicate() -> None:
    signal = near_duplicate(FraudEvidence(near_duplicate_claims={"c-9": 7}))
    assert signal and "c-9 (7 frames)" in signal.detail
    assert near_duplicate(FraudEvidence()) is None


def test_integrity() -> None:
    signal = integrity(FraudEvidence(integrity_problems=["the manifest signature does not verify"]))
    assert signal and signal.weight >= 0.7 and "signature" in signal.detail  # alone enough for URGENT


@pytest.mark.parametrize(
    ("impact_after_receipt_s", "offset_s", "fires"),
    [
        (60, None, False),  # within tolerance
        (600, None, True),  # dated ten minutes after the clip arrived
        (600, 900.0, False),  # the device reported its clock 15 min off: explained
        (-3 * 86_400, None, False),  # uploaded three days late: normal for an offline device
        (-30 * 86_400, None, True),  # a month-old clip
    ],
)
def test_clock(impact_after_receipt_s: float, offset_s: float | None, fires: bool) -> None:
    evidence = FraudEvidence(
        claimed_impact_at=NOW + impact_after_receipt_s, received_at=NOW, device_clock_offset_s=offset_s
    )
    assert (clock(evidence) is not None) is fires


@pytest.mark.parametrize(
    ("peak", "physical", "motion", "fires"),
    [
        (0.9, 0.05, 0.02, True),  # claimed impact, nothing physical, no frame change
        (0.9, 0.05, 0.5, False),  # the picture jolts
        (0.9, 0.6, 0.02, False),  # the G-sensor / audio felt it
        (0.3, 0.05, 0.02, False),  # no impact claimed
        (0.9, None, 0.0, False),  # no physical miner on board: no evidence either way
        (None, None, 0.0, False),  # upload
    ],
)
def test_no_physical_signal(peak: float | None, physical: float | None, motion: float, fires: bool) -> None:
    evidence = FraudEvidence(peak_score=peak, physical_at_peak=physical, motion_norm=motion)
    assert (no_physical_signal(evidence) is not None) is fires


def test_claim_frequency() -> None:
    assert claim_frequency(FraudEvidence(device_claims_in_window=FREQUENCY_LIMIT)) is None
    signal = claim_frequency(FraudEvidence(device_claims_in_window=FREQUENCY_LIMIT + 2))
    assert signal and f"{FREQUENCY_LIMIT + 2} claims" in signal.detail


def test_score_is_the_capped_sum_with_one_reason_per_signal() -> None:
    score, signals = assess_fraud(FraudEvidence(duplicate_claims=["c-1"], device_claims_in_window=9))
    assert score == pytest.approx(WEIGHTS["duplicate_clip"] + WEIGHTS["claim_frequency"])
    assert [s.signal for s in signals] == ["duplicate_clip", "claim_frequency"]
    everything = FraudEvidence(
        duplicate_claims=["c-1"], near_duplicate_claims={"c-2": 5}, integrity_problems=["bad hash"]
    )
    assert assess_fraud(everything)[0] == 1.0
