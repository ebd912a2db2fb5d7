"""Review priority from the conformal set and the fraud score."""

from __future__ import annotations

import pytest

from cloud_api.domain.assessments.priority import review_priority
from shared_models import ReviewPriority, Severity

H, M, L, N = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.NONE


@pytest.mark.parametrize(
    ("severities", "fraud", "expected"),
    [
        ([M, H], 0.0, ReviewPriority.URGENT),  # HIGH is possible
        ([H], 0.0, ReviewPriority.URGENT),
        ([L], 0.7, ReviewPriority.URGENT),  # fraud above its threshold
        ([N], 0.0, ReviewPriority.LOW_PRIORITY),
        ([L], 0.29, ReviewPriority.LOW_PRIORITY),
        ([N, L], 0.0, ReviewPriority.LOW_PRIORITY),  # nothing above LOW is possible
        ([L], 0.3, ReviewPriority.STANDARD),  # fraud not low
        ([L, M], 0.0, ReviewPriority.STANDARD),
        ([M], 0.5, ReviewPriority.STANDARD),
    ],
)
def test_review_priority(severities: list[Severity], fraud: float, expected: ReviewPriority) -> None:
    assert review_priority(severities, fraud) is expected
