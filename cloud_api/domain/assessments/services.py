"""Running a leased job: gather the claim's context, assess, store exactly one assessment, audit.

Progress is written to the claim as the job goes (10 leased, 60 clip read, 80 fraud checked, 100 stored),
so ``GET /claims/{id}/status`` shows it. The lease is renewed while the job runs, so only a dead worker
loses it. An error is retried (transient) or fails the claim with the error visible (a clip that does
not decode; attempts used up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import av
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cloud_api.blobstore import BlobStore
from cloud_api.db.engine import write_transaction
from cloud_api.db.helpers import from_json, to_json, utcnow
from cloud_api.domain.assessments.calibration import CalibrationStore, coverage_summary
from cloud_api.domain.assessments.fingerprint import FrameHash, near_duplicate_matches
from cloud_api.domain.assessments.fraud import FREQUENCY_WINDOW_DAYS, FraudEvidence
from cloud_api.domain.assessments.jobs import JobQueue, LeasedJob
from cloud_api.domain.assessments.pipeline import ClipAnalysis, analyse, conclude, integrity_problems
from cloud_api.domain.assessments.priority import PRIORITY_RANK
from cloud_api.domain.assessments.scene import SceneReader
from cloud_api.domain.assessments.schemas import AssessmentOut
from cloud_api.domain.assessments.tables import Assessment, ClipFingerprint
from cloud_api.domain.audit.schemas import ActorType
from cloud_api.domain.audit.services import AuditService
from cloud_api.domain.claims.tables import Claim
from cloud_api.domain.devices.services import load_public_key
from cloud_api.domain.devices.tables import Device
from cloud_api.domain.ingest.tables import Incident
from cloud_api.domain.system.metrics import Metrics
from shared_models import ClaimStatus, IncidentManifest, decode

__all__ = ["AssessmentService", "coverage_summary"]

log = logging.getLogger(__name__)

PERMANENT_ERRORS = (ValueError, av.FFmpegError)
"""Bad input fails the same way every time, so it is not retried: an undecodable clip (VideoError, the
scene reader's ValueError, PyAV's errors), a malformed manifest (msgspec errors are ValueErrors)."""


class ClaimContext(msgspec.Struct, kw_only=True):
    """What the service looks up before reading the clip."""

    claim: dict[str, Any]
    manifest: IncidentManifest | None
    device_key: Ed25519PublicKey | None
    device_known: bool
    clock_offset_s: float | None
    device_claims_in_window: int | None
    duplicate_claims: list[str]


class AssessmentService:
    def __init__(
        self,
        blobs: BlobStore,
        audit: AuditService,
        jobs: JobQueue,
        reader: SceneReader,
        metrics: Metrics,
        calibrations: CalibrationStore,
    ) -> None:
        self.blobs = blobs
        self.audit = audit
        self.jobs = jobs
        self.reader = reader
        self.metrics = metrics
        self.calibrations = calibrations

    async def get(self, claim_id: str) -> AssessmentOut | None:
        row = await Assessment.select(Assessment.body).where(Assessment.claim_id == claim_id).first().run()
        return msgspec.convert(from_json(row["body"]), AssessmentOut) if row else None

    async def process(self, job: LeasedJob) -> None:
        claim = await Claim.select().where(Claim.id == job.claim_id).first().run()
        if claim is None:
            await self.jobs.fail(job, "claim not found", permanent=True)
            return
        if await Assessment.exists().where(Assessment.claim_id == job.claim_id).run():
            await self.jobs.complete(job)  # a re-run after a lost lease: the work is done
            return
        if job.attempts > self.jobs.max_attempts:  # its workers kept dying (e.g. killed for memory)
            await self._failed(job, RuntimeError(f"worker lost {job.attempts - 1} time(s) during this job"))
            return
        log.info("assessment.started claim=%s attempt=%d", job.claim_id, job.attempts)
        started = time.perf_counter()
        try:
            async with self._leased(job):
                await self._progress(job.claim_id, ClaimStatus.PROCESSING, 10)
                context = await self._context(claim)
                clip = await asyncio.to_thread(self.blobs.local_path, claim["video_key"])  # S3: download
                analysis = await asyncio.to_thread(
                    analyse, self.reader, clip, context.manifest, context.device_key
                )
                await self._progress(job.claim_id, ClaimStatus.PROCESSING, 60)
                evidence = await self._fraud_evidence(context, analysis)
                await self._progress(job.claim_id, ClaimStatus.PROCESSING, 80)
                calibration = await self.calibrations.current()
                own_s = time.perf_counter() - started - analysis.seconds
                result = conclude(job.claim_id, analysis, evidence, calibration, extra_seconds=own_s)
                await self._store(job, result, analysis.hashes)
        except Exception as exc:  # one bad claim must never stop the worker
            await self._failed(job, exc)
            return
        self.metrics.assessments["done"] += 1
        log.info(
            "assessment.done claim=%s severity=%s set=%s priority=%s fault=%s:%.0f fraud=%.2f seconds=%.2f",
            job.claim_id,
            result.severity,
            ",".join(result.prediction_set),
            result.review_priority,
            result.fault_assessment.rule,
            result.fault_assessment.fault_ratio,
            result.fraud_risk_score,
            result.processing_time_sec,
        )

    @contextlib.asynccontextmanager
    async def _leased(self, job: LeasedJob) -> AsyncIterator[None]:
        """Renew the job's lease every third of its length while the body runs."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(self.jobs.lease_duration.total_seconds() / 3)
                if not await self.jobs.renew(job):
                    log.warning("assessment.lease_lost claim=%s attempt=%d", job.claim_id, job.attempts)
                    return

        task = asyncio.create_task(renew(), name=f"lease-{job.id}")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _context(self, claim: dict[str, Any]) -> ClaimContext:
        manifest, device = None, None
        device_id = claim["device_id"]
        if device_id and claim["incident_id"]:
            row = (
                await Incident.select(Incident.manifest)
                .where((Incident.device_id == device_id) & (Incident.incident_id == claim["incident_id"]))
                .first()
                .run()
            )
            manifest = decode(bytes(row["manifest"]), IncidentManifest) if row else None
        if device_id:
            device = (
                await Device.select(Device.public_key_pem, Device.latest_health)
                .where(Device.device_id == device_id)
                .first()
                .run()
            )
        health = (from_json(device["latest_health"]) or {}) if device else {}
        since = claim["received_at"] - timedelta(days=FREQUENCY_WINDOW_DAYS)
        duplicates = (
            await Claim.select(Claim.id)
            .where((Claim.video_sha256 == claim["video_sha256"]) & (Claim.id != claim["id"]))
            .run()
        )
        return ClaimContext(
            claim=claim,
            manifest=manifest,
            device_key=load_public_key(device["public_key_pem"]) if device else None,
            device_known=device is not None,
            clock_offset_s=health.get("clock_offset_s"),
            device_claims_in_window=(
                await Claim.count()
                .where(
                    (Claim.device_id == device_id)
                    & (Claim.received_at >= since)
                    & (Claim.received_at <= claim["received_at"])
                )
                .run()
                if device_id
                else None
            ),
            duplicate_claims=[d["id"] for d in duplicates],
        )

    async def _fraud_evidence(self, context: ClaimContext, analysis: ClipAnalysis) -> FraudEvidence:
        claim, manifest, signals = context.claim, context.manifest, analysis.reading.signals
        return FraudEvidence(
            duplicate_claims=context.duplicate_claims,
            near_duplicate_claims=await near_duplicates(
                claim["id"], analysis.hashes, context.duplicate_claims
            ),
            integrity_problems=integrity_problems(
                analysis, claim["video_sha256"], manifest, context.device_known
            ),
            claimed_impact_at=manifest.recorded_at + manifest.peak_s if manifest else None,
            received_at=claim["received_at"].timestamp(),
            device_clock_offset_s=context.clock_offset_s,
            device_claims_in_window=context.device_claims_in_window,
            peak_score=signals.peak_score,
            physical_at_peak=signals.physical_at_peak,
            motion_norm=signals.motion_norm,
        )

    async def _store(self, job: LeasedJob, result: AssessmentOut, hashes: Sequence[FrameHash]) -> None:
        async with write_transaction():
            inserted = (
                await Assessment.insert(
                    Assessment(
                        claim_id=job.claim_id,
                        severity=result.severity.value,
                        confidence=result.confidence,
                        review_priority=result.review_priority.value,
                        priority_rank=PRIORITY_RANK[result.review_priority],
                        fraud_risk_score=result.fraud_risk_score,
                        fault_ratio=result.fault_assessment.fault_ratio,
                        model=result.model,
                        body=to_json(result),
                        created_at=utcnow(),
                    )
                )
                .on_conflict(action="DO NOTHING")
                .returning(Assessment.id)
                .run()
            )
            if inserted:  # a job re-run after a lost lease finds the assessment already there
                if hashes:
                    await ClipFingerprint.insert(
                        *(
                            ClipFingerprint(
                                claim_id=job.claim_id,
                                t_s=h.t_s,
                                dhash=h.hex,
                                **{f"band{i}": b for i, b in enumerate(h.bands)},
                            )
                            for h in hashes
                        )
                    ).run()
                await self._progress(job.claim_id, ClaimStatus.ASSESSED, 100, error=None)
                await self.audit.log_action(
                    "assessed", ActorType.AI, result.model, claim_id=job.claim_id, before=None, after=result
                )
            await self.jobs.complete(job)

    async def _failed(self, job: LeasedJob, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        permanent = isinstance(exc, PERMANENT_ERRORS)
        log.warning(
            "assessment.error claim=%s attempt=%d permanent=%s error=%s",
            job.claim_id,
            job.attempts,
            permanent,
            error,
        )
        async with write_transaction():
            retry = await self.jobs.fail(job, error, permanent=permanent)
            if retry:
                self.metrics.assessments["retried"] += 1
                await self._progress(
                    job.claim_id, ClaimStatus.QUEUED, 0, error=f"attempt {job.attempts} failed: {error}"
                )
                return
            self.metrics.assessments["failed"] += 1
            await self._progress(job.claim_id, ClaimStatus.FAILED, 0, error=error)
            await self.audit.log_action(
                "assessment_failed",
                ActorType.SYSTEM,
                "assessment-worker",
                claim_id=job.claim_id,
                after={"status": ClaimStatus.FAILED, "error": error, "attempts": job.attempts},
            )

    async def _progress(self, claim_id: str, status: ClaimStatus, percent: int, **extra: Any) -> None:
        values: dict[Any, Any] = {
            Claim.status: status.value,
            Claim.progress_percent: percent,
            Claim.updated_at: utcnow(),
        }
        if "error" in extra:
            values[Claim.error] = extra["error"]
        # Never move a claim back from a final state (a worker whose lease ran out may still report).
        final = [ClaimStatus.ASSESSED.value, ClaimStatus.REVIEWED.value]
        await Claim.update(values).where((Claim.id == claim_id) & Claim.status.not_in(final)).run()


async def near_duplicates(
    claim_id: str, hashes: Sequence[FrameHash], exclude: Sequence[str] = ()
) -> dict[str, int]:
    """Other claims whose stored key-frame hashes near-duplicate ``hashes`` -> frames matched.

    Candidates share a 16-bit band with one of our hashes (an indexed lookup); exact copies
    (``exclude``, found by sha256 already) are left out.
    """
    if not hashes:
        return {}
    columns = (ClipFingerprint.band0, ClipFingerprint.band1, ClipFingerprint.band2, ClipFingerprint.band3)
    any_band = None
    for i, column in enumerate(columns):
        clause = column.is_in(sorted({h.bands[i] for h in hashes}))
        any_band = clause if any_band is None else any_band | clause
    rows = (
        await ClipFingerprint.select(ClipFingerprint.claim_id)
        .where(any_band & (ClipFingerprint.claim_id != claim_id))
        .distinct()
        .run()
    )
    candidates = sorted({r["claim_id"] for r in rows} - set(exclude))
    if not candidates:
        return {}
    stored: dict[str, list[FrameHash]] = {c: [] for c in candidates}
    for r in (
        await ClipFingerprint.select(ClipFingerprint.claim_id, ClipFingerprint.t_s, ClipFingerprint.dhash)
        .where(ClipFingerprint.claim_id.is_in(candidates))
        .run()
    ):
        stored[r["claim_id"]].append(FrameHash(t_s=r["t_s"], value=int(r["dhash"], 16)))
    found: dict[str, int] = {}
    for other, theirs in stored.items():
        if matched := near_duplicate_matches(hashes, theirs):
            found[other] = matched
    return found
