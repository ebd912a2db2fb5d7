"""What fleet messages do to the database, and the ack (if any) each earns.

``check`` and ``apply`` never raise for bad input: every refusal is counted by reason and logged once
(``Metrics.reject``). The protocol with the device:

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

Each message is first checked on its own as it arrives (``check``: topic, decoding, device, ids; a
chunk is hashed in a worker thread, hashlib releasing the GIL), beside the batch being applied. A batch
(the MQTT client's waiting messages) is then applied in one write transaction, in steps that keep a
serial consumer's waits few and overlapping:

1. the incidents the batch touches are loaded (batch.py: two queries) and its messages applied to
   them in order, queueing the chunk writes;
2. in worker threads, each incident now complete gets its chunks written and its clip assembled and
   hashed (one job each), and the other incidents' chunks are written, while the changes are written
   back (a few statements);
3. each completed incident gets its claim as soon as its own clip is ready; the commit waits for
   all the batch's writes.

A message about an incident that an earlier message of the same batch completed waits for the next
batch, so it sees the claim: the replies returned are those of a prefix of the batch. The blobs of
decided incidents are deleted only after the commit (``Applied.decided``, ``clear``), so a rolled-back
batch never loses a chunk.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections.abc import Sequence
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
from cloud_api.domain.ingest.batch import BatchView, IncidentView, Key
from cloud_api.domain.ingest.chunks import Assembly, ChunkStore, ChunkWrites
from cloud_api.domain.ingest.duplicates import Duplicates
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


class Checked(msgspec.Struct, frozen=True):
    """A message that passed the checks needing no state; ``digest`` is a chunk's sha256."""

    name: str
    topic: Topic
    message: Any
    key: Ed25519PublicKey
    digest: str = ""


class Complete(msgspec.Struct, frozen=True):
    """The message stored the incident's last missing chunk: assemble and claim it."""

    manifest: IncidentManifest


def _ack(incident_id: str, status: AckStatus, **fields: Any) -> IncidentAck:
    return IncidentAck(incident_id=incident_id, status=status, **fields)


def _missing(view: IncidentView, m: IncidentManifest) -> list[int]:
    return sorted(set(range(m.chunk_count)) - view.chunks.keys())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _clip_key(m: IncidentManifest) -> str:
    return clip_key(m.sha256, _SUFFIX.get(m.content_type, ""))


class Applied(msgspec.Struct, frozen=True):
    """A batch's outcome: the acks for a prefix of its messages (the rest wait for the next batch), and
    the incidents whose incoming blobs go once the devices have their answers (``IngestService.clear``)."""

    replies: list[Reply | None]
    decided: list[Key]


