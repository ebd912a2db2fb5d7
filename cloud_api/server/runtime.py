"""Everything one app instance owns, built without I/O in ``create_app`` and started in its lifespan:
the database engine, blob store, services, assessment workers and MQTT ingest."""

from __future__ import annotations

import logging

from piccolo.engine.base import Engine

from cloud_api.blobstore import LocalBlobStore
from cloud_api.db.engine import close_database, configure_database, open_database
from cloud_api.db.migrate import migrate
from cloud_api.domain.apikeys.services import ApiKeyService, Scope
from cloud_api.domain.assessments.jobs import JobQueue
from cloud_api.domain.assessments.pipeline import scene_reader_for
from cloud_api.domain.assessments.services import AssessmentService
from cloud_api.domain.assessments.worker import AssessmentWorker
from cloud_api.domain.audit.services import AuditService
from cloud_api.domain.claims.services import ClaimService
from cloud_api.domain.devices.services import DeviceService
from cloud_api.domain.ingest.chunks import ChunkStore
from cloud_api.domain.ingest.client import MqttIngest
from cloud_api.domain.ingest.services import IngestService
from cloud_api.domain.reviews.services import ReviewService
from cloud_api.domain.system.metrics import Metrics
from cloud_api.domain.system.services import SystemService
from cloud_api.settings import Settings

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.blobs = LocalBlobStore(settings.blob_dir)
        self.audit = AuditService()
        self.jobs = JobQueue()
        self.apikeys = ApiKeyService()
        self.devices = DeviceService()
        self.claims = ClaimService(self.blobs, self.audit, self.jobs, settings.max_upload_bytes)
        self.reviews = ReviewService(self.audit)
        reader = scene_reader_for(settings.assessment_backend)
        self.assessments = AssessmentService(self.blobs, self.audit, self.jobs, reader, self.metrics)
        self.ingest_service = IngestService(self.devices, self.claims, ChunkStore(self.blobs), self.metrics)
        self.worker = (
            AssessmentWorker(self.assessments, self.jobs, settings.worker_max_threads)
            if settings.worker_enabled
            else None
        )
        self.ingest = MqttIngest(settings, self.ingest_service) if settings.ingest_enabled else None
        self.system = SystemService(
            self.claims, self.reviews, self.jobs, self.metrics, self.worker, self.ingest
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
            created = await self.apikeys.create((Scope.ADMIN, Scope.READ, Scope.WRITE), name="dev")
            log.warning("dev.api_key DEV_MODE is on; read/write/admin key: %s", created.key)
        if self.worker:
            self.worker.start()
        if self.ingest:
            self.ingest.start()
        log.info("app.started database=%s", self.engine.engine_type if self.engine else "?")

    async def stop(self) -> None:
        if self.ingest:
            await self.ingest.stop()
        if self.worker:
            await self.worker.stop()
        if self.engine is not None:
            await close_database(self.engine)
        log.info("app.stopped")
