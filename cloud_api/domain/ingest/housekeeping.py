"""The fleet sweeper: expires incidents left incomplete and prunes health history past its retention.

One pass is ``sweep()`` (tests call it directly); ``start()`` runs it every FLEET_SWEEP_INTERVAL_S in
the lifespan. An incident counts as left incomplete when neither it nor any of its chunks has moved
for INCIDENT_EXPIRY_S; its chunks are deleted and it is marked EXPIRED (a later manifest reopens it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from cloud_api.db.engine import write_transaction
from cloud_api.db.helpers import utcnow
from cloud_api.domain.devices.services import DeviceService
from cloud_api.domain.ingest.chunks import ChunkStore
from cloud_api.domain.ingest.services import State
from cloud_api.domain.ingest.tables import Incident, IncidentChunk
from cloud_api.domain.system.metrics import Metrics

log = logging.getLogger(__name__)


class FleetSweeper:
    def __init__(
        self,
        devices: DeviceService,
        chunks: ChunkStore,
        metrics: Metrics,
        incident_expiry_s: float,
        history_retention_h: float,
        interval_s: float,
    ) -> None:
        self.devices = devices
        self.chunks = chunks
        self.metrics = metrics
        self.incident_expiry_s = incident_expiry_s
        self.history_retention_h = history_retention_h
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def expire_incidents(self) -> list[tuple[str, str]]:
        """Mark stalled RECEIVING incidents EXPIRED and drop their chunks; returns (device, incident)s."""
        cutoff = utcnow() - timedelta(seconds=self.incident_expiry_s)
        candidates = (
            await Incident.select(Incident.device_id, Incident.incident_id)
            .where((Incident.state == State.RECEIVING) & (Incident.updated_at < cutoff))
            .run()
        )
        expired: list[tuple[str, str]] = []
        for row in candidates:
            device_id, incident_id = row["device_id"], row["incident_id"]
            of_incident = (IncidentChunk.device_id == device_id) & (IncidentChunk.incident_id == incident_id)
            async with write_transaction():
                if (
                    await IncidentChunk.exists()
                    .where(of_incident & (IncidentChunk.received_at >= cutoff))
                    .run()
                ):
                    continue  # chunks still arriving
                changed = (
                    await Incident.update({Incident.state: State.EXPIRED, Incident.updated_at: utcnow()})
                    .where(
                        (Incident.device_id == device_id)
                        & (Incident.incident_id == incident_id)
                        & (Incident.state == State.RECEIVING)
                    )
                    .returning(Incident.id)
                    .run()
                )
                if not changed:
                    continue  # completed meanwhile (another replica)
                await IncidentChunk.delete().where(of_incident).run()
            await asyncio.to_thread(self.chunks.clear, (device_id, incident_id))
            self.metrics.incidents_expired += 1
            log.warning("ingest.incident_expired device=%s incident=%s", device_id, incident_id)
            expired.append((device_id, incident_id))
        return expired

    async def sweep(self) -> None:
        await self.expire_incidents()
        self.metrics.heartbeats_pruned += await self.devices.prune_history(self.history_retention_h)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="fleet-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:  # the database was away: try again next round
                log.exception("fleet.sweep_failed")
            await asyncio.sleep(self.interval_s)