class Completion(msgspec.Struct, frozen=True):
    index: int
    """Position of the completing message in the batch."""
    item: Checked
    manifest: IncidentManifest


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

    async def apply(self, checked: Sequence[Checked | Reply | None]) -> Applied:
        """Apply a batch of ``check`` results in one transaction."""
        async with write_transaction():
            keys = {(c.topic.device_id, c.topic.incident_id) for c in checked if isinstance(c, Checked)}
            batch = await BatchView.load({(d, i) for d, i in keys if i is not None})
            writes = ChunkWrites(self.chunks)
            heard: set[str] = set()
            replies, completions = await self._apply_in_order(batch, writes, heard, checked)
            assemblies = [
                asyncio.ensure_future(asyncio.to_thread(writes.completion(c.manifest, _clip_key(c.manifest))))
                for c in completions
            ]
            other_writes = asyncio.ensure_future(writes.run())  # needed by the commit, not by the claims
            try:
                await self._write_back(batch, heard)
                decided = await self._complete(completions, assemblies, replies)
                await BatchView.forget(decided)
                await other_writes
            finally:  # no file work outlives its transaction
                await asyncio.gather(*assemblies, other_writes, return_exceptions=True)
        return Applied(replies, decided)

    async def _apply_in_order(
        self,
        batch: BatchView,
        writes: ChunkWrites,
        heard: set[str],
        checked: Sequence[Checked | Reply | None],
    ) -> tuple[list[Reply | None], list[Completion]]:
        """Each message's rules against the view, in order, up to one about an incident already completed
        in this batch; replies for the completing messages are filled in by ``_complete``."""
        replies: list[Reply | None] = []
        completing: dict[Key, Completion] = {}
        for item in checked:
            if not isinstance(item, Checked):
                replies.append(item)
                continue
            if (item.topic.device_id, item.topic.incident_id) in completing:
                break  # the rest waits for the next batch
            try:
                outcome = await self._dispatch(batch, writes, item, heard)
            except Rejected as exc:
                replies.append(self._refused(item.name, item.topic.device_id, exc))
                continue
            if isinstance(outcome, Complete):
                key = (outcome.manifest.device_id, outcome.manifest.incident_id)
                completing[key] = Completion(len(replies), item, outcome.manifest)
                replies.append(None)
                continue
            self.metrics.ingest_accepted[item.topic.kind.value] += 1
            replies.append(Reply(item.topic.device_id, outcome) if outcome else None)
        return replies, list(completing.values())

    async def clear(self, decided: list[Key]) -> None:
        """Delete the incoming blobs of a committed batch's decided incidents (no later message writes to
        a decided incident, so this may run beside the next batch)."""
        await asyncio.to_thread(self.chunks.clear, *decided)

    async def _complete(
        self,
        completions: list[Completion],
        assemblies: list[asyncio.Future[Assembly]],
        replies: list[Reply | None],
    ) -> list[Key]:
        """Give each completed incident its verdict as soon as its own clip is assembled (the next ones
        keep hashing meanwhile); returns the incidents decided."""
        decided: list[Key] = []
        duplicates = await Duplicates.load({c.manifest.sha256 for c in completions})
        for c, assembly in zip(completions, assemblies, strict=True):
            m, clip = c.manifest, await assembly
            try:
                ack = await self._verdict(m, clip, duplicates)
            except Rejected as exc:
                replies[c.index] = self._refused(c.item.name, m.device_id, exc)
            else:
                self.metrics.ingest_accepted[c.item.topic.kind.value] += 1
                replies[c.index] = Reply(m.device_id, ack)
            if not clip.bad:
                decided.append((m.device_id, m.incident_id))
        return decided

    async def _write_back(self, batch: BatchView, heard: set[str]) -> None:
        await batch.flush()
        await self.devices.seen(*heard)

    def _refused(self, name: str, device_id: str, exc: Rejected) -> Reply | None:
        self.metrics.reject(exc.reason, name, exc.detail)
        return Reply(device_id, exc.ack) if exc.ack else None

    async def check(self, name: str, payload: bytes) -> Checked | Reply | None:
        """The checks that need no incident state, run as each message arrives (beside the batch being
        applied); refusals are counted here, and get their reply (if any) when their batch is applied."""
        device_id = ""
        try:
            topic = parse_topic(name)
            device_id = topic.device_id
            if topic.kind not in EXPECTED:
                raise Rejected("unexpected_topic", topic.kind)
            message = decode(payload, EXPECTED[topic.kind])
            if message.device_id != topic.device_id:
                raise Rejected("device_mismatch", f"payload says {message.device_id}")
            key, why = await self.devices.verification_key(topic.device_id)
            if key is None:
                raise Rejected(why)
            if not isinstance(message, ClipChunk):
                return Checked(name, topic, message, key)
            if (topic.incident_id, topic.seq) != (message.incident_id, message.seq):
                raise Rejected(
                    "topic_mismatch",
                    f"topic {topic.incident_id}/{topic.seq}, payload {message.incident_id}/{message.seq}",
                )
            if message.seq >= message.total:
                raise Rejected("bad_seq", f"seq {message.seq} of {message.total}")
            return Checked(name, topic, message, key, await asyncio.to_thread(_sha256, message.data))
        except TopicError as exc:
            self.metrics.reject("bad_topic", name, str(exc))
        except WireError as exc:
            self.metrics.reject(exc.reason, name, exc.detail)
        except Rejected as exc:
            return self._refused(name, device_id, exc)
        return None

    async def _dispatch(
        self, batch: BatchView, writes: ChunkWrites, item: Checked, heard: set[str]
    ) -> IncidentAck | Complete | None:
        message = item.message
        if isinstance(message, IncidentManifest):
            heard.add(message.device_id)
            return self._manifest(batch, writes, item.topic, message, item.key)
        if isinstance(message, ClipChunk):
            return self._chunk(batch, writes, message, item.digest)
        if isinstance(message, DeviceStatus):
            await self.devices.record_status(message)
        elif isinstance(message, HealthHeartbeat):
            await self.devices.record_heartbeat(message)
        else:
            await self.devices.seen(message.device_id)
            if not await self.commands.record_result(message):
                self.metrics.reject("unknown_command", f"{message.device_id}/{message.command_id}")
        return None

    def _manifest(
        self, batch: BatchView, writes: ChunkWrites, topic: Topic, m: IncidentManifest, key: Ed25519PublicKey
    ) -> IncidentAck | Complete | None:
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
        view = batch.view(m.device_id, m.incident_id)
        inserted = view.state is None
        if inserted:
            batch.create(view, m, State.RECEIVING)
        else:
            assert view.manifest is not None
            if (view.manifest.sha256, view.manifest.chunk_sha256) != (m.sha256, m.chunk_sha256):
                reason = "another clip was already reported under this incident id"
                raise Rejected(
                    "manifest_conflict", m.incident_id, _ack(m.incident_id, AckStatus.REJECTED, reason=reason)
                )
            if view.state == State.COMPLETE:
                return _ack(m.incident_id, AckStatus.COMPLETE, claim_id=view.claim_id)
            if view.state == State.REJECTED:
                return _ack(m.incident_id, AckStatus.REJECTED, reason=view.reason)
            if view.state == State.EXPIRED:
                batch.reopen(view, State.RECEIVING)
                log.info("ingest.reopened device=%s incident=%s", m.device_id, m.incident_id)
        missing = self._keep_good_chunks(batch, writes, view, m)
        if not missing:
            return Complete(m)
        log.info(
            "ingest.manifest device=%s incident=%s chunks=%d missing=%d",
            m.device_id,
            m.incident_id,
            m.chunk_count,
            len(missing),
        )
        return None if inserted else _ack(m.incident_id, AckStatus.MISSING, missing=missing)

    def _chunk(
        self, batch: BatchView, writes: ChunkWrites, c: ClipChunk, digest: str
    ) -> IncidentAck | Complete | None:
        view = batch.view(c.device_id, c.incident_id)
        manifest = view.manifest
        if view.state is not None and view.state != State.RECEIVING:
            return None  # decided already; a resent manifest gets the answer
        if manifest is not None and c.total != manifest.chunk_count:
            raise Rejected("bad_seq", f"total {c.total}, the manifest has {manifest.chunk_count} chunks")
        if manifest is not None and digest != manifest.chunk_sha256[c.seq]:
            where = f"{c.device_id}/{c.incident_id}/{c.seq}"
            self.metrics.reject("chunk_hash_mismatch", where, "discarded")
        else:
            batch.store_chunk(view, c.seq, digest, len(c.data))
            offset = None if manifest is None else c.seq * manifest.chunk_size
            writes.put(c.device_id, c.incident_id, c.seq, c.data, offset)
        if manifest is None:
            return None  # kept until the manifest arrives
        if len(view.chunks) == manifest.chunk_count:  # every stored chunk was checked against the manifest
            return Complete(manifest)
        if c.seq == manifest.chunk_count - 1:
            return _ack(c.incident_id, AckStatus.MISSING, missing=_missing(view, manifest))
        return None

    def _keep_good_chunks(
        self, batch: BatchView, writes: ChunkWrites, view: IncidentView, m: IncidentManifest
    ) -> list[int]:
        """Chunks stored before the manifest was known, checked now: bad ones go. Returns the missing."""
        for seq, sha256 in list(view.chunks.items()):
            if seq < m.chunk_count and sha256 == m.chunk_sha256[seq]:
                continue
            batch.drop_chunk(view, seq)
            writes.discard(m.device_id, m.incident_id, seq)
            self.metrics.reject(
                "chunk_hash_mismatch", f"{m.device_id}/{m.incident_id}/{seq}", "discarded late"
            )
        return _missing(view, m)

    async def _verdict(self, m: IncidentManifest, clip: Assembly, duplicates: Duplicates) -> IncidentAck:
        """The assembled clip's verdict: its claim (COMPLETE), chunks to send again, or REJECTED."""
        if clip.bad:  # stored, then lost or torn on disk (a crash): ask for them again
            await (
                IncidentChunk.delete()
                .where(
                    (IncidentChunk.device_id == m.device_id)
                    & (IncidentChunk.incident_id == m.incident_id)
                    & IncidentChunk.seq.is_in(clip.bad)
                )
                .run()
            )
            self.metrics.reject("chunk_unreadable", f"{m.device_id}/{m.incident_id}", f"chunks {clip.bad}")
            return _ack(m.incident_id, AckStatus.MISSING, missing=clip.bad)
        where = (Incident.device_id == m.device_id) & (Incident.incident_id == m.incident_id)
        if clip.sha256 != m.sha256:
            reason = f"clip sha256 {clip.sha256[:12]}.. / {m.size_bytes} bytes do not match the manifest"
            await (
                Incident.update(
                    {Incident.state: State.REJECTED, Incident.reason: reason, Incident.updated_at: utcnow()}
                )
                .where(where)
                .run()
            )
            raise Rejected(
                "clip_hash_mismatch", reason, _ack(m.incident_id, AckStatus.REJECTED, reason=reason)
            )
        duplicate_of = duplicates.earlier_claim(m, self.metrics)
        new = NewClaim(
            source="device",
            video_key=_clip_key(m),
            video_sha256=m.sha256,
            size_bytes=m.size_bytes,
            device_id=m.device_id,
            incident_id=m.incident_id,
            metadata={"manifest": msgspec.to_builtins(m), "duplicate_of": duplicate_of},
        )
        claim, _ = await self.claims.create(new, ActorType.DEVICE, m.device_id)
        duplicates.add(m, claim.claim_id)
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
        log.info(
            "ingest.complete device=%s incident=%s claim=%s bytes=%d",
            m.device_id,
            m.incident_id,
            claim.claim_id,
            m.size_bytes,
        )
        return _ack(m.incident_id, AckStatus.COMPLETE, claim_id=claim.claim_id)
