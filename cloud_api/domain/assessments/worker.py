"""Assessment workers: WORKER_MAX_THREADS asyncio tasks, each leasing one job at a time.

The clip work runs in a thread (``asyncio.to_thread``), so the tasks bound how many clips are read at
once while the event loop keeps serving the API and ingest. The same worker runs inside ``cloud-api
serve`` and alone in ``cloud-api worker`` processes; between jobs it also recalibrates the prediction
sets once enough new reviews have arrived (checked every CALIBRATION_CHECK_S, busy or idle).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from cloud_api.domain.assessments.jobs import JobQueue, worker_name
from cloud_api.domain.assessments.services import AssessmentService

log = logging.getLogger(__name__)

CALIBRATION_CHECK_S = 5.0
"""How often task 0 checks whether RECALIBRATE_EVERY_N_REVIEWS new reviews have arrived."""


class AssessmentWorker:
    def __init__(
        self, service: AssessmentService, jobs: JobQueue, concurrency: int, poll_s: float = 1.0
    ) -> None:
        self.service = service
        self.jobs = jobs
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.in_flight = 0
        self.peak_in_flight = 0
        """The most jobs this worker ran at once: never above ``concurrency``."""
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

    async def step(self, task: int = 0) -> bool | None:
        """Lease and run one job: None when there was none, True when it ran."""
        job = await self.jobs.lease(worker_name(task))
        if job is None:
            return None
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await self.service.process(job)
        finally:
            self.in_flight -= 1
        return True

    async def _run(self, index: int) -> None:
        next_calibration_check = 0.0
        while True:
            try:
                if index == 0 and time.monotonic() >= next_calibration_check:  # busy or idle alike
                    next_calibration_check = time.monotonic() + CALIBRATION_CHECK_S
                    await self.service.calibrations.maybe_recalibrate()
                if await self.step(index) is None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.jobs.wakeup.wait(), self.poll_s)
                    self.jobs.wakeup.clear()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database was away: keep the task, try again later
                log.exception("worker.error task=%d", index)
                await asyncio.sleep(self.poll_s)
