"""In-process assessment workers: WORKER_MAX_THREADS asyncio tasks, each leasing one job at a time.

Decoding runs in a thread (``asyncio.to_thread``), so the tasks bound how many clips decode at once
while the event loop keeps serving the API and ingest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from cloud_api.domain.assessments.jobs import JobQueue
from cloud_api.domain.assessments.services import AssessmentService

log = logging.getLogger(__name__)


class AssessmentWorker:
    def __init__(
        self, service: AssessmentService, jobs: JobQueue, concurrency: int, poll_s: float = 1.0
    ) -> None:
        self.service = service
        self.jobs = jobs
        self.concurrency = concurrency
        self.poll_s = poll_s
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(i), name=f"assessment-worker-{i}") for i in range(self.concurrency)
        ]
        log.info("worker.started tasks=%d", self.concurrency)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        log.info("worker.stopped")

    @property
    def alive(self) -> int:
        return sum(not task.done() for task in self._tasks)

    async def step(self) -> bool | None:
        """Lease and run one job: None when there was none, True when it ran."""
        job = await self.jobs.lease()
        if job is None:
            return None
        await self.service.process(job)
        return True

    async def _run(self, index: int) -> None:
        while True:
            try:
                if await self.step() is None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.jobs.wakeup.wait(), self.poll_s)
                    self.jobs.wakeup.clear()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database was away: keep the task, try again later
                log.exception("worker.error task=%d", index)
                await asyncio.sleep(self.poll_s)
