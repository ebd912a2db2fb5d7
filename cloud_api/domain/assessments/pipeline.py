"""One claim through the v1 pipeline: scene reading -> fault -> fraud -> prediction set -> priority.

Pure and synchronous (the worker runs it in a thread): every input is passed in, nothing is read
from the database here.
"""

from __future__ import annotations

import time
from pathlib import Path

import msgspec

from cloud_api.domain.assessments.conformal import CALIBRATED, DEFAULT_ALPHA, prediction_set
from cloud_api.domain.assessments.fault import assess_fault, needs_review
from cloud_api.domain.assessments.fraud import assess_fraud
from cloud_api.domain.assessments.priority import review_priority
from cloud_api.domain.assessments.scene import HeuristicSceneReader, SceneReader
from cloud_api.domain.assessments.schemas import AssessmentOut
from shared_models import IncidentManifest

BACKENDS: dict[str, type[SceneReader]] = {"local": HeuristicSceneReader}


class AssessmentInput(msgspec.Struct, frozen=True, kw_only=True):
    claim_id: str
    clip: Path
    manifest: IncidentManifest | None
    duplicate_claims: list[str]


def scene_reader_for(backend: str) -> SceneReader:
    """The reader behind ASSESSMENT_BACKEND; ``local`` is heuristic-v1, the only one so far."""
    try:
        return BACKENDS[backend]()
    except KeyError:
        raise ValueError(f"ASSESSMENT_BACKEND={backend!r} is not one of {sorted(BACKENDS)}") from None


def assess(reader: SceneReader, job: AssessmentInput, alpha: float = DEFAULT_ALPHA) -> AssessmentOut:
    started = time.perf_counter()
    reading = reader.read(job.clip, job.manifest)
    probabilities = reading.severity_probabilities
    severities = prediction_set(probabilities, alpha)
    fault = assess_fault(reading)
    fraud, fraud_reasons = assess_fraud(reading, job.duplicate_claims)
    flags = ["fault: no rule applied, the 50/50 split is a placeholder"] if needs_review(fault) else []
    if not CALIBRATED:
        flags.append("severity: prediction set not calibrated yet")
    return AssessmentOut(
        claim_id=job.claim_id,
        severity=severities[0],
        confidence=probabilities[severities[0]],
        prediction_set=severities,
        review_priority=review_priority(severities, fraud),
        fault_assessment=fault,
        fraud_risk_score=fraud,
        fraud_reasons=fraud_reasons,
        hazards=reading.hazards,
        evidence=reading.evidence,
        narrative=reading.narrative,
        scenario=reading.scenario,
        processing_time_sec=round(time.perf_counter() - started, 3),
        model=reading.model,
        severity_probabilities={s.value: p for s, p in probabilities.items()},
        coverage_target=round(1 - alpha, 4),
        calibrated=CALIBRATED,
        review_flags=flags,
    )
