"""Review priority from the severity prediction set and the fraud risk."""

from __future__ import annotations

from collections.abc import Collection

from shared_models import ReviewPriority, Severity

PRIORITY_RANK = {ReviewPriority.URGENT: 0, ReviewPriority.STANDARD: 1, ReviewPriority.LOW_PRIORITY: 2}
_MINOR = {Severity.NONE, Severity.LOW}


def review_priority(prediction_set: Collection[Severity], fraud_risk: float) -> ReviewPriority:
    """URGENT when HIGH is possible or fraud is likely; LOW_PRIORITY only when surely minor and clean."""
    if Severity.HIGH in prediction_set or fraud_risk >= 0.7:
        return ReviewPriority.URGENT
    if set(prediction_set) <= _MINOR and fraud_risk < 0.3:
        return ReviewPriority.LOW_PRIORITY
    return ReviewPriority.STANDARD
