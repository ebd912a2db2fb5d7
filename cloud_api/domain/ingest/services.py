"""What each fleet message does to the database, and the ack (if any) it earns.

``handle(topic, payload)`` never raises for bad input: every refusal is counted by reason and logged
once (``Metrics.reject``). The protocol with the device:

- manifest: checked (registered device, ids agree, signature, chunk count), stored idempotently. A
  brand-new manifest gets no ack while chunks are still to come; a manifest sent again (the device
  waited) gets MISSING with the chunks not stored yet, or COMPLETE / REJECTED once decided.
- chunk: stored idempotently, in any order, checked against the manifest's chunk hash when the
  manifest is known (chunks that came first are checked when it arrives). When the last chunk
  (seq == total - 1) leaves gaps, the device gets MISSING.
- all chunks stored: assembled, whole-clip sha256 checked, moved to ``clips/<sha256>.mp4``, exactly one
  claim created (and queued) with the incident marked COMPLETE in the same transaction, then COMPLETE.
  The same bytes already claimed under another incident are linked (``incidents.duplicate_of`` and the
  claim's metadata) and counted: a fraud signal, not a refusal.
- an incident still RECEIVING after INCIDENT_EXPIRY_S is EXPIRED by the sweeper (housekeeping.py); a
  manifest sent again later reopens it, since the device still holds the clip.

The MQTT client may call ``handle`` for a batch of messages inside one transaction: file deletions wait
in ``after_commit`` until the client has committed, so a rolled-back batch never loses a stored chunk.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cloud_api.db.engine import write_transaction
from cloud_api.db.helpers import utcnow
from cloud_api.domain.audit.schemas import ActorType
from cloud_api.domain.claims.schemas import NewClaim
from cloud_api.domain.claims.services import ClaimService, clip_key
from cloud_api.domain.devices.commands import CommandService
from cloud_api.domain.devices.services import DeviceService
from cloud_api.domain.ingest.chunks import ChunkStore
from cloud_api.domain.ingest.duplicates import earlier_claim
from cloud_api.domain.ingest.signatures import signature_valid
from cloud_api.domain.ingest.tables import Incident, IncidentChunk
from cloud_api.domain.system.metrics import Metrics
from cloud_api.video import MEDIA_TYPES
from shared_models import (
    AckStatus,
    ClipChunk,
    CommandResult,
    DeviceStatus,
    HealthHeartbeat,
    IncidentAck,
    IncidentManifest,
    TopicError,
    TopicKind,
    WireError,
    decode,
    encode,
    parse_topic,
)
from shared_models.topics import Topic

log = logging.getLogger(__name__)

EXPECTED: dict[TopicKind, Any] = {
    TopicKind.MANIFEST: IncidentManifest,
    TopicKind.CHUNK: ClipChunk,
    TopicKind.STATUS: DeviceStatus,
    TopicKind.HEALTH: HealthHeartbeat,
    TopicKind.COMMAND_RESULT: CommandResult,
}
_CHUNK_CONTEXT = """
SELECT i.state, i.manifest,
  (SELECT COUNT(*) FROM incident_chunks c
   WHERE c.device_id = i.device_id AND c.incident_id = i.incident_id) AS stored,
  (SELECT COUNT(*) FROM incident_chunks c
   WHERE c.device_id = i.device_id AND c.incident_id = i.incident_id AND c.seq = {}) AS mine
