"""Claims: created exactly once per (device, incident) or per uploaded clip, then queued for assessment.

Creation is one transaction: the claim row, its "received" audit entry and its assessment job commit
together. Uniqueness is left to the database (a unique index and ``ON CONFLICT DO NOTHING``), so two
replicas racing on the same incident still make one claim.

Uploads are deduplicated by content: the same bytes (sha256) as any existing claim, from a device or an
upload, return that claim instead of making a second one. Device clips are not deduplicated that way: the
same clip under two incidents is kept and flagged by the fraud check.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any, BinaryIO

from piccolo.query.functions.aggregate import Count

from cloud_api.blobstore import BlobStore
from cloud_api.db.engine import write_transaction
from cloud_api.db.helpers import to_json, utcnow
from cloud_api.domain.assessments.jobs import JobQueue
from cloud_api.domain.audit.schemas import ActorType
from cloud_api.domain.audit.services import AuditService
from cloud_api.domain.claims.schemas import (
    ClaimFilter,
    ClaimList,
    ClaimStatusOut,
    ClipFile,
    NewClaim,
    UploadResult,
)
from cloud_api.domain.claims.tables import Claim
from cloud_api.domain.claims.uploads import probe_staged, stage_upload
from cloud_api.video import MEDIA_TYPES
from shared_models import ClaimStatus

log = logging.getLogger(__name__)


_STATUS_COLUMNS = (
    Claim.id,
    Claim.claim_number,
    Claim.status,
    Claim.progress_percent,
    Claim.error,
    Claim.source,
    Claim.device_id,
    Claim.incident_id,
    Claim.video_sha256,
    Claim.size_bytes,
    Claim.received_at,
    Claim.updated_at,
)
"""What a status needs: never the metadata column, which holds a device's whole manifest."""


def _status(row: dict[str, Any]) -> ClaimStatusOut:
    return ClaimStatusOut(
        claim_id=row["id"],
        claim_number=row["claim_number"],
        status=ClaimStatus(row["status"]),
        progress_percent=row["progress_percent"],
        error=row["error"],
        source=row["source"],
        device_id=row["device_id"],
        incident_id=row["incident_id"],
        video_sha256=row["video_sha256"],
        size_bytes=row["size_bytes"],
        received_at=row["received_at"],
        updated_at=row["updated_at"],
    )


def _claim_number(claim_id: str) -> str:
    return f"CLM-{utcnow():%Y%m%d}-{claim_id[:8].upper()}"


def clip_key(sha256: str, suffix: str = ".mp4") -> str:
    return f"clips/{sha256}{suffix}"


