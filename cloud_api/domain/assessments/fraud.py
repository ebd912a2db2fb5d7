"""Fraud risk 0-1 with its reasons. Each signal is its own function over ``FraudEvidence`` and adds a
fixed weight when it fires; the score is the sum, capped at 1, so every point of it has a reason.

Signals and weights:
  duplicate_clip       0.6  the same clip (sha256) is on another claim
  near_duplicate       0.5  the same footage re-encoded (perceptual frame hashes) is on another claim
  integrity            0.7  the stored clip's sha256 or the manifest's signature does not verify
  clock                0.3  the device clock puts the impact after the cloud received the clip, or long
                            before it
  no_physical_signal   0.3  the device claims an impact but motion / audio show nothing there
  claim_frequency      0.2  the device made more than FREQUENCY_LIMIT claims in FREQUENCY_WINDOW_DAYS
GPS is not in the wire contract (IncidentManifest has no position or GPS time), so it is not checked.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from cloud_api.domain.assessments.schemas import FraudSignalOut

WEIGHTS = {
    "duplicate_clip": 0.6,
    "near_duplicate": 0.5,
    "integrity": 0.7,
    "clock": 0.3,
    "no_physical_signal": 0.3,
    "claim_frequency": 0.2,
}
CLAIMED_PEAK = 0.5  # a device peak score at or above this claims an impact
NO_SIGNAL = 0.2  # physical miner scores below this at the peak count as nothing
NO_MOTION = 0.1  # nor does decoded frame change below this (0-1 scale)
CLOCK_AHEAD_TOLERANCE_S = 120.0  # plus the device's own reported clock offset
MAX_DELIVERY_DELAY_S = 14 * 86_400.0  # a clip older than this when it arrives is unusual
FREQUENCY_WINDOW_DAYS = 30
FREQUENCY_LIMIT = 3


class FraudEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the fraud signals look at, gathered by the assessment service."""

    duplicate_claims: list[str] = []
    near_duplicate_claims: dict[str, int] = {}
    """Other claim id -> how many of this clip's key frames match its frames."""
    integrity_problems: list[str] = []
    claimed_impact_at: float | None = None
    """Unix seconds by the device clock: manifest.recorded_at + peak_s (None for uploads)."""
    received_at: float | None = None
    """Unix seconds by the cloud clock when the claim was created."""
    device_clock_offset_s: float | None = None
    """From the device's latest heartbeat, when it reports one."""
    device_claims_in_window: int | None = None
    """Claims by this device in the last FREQUENCY_WINDOW_DAYS, this one included (None for uploads)."""
    peak_score: float | None = None
    physical_at_peak: float | None = None
    motion_norm: float = 0.0


def _signal(name: str, detail: str) -> FraudSignalOut:
    return FraudSignalOut(signal=name, weight=WEIGHTS[name], detail=detail)


def duplicate_clip(e: FraudEvidence) -> FraudSignalOut | None:
    if not e.duplicate_claims:
        return None
    claims = ", ".join(sorted(e.duplicate_claims))
    return _signal("duplicate_clip", f"duplicate footage: same clip sha256 as claim(s) {claims}")


def near_duplicate(e: FraudEvidence) -> FraudSignalOut | None:
    if not e.near_duplicate_claims:
        return None
    found = ", ".join(f"{c} ({n} frames)" for c, n in sorted(e.near_duplicate_claims.items()))
    return _signal("near_duplicate", f"near-duplicate footage (perceptual frame hashes) on claim(s) {found}")


def integrity(e: FraudEvidence) -> FraudSignalOut | None:
    if not e.integrity_problems:
        return None
    return _signal("integrity", "integrity check failed: " + "; ".join(e.integrity_problems))


def clock(e: FraudEvidence) -> FraudSignalOut | None:
    if e.claimed_impact_at is None or e.received_at is None:
        return None
    lead = e.claimed_impact_at - e.received_at  # > 0: the impact is dated after the clip arrived
    tolerance = CLOCK_AHEAD_TOLERANCE_S + abs(e.device_clock_offset_s or 0.0)
    if lead > tolerance:
        return _signal(
            "clock",
            f"device clock dates the impact {lead:.0f} s after the cloud received the clip "
            f"(tolerance {tolerance:.0f} s)",
        )
    if -lead > MAX_DELIVERY_DELAY_S:
        return _signal(
            "clock", f"device clock dates the impact {-lead / 86_400:.1f} days before the clip arrived"
        )
    return None


def no_physical_signal(e: FraudEvidence) -> FraudSignalOut | None:
    if (
        e.peak_score is not None
        and e.peak_score >= CLAIMED_PEAK
        and e.physical_at_peak is not None
        and e.physical_at_peak < NO_SIGNAL
        and e.motion_norm < NO_MOTION
    ):
        return _signal(
            "no_physical_signal",
            f"no physical signal at the claimed peak: incident score {e.peak_score:.2f} but motion/audio "
            f"{e.physical_at_peak:.2f} and frame change {e.motion_norm:.2f}",
        )
    return None


def claim_frequency(e: FraudEvidence) -> FraudSignalOut | None:
    if e.device_claims_in_window is None or e.device_claims_in_window <= FREQUENCY_LIMIT:
        return None
    return _signal(
        "claim_frequency",
        f"{e.device_claims_in_window} claims from this device in {FREQUENCY_WINDOW_DAYS} days "
        f"(more than {FREQUENCY_LIMIT})",
    )


SIGNALS: tuple[Callable[[FraudEvidence], FraudSignalOut | None], ...] = (
    duplicate_clip,
    near_duplicate,
    integrity,
    clock,
    no_physical_signal,
    claim_frequency,
)


def assess_fraud(evidence: FraudEvidence) -> tuple[float, list[FraudSignalOut]]:
    fired = [s for check in SIGNALS if (s := check(evidence)) is not None]
    return min(1.0, round(sum(s.weight for s in fired), 4)), fired
