"""One claim through the pipeline: scene reading -> fault -> fraud -> prediction set -> priority.

Two pure, synchronous halves around the service's database work: ``analyse`` reads the clip (the worker
runs it in a thread: decoding, the scene model, key-frame hashes, the clip's sha256 and the manifest
signature), ``conclude`` turns that and what the service looked up into the assessment.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cloud_api.domain.assessments.calibration import LoadedCalibration
from cloud_api.domain.assessments.conformal import prediction_set
from cloud_api.domain.assessments.fault import assess_fault
from cloud_api.domain.assessments.fingerprint import FrameHash, keyframe_hashes
from cloud_api.domain.assessments.fraud import FraudEvidence, assess_fraud
from cloud_api.domain.assessments.priority import review_priority
from cloud_api.domain.assessments.scene import SceneReader, SceneReading
from cloud_api.domain.assessments.schemas import AssessmentOut, PredictionSetOut
from cloud_api.domain.assessments.taxonomy import Fact
from cloud_api.domain.ingest.signatures import signature_valid
from shared_models import IncidentManifest


class ClipAnalysis(msgspec.Struct, frozen=True, kw_only=True):
    reading: SceneReading
    hashes: list[FrameHash]
    sha256: str
    """Of the stored clip bytes, as read now."""
    signature_ok: bool | None
    """None for uploads (nothing signed) or when the device has no key on file."""
    seconds: float


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def analyse(
    reader: SceneReader, clip: Path, manifest: IncidentManifest | None, device_key: Ed25519PublicKey | None
) -> ClipAnalysis:
    started = time.perf_counter()
    reading = reader.read(clip, manifest)
    return ClipAnalysis(
        reading=reading,
        hashes=keyframe_hashes(clip),
        sha256=file_sha256(clip),
        signature_ok=signature_valid(manifest, device_key) if manifest and device_key else None,
        seconds=time.perf_counter() - started,
    )


def integrity_problems(
    analysis: ClipAnalysis, expected_sha256: str, manifest: IncidentManifest | None, device_known: bool
) -> list[str]:
    """What does not verify now: the stored bytes against the claim and manifest hashes, the signature."""
    problems = []
    if analysis.sha256 != expected_sha256:
        problems.append(
            f"stored clip sha256 {analysis.sha256[:12]}... is not the claim's {expected_sha256[:12]}..."
        )
    if manifest is not None:
        if manifest.sha256 != expected_sha256:
            problems.append("the manifest's clip sha256 is not the claim's")
        if analysis.signature_ok is False:
            problems.append("the manifest signature does not verify with the device's key")
        if not device_known:
            problems.append(f"device {manifest.device_id} is not registered: its signature cannot be checked")
    return problems


def facts_seen(reading: SceneReading) -> dict[Fact, list[float]]:
    """Fact -> the clip times that show it."""
    return {f.fact: list(f.t_s) for f in reading.facts}


def conclude(
    claim_id: str,
    analysis: ClipAnalysis,
    fraud_evidence: FraudEvidence,
    calibration: LoadedCalibration,
    extra_seconds: float = 0.0,
) -> AssessmentOut:
    """The assessment; ``extra_seconds`` is the service's own time, added to processing_time_sec."""
    reading = analysis.reading
    probabilities = reading.severity_probabilities
    severities = prediction_set(probabilities, calibration.thresholds)
    severity = max(probabilities, key=probabilities.__getitem__)
    fault = assess_fault(reading.scenario, facts_seen(reading))
    fraud, signals = assess_fraud(fraud_evidence)
    config = calibration.thresholds.config
    return AssessmentOut(
        claim_id=claim_id,
        severity=severity,
        confidence=probabilities[severity],
        prediction_set=severities,
        review_priority=review_priority(severities, fraud),
        fault_assessment=fault,
        fraud_risk_score=fraud,
        fraud_reasons=[s.detail for s in signals],
        fraud_signals=signals,
        hazards=reading.hazards,
        evidence=reading.evidence,
        narrative=reading.narrative,
        scenario=str(reading.scenario),
        other_parties=list(reading.other_parties),
        processing_time_sec=round(analysis.seconds + extra_seconds, 3),
        model=reading.model,
        severity_probabilities={str(s): p for s, p in probabilities.items()},
        coverage_target=round(1 - config.alpha, 4),
        calibrated=True,
        conformal=PredictionSetOut(
            method=config.method.value,
            alpha=config.alpha,
            class_conditional=config.class_conditional,
            calibration_version=calibration.version,
            calibration_source=calibration.source,
            calibration_size=calibration.thresholds.n,
            thresholds=[None if q == float("inf") else round(q, 6) for q in calibration.thresholds.qhat],
        ),
        review_flags=review_flags(reading, fault.needs_review, calibration),
    )


def review_flags(
    reading: SceneReading, fault_needs_review: bool, calibration: LoadedCalibration
) -> list[str]:
    flags: Sequence[str | None] = (
        "fault: no rule applied, the 50/50 split is a placeholder" if fault_needs_review else None,
        (
            f"severity: prediction set calibrated on {calibration.source} data, not yet on reviewed claims"
            if calibration.source != "reviews"
            else None
        ),
        (f"scene: fallback reader used ({reason})" if (reason := reading.fallback_reason) else None),
    )
    return [f for f in flags if f] + [f"scene: {caveat}" for caveat in reading.caveats]
