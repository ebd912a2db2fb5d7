"""Incoming chunks on the blob store, and the clip they add up to.

A chunk whose manifest is known is written straight into its incident's clip file
(``incoming/<device>/<incident>/clip``) at ``seq * chunk_size``: each byte is written once, and the
finished file is the clip itself (hashed where it lies, fsynced, moved to ``clips/``), never copied.
A chunk that comes before its manifest (its offset is not known yet), and every chunk on a store that
cannot write in place (S3), is parked as its own blob (``incoming/<device>/<incident>/<seq>``); assembly
writes the parked chunks into the clip file.

Files, not memory, so any replica can take any chunk and a restart loses nothing. Chunks written in place
are not fsynced (parked ones go through the store's own atomic write): each chunk was hashed on arrival,
and ``assemble`` hashes the whole clip; only when that does not match the signed manifest is each chunk
checked, so a chunk lost or torn by a crash is asked for again instead of the clip being refused. The
clip is fsynced once, before its claim.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable

import msgspec

from cloud_api.blobstore import BlobStore
from shared_models import IncidentManifest

_PIECE = 1 << 20
"""Read size when hashing a clip file: one reused buffer, so hashing allocates nothing per piece."""


class Assembly(msgspec.Struct, frozen=True):
    """What assembly found: the clip's sha256 (moved into place when it matches the manifest), or, in
    ``bad``, the chunks that must be sent again."""

    sha256: str
    bad: list[int]


class ChunkStore:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    @staticmethod
    def prefix(device_id: str, incident_id: str) -> str:
        return f"incoming/{device_id}/{incident_id}"

    def key(self, device_id: str, incident_id: str, seq: int) -> str:
        """A parked chunk's blob."""
        return f"{self.prefix(device_id, incident_id)}/{seq}"

    def clip_key(self, device_id: str, incident_id: str) -> str:
        return f"{self.prefix(device_id, incident_id)}/clip"

    def put(self, device_id: str, incident_id: str, seq: int, data: bytes, offset: int | None) -> None:
        """Store an accepted chunk: at ``offset`` in the clip file where the store allows, else parked.

        Called only for bytes that match the manifest's chunk hash (or that came before the manifest and
        are parked, to be checked when it arrives), so a corrupt copy never overwrites a good chunk.
        """
        path = None if offset is None else self.blobs.in_place(self.clip_key(device_id, incident_id))
        if path is None:
            self.blobs.write_bytes(self.key(device_id, incident_id, seq), data)
            return
        assert offset is not None
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            _write_at(fd, data, offset)
        finally:
            os.close(fd)

    def discard(self, device_id: str, incident_id: str, seq: int) -> None:
        """Drop a parked chunk found bad, so assembly never writes it over a good copy."""
        self.blobs.delete(self.key(device_id, incident_id, seq))

    def present(self) -> list[tuple[str, str]]:
        """Every (device_id, incident_id) with incoming blobs: incidents in flight, and leftovers."""
        return [
            (device_id, incident_id)
            for device_id in self.blobs.children("incoming")
            for incident_id in self.blobs.children(f"incoming/{device_id}")
        ]

    def clear(self, *incidents: tuple[str, str]) -> None:
        """Delete the incoming blobs of these (device_id, incident_id): decided or expired incidents."""
        for device_id, incident_id in incidents:
            self.blobs.delete_prefix(self.prefix(device_id, incident_id))

    def assemble(self, m: IncidentManifest, key: str) -> Assembly:
        """Write the parked chunks into the clip file, hash the whole (one read pass, no copy) and, when it
        matches the manifest, fsync it and move it to ``key``.

        Only when the whole does not match ``m.sha256`` is each chunk checked (a second pass): chunks lost
        or torn on disk are returned in ``bad`` (their parked copies dropped, so the copies sent again
        win); with none bad, the manifest itself is inconsistent and the file is removed.
        """
        in_place = self.blobs.in_place(self.clip_key(m.device_id, m.incident_id))
        path = in_place or self.blobs.temp_path()
        bad: list[int] = []
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            for seq in range(m.chunk_count):
                try:
                    parked = self.blobs.local_path(self.key(m.device_id, m.incident_id, seq)).read_bytes()
                except FileNotFoundError:
                    continue  # written in place (or lost: the hash will tell)
                _write_at(fd, parked, seq * m.chunk_size)
            os.ftruncate(fd, m.size_bytes)
            whole = _sha256(fd, 0, m.size_bytes)
            if whole == m.sha256:
                os.fsync(fd)
            else:
                bad = [
                    seq
                    for seq, expected in enumerate(m.chunk_sha256)
                    if _sha256(fd, seq * m.chunk_size, min(m.chunk_size, m.size_bytes - seq * m.chunk_size))
                    != expected
                ]
        except BaseException:
            if in_place is None:
                path.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
        if whole == m.sha256:
            self.blobs.put_file(key, path)
            return Assembly(sha256=whole, bad=[])
        for seq in bad:  # a bad parked copy would be written over the copy sent again
            self.discard(m.device_id, m.incident_id, seq)
        if not bad or in_place is None:  # the clip file keeps the good chunks for the next try
            path.unlink(missing_ok=True)
        return Assembly(sha256="" if bad else whole, bad=bad)


