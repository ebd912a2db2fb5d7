"""The durable job queue behind assessments: one job per claim, leased, retried with a limit.

PostgreSQL: a lease is one ``UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED)``, so any number
of worker processes poll the same table, each taking a different job without waiting on the others.
SQLite has a single writer and no row locks: there the lease is a compare-and-set UPDATE (state and
attempts unchanged -> taken). Either way a job whose lease ran out (its worker died) is taken again,
and every later write of a worker is guarded by its attempt number, so a worker that lost its lease
cannot overwrite the new holder's state.
"""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import datetime, timedelta

import msgspec
from piccolo.columns.combination import CombinableMixin

from cloud_api.db.engine import is_sqlite
from cloud_api.db.helpers import utcnow
from cloud_api.domain.assessments.tables import AssessmentJob
from cloud_api.settings import Settings


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


_PG_LEASE = """
UPDATE assessment_jobs
   SET state = 'running', attempts = attempts + 1, lease_until = {}, updated_at = {}, leased_by = {}
 WHERE id = (
       SELECT id FROM assessment_jobs
        WHERE (state = 'queued' AND available_at <= {}) OR (state = 'running' AND lease_until < {})
        ORDER BY id
        LIMIT 1
          FOR UPDATE SKIP LOCKED)
RETURNING id, claim_id, attempts
"""


def worker_name(task: int) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{task}"[:64]


class JobQueue:
    def __init__(self, max_attempts: int = 3, retry_backoff_s: float = 2.0, lease_s: float = 60.0) -> None:
        if max_attempts < 1 or retry_backoff_s < 0 or lease_s <= 0:
            raise ValueError(
                "need ASSESSMENT_MAX_ATTEMPTS >= 1, ASSESSMENT_RETRY_BACKOFF_S >= 0, ASSESSMENT_LEASE_S > 0"
            )
        self.max_attempts = max_attempts
        self.retry_backoff_s = retry_backoff_s
        self.lease_duration = timedelta(seconds=lease_s)
        self.wakeup = asyncio.Event()

    @classmethod
    def from_settings(cls, settings: Settings) -> JobQueue:
        return cls(
            max_attempts=settings.assessment_max_attempts,
            retry_backoff_s=settings.assessment_retry_backoff_s,
            lease_s=settings.assessment_lease_s,
        )

    def backoff(self, attempts: int) -> timedelta:
        """Delay before the retry that follows attempt ``attempts``: base * 2^(attempts - 1)."""
        return timedelta(seconds=self.retry_backoff_s * 2 ** (attempts - 1))

    async def enqueue(self, claim_id: str) -> None:
        """Queue the claim's job (joins the caller's transaction); a second call is a no-op."""
        now = utcnow()
        job = AssessmentJob(
            claim_id=claim_id, state=JobState.QUEUED, available_at=now, created_at=now, updated_at=now
        )
        await AssessmentJob.insert(job).on_conflict(action="DO NOTHING").run()
        self.wakeup.set()

    async def lease(self, holder: str = "") -> LeasedJob | None:
        """Lease the oldest available job (queued and due, or running with its lease run out)."""
        now = utcnow()
        if not is_sqlite():
            rows = await AssessmentJob.raw(_PG_LEASE, now + self.lease_duration, now, holder, now, now).run()
            return LeasedJob(rows[0]["id"], rows[0]["claim_id"], rows[0]["attempts"]) if rows else None
        candidates = (
            await AssessmentJob.select(
                AssessmentJob.id, AssessmentJob.claim_id, AssessmentJob.state, AssessmentJob.attempts
            )
            .where(self._available(now))
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
                        AssessmentJob.lease_until: now + self.lease_duration,
                        AssessmentJob.updated_at: now,
                        AssessmentJob.leased_by: holder,
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

    @staticmethod
    def _available(now: datetime) -> CombinableMixin:
        return ((AssessmentJob.state == JobState.QUEUED) & (AssessmentJob.available_at <= now)) | (
            (AssessmentJob.state == JobState.RUNNING) & (AssessmentJob.lease_until < now)
        )

    def _ours(self, job: LeasedJob) -> CombinableMixin:
        """Still this holder's: a worker that lost its lease matches nothing."""
        return (
            (AssessmentJob.id == job.id)
            & (AssessmentJob.attempts == job.attempts)
            & (AssessmentJob.state == JobState.RUNNING)
        )

    async def renew(self, job: LeasedJob) -> bool:
        """Extend the lease; False when another worker has taken the job since."""
        now = utcnow()
        renewed = (
            await AssessmentJob.update(
                {AssessmentJob.lease_until: now + self.lease_duration, AssessmentJob.updated_at: now}
            )
            .where(self._ours(job))
            .returning(AssessmentJob.id)
            .run()
        )
        return bool(renewed)

    async def complete(self, job: LeasedJob) -> None:
        await AssessmentJob.update(
            {
                AssessmentJob.state: JobState.DONE,
                AssessmentJob.lease_until: None,
                AssessmentJob.error: None,
                AssessmentJob.updated_at: utcnow(),
            }
        ).where(self._ours(job)).run()

    async def fail(self, job: LeasedJob, error: str, permanent: bool = False) -> bool:
        """Record the error; returns True when the job will be retried, False when it failed for good."""
        now = utcnow()
        retry = not permanent and job.attempts < self.max_attempts
        await AssessmentJob.update(
            {
                AssessmentJob.state: JobState.QUEUED if retry else JobState.FAILED,
                AssessmentJob.available_at: now + self.backoff(job.attempts),
                AssessmentJob.lease_until: None,
                AssessmentJob.error: error[:2000],
                AssessmentJob.updated_at: now,
            }
        ).where(self._ours(job)).run()
        return retry

    async def depth(self) -> int:
        return (
            await AssessmentJob.count()
            .where(AssessmentJob.state.is_in([JobState.QUEUED, JobState.RUNNING]))
            .run()
        )
