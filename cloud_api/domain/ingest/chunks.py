"""Incoming chunks on the blob store, and the clip they add up to.

Chunks are files (``incoming/<device>/<incident>/<seq>``), not memory, so any replica can take any
chunk and a restart loses nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cloud_api.blobstore import BlobStore

_READ = 1024 * 1024


class ChunkStore:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    @staticmethod
    def prefix(device_id: str, incident_id: str) -> str:
        return f"incoming/{device_id}/{incident_id}"

    def key(self, device_id: str, incident_id: str, seq: int) -> str:
        return f"{self.prefix(device_id, incident_id)}/{seq}"

    def write(self, device_id: str, incident_id: str, seq: int, data: bytes) -> None:
        self.blobs.write_bytes(self.key(device_id, incident_id, seq), data)

    def discard(self, device_id: str, incident_id: str, seq: int) -> None:
        self.blobs.delete(self.key(device_id, incident_id, seq))

    def clear(self, device_id: str, incident_id: str) -> None:
        self.blobs.delete_prefix(self.prefix(device_id, incident_id))

    def assemble(self, device_id: str, incident_id: str, count: int) -> tuple[Path, str, int]:
        """Concatenate chunks 0..count-1 into a temp file: (path, sha256 hex, size)."""
        dest = self.blobs.temp_path()
        digest, size = hashlib.sha256(), 0
        try:
            with open(dest, "wb") as out:
                for seq in range(count):
                    with open(self.blobs.local_path(self.key(device_id, incident_id, seq)), "rb") as src:
                        while block := src.read(_READ):
                            digest.update(block)
                            out.write(block)
                            size += len(block)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        return dest, digest.hexdigest(), size
