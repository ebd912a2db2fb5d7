from __future__ import annotations

import msgspec

from shared_models import ReviewPriority, Severity


class EvidenceOut(msgspec.Struct, kw_only=True):
    t_s: float
    """Seconds from the start of the clip."""
    what: str


class FaultAssessmentOut(msgspec.Struct, kw_only=True):
    fault_ratio: float
    """The ego vehicle's share of fault, 0-100."""
    rule: str
    """The id of the rules-table row that decided it (``no-rule`` when none applied)."""
    confidence: float
    reasoning: str
    modifiers: list[str] = []
    """Ids of the modifiers that moved the rule's share."""
    facts_used: list[str] = []
    evidence: list[EvidenceOut] = []
    """Clip times of the facts the rule and modifiers used."""
    needs_review: bool = False


class FraudSignalOut(msgspec.Struct, kw_only=True):
    signal: str
    """duplicate_clip, near_duplicate, integrity, clock, no_physical_signal or claim_frequency."""
    weight: float
    detail: str


class PredictionSetOut(msgspec.Struct, kw_only=True):
    """How the severity prediction set was made, so its coverage claim can be checked."""

    method: str
    """aps or lac (split conformal)."""
    alpha: float
    class_conditional: bool
    calibration_version: int
    calibration_source: str
    calibration_size: int
    thresholds: list[float | None]
    """One (or one per true class, NONE..HIGH) score threshold; None: too few samples, every class."""


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
    """True when the set comes from a stored split-conformal calibration."""
    review_flags: list[str] = []
    """Parts of the assessment a human must look at (e.g. no fault rule applied)."""
    fraud_signals: list[FraudSignalOut] = []
    conformal: PredictionSetOut | None = None
    other_parties: list[str] = []


class CoverageSummary(msgspec.Struct, kw_only=True):
    """Empirical coverage of the prediction sets over reviewed claims (the reviewer's severity is truth)."""

    reviewed: int
    covered: int
    coverage: float | None
    alpha: float
    calibration_version: int | None
