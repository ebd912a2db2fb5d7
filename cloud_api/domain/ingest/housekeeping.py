"""The fleet sweeper: expires incidents left incomplete, removes incoming blobs that outlived their
incident, and prunes health history past its retention.

One pass is ``sweep()`` (tests call it directly); ``start()`` runs it every FLEET_SWEEP_INTERVAL_S in
the lifespan. An incident counts as left incomplete when neither it nor any of its chunks has moved
for INCIDENT_EXPIRY_S; its chunks are deleted and it is marked EXPIRED (a later manifest reopens it).
Incoming blobs are deleted after the database says what became of them, outside its transaction; a
crash in between leaves them behind, and the next sweep removes them (``remove_leftovers``). Chunks
that came ahead of a manifest that never followed have no incident row: they expire like an incomplete
incident (``expire_orphan_chunks``). (A decided incident's chunk rows go in the batch that decides it.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from cloud_api.db.engine import write_transaction
from cloud_api.db.helpers import as_datetime, utcnow
from cloud_api.domain.devices.services import DeviceService
from cloud_api.domain.ingest.chunks import ChunkStore
from cloud_api.domain.ingest.services import State
from cloud_api.domain.ingest.tables import Incident, IncidentChunk
from cloud_api.domain.system.metrics import Metrics

log = logging.getLogger(__name__)

_DECIDED = {State.COMPLETE, State.REJECTED}
_IN_BATCH = 500  # incident ids per IN (...) query, well under PostgreSQL's bind-parameter limit
_ORPHAN_CHUNKS = """
    SELECT device_id, incident_id, max(received_at) AS last FROM incident_chunks c
    WHERE NOT EXISTS (
        SELECT 1 FROM incidents i WHERE i.device_id = c.device_id AND i.incident_id = c.incident_id
    )
    GROUP BY device_id, incident_id
"""
"""Chunk groups with no incident row; ``incident_chunks`` holds only transfers in flight, so this is small."""


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

    async def expire_orphan_chunks(self) -> list[tuple[str, str]]:
        """Chunks that came ahead of their manifest, with no manifest and no new chunk since the cutoff:
        their rows and blobs go, counted as expired incidents (a manifest sent later finds none and asks
        for every chunk)."""
        cutoff = utcnow() - timedelta(seconds=self.incident_expiry_s)
        stale = [
            (row["device_id"], row["incident_id"])
            for row in await IncidentChunk.raw(_ORPHAN_CHUNKS).run()
            if as_datetime(row["last"]) < cutoff
        ]
        expired: list[tuple[str, str]] = []
        for device_id, incident_id in stale:
            of_incident = (IncidentChunk.device_id == device_id) & (IncidentChunk.incident_id == incident_id)
            async with write_transaction():
                if (
                    await Incident.exists()
                    .where((Incident.device_id == device_id) & (Incident.incident_id == incident_id))
                    .run()
                    or await IncidentChunk.exists()
                    .where(of_incident & (IncidentChunk.received_at >= cutoff))
                    .run()
                ):
                    continue  # its manifest or a new chunk came meanwhile
                await IncidentChunk.delete().where(of_incident).run()
            await asyncio.to_thread(self.chunks.clear, (device_id, incident_id))
            self.metrics.incidents_expired += 1
            log.warning(
                "ingest.chunks_expired device=%s incident=%s reason=no manifest", device_id, incident_id
            )
            expired.append((device_id, incident_id))
        return expired

    async def remove_leftovers(self) -> list[tuple[str, str]]:
        """Delete the incoming blobs of incidents decided (COMPLETE, REJECTED) or expired before the
        cutoff: no message reads them again. Only what is under ``incoming/`` is looked at (incidents in
        flight and such leftovers); blobs with no incident row yet (chunks ahead of their manifest) stay."""
        present = await asyncio.to_thread(self.chunks.present)
        cutoff = utcnow() - timedelta(seconds=self.incident_expiry_s)
        by_device: dict[str, list[str]] = {}
        for device_id, incident_id in present:
            by_device.setdefault(device_id, []).append(incident_id)
        leftovers: list[tuple[str, str]] = []
        for device_id, incident_ids in by_device.items():
            for start in range(0, len(incident_ids), _IN_BATCH):
                rows = (
                    await Incident.select(Incident.incident_id, Incident.state, Incident.updated_at)
                    .where(
                        (Incident.device_id == device_id)
                        & Incident.incident_id.is_in(incident_ids[start : start + _IN_BATCH])
                    )
                    .run()
                )
                leftovers += [
                    (device_id, row["incident_id"])
                    for row in rows
                    if row["state"] in _DECIDED
                    or (row["state"] == State.EXPIRED and row["updated_at"] < cutoff)
                ]
        if leftovers:
            await asyncio.to_thread(self.chunks.clear, *leftovers)
            self.metrics.incoming_leftovers += len(leftovers)
            log.warning(
                "ingest.leftovers_removed incidents=%d first=%s", len(leftovers), "/".join(leftovers[0])
            )
        return leftovers

    async def sweep(self) -> None:
        await self.expire_incidents()
        await self.expire_orphan_chunks()
        await self.remove_leftovers()
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
