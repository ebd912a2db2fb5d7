"""The durable outbox: one folder per incident holding the clip, its encoded manifest and a state file.

An entry is assembled in a hidden temp folder and renamed into place, and removal renames it to a hidden
trash folder first, so after a kill -9 or a power cut every visible folder is a complete entry and
anything hidden is garbage cleared at start. paho keeps nothing across a restart: this folder is what
makes delivery safe.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import msgspec

from edge_agent.outbox.fsio import fsync_dir, fsync_file, write_atomic, write_durable
from shared_models import IncidentManifest, WireError, decode, encode

log = logging.getLogger(__name__)

CLIP_FILE = "clip"
MANIFEST_FILE = "manifest.msgpack"
STATE_FILE = "state.json"


class EntryStatus(StrEnum):
    QUEUED = "queued"  # never published
    SENDING = "sending"  # a transfer started and did not finish (connection lost, PUBACK timeout)
    SENT = "sent"  # manifest and every chunk PUBACKed; waiting for the cloud's ack


class EntryState(msgspec.Struct, frozen=True, kw_only=True):
    status: EntryStatus = EntryStatus.QUEUED
    created_at: float
    attempts: int = 0
    last_sent_at: float | None = None
    source_key: str | None = None  # the recording it was cut from, so a restart can tell it is done


class OutboxEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot of one entry; change its state through ``Outbox.set_state``."""

    manifest: IncidentManifest
    state: EntryState
    folder: Path

    @property
    def incident_id(self) -> str:
        return self.manifest.incident_id

    @property
    def clip_path(self) -> Path:
        return self.folder / CLIP_FILE

    @property
    def size_bytes(self) -> int:
        return self.manifest.size_bytes

    def priority(self) -> tuple[bool, float, float]:
        """Sort key: incidents before footage requests, then highest score, then oldest."""
        return (self.manifest.reason != "incident", -self.manifest.score, self.state.created_at)


