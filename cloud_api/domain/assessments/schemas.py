from __future__ import annotations

import msgspec

from shared_models import ReviewPriority, Severity


class FaultAssessmentOut(msgspec.Struct, kw_only=True):
    fault_ratio: float
    """The ego vehicle's share of fault, 0-100."""
    rule: str
    confidence: float
    reasoning: str


class EvidenceOut(msgspec.Struct, kw_only=True):
    t_s: float
    """Seconds from the start of the clip."""
    what: str


class AssessmentOut(msgspec.Struct, kw_only=True):
    claim_id: str
    severity: Severity
    confidence: float
    prediction_set: list[Severity]
    review_priority: ReviewPriority
    fault_assessment: FaultAssessmentOut
    fraud_risk_score: float
    fraud_reasons: list[str]
    hazards: list[str]
    evidence: list[EvidenceOut]
    narrative: str
    scenario: str
    processing_time_sec: float
    model: str
    severity_probabilities: dict[str, float]
    coverage_target: float
    """1 - alpha that the prediction set aims at."""
    calibrated: bool
    """False until the set comes from split conformal calibration on reviewed claims."""
    review_flags: list[str] = []
    """Parts of the assessment a human must look at (e.g. no fault rule applied)."""
