"""What one batch of fleet messages reads from and writes to the database.

The incidents a batch touches are loaded in two queries, changed in memory while its messages are
applied in order, and written back in a few statements before its commit: a handful of round trips per
batch instead of two or three per chunk (each one a thread hand-off on SQLite, and a wait in a serial
consumer on either database).

This lives for one transaction and is no cache: nothing outlives the batch, so any replica can take any
message. On PostgreSQL the incident rows are locked (``FOR UPDATE``, in key order) so two replicas never
apply chunks of one incident from stale views at once; on SQLite the batch's ``BEGIN IMMEDIATE`` already
makes it the only writer. An incident created meanwhile by another replica makes ``flush`` raise, and
the client replays the batch message by message.
"""

from __future__ import annotations

from collections.abc import Collection
import msgspec

from cloud_api.db.engine import is_sqlite
from cloud_api.db.helpers import utcnow
from cloud_api.domain.ingest.tables import Incident, IncidentChunk
from shared_models import IncidentManifest, decode, encode

Key = tuple[str, str]
"""(device_id, incident_id)"""

_PAIR = "(device_id = {} AND incident_id = {})"
_INCIDENTS = "SELECT device_id, incident_id, state, manifest, claim_id, reason FROM incidents WHERE "
_CHUNKS = "SELECT device_id, incident_id, seq, sha256 FROM incident_chunks WHERE "
_FORGET = "DELETE FROM incident_chunks WHERE "
_LOCK = " ORDER BY device_id, incident_id FOR UPDATE"


class IncidentView(msgspec.Struct):
    """One incident as the batch sees it: its row (``state`` None: none yet) and its stored chunks."""

    device_id: str
    incident_id: str
    state: str | None = None
    manifest: IncidentManifest | None = None
    claim_id: str | None = None
    reason: str = ""
    chunks: dict[int, str] = msgspec.field(default_factory=dict)
    """seq -> sha256 of each stored chunk."""


class BatchView:
    def __init__(self, incidents: dict[Key, IncidentView]) -> None:
        self.incidents = incidents
        self._created: dict[Key, Incident] = {}
        self._reopened: set[Key] = set()
        self._rows: dict[tuple[str, str, int], IncidentChunk | None] = {}
        """Chunk rows to write back: the row to upsert, or None to delete it."""

    @classmethod
    async def load(cls, keys: Collection[Key]) -> BatchView:
        incidents = {key: IncidentView(*key) for key in keys}
        if not keys:
            return cls(incidents)
        where, args = _where(keys)
        rows = await Incident.raw(_INCIDENTS + where + ("" if is_sqlite() else _LOCK), *args).run()
        for row in rows:
            view = incidents[(row["device_id"], row["incident_id"])]
            view.state, view.claim_id, view.reason = row["state"], row["claim_id"], row["reason"]
            view.manifest = decode(bytes(row["manifest"]), IncidentManifest)
        for row in await IncidentChunk.raw(_CHUNKS + where, *args).run():
            incidents[(row["device_id"], row["incident_id"])].chunks[row["seq"]] = row["sha256"]
        return cls(incidents)

    def view(self, device_id: str, incident_id: str) -> IncidentView:
        return self.incidents[(device_id, incident_id)]

    def create(self, view: IncidentView, m: IncidentManifest, state: str) -> None:
        now = utcnow()
        view.state, view.manifest = state, m
        self._created[(view.device_id, view.incident_id)] = Incident(
            device_id=m.device_id,
            incident_id=m.incident_id,
            manifest=encode(m),
            sha256=m.sha256,
            chunk_count=m.chunk_count,
            state=state,
            created_at=now,
            updated_at=now,
        )

    def reopen(self, view: IncidentView, state: str) -> None:
        view.state = state
        self._reopened.add((view.device_id, view.incident_id))

    def store_chunk(self, view: IncidentView, seq: int, sha256: str, size: int) -> None:
        view.chunks[seq] = sha256
        self._rows[(view.device_id, view.incident_id, seq)] = IncidentChunk(
            device_id=view.device_id,
            incident_id=view.incident_id,
            seq=seq,
            sha256=sha256,
            size_bytes=size,
            received_at=utcnow(),
        )

    def drop_chunk(self, view: IncidentView, seq: int) -> None:
        del view.chunks[seq]
        self._rows[(view.device_id, view.incident_id, seq)] = None

    @staticmethod
    async def forget(keys: Collection[Key]) -> None:
        """Delete the chunk rows of incidents the batch decided (their blobs go after the commit)."""
        if keys:
            where, args = _where(keys)
            await IncidentChunk.raw(_FORGET + where, *args).run()

    async def flush(self) -> None:
        """Write the batch's changes back: new incidents, reopened ones, chunk rows dropped and stored."""
        if self._created:
            inserted = (
                await Incident.insert(*self._created.values())
                .on_conflict(action="DO NOTHING")
                .returning(Incident.id)
                .run()
            )
            if len(inserted) != len(self._created):
                raise RuntimeError("an incident of this batch was created meanwhile (another replica)")
        for device_id, incident_id in self._reopened:
            state = self.incidents[(device_id, incident_id)].state
            await (
                Incident.update({Incident.state: state, Incident.updated_at: utcnow()})
                .where((Incident.device_id == device_id) & (Incident.incident_id == incident_id))
                .run()
            )
        dropped: dict[Key, list[int]] = {}
        for (device_id, incident_id, seq), row in self._rows.items():
            if row is None:
                dropped.setdefault((device_id, incident_id), []).append(seq)
        for (device_id, incident_id), seqs in dropped.items():
            await (
                IncidentChunk.delete()
                .where(
                    (IncidentChunk.device_id == device_id)
                    & (IncidentChunk.incident_id == incident_id)
                    & IncidentChunk.seq.is_in(seqs)
                )
                .run()
            )
        stored = [row for row in self._rows.values() if row is not None]
        if stored:
            await (
                IncidentChunk.insert(*stored)
                .on_conflict(
                    target=(IncidentChunk.device_id, IncidentChunk.incident_id, IncidentChunk.seq),
                    action="DO UPDATE",
                    values=[IncidentChunk.sha256, IncidentChunk.size_bytes, IncidentChunk.received_at],
                )
                .run()
            )


def _where(keys: Collection[Key]) -> tuple[str, list[str]]:
    return " OR ".join([_PAIR] * len(keys)), [part for key in keys for part in key]
