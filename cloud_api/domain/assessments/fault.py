"""Fault allocation. v1 has no scenario classifier, so no rule applies: 50/50 with low confidence,
flagged for a human. Explicit per-scenario rules (rear-end, lane change, ...) plug in here."""

from __future__ import annotations

from cloud_api.domain.assessments.scene import SceneReading
from cloud_api.domain.assessments.schemas import FaultAssessmentOut

NO_RULE = "no-rule"


def assess_fault(reading: SceneReading) -> FaultAssessmentOut:
    return FaultAssessmentOut(
        fault_ratio=50.0,
        rule=NO_RULE,
        confidence=0.1,
        reasoning=(
            f"Scenario '{reading.scenario}' is not covered by any fault rule yet; "
            "an even split is recorded only as a placeholder for the reviewer."
        ),
    )


def needs_review(fault: FaultAssessmentOut) -> bool:
    return fault.rule == NO_RULE
