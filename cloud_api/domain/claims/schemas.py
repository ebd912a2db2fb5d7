from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from litestar.datastructures import UploadFile

from cloud_api.domain.text import NO_NUL
from shared_models import ClaimStatus


class ClaimStatusOut(msgspec.Struct, kw_only=True):
    claim_id: str
    claim_number: str
    status: ClaimStatus
    progress_percent: int
    error: str | None
    source: str
    device_id: str | None
    incident_id: str | None
    video_sha256: str
    size_bytes: int
    received_at: datetime
    updated_at: datetime


class ClaimFilter(msgspec.Struct, frozen=True, kw_only=True):
    status: ClaimStatus | None = None
    claim_number: str | None = None
    device_id: str | None = None
    source: Literal["device", "upload"] | None = None


class ClaimList(msgspec.Struct, kw_only=True):
    items: list[ClaimStatusOut]
    total: int
    limit: int
    offset: int


class UploadResult(msgspec.Struct, kw_only=True):
    claim_id: str
    claim_number: str
    status: ClaimStatus
    message: str
    duplicate: bool
    """True when these exact bytes (sha256) were already a claim: that claim is returned instead."""
    video_sha256: str
    size_bytes: int


class ClipFile(msgspec.Struct, frozen=True, kw_only=True):
    path: Path
    media_type: str
    sha256: str


class NewClaim(msgspec.Struct, frozen=True, kw_only=True):
    """What ingest or an upload hands to ClaimService.create."""

    source: str
    video_key: str
    video_sha256: str
    size_bytes: int
    metadata: dict[str, Any]
    claim_number: str | None = None
    device_id: str | None = None
    incident_id: str | None = None


@dataclass
class UploadForm:
    """multipart/form-data of POST /claims/upload (a dataclass: Litestar fills UploadFile fields in it)."""

    video: UploadFile
    claim_number: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=NO_NUL)] | None = None
