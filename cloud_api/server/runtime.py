"""Everything one app instance owns, built without I/O in ``create_app`` and started in its lifespan:
the database engine, blob store, services, assessment workers and MQTT ingest."""

from __future__ import annotations

import logging

from piccolo.engine.base import Engine

from cloud_api.blobstore import blob_store_for
from cloud_api.db.engine import close_database, configure_database, open_database
from cloud_api.db.migrate import migrate
from cloud_api.domain.apikeys.schemas import Scope
from cloud_api.domain.apikeys.services import ApiKeyService
from cloud_api.domain.assessments.calibration import CalibrationStore
from cloud_api.domain.assessments.jobs import JobQueue
from cloud_api.domain.assessments.scene import scene_reader_for
from cloud_api.domain.assessments.services import AssessmentService
from cloud_api.domain.assessments.worker import AssessmentWorker
from cloud_api.domain.audit.services import AuditService
from cloud_api.domain.claims.services import ClaimService
from cloud_api.domain.devices.commands import CommandService
from cloud_api.domain.devices.health import Thresholds
from cloud_api.domain.devices.services import DeviceService
from cloud_api.domain.ingest.chunks import ChunkStore
from cloud_api.domain.ingest.client import MqttIngest
from cloud_api.domain.ingest.housekeeping import FleetSweeper
from cloud_api.domain.ingest.services import IngestService
from cloud_api.domain.reviews.services import ReviewService
from cloud_api.domain.system.metrics import Metrics
from cloud_api.domain.system.services import SystemService
from cloud_api.settings import Settings

log = logging.getLogger(__name__)

DEV_KEYS: tuple[tuple[str, tuple[Scope, ...]], ...] = (
    ("dev-admin", (Scope.ADMIN, Scope.READ, Scope.WRITE)),
    ("reviewer_alice", (Scope.READ, Scope.WRITE)),
    ("reviewer_bob", (Scope.READ, Scope.WRITE)),
)


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.blobs = blob_store_for(settings)
        self.audit = AuditService()
        self.jobs = JobQueue.from_settings(settings)
        self.calibrations = CalibrationStore.from_settings(settings)
        self.apikeys = ApiKeyService(self.audit, settings.api_key_cache_s)
        self.devices = DeviceService(Thresholds.from_settings(settings), settings.ingest_device_cache_s)
        self.commands = CommandService(publisher=None)  # the MQTT client, once built below
        self.claims = ClaimService(self.blobs, self.audit, self.jobs, settings.max_upload_bytes)
        self.reviews = ReviewService(self.audit)
        reader = scene_reader_for(settings)
        self.assessments = AssessmentService(
            self.blobs, self.audit, self.jobs, reader, self.metrics, self.calibrations
        )
        chunks = ChunkStore(self.blobs)
        self.ingest_service = IngestService(self.devices, self.claims, chunks, self.metrics, self.commands)
        self.sweeper = FleetSweeper(
            self.devices,
            chunks,
            self.metrics,
            settings.incident_expiry_s,
            settings.health_history_retention_h,
            settings.fleet_sweep_interval_s,
        )
        self.worker = (
            AssessmentWorker(self.assessments, self.jobs, settings.worker_max_threads)
            if settings.worker_enabled
            else None
        )
        self.ingest = MqttIngest(settings, self.ingest_service) if settings.ingest_enabled else None
        self.commands.publisher = self.ingest
        self.system = SystemService(
            self.claims, self.reviews, self.devices, self.jobs, self.metrics, self.worker, self.ingest
        )
        self.engine: Engine | None = None

    async def open_database(self) -> None:
        """Point Piccolo at DATABASE_URL and bring the schema up to date (a fresh data dir just works)."""
        self.engine = configure_database(self.settings.database_url)
        await open_database(self.engine)
        await migrate()

    async def start(self) -> None:
        await self.open_database()
        if self.settings.dev_mode:
            await self._dev_keys()
        if self.worker:
            self.worker.start()
        if self.ingest:
            self.ingest.start()
        self.sweeper.start()
        log.info("app.started database=%s", self.engine.engine_type if self.engine else "?")

    async def _dev_keys(self) -> None:
        """DEV_MODE: an admin key and the test reviewers' keys, printed once (never in production)."""
        for name, scopes in DEV_KEYS:
            created = await self.apikeys.create(scopes, name=name, actor="dev-mode")
            log.warning(
                "dev.api_key DEV_MODE is on; name=%s scopes=%s key: %s", name, ",".join(scopes), created.key
            )

    async def stop(self) -> None:
        await self.sweeper.stop()
        if self.ingest:
            await self.ingest.stop()
        if self.worker:
            await self.worker.stop()
        if self.engine is not None:
            await close_database(self.engine)
        log.info("app.stopped")
