"""Running a leased job: load the claim and its clip, assess, store exactly one assessment, audit.

Progress and status are written to the claim as the job goes, so ``GET /claims/{id}/status`` shows
it; an error is retried (transient) or fails the claim with the error visible (decode errors and
attempts used up).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import av
import msgspec

from cloud_api.blobstore import BlobStore
from cloud_api.db.engine import write_transaction
from cloud_api.db.helpers import from_json, to_json, utcnow
from cloud_api.domain.assessments.jobs import JobQueue, LeasedJob
from cloud_api.domain.assessments.pipeline import AssessmentInput, assess
from cloud_api.domain.assessments.priority import PRIORITY_RANK
from cloud_api.domain.assessments.scene import SceneReader
from cloud_api.domain.assessments.schemas import AssessmentOut
from cloud_api.domain.assessments.tables import Assessment
from cloud_api.domain.audit.schemas import ActorType
from cloud_api.domain.audit.services import AuditService
from cloud_api.domain.claims.tables import Claim
from cloud_api.domain.ingest.tables import Incident
from cloud_api.domain.system.metrics import Metrics
from cloud_api.video import VideoError
from shared_models import ClaimStatus, IncidentManifest, decode

log = logging.getLogger(__name__)

PERMANENT_ERRORS = (VideoError, av.FFmpegError, msgspec.ValidationError)


class AssessmentService:
    def __init__(
        self, blobs: BlobStore, audit: AuditService, jobs: JobQueue, reader: SceneReader, metrics: Metrics
    ) -> None:
        self.blobs = blobs
        self.audit = audit
        self.jobs = jobs
        self.reader = reader
        self.metrics = metrics

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
        log.info("assessment.started claim=%s attempt=%d", job.claim_id, job.attempts)
        await self._progress(job.claim_id, ClaimStatus.PROCESSING, 10)
        try:
            result = await asyncio.to_thread(assess, self.reader, await self._input(claim))
            await self._progress(job.claim_id, ClaimStatus.PROCESSING, 90)
            await self._store(job, result)
        except Exception as exc:  # one bad claim must never stop the worker
            await self._failed(job, exc)
            return
        self.metrics.assessments["done"] += 1
        log.info(
            "assessment.done claim=%s severity=%s priority=%s fraud=%.2f seconds=%.2f",
            job.claim_id,
            result.severity,
            result.review_priority,
            result.fraud_risk_score,
            result.processing_time_sec,
        )

    async def _input(self, claim: dict[str, Any]) -> AssessmentInput:
        manifest = None
        if claim["device_id"] and claim["incident_id"]:
            row = (
                await Incident.select(Incident.manifest)
                .where(
                    (Incident.device_id == claim["device_id"])
                    & (Incident.incident_id == claim["incident_id"])
                )
                .first()
                .run()
            )
            manifest = decode(bytes(row["manifest"]), IncidentManifest) if row else None
        duplicates = (
            await Claim.select(Claim.id)
            .where((Claim.video_sha256 == claim["video_sha256"]) & (Claim.id != claim["id"]))
            .run()
        )
        return AssessmentInput(
            claim_id=claim["id"],
            clip=self.blobs.local_path(claim["video_key"]),
            manifest=manifest,
            duplicate_claims=[d["id"] for d in duplicates],
        )

    async def _store(self, job: LeasedJob, result: AssessmentOut) -> None:
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
