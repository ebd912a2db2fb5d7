"""Fraud risk 0-1 with its reasons, from the signals v1 has: duplicate footage and a claimed impact
without any physical signal. Each reason adds a fixed weight; the sum is capped at 1."""

from __future__ import annotations

from collections.abc import Sequence

from cloud_api.domain.assessments.scene import SceneReading

DUPLICATE_WEIGHT = 0.6
NO_PHYSICAL_SIGNAL_WEIGHT = 0.3
CLAIMED_PEAK = 0.5  # a manifest peak score at or above this claims an impact
NO_SIGNAL = 0.2  # physical miner scores below this at the peak count as nothing
NO_MOTION = 0.1  # nor does decoded frame change below this (normalized)


def assess_fraud(reading: SceneReading, duplicate_claims: Sequence[str]) -> tuple[float, list[str]]:
    score, reasons = 0.0, []
    if duplicate_claims:
        score += DUPLICATE_WEIGHT
        reasons.append(
            f"duplicate footage: same clip sha256 as claim(s) {', '.join(sorted(duplicate_claims))}"
        )
    signals = reading.signals
    if (
        signals.peak_score is not None
        and signals.peak_score >= CLAIMED_PEAK
        and signals.physical_at_peak is not None
        and signals.physical_at_peak < NO_SIGNAL
        and signals.motion_norm < NO_MOTION
    ):
        score += NO_PHYSICAL_SIGNAL_WEIGHT
        reasons.append(
            f"no physical signal at the claimed peak: incident score {signals.peak_score:.2f} "
            "but motion/audio "
            f"{signals.physical_at_peak:.2f} and frame change {signals.motion_norm:.2f}"
        )
    return min(1.0, round(score, 4)), reasons
