"""Where clips and incoming chunks live: a local folder (default) or an S3-compatible bucket
(``BLOB_STORE=s3``), behind one small interface.

Keys are relative, '/'-separated paths (``clips/<sha256>.mp4``, ``incoming/<device>/<incident>/clip``,
``incoming/<device>/<incident>/<seq>``). Every local write goes to a temporary file and is renamed into
place, so a reader (or another replica on a shared folder) never sees a half-written blob; an S3 PUT is
atomic by itself. The one exception is ``in_place``: an incident's clip file, written chunk by chunk at
offsets, which only its assembly reads, checking every byte against the signed hashes.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cloud_api.settings import Settings


class BlobStore(Protocol):
    def write_bytes(self, key: str, data: bytes) -> None: ...
    def put_file(self, key: str, src: Path) -> None: ...
    def local_path(self, key: str) -> Path: ...
    def in_place(self, key: str) -> Path | None: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> None: ...
    def children(self, prefix: str) -> list[str]: ...
    def temp_path(self) -> Path: ...


class LocalBlobStore:
    """A folder on local disk (or a shared mount): the default."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return _key_path(self.root, key)

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

    def in_place(self, key: str) -> Path:
        """Where the blob itself lives, to be written at offsets (``put_file`` then moves it)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self._path(prefix), ignore_errors=True)

    def children(self, prefix: str) -> list[str]:
        """The names one level below ``prefix`` that hold blobs (``incoming`` -> device ids)."""
        try:
            return sorted(p.name for p in self._path(prefix).iterdir() if p.is_dir())
        except FileNotFoundError:
            return []


def _key_path(root: Path, key: str) -> Path:
    parts = PurePosixPath(key).parts
    if not parts or key.startswith("/") or any(p in {"..", "."} for p in parts):
        raise ValueError(f"invalid blob key {key!r}")
    return root.joinpath(*parts)


class S3BlobStore:
    """An S3-compatible bucket (AWS S3, MinIO, Ceph RGW, ...) through boto3.

    Temp files and a read cache stay on local disk under ``cache_dir``: ``local_path`` downloads the
    object (clips, being content-addressed and immutable, are downloaded once; anything else every time,
    since incoming chunks may be replaced).
    """

    def __init__(self, client: Any, bucket: str, cache_dir: Path, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.cache = Path(cache_dir).resolve() / "s3-cache"
        self._tmp = Path(cache_dir).resolve() / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def _object(self, key: str) -> str:
        _key_path(self.cache, key)  # same key rules as the local store
        return self.prefix + key

    def temp_path(self) -> Path:
        return self._tmp / f"{uuid.uuid4().hex}.part"

    def write_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._object(key), Body=data)

    def put_file(self, key: str, src: Path) -> None:
        """Upload ``src`` to ``key`` and remove the local file (a move, like the local store's)."""
        self.client.upload_file(str(src), self.bucket, self._object(key))
        Path(src).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path:
        dest = _key_path(self.cache, key)
        if key.startswith("clips/") and dest.is_file():
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.temp_path()
        try:
            self.client.download_file(self.bucket, self._object(key), str(tmp))
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            if _is_missing(exc):
                raise FileNotFoundError(key) from None
            raise
        os.replace(tmp, dest)
        return dest

    def in_place(self, key: str) -> None:
        """An object is written whole: nothing to write at offsets."""
        return None

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._object(key))
        except Exception as exc:
            if _is_missing(exc):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object(key))
        _key_path(self.cache, key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._object(prefix).rstrip("/") + "/"
        )
        for page in pages:
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
        shutil.rmtree(_key_path(self.cache, prefix), ignore_errors=True)

    def children(self, prefix: str) -> list[str]:
        root = self._object(prefix).rstrip("/") + "/"
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=root, Delimiter="/"
        )
        names = [
            c["Prefix"][len(root) :].rstrip("/") for page in pages for c in page.get("CommonPrefixes", [])
        ]
        return sorted(names)


def _is_missing(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


def blob_store_for(settings: Settings) -> BlobStore:
    """``BLOB_STORE=local`` (UPLOAD_DIR) or ``s3`` (S3_BUCKET at S3_ENDPOINT_URL, UPLOAD_DIR as cache)."""
    if settings.blob_store == "local":
        return LocalBlobStore(settings.blob_dir)
    if settings.blob_store != "s3":
        raise ValueError(f"BLOB_STORE={settings.blob_store!r}: expected local or s3")
    if not settings.s3_bucket:
        raise ValueError("BLOB_STORE=s3 needs S3_BUCKET")
    import boto3  # only deployments that use S3 need it installed

    client = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key,
    )
    return S3BlobStore(client, settings.s3_bucket, settings.blob_dir, settings.s3_prefix)
