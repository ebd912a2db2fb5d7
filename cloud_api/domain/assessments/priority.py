"""Review priority from the severity prediction set and the fraud risk.

URGENT when HIGH is in the set (it cannot be ruled out at the configured coverage) or fraud is at or
above FRAUD_URGENT; LOW_PRIORITY when the set holds nothing above LOW and fraud is below FRAUD_LOW;
STANDARD otherwise.
"""

from __future__ import annotations

from collections.abc import Collection

from shared_models import ReviewPriority, Severity

PRIORITY_RANK = {ReviewPriority.URGENT: 0, ReviewPriority.STANDARD: 1, ReviewPriority.LOW_PRIORITY: 2}
FRAUD_URGENT = 0.7
FRAUD_LOW = 0.3
_MINOR = {Severity.NONE, Severity.LOW}


def review_priority(prediction_set: Collection[Severity], fraud_risk: float) -> ReviewPriority:
    if Severity.HIGH in prediction_set or fraud_risk >= FRAUD_URGENT:
        return ReviewPriority.URGENT
    if set(prediction_set) <= _MINOR and fraud_risk < FRAUD_LOW:
        return ReviewPriority.LOW_PRIORITY
    return ReviewPriority.STANDARD