FROM incidents i WHERE i.device_id = {} AND i.incident_id = {}
"""
_SUFFIX = {media: suffix for suffix, media in reversed(MEDIA_TYPES.items())}


class State:
    RECEIVING = "RECEIVING"
    COMPLETE = "COMPLETE"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


class Rejected(Exception):
    """A message refused for ``reason``; ``ack`` is what the device is told, if anything."""

    def __init__(self, reason: str, detail: str = "", ack: IncidentAck | None = None) -> None:
        super().__init__(reason)
        self.reason, self.detail, self.ack = reason, detail, ack


class Reply(msgspec.Struct, frozen=True):
    device_id: str
    ack: IncidentAck


def _ack(incident_id: str, status: AckStatus, **fields: Any) -> IncidentAck:
    return IncidentAck(incident_id=incident_id, status=status, **fields)


class IngestService:
    def __init__(
        self,
        devices: DeviceService,
        claims: ClaimService,
        chunks: ChunkStore,
        metrics: Metrics,
        commands: CommandService,
    ) -> None:
        self.devices = devices
        self.claims = claims
        self.chunks = chunks
        self.metrics = metrics
        self.commands = commands
        self.after_commit: list[Callable[[], None]] = []
        """Blob deletions to run once the surrounding transaction has committed (``run_after_commit``)."""

    async def run_after_commit(self) -> None:
        jobs, self.after_commit = self.after_commit, []
        for job in jobs:
            await asyncio.to_thread(job)

    def _later(self, job: Callable[[], None]) -> None:
        self.after_commit.append(job)

    async def handle(self, topic: str, payload: bytes) -> Reply | None:
        """Apply one message; returns the ack to publish to the device, if any."""
        device_id = ""
        try:
            parsed = parse_topic(topic)
            device_id = parsed.device_id
            if parsed.kind not in EXPECTED:
                raise Rejected("unexpected_topic", parsed.kind)
            message = decode(payload, EXPECTED[parsed.kind])
            if message.device_id != parsed.device_id:
                raise Rejected("device_mismatch", f"payload says {message.device_id}")
            key, why = await self.devices.verification_key(parsed.device_id)
            if key is None:
                raise Rejected(why)
            ack = await self._dispatch(parsed, message, key)
        except TopicError as exc:
            self.metrics.reject("bad_topic", topic, str(exc))
            return None
        except WireError as exc:
            self.metrics.reject(exc.reason, topic, exc.detail)
            return None
        except Rejected as exc:
            self.metrics.reject(exc.reason, topic, exc.detail)
            return Reply(device_id, exc.ack) if exc.ack else None
        self.metrics.ingest_accepted[parsed.kind.value] += 1
        return Reply(device_id, ack) if ack else None

    async def _dispatch(self, topic: Topic, message: Any, key: Ed25519PublicKey) -> IncidentAck | None:
        if isinstance(message, IncidentManifest):
            await self.devices.seen(message.device_id)
            return await self._manifest(topic, message, key)
        if isinstance(message, ClipChunk):
            return await self._chunk(topic, message)
        if isinstance(message, DeviceStatus):
            await self.devices.record_status(message)
        elif isinstance(message, HealthHeartbeat):
            await self.devices.record_heartbeat(message)
        else:
            await self.devices.seen(message.device_id)
            if not await self.commands.record_result(message):
                self.metrics.reject("unknown_command", f"{message.device_id}/{message.command_id}")
        return None

    async def _manifest(self, topic: Topic, m: IncidentManifest, key: Ed25519PublicKey) -> IncidentAck | None:
        if topic.incident_id != m.incident_id:
            raise Rejected("incident_mismatch", f"topic {topic.incident_id}, payload {m.incident_id}")
        if not signature_valid(m, key):
            raise Rejected(
                "bad_signature",
                m.incident_id,
                _ack(m.incident_id, AckStatus.REJECTED, reason="bad signature"),
            )
        if m.chunk_count != math.ceil(m.size_bytes / m.chunk_size):
            reason = f"{m.chunk_count} chunk hashes for {m.size_bytes} bytes in chunks of {m.chunk_size}"
            raise Rejected(
                "inconsistent_manifest", reason, _ack(m.incident_id, AckStatus.REJECTED, reason=reason)
            )
        now = utcnow()
        new = Incident(
            device_id=m.device_id,
            incident_id=m.incident_id,
            manifest=encode(m),
            sha256=m.sha256,
            chunk_count=m.chunk_count,
            state=State.RECEIVING,
            created_at=now,
            updated_at=now,
        )
        inserted = await Incident.insert(new).on_conflict(action="DO NOTHING").returning(Incident.id).run()
        if not inserted:
            row = await self._incident(m.device_id, m.incident_id)
            assert row is not None
            stored = decode(bytes(row["manifest"]), IncidentManifest)
            if (stored.sha256, stored.chunk_sha256) != (m.sha256, m.chunk_sha256):
                reason = "another clip was already reported under this incident id"
                raise Rejected(
                    "manifest_conflict", m.incident_id, _ack(m.incident_id, AckStatus.REJECTED, reason=reason)
                )
            if row["state"] == State.COMPLETE:
                return _ack(m.incident_id, AckStatus.COMPLETE, claim_id=row["claim_id"])
            if row["state"] == State.REJECTED:
                return _ack(m.incident_id, AckStatus.REJECTED, reason=row["reason"])
            if row["state"] == State.EXPIRED:
                await (
                    Incident.update({Incident.state: State.RECEIVING, Incident.updated_at: now})
                    .where((Incident.device_id == m.device_id) & (Incident.incident_id == m.incident_id))
                    .run()
                )
                log.info("ingest.reopened device=%s incident=%s", m.device_id, m.incident_id)
        missing = await self._keep_good_chunks(m)
        if not missing:
            return await self._complete(m)
        log.info(
            "ingest.manifest device=%s incident=%s chunks=%d missing=%d",
            m.device_id,
            m.incident_id,
            m.chunk_count,
            len(missing),
        )
        return None if inserted else _ack(m.incident_id, AckStatus.MISSING, missing=missing)

    async def _chunk(self, topic: Topic, c: ClipChunk) -> IncidentAck | None:
        if (topic.incident_id, topic.seq) != (c.incident_id, c.seq):
            raise Rejected(
                "topic_mismatch", f"topic {topic.incident_id}/{topic.seq}, payload {c.incident_id}/{c.seq}"
            )
        if c.seq >= c.total:
            raise Rejected("bad_seq", f"seq {c.seq} of {c.total}")
        # The lookup and the hash + temp write of the bytes overlap: they are this path's two waits.
        looked_up, hashed = await asyncio.gather(
            self._chunk_context(c), asyncio.to_thread(self.chunks.stage, c.data), return_exceptions=True
        )
        if isinstance(hashed, BaseException):
            raise hashed
        staged, digest = hashed
        try:
            if isinstance(looked_up, BaseException):
                raise looked_up
            row = looked_up
            manifest = decode(bytes(row["manifest"]), IncidentManifest) if row else None
            if row is not None and row["state"] != State.RECEIVING:
                return None  # decided already; a resent manifest gets the answer
            if manifest is not None and c.total != manifest.chunk_count:
                raise Rejected("bad_seq", f"total {c.total}, the manifest has {manifest.chunk_count} chunks")
            stored = int(row["stored"]) if row else 0
            if manifest is not None and digest != manifest.chunk_sha256[c.seq]:
                where = f"{c.device_id}/{c.incident_id}/{c.seq}"
                self.metrics.reject("chunk_hash_mismatch", where, "discarded")
            else:
                stored += 0 if row and row["mine"] else 1
                await asyncio.to_thread(self.chunks.keep, c.device_id, c.incident_id, c.seq, staged)
                await self._record_chunk(c, digest)
        finally:
            staged.unlink(missing_ok=True)  # gone already when kept
        if manifest is None:
            return None  # kept until the manifest arrives
        if stored == manifest.chunk_count:  # every stored chunk was checked against the manifest
            return await self._complete(manifest)
        if c.seq == manifest.chunk_count - 1:
            return _ack(c.incident_id, AckStatus.MISSING, missing=await self._missing(manifest))
        return None

    async def _record_chunk(self, c: ClipChunk, digest: str) -> None:
        await (
            IncidentChunk.insert(
                IncidentChunk(
                    device_id=c.device_id,
                    incident_id=c.incident_id,
                    seq=c.seq,
                    sha256=digest,
                    size_bytes=len(c.data),
                    received_at=utcnow(),
                )
            )
            .on_conflict(
                target=(IncidentChunk.device_id, IncidentChunk.incident_id, IncidentChunk.seq),
                action="DO UPDATE",
                values=[IncidentChunk.sha256, IncidentChunk.size_bytes, IncidentChunk.received_at],
            )
            .run()
        )

    async def _chunk_context(self, c: ClipChunk) -> dict[str, Any] | None:
        """The incident's state and manifest, how many chunks it has stored and whether ``c.seq`` is one.

        One round trip instead of three: this runs for every chunk.
        """
        rows = await Incident.raw(_CHUNK_CONTEXT, c.seq, c.device_id, c.incident_id).run()
        return rows[0] if rows else None

    async def _incident(self, device_id: str, incident_id: str) -> dict[str, Any] | None:
        return (
            await Incident.select()
            .where((Incident.device_id == device_id) & (Incident.incident_id == incident_id))
            .first()
            .run()
        )

    def _chunks_of(self, m: IncidentManifest) -> Any:
        return (IncidentChunk.device_id == m.device_id) & (IncidentChunk.incident_id == m.incident_id)

    async def _missing(self, m: IncidentManifest) -> list[int]:
        rows = await IncidentChunk.select(IncidentChunk.seq).where(self._chunks_of(m)).run()
        return sorted(set(range(m.chunk_count)) - {r["seq"] for r in rows})

    async def _keep_good_chunks(self, m: IncidentManifest) -> list[int]:
        """Chunks stored before the manifest was known, checked now: bad ones go. Returns the missing."""
        rows = (
            await IncidentChunk.select(IncidentChunk.seq, IncidentChunk.sha256)
            .where(self._chunks_of(m))
            .run()
        )
        good: set[int] = set()
        for r in rows:
            if r["seq"] < m.chunk_count and r["sha256"] == m.chunk_sha256[r["seq"]]:
                good.add(r["seq"])
                continue
            await IncidentChunk.delete().where(self._chunks_of(m) & (IncidentChunk.seq == r["seq"])).run()
            # At once, not after commit: a good copy of this chunk may follow in the same batch.
            await asyncio.to_thread(self.chunks.discard, m.device_id, m.incident_id, r["seq"])
            self.metrics.reject(
                "chunk_hash_mismatch", f"{m.device_id}/{m.incident_id}/{r['seq']}", "discarded late"
            )
        return sorted(set(range(m.chunk_count)) - good)

    async def _complete(self, m: IncidentManifest) -> IncidentAck:
        clip = await asyncio.to_thread(
            self.chunks.assemble, m.device_id, m.incident_id, m.sha256, m.chunk_sha256
        )
        if clip.bad:  # stored, then lost or torn on disk (a crash): ask for them again
            await IncidentChunk.delete().where(self._chunks_of(m) & IncidentChunk.seq.is_in(clip.bad)).run()
            self.metrics.reject("chunk_unreadable", f"{m.device_id}/{m.incident_id}", f"chunks {clip.bad}")
            return _ack(m.incident_id, AckStatus.MISSING, missing=clip.bad)
        assert clip.path is not None
        path, sha256, size = clip.path, clip.sha256, clip.size
        where = (Incident.device_id == m.device_id) & (Incident.incident_id == m.incident_id)
        if (sha256, size) != (m.sha256, m.size_bytes):
            path.unlink(missing_ok=True)
            reason = f"clip sha256 {sha256[:12]}.. / {size} bytes do not match the manifest"
            await (
                Incident.update(
                    {Incident.state: State.REJECTED, Incident.reason: reason, Incident.updated_at: utcnow()}
                )
                .where(where)
                .run()
            )
            self._later(lambda: self.chunks.clear(m.device_id, m.incident_id))
            raise Rejected(
                "clip_hash_mismatch", reason, _ack(m.incident_id, AckStatus.REJECTED, reason=reason)
            )
        key = clip_key(sha256, _SUFFIX.get(m.content_type, ""))
        await asyncio.to_thread(self.chunks.blobs.put_file, key, path)
        duplicate_of = await earlier_claim(m, self.metrics)
        new = NewClaim(
            source="device",
            video_key=key,
            video_sha256=sha256,
            size_bytes=size,
            device_id=m.device_id,
            incident_id=m.incident_id,
            metadata={"manifest": msgspec.to_builtins(m), "duplicate_of": duplicate_of},
        )
        async with write_transaction():
            claim, _ = await self.claims.create(new, ActorType.DEVICE, m.device_id)
            await (
                Incident.update(
                    {
                        Incident.state: State.COMPLETE,
                        Incident.claim_id: claim.claim_id,
                        Incident.duplicate_of: duplicate_of,
                        Incident.updated_at: utcnow(),
                    }
                )
                .where(where)
                .run()
            )
            await IncidentChunk.delete().where(self._chunks_of(m)).run()
        self._later(lambda: self.chunks.clear(m.device_id, m.incident_id))
        log.info(
            "ingest.complete device=%s incident=%s claim=%s bytes=%d",
            m.device_id,
            m.incident_id,
            claim.claim_id,
            size,
        )
        return _ack(m.incident_id, AckStatus.COMPLETE, claim_id=claim.claim_id)
