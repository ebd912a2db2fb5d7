"""Health and Prometheus metrics of one process."""

from __future__ import annotations

import logging
import time

from cloud_api import __version__
from cloud_api.domain.assessments.jobs import JobQueue
from cloud_api.domain.assessments.services import coverage_summary
from cloud_api.domain.assessments.worker import AssessmentWorker
from cloud_api.domain.claims.services import ClaimService
from cloud_api.domain.devices.services import DeviceService
from cloud_api.domain.ingest.client import MqttIngest
from cloud_api.domain.reviews.services import ReviewService
from cloud_api.domain.system.metrics import Metrics
from cloud_api.domain.system.prometheus import Exposition
from cloud_api.domain.system.schemas import HealthOut
from cloud_api.domain.system.stats import FRAUD_THRESHOLD, assessment_stats, review_stats
from shared_models import Decision

log = logging.getLogger(__name__)


class SystemService:
    def __init__(
        self,
        claims: ClaimService,
        reviews: ReviewService,
        devices: DeviceService,
        jobs: JobQueue,
        metrics: Metrics,
        worker: AssessmentWorker | None,
        ingest: MqttIngest | None,
    ) -> None:
        self.claims = claims
        self.reviews = reviews
        self.devices = devices
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
        """Every figure the insurer's dashboard needs, as Prometheus text (see README, /metrics)."""
        out, c = Exposition(), self.counters
        out.family(
            "dashclaim_claims", "gauge", "Claims by status.", await self.claims.counts_by_status(), "status"
        )
        out.family(
            "dashclaim_review_queue_depth",
            "gauge",
            "Assessed claims awaiting review, by priority.",
            await self.reviews.depth_by_priority(),
            "priority",
        )
        out.single(
            "dashclaim_assessment_jobs_pending",
            "gauge",
            "Assessment jobs queued or running.",
            await self.jobs.depth(),
        )
        assessed = await assessment_stats()
        out.single(
            "dashclaim_processing_rate_per_hour",
            "gauge",
            "Assessments stored in the last hour (all replicas).",
            assessed.last_hour,
        )
        out.single("dashclaim_assessments_stored", "gauge", "Assessments stored, all time.", assessed.total)
        out.single(
            "dashclaim_ai_confidence_mean",
            "gauge",
            "Mean confidence of the AI's severity over all assessments (NaN before the first).",
            assessed.mean_confidence,
        )
        out.single(
            "dashclaim_fraud_rate",
            "gauge",
            f"Share of assessments with fraud risk >= {FRAUD_THRESHOLD}.",
            assessed.likely_fraud / assessed.total if assessed.total else None,
        )
        reviewed = await review_stats()
        decided = sum(reviewed.decisions.values())
        out.family(
            "dashclaim_review_decisions",
            "gauge",
            "Human decisions recorded, by kind.",
            reviewed.decisions,
            "decision",
        )
        out.family(
            "dashclaim_review_decision_rate",
            "gauge",
            "Share of decisions of each kind (approval rate: APPROVE; rejection rate: REJECT).",
            {d.value: (reviewed.decisions.get(d.value, 0) / decided if decided else None) for d in Decision},
            "decision",
        )
        out.single(
            "dashclaim_review_time_seconds_mean",
            "gauge",
            "Mean seconds from the AI's assessment to the first human decision on a claim.",
            reviewed.mean_review_seconds,
        )
        await self._coverage(out)
        out.family(
            "dashclaim_devices",
            "gauge",
            "Registered devices by status.",
            await self.devices.count_by_status(),
            "status",
        )
        out.family(
            "dashclaim_ingest_messages_total",
            "counter",
            "Fleet messages applied, by kind.",
            self.counters.ingest_accepted,
            "kind",
        )
        out.family(
            "dashclaim_ingest_rejections_total",
            "counter",
            "Fleet messages refused, by reason.",
            self.counters.ingest_rejected,
            "reason",
        )
        out.family(
            "dashclaim_upload_rejections_total",
            "counter",
            "Uploads refused, by reason (too_large, not_video, undecodable).",
            self.counters.uploads_rejected,
            "reason",
        )
        for name, help_text, value in (
            (
                "duplicate_clips",
                "Clips whose bytes were already claimed under another incident.",
                c.duplicate_clips,
            ),
            ("incidents_expired", "Incidents left incomplete past INCIDENT_EXPIRY_S.", c.incidents_expired),
            (
                "incoming_leftovers",
                "Incidents whose incoming blobs outlived their decision and were removed by the sweeper.",
                c.incoming_leftovers,
            ),
            ("heartbeats_pruned", "Health history rows deleted by the retention.", c.heartbeats_pruned),
        ):
            out.single(f"dashclaim_{name}_total", "counter", help_text, value)
        out.family(
            "dashclaim_assessments_total",
            "counter",
            "Assessment job outcomes in this process.",
            self.counters.assessments,
            "outcome",
        )
        out.single(
            "dashclaim_uptime_seconds",
            "gauge",
            "Seconds since this process started.",
            time.monotonic() - self.started,
        )
        return out.text()

    async def _coverage(self, out: Exposition) -> None:
        coverage: float | None = None
        target: float | None = None
        reviewed: int | None = None
        version: int | None = None
        try:
            summary = await coverage_summary()
            coverage, target = summary.coverage, 1 - summary.alpha
            reviewed, version = summary.reviewed, summary.calibration_version
        except Exception as exc:  # one failing figure must not take the whole scrape down: NaN says unknown
            log.warning("metrics.part_failed part=conformal_coverage error=%r", exc)
        out.single(
            "dashclaim_conformal_coverage",
            "gauge",
            "Share of reviewed claims whose final severity was in the AI's prediction set (NaN before any).",
            coverage,
        )
        out.single(
            "dashclaim_conformal_coverage_target",
            "gauge",
            "Coverage the prediction sets aim at (1 - alpha).",
            target,
        )
        out.single(
            "dashclaim_conformal_reviewed", "gauge", "Reviewed claims the coverage is measured on.", reviewed
        )
        out.single("dashclaim_conformal_calibration_version", "gauge", "Calibration set in use.", version)
