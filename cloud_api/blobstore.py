"""Where clips and incoming chunks live: a local folder behind a small interface (S3 comes later).

Keys are relative, '/'-separated paths (``clips/<sha256>.mp4``, ``incoming/<device>/<incident>/<seq>``).
Every write goes to a temporary file and is renamed into place, so a reader (or another replica on a
shared folder) never sees a half-written blob.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path, PurePosixPath
from typing import Protocol


class BlobStore(Protocol):
    def write_bytes(self, key: str, data: bytes) -> None: ...
    def put_file(self, key: str, src: Path) -> None: ...
    def local_path(self, key: str) -> Path: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> None: ...
    def temp_path(self) -> Path: ...


class LocalBlobStore:
    """A folder on local disk (or a shared mount): the default and the only store so far."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if not parts or key.startswith("/") or any(p in {"..", "."} for p in parts):
            raise ValueError(f"invalid blob key {key!r}")
        return self.root.joinpath(*parts)

    def temp_path(self) -> Path:
        """A fresh path on the store's file system, so ``put_file`` is a rename, not a copy."""
        return self._tmp / f"{uuid.uuid4().hex}.part"

    def write_bytes(self, key: str, data: bytes) -> None:
        tmp = self.temp_path()
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        self.put_file(key, tmp)

    def put_file(self, key: str, src: Path) -> None:
        """Move ``src`` to ``key``, replacing what was there."""
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)

    def local_path(self, key: str) -> Path:
        """A path readable on this machine (a remote store would download to a cache first)."""
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        return path

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self._path(prefix), ignore_errors=True)