class ClaimService:
    def __init__(self, blobs: BlobStore, audit: AuditService, jobs: JobQueue, max_upload_bytes: int) -> None:
        self.blobs = blobs
        self.audit = audit
        self.jobs = jobs
        self.max_upload_bytes = max_upload_bytes

    async def create(
        self, new: NewClaim, actor_type: ActorType, actor_id: str
    ) -> tuple[ClaimStatusOut, bool]:
        """The claim for ``new`` and whether this call created it (False: it existed already)."""
        claim_id = str(uuid.uuid4())
        now = utcnow()
        row = Claim(
            id=claim_id,
            claim_number=new.claim_number or _claim_number(claim_id),
            source=new.source,
            device_id=new.device_id,
            incident_id=new.incident_id,
            upload_sha256=new.video_sha256 if new.source == "upload" else None,
            video_key=new.video_key,
            video_sha256=new.video_sha256,
            size_bytes=new.size_bytes,
            status=ClaimStatus.QUEUED.value,
            progress_percent=0,
            received_at=now,
            updated_at=now,
            metadata=to_json(new.metadata),
        )
        created: ClaimStatusOut | None = None
        async with write_transaction():
            inserted = await Claim.insert(row).on_conflict(action="DO NOTHING").returning(Claim.id).run()
            if inserted:
                created = await self.get(claim_id)
                await self.audit.log_action(
                    "received", actor_type, actor_id, claim_id=claim_id, before=None, after=created
                )
                await self.jobs.enqueue(claim_id)
        if created is not None:
            log.info(
                "claim.created claim=%s source=%s sha256=%s", claim_id, new.source, new.video_sha256[:12]
            )
            return created, True
        existing = await self._existing(new)
        if existing is None:
            raise RuntimeError(f"claim insert conflicted but no existing claim matches {new.video_sha256}")
        return existing, False

    async def _existing(self, new: NewClaim) -> ClaimStatusOut | None:
        if new.source == "upload":
            where = Claim.upload_sha256 == new.video_sha256
        else:
            where = (Claim.device_id == new.device_id) & (Claim.incident_id == new.incident_id)
        row = await Claim.select(*_STATUS_COLUMNS).where(where).first().run()
        return _status(row) if row else None

    async def upload(
        self, src: BinaryIO, filename: str | None, claim_number: str | None, actor_id: str
    ) -> UploadResult:
        """Stage, probe, deduplicate and record an uploaded video.

        Raises UploadTooLarge (413) and VideoError (415 / 422); nothing is kept when it does.
        """
        staged = await stage_upload(src, filename, self.blobs, self.max_upload_bytes)
        info = await probe_staged(staged)
        duplicate = (
            await Claim.select(*_STATUS_COLUMNS).where(Claim.video_sha256 == staged.sha256).first().run()
        )
        if duplicate is not None:
            staged.path.unlink(missing_ok=True)
            claim, created = _status(duplicate), False
        else:
            key = clip_key(staged.sha256, staged.suffix)
            self.blobs.put_file(key, staged.path)
            new = NewClaim(
                source="upload",
                video_key=key,
                video_sha256=staged.sha256,
                size_bytes=staged.size_bytes,
                claim_number=claim_number,
                metadata={"filename": filename, "video": info},
            )
            claim, created = await self.create(new, ActorType.SYSTEM, actor_id)
        message = "queued for assessment" if created else "these bytes are already claim " + claim.claim_id
        return UploadResult(
            claim_id=claim.claim_id,
            claim_number=claim.claim_number,
            status=claim.status,
            message=message,
            duplicate=not created,
            video_sha256=claim.video_sha256,
            size_bytes=claim.size_bytes,
        )

    async def get(self, claim_id: str) -> ClaimStatusOut | None:
        row = await Claim.select(*_STATUS_COLUMNS).where(Claim.id == claim_id).first().run()
        return _status(row) if row else None

    async def list(self, limit: int, offset: int, filters: ClaimFilter) -> ClaimList:
        """Newest first; every filter given must match (claim number and device id exactly)."""
        where = [
            column == value
            for column, value in (
                (Claim.status, filters.status.value if filters.status else None),
                (Claim.claim_number, filters.claim_number),
                (Claim.device_id, filters.device_id),
                (Claim.source, filters.source),
            )
            if value is not None
        ]
        query = Claim.select(*_STATUS_COLUMNS).where(*where).order_by(Claim.received_at, ascending=False)
        rows = await query.order_by(Claim.id).limit(limit).offset(offset).run()
        total = await Claim.count().where(*where).run()
        return ClaimList(items=[_status(r) for r in rows], total=total, limit=limit, offset=offset)

    async def video(self, claim_id: str) -> ClipFile | None:
        """Where the claim's clip is on this machine, its media type and its sha256."""
        row = (
            await Claim.select(Claim.video_key, Claim.video_sha256).where(Claim.id == claim_id).first().run()
        )
        if row is None:
            return None
        key: str = row["video_key"]
        media_type = MEDIA_TYPES.get(Path(key).suffix, "application/octet-stream")
        return ClipFile(path=self.blobs.local_path(key), media_type=media_type, sha256=row["video_sha256"])

    async def counts_by_status(self) -> dict[str, int]:
        rows = await Claim.select(Claim.status, Count(alias="count")).group_by(Claim.status).run()
        return {row["status"]: row["count"] for row in rows}
