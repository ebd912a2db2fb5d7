"""Health and Prometheus metrics of one process."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping

from cloud_api import __version__
from cloud_api.domain.assessments.jobs import JobQueue
from cloud_api.domain.assessments.worker import AssessmentWorker
from cloud_api.domain.claims.services import ClaimService
from cloud_api.domain.ingest.client import MqttIngest
from cloud_api.domain.reviews.services import ReviewService
from cloud_api.domain.system.metrics import Metrics
from cloud_api.domain.system.schemas import HealthOut

log = logging.getLogger(__name__)


class SystemService:
    def __init__(
        self,
        claims: ClaimService,
        reviews: ReviewService,
        jobs: JobQueue,
        metrics: Metrics,
        worker: AssessmentWorker | None,
        ingest: MqttIngest | None,
    ) -> None:
        self.claims = claims
        self.reviews = reviews
        self.jobs = jobs
        self.counters = metrics
        self.worker = worker
        self.ingest = ingest
        self.started = time.monotonic()

    async def health(self) -> HealthOut:
        try:
            await self.claims.counts_by_status()
            database = True
        except Exception as exc:  # report, never raise: this is what a probe calls when things are bad
            log.warning("health.database_failed error=%r", exc)
            database = False
        expected = self.worker.concurrency if self.worker else 0
        alive = self.worker.alive if self.worker else 0
        broker = self.ingest.connected if self.ingest else None
        ingest_alive = self.ingest.alive if self.ingest else None
        ok = database and alive == expected and broker is not False and ingest_alive is not False
        return HealthOut(
            status="ok" if ok else "degraded",
            database=database,
            broker_connected=broker,
            ingest_alive=ingest_alive,
            workers_alive=alive,
            workers_expected=expected,
            uptime_s=round(time.monotonic() - self.started, 3),
            version=__version__,
        )

    async def metrics(self) -> str:
        lines: list[str] = []
        _family(
            lines,
            "dashclaim_claims",
            "gauge",
            "Claims by status.",
            "status",
            await self.claims.counts_by_status(),
        )
        _family(
            lines,
            "dashclaim_review_queue_depth",
            "gauge",
            "Assessed claims awaiting review, by priority.",
            "priority",
            await self.reviews.depth_by_priority(),
        )
        _family(
            lines,
            "dashclaim_assessment_jobs_pending",
            "gauge",
            "Assessment jobs queued or running.",
            None,
            {"": await self.jobs.depth()},
        )
        _family(
            lines,
            "dashclaim_ingest_messages_total",
            "counter",
            "Fleet messages applied, by kind.",
            "kind",
            self.counters.ingest_accepted,
        )
        _family(
            lines,
            "dashclaim_ingest_rejections_total",
            "counter",
            "Fleet messages refused, by reason.",
            "reason",
            self.counters.ingest_rejected,
        )
        _family(
            lines,
            "dashclaim_assessments_total",
            "counter",
            "Assessment job outcomes in this process.",
            "outcome",
            self.counters.assessments,
        )
        _family(
            lines,
            "dashclaim_uptime_seconds",
            "gauge",
            "Seconds since this process started.",
            None,
            {"": round(time.monotonic() - self.started, 3)},
        )
        return "\n".join(lines) + "\n"


def _family(
    lines: list[str], name: str, kind: str, help_text: str, label: str | None, values: Mapping[str, float]
) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    items: Iterable[tuple[str, float]] = sorted(values.items())
    for key, value in items:
        labels = f'{{{label}="{key}"}}' if label else ""
        lines.append(f"{name}{labels} {value}")
