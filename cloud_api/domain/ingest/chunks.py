"""Incoming chunks on the blob store, and the clip they add up to.

Chunks are files (``incoming/<device>/<incident>/<seq>``), not memory, so any replica can take any
chunk and a restart loses nothing. They are written without fsync: each was hashed on arrival, and
``assemble`` hashes the whole clip as it copies it; when that does not match the signed manifest, the
chunks are checked one by one, so a chunk lost or torn by a crash is asked for again instead of the clip
being refused. The assembled clip is fsynced once, before its claim.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import msgspec

from cloud_api.blobstore import BlobStore


class Assembly(msgspec.Struct, frozen=True):
    """The clip in a temp file, or (``bad`` not empty) the chunks that must be sent again."""

    path: Path | None
    sha256: str
    size: int
    bad: list[int]


class ChunkStore:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    @staticmethod
    def prefix(device_id: str, incident_id: str) -> str:
        return f"incoming/{device_id}/{incident_id}"

    def key(self, device_id: str, incident_id: str, seq: int) -> str:
        return f"{self.prefix(device_id, incident_id)}/{seq}"

    def stage(self, data: bytes) -> tuple[Path, str]:
        """Write ``data`` to a temp file (no fsync) and hash it: (path, sha256 hex).

        Runs in a thread beside the chunk's database lookup; ``keep`` moves it into place once the
        chunk is accepted, so a corrupt copy never replaces a good stored chunk.
        """
        path = self.blobs.temp_path()
        with open(path, "wb") as fh:
            fh.write(data)
        return path, hashlib.sha256(data).hexdigest()

    def keep(self, device_id: str, incident_id: str, seq: int, staged: Path) -> None:
        self.blobs.put_file(self.key(device_id, incident_id, seq), staged)

    def discard(self, device_id: str, incident_id: str, seq: int) -> None:
        self.blobs.delete(self.key(device_id, incident_id, seq))

    def clear(self, device_id: str, incident_id: str) -> None:
        self.blobs.delete_prefix(self.prefix(device_id, incident_id))

    def assemble(self, device_id: str, incident_id: str, sha256: str, chunk_sha256: list[str]) -> Assembly:
        """Concatenate the chunks into a temp file, hashing the whole on the way (one pass).

        Only when the whole does not match ``sha256`` is each chunk checked (a second pass): chunks lost
        or torn on disk are returned in ``bad``; with none bad, the manifest itself is inconsistent.
        """
        dest = self.blobs.temp_path()
        digest, size, missing = hashlib.sha256(), 0, []
        try:
            with open(dest, "wb") as out:
                for seq in range(len(chunk_sha256)):
                    try:
                        data = self.blobs.local_path(self.key(device_id, incident_id, seq)).read_bytes()
                    except FileNotFoundError:
                        missing.append(seq)
                        continue
                    digest.update(data)
                    out.write(data)
                    size += len(data)
                if not missing and digest.hexdigest() == sha256:
                    out.flush()
                    os.fsync(out.fileno())
                    return Assembly(path=dest, sha256=sha256, size=size, bad=[])
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        bad = missing or self._torn(device_id, incident_id, chunk_sha256)
        if bad:
            dest.unlink(missing_ok=True)
            return Assembly(path=None, sha256="", size=0, bad=bad)
        return Assembly(path=dest, sha256=digest.hexdigest(), size=size, bad=[])

    def _torn(self, device_id: str, incident_id: str, chunk_sha256: list[str]) -> list[int]:
        return [
            seq
            for seq, expected in enumerate(chunk_sha256)
            if hashlib.sha256(
                self.blobs.local_path(self.key(device_id, incident_id, seq)).read_bytes()
            ).hexdigest()
            != expected
        ]
