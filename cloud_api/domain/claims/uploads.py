"""Receiving an uploaded video: copied to the blob store's temp folder while hashed, size-capped,
and probed with PyAV before anything is recorded."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import BinaryIO

import msgspec

from cloud_api.blobstore import BlobStore
from cloud_api.video import MEDIA_TYPES, VideoInfo, probe

_COPY_CHUNK = 1024 * 1024


class UploadTooLarge(ValueError):
    pass


class StagedUpload(msgspec.Struct, frozen=True, kw_only=True):
    path: Path
    sha256: str
    size_bytes: int
    suffix: str


def _copy(src: BinaryIO, dest: Path, max_bytes: int) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    src.seek(0)
    with open(dest, "wb") as out:
        while chunk := src.read(_COPY_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise UploadTooLarge(f"video is larger than {max_bytes // (1024 * 1024)} MB")
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


async def stage_upload(src: BinaryIO, filename: str | None, blobs: BlobStore, max_bytes: int) -> StagedUpload:
    """Copy ``src`` to a temp blob path; the caller moves or deletes it."""
    dest = blobs.temp_path()
    try:
        sha256, size = await asyncio.to_thread(_copy, src, dest, max_bytes)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    suffix = Path(filename or "").suffix.lower()
    return StagedUpload(
        path=dest, sha256=sha256, size_bytes=size, suffix=suffix if suffix in MEDIA_TYPES else ""
    )


async def probe_staged(staged: StagedUpload) -> VideoInfo:
    """PyAV's verdict on the staged file; raises VideoError (and deletes the file) when it is no video."""
    try:
        return await asyncio.to_thread(probe, staged.path)
    except BaseException:
        staged.path.unlink(missing_ok=True)
        raise
