from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from cloud_api.domain.text import NO_NUL
from shared_models import ClaimStatus, Decision, ReviewPriority, Severity


class DecisionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    decision: Decision
    reasoning: Annotated[str, msgspec.Meta(min_length=1, max_length=10_000, pattern=NO_NUL)]
    reviewer_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)] | None = None
    """Defaults to the name of the API key that made the request."""
    severity_override: Severity | None = None
    fault_ratio_override: Annotated[float, msgspec.Meta(ge=0, le=100)] | None = None
    fraud_override: bool | None = None
    """True: the reviewer judges it fraud; False: not fraud, whatever the score said."""


class DecisionOut(msgspec.Struct, kw_only=True):
    review_id: int
    claim_id: str
    decision: Decision
    reviewer_id: str
    status: ClaimStatus
    created_at: datetime


class QueueItem(msgspec.Struct, kw_only=True):
    claim_id: str
    claim_number: str
    review_priority: ReviewPriority
    severity: Severity
    confidence: float
    fraud_risk_score: float
    prediction_set: list[Severity]
    received_at: datetime
    device_id: str | None


class ReviewQueue(msgspec.Struct, kw_only=True):
    items: list[QueueItem]
    total: int
    limit: int
    offset: int