class ChunkWrites:
    """The chunk bytes a batch keeps, written in worker threads once its messages are applied: one job
    per incident, and for an incident the batch completed, one job that writes and then assembles it.

    Queued in message order; the last copy of a chunk wins, and a parked chunk found bad is deleted
    before the incident's writes run (a good copy may follow in the same batch).
    """

    def __init__(self, store: ChunkStore) -> None:
        self.store = store
        self._pending: dict[tuple[str, str], _IncidentWrites] = {}

    def put(self, device_id: str, incident_id: str, seq: int, data: bytes, offset: int | None) -> None:
        self._of(device_id, incident_id).puts[seq] = (data, offset)

    def discard(self, device_id: str, incident_id: str, seq: int) -> None:
        work = self._of(device_id, incident_id)
        work.puts.pop(seq, None)
        work.discards.add(seq)

    def completion(self, m: IncidentManifest, key: str) -> Callable[[], Assembly]:
        """The job for an incident the batch completed: its writes, then ``ChunkStore.assemble``. It can
        start at once, beside the rest of the batch's writes and its database statements."""
        work = self._pending.pop((m.device_id, m.incident_id), None)

        def job() -> Assembly:
            if work is not None:
                work.run(self.store)
            return self.store.assemble(m, key)

        return job

    async def run(self) -> None:
        """The writes of the incidents not completed by the batch."""
        jobs, self._pending = self._pending, {}
        await asyncio.gather(*(asyncio.to_thread(work.run, self.store) for work in jobs.values()))

    def _of(self, device_id: str, incident_id: str) -> _IncidentWrites:
        return self._pending.setdefault((device_id, incident_id), _IncidentWrites(device_id, incident_id))


class _IncidentWrites(msgspec.Struct):
    device_id: str
    incident_id: str
    puts: dict[int, tuple[bytes, int | None]] = msgspec.field(default_factory=dict)
    discards: set[int] = msgspec.field(default_factory=set)

    def run(self, store: ChunkStore) -> None:
        for seq in self.discards:
            store.discard(self.device_id, self.incident_id, seq)
        for seq, (data, offset) in self.puts.items():
            store.put(self.device_id, self.incident_id, seq, data, offset)


def _write_at(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _sha256(fd: int, offset: int, length: int) -> str:
    """SHA-256 of ``length`` bytes of ``fd`` from ``offset`` (hashlib releases the GIL on each piece)."""
    digest = hashlib.sha256()
    buffer = memoryview(bytearray(min(max(length, 1), _PIECE)))
    while length > 0:
        got = os.preadv(fd, [buffer[: min(length, len(buffer))]], offset)
        if got == 0:
            break
        digest.update(buffer[:got])
        offset, length = offset + got, length - got
    return digest.hexdigest()
