"""The durable job queue behind assessments: one job per claim, leased, retried with a limit.

Leasing is a compare-and-set UPDATE (state and attempts unchanged -> taken), so any number of workers,
in this process or another replica, can poll the same table without taking a job twice; a job whose
lease ran out (its worker died) is taken again.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import msgspec

from cloud_api.db.helpers import utcnow
from cloud_api.domain.assessments.tables import AssessmentJob

MAX_ATTEMPTS = 3
LEASE = timedelta(minutes=10)


class JobState:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class LeasedJob(msgspec.Struct, frozen=True):
    id: int
    claim_id: str
    attempts: int
    """Attempts so far, this one included."""


class JobQueue:
    def __init__(self, retry_backoff_s: float = 1.0) -> None:
        self.retry_backoff_s = retry_backoff_s
        """Delay before retry n is n times this."""
        self.wakeup = asyncio.Event()

    async def enqueue(self, claim_id: str) -> None:
        """Queue the claim's job (joins the caller's transaction); a second call is a no-op."""
        now = utcnow()
        job = AssessmentJob(
            claim_id=claim_id, state=JobState.QUEUED, available_at=now, created_at=now, updated_at=now
        )
        await AssessmentJob.insert(job).on_conflict(action="DO NOTHING").run()
        self.wakeup.set()

    async def lease(self) -> LeasedJob | None:
        now = utcnow()
        candidates = (
            await AssessmentJob.select(
                AssessmentJob.id, AssessmentJob.claim_id, AssessmentJob.state, AssessmentJob.attempts
            )
            .where(
                ((AssessmentJob.state == JobState.QUEUED) & (AssessmentJob.available_at <= now))
                | ((AssessmentJob.state == JobState.RUNNING) & (AssessmentJob.lease_until < now))
            )
            .order_by(AssessmentJob.id)
            .limit(8)
            .run()
        )
        for job in candidates:
            taken = (
                await AssessmentJob.update(
                    {
                        AssessmentJob.state: JobState.RUNNING,
                        AssessmentJob.attempts: job["attempts"] + 1,
                        AssessmentJob.lease_until: now + LEASE,
                        AssessmentJob.updated_at: now,
                    }
                )
                .where(
                    (AssessmentJob.id == job["id"])
                    & (AssessmentJob.state == job["state"])
                    & (AssessmentJob.attempts == job["attempts"])
                )
                .returning(AssessmentJob.id)
                .run()
            )
            if taken:
                return LeasedJob(id=job["id"], claim_id=job["claim_id"], attempts=job["attempts"] + 1)
        return None

    async def complete(self, job: LeasedJob) -> None:
        await AssessmentJob.update(
            {
                AssessmentJob.state: JobState.DONE,
                AssessmentJob.lease_until: None,
                AssessmentJob.error: None,
                AssessmentJob.updated_at: utcnow(),
            }
        ).where(AssessmentJob.id == job.id).run()

    async def fail(self, job: LeasedJob, error: str, permanent: bool = False) -> bool:
        """Record the error; returns True when the job will be retried, False when it failed for good."""
        now = utcnow()
        retry = not permanent and job.attempts < MAX_ATTEMPTS
        await AssessmentJob.update(
            {
                AssessmentJob.state: JobState.QUEUED if retry else JobState.FAILED,
                AssessmentJob.available_at: now + timedelta(seconds=self.retry_backoff_s * job.attempts),
                AssessmentJob.lease_until: None,
                AssessmentJob.error: error[:2000],
                AssessmentJob.updated_at: now,
            }
        ).where(AssessmentJob.id == job.id).run()
        return retry

    async def depth(self) -> int:
        return (
            await AssessmentJob.count()
            .where(AssessmentJob.state.is_in([JobState.QUEUED, JobState.RUNNING]))
            .run()
        )