class Outbox:
    """Thread-safe: the source thread puts, the publisher reads and removes, health counts."""

    def __init__(self, root: Path, quota_bytes: int | None = None) -> None:
        self.root = Path(root)
        self.quota_bytes = quota_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._entries: dict[str, OutboxEntry] = {}
        self._in_transfer: str | None = None  # never evicted: half of it is at the cloud already
        self._load()

    # ---- reading -------------------------------------------------------------------------------

    def pending(self) -> list[OutboxEntry]:
        """Every entry not yet acknowledged, in delivery order."""
        with self._lock:
            return sorted(self._entries.values(), key=OutboxEntry.priority)

    def get(self, incident_id: str) -> OutboxEntry | None:
        with self._lock:
            return self._entries.get(incident_id)

    def depth(self) -> int:
        with self._lock:
            return len(self._entries)

    def bytes(self) -> int:
        """Clip bytes held (manifests and state files are a few KiB and not counted)."""
        with self._lock:
            return sum(entry.size_bytes for entry in self._entries.values())

    def chunk(self, incident_id: str, seq: int) -> bytes:
        """Chunk ``seq`` read from the clip file alone. KeyError: not in the outbox; IndexError: bad seq."""
        entry = self.get(incident_id)
        if entry is None:
            raise KeyError(incident_id)
        manifest = entry.manifest
        if not 0 <= seq < manifest.chunk_count:
            raise IndexError(f"chunk {seq} of {manifest.chunk_count}")
        try:
            with open(entry.clip_path, "rb") as handle:
                handle.seek(seq * manifest.chunk_size)
                return handle.read(manifest.chunk_size)
        except FileNotFoundError:
            raise KeyError(incident_id) from None  # removed or evicted while we read

    # ---- writing -------------------------------------------------------------------------------

    def put(
        self, clip_path: Path, manifest: IncidentManifest, source_key: str | None = None
    ) -> OutboxEntry | None:
        """Move ``clip_path`` in with its manifest; None when the quota evicted this clip itself."""
        clip_path = Path(clip_path)
        size = clip_path.stat().st_size
        if size != manifest.size_bytes:
            raise ValueError(f"clip is {size} bytes, manifest says {manifest.size_bytes}")
        with self._lock:
            if manifest.incident_id in self._entries:
                raise FileExistsError(f"incident {manifest.incident_id} is already in the outbox")
            if not self._make_room(manifest):
                clip_path.unlink(missing_ok=True)
                return None
            state = EntryState(created_at=time.time(), source_key=source_key)
            tmp = self.root / f".tmp-{manifest.incident_id}-{uuid.uuid4().hex[:8]}"
            tmp.mkdir()
            shutil.move(clip_path, tmp / CLIP_FILE)
            fsync_file(tmp / CLIP_FILE)
            write_durable(tmp / MANIFEST_FILE, encode(manifest))
            write_durable(tmp / STATE_FILE, msgspec.json.encode(state))
            fsync_dir(tmp)
            folder = self.root / manifest.incident_id
            os.rename(tmp, folder)
            fsync_dir(self.root)
            entry = OutboxEntry(manifest=manifest, state=state, folder=folder)
            self._entries[manifest.incident_id] = entry
        log.info(
            "outbox.enqueued incident=%s bytes=%d score=%.3f depth=%d",
            manifest.incident_id,
            size,
            manifest.score,
            self.depth(),
        )
        return entry

    @contextmanager
    def transferring(self, incident_id: str) -> Iterator[None]:
        """Marks the entry being published; the quota evicts any other unacknowledged clip before it."""
        with self._lock:
            self._in_transfer = incident_id
        try:
            yield
        finally:
            with self._lock:
                self._in_transfer = None

    def set_state(self, incident_id: str, state: EntryState) -> OutboxEntry | None:
        """Persist a new state; None (and nothing written) if the entry has gone meanwhile."""
        with self._lock:
            entry = self._entries.get(incident_id)
            if entry is None:
                return None
            write_atomic(entry.folder / STATE_FILE, msgspec.json.encode(state))
            entry = msgspec.structs.replace(entry, state=state)
            self._entries[incident_id] = entry
            return entry

    def remove(self, incident_id: str) -> bool:
        """Delete an entry (call it only after the cloud's COMPLETE or a permanent refusal)."""
        with self._lock:
            entry = self._entries.pop(incident_id, None)
            if entry is None:
                return False
            self._discard(entry.folder)
        log.info("outbox.removed incident=%s depth=%d", incident_id, self.depth())
        return True

    # ---- internals -----------------------------------------------------------------------------

    def _make_room(self, incoming: IncidentManifest) -> bool:
        """Evict the lowest-scored (then oldest) clips until ``incoming`` fits; False if it is the one.

        Every entry is unsent in the sense that counts (no COMPLETE from the cloud yet); the one whose
        chunks are on the wire right now is spared, since finishing it is the cheapest way to free space.
        """
        if self.quota_bytes is None:
            return True
        used = self.bytes()
        while used + incoming.size_bytes > self.quota_bytes:
            candidates = [e for e in self._entries.values() if e.incident_id != self._in_transfer]
            victim = min(candidates, key=lambda e: (e.manifest.score, e.state.created_at), default=None)
            if victim is None or victim.manifest.score > incoming.score:
                log.warning(
                    "outbox.evicted incident=%s score=%.3f bytes=%d reason=quota incoming=True",
                    incoming.incident_id,
                    incoming.score,
                    incoming.size_bytes,
                )
                return False
            del self._entries[victim.incident_id]
            self._discard(victim.folder)
            used -= victim.size_bytes
            log.warning(
                "outbox.evicted incident=%s score=%.3f bytes=%d reason=quota incoming=False",
                victim.incident_id,
                victim.manifest.score,
                victim.size_bytes,
            )
        return True

    def _discard(self, folder: Path) -> None:
        # Rename first so a crash half-way through rmtree leaves hidden garbage, not a broken entry.
        trash = self.root / f".trash-{folder.name}-{uuid.uuid4().hex[:8]}"
        os.rename(folder, trash)
        fsync_dir(self.root)
        shutil.rmtree(trash, ignore_errors=True)

    def _load(self) -> None:
        for path in sorted(self.root.iterdir()):
            if path.name.startswith("."):
                log.info("outbox.garbage_cleared path=%s reason=unfinished", path.name)
                _delete(path)
                continue
            entry = self._read_entry(path)
            if entry is None:
                log.warning("outbox.garbage_cleared path=%s reason=incomplete", path.name)
                _delete(path)
                continue
            self._entries[entry.incident_id] = entry
        log.info("outbox.loaded depth=%d bytes=%d", len(self._entries), self.bytes())

    def _read_entry(self, folder: Path) -> OutboxEntry | None:
        if not folder.is_dir():
            return None
        for leftover in folder.glob(".*"):  # a state rewrite cut short by the crash
            leftover.unlink()
        try:
            manifest = decode((folder / MANIFEST_FILE).read_bytes(), IncidentManifest)
            clip_size = (folder / CLIP_FILE).stat().st_size
        except (OSError, WireError):
            return None
        if manifest.incident_id != folder.name or clip_size != manifest.size_bytes:
            return None
        try:
            state = msgspec.json.decode((folder / STATE_FILE).read_bytes(), type=EntryState)
        except (OSError, msgspec.DecodeError):
            # The clip and manifest are intact evidence: start its delivery over rather than lose it.
            log.warning("outbox.state_reset incident=%s", manifest.incident_id)
            state = EntryState(created_at=folder.stat().st_mtime)
            write_atomic(folder / STATE_FILE, msgspec.json.encode(state))
        return OutboxEntry(manifest=manifest, state=state, folder=folder)


def _delete(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
