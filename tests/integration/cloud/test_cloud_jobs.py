"""The durable assessment job: leasing without double takes, retries with a limit, errors visible on
the claim, exactly one assessment per claim."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from cloud_api.db.helpers import utcnow
from cloud_api.domain.assessments.tables import Assessment, AssessmentJob
from cloud_api.domain.audit.schemas import ActorType
from cloud_api.domain.audit.tables import AuditEntry
from cloud_api.domain.claims.schemas import NewClaim
from cloud_api.settings import Settings
from tests.integration.cloud.support import CloudApp, running, write_mp4


def add_claim(cloud: CloudApp, key: str, sha: str = "a" * 64) -> str:
    """A claim straight through the service, pointing at blob ``key`` (which may not exist)."""
    new = NewClaim(source="upload", video_key=key, video_sha256=sha, size_bytes=1, metadata={})
    claim, created = cloud.call(cloud.runtime.claims.create, new, ActorType.SYSTEM, "test")
    assert created
    return claim.claim_id


def test_transient_errors_are_retried_then_fail_the_claim(cloud: CloudApp) -> None:
    cloud.runtime.jobs.retry_backoff_s = 0
    headers = cloud.headers("read")
    claim_id = add_claim(cloud, "clips/lost-from-the-store.mp4")  # the blob store lost the file
    status = cloud.wait_status(claim_id, headers, {"FAILED"})
    assert "FileNotFoundError" in status["error"]
    job = cloud.call(AssessmentJob.select().where(AssessmentJob.claim_id == claim_id).first().run)
    assert (job["state"], job["attempts"]) == ("failed", 3)
    assert (
        cloud.runtime.metrics.assessments["retried"] == 2 and cloud.runtime.metrics.assessments["failed"] == 1
    )
    events = cloud.client.get(f"/reviews/{claim_id}/history", headers=headers).json()["events"]
    assert [e["event_type"] for e in events] == ["received", "assessment_failed"]


def test_a_clip_that_does_not_decode_fails_at_once(cloud: CloudApp) -> None:
    cloud.runtime.blobs.write_bytes("clips/garbage.mp4", b"not a video at all" * 50)
    claim_id = add_claim(cloud, "clips/garbage.mp4")
    status = cloud.wait_status(claim_id, cloud.headers("read"), {"FAILED"})
    assert status["error"] and status["progress_percent"] == 0
    job = cloud.call(AssessmentJob.select().where(AssessmentJob.claim_id == claim_id).first().run)
    assert job["attempts"] == 1


def test_leases_are_exclusive_and_expire(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    with running(make_settings(worker_enabled=False)) as cloud:
        jobs = cloud.runtime.jobs
        video = write_mp4(tmp_path / "v.mp4", lambda _: 80)
        cloud.runtime.blobs.write_bytes("clips/v.mp4", video)
        claim_id = add_claim(cloud, "clips/v.mp4")

        async def two_workers() -> list:
            return list(await asyncio.gather(jobs.lease(), jobs.lease()))

        taken = [job for job in cloud.call(two_workers) if job is not None]
        assert len(taken) == 1 and taken[0].claim_id == claim_id and taken[0].attempts == 1
        assert cloud.call(jobs.lease) is None

        async def expire() -> None:  # its worker died: the lease runs out
            past = utcnow() - timedelta(seconds=1)
            await AssessmentJob.update({AssessmentJob.lease_until: past}).where(
                AssessmentJob.claim_id == claim_id
            ).run()

        cloud.call(expire)
        again = cloud.call(jobs.lease)
        assert again is not None and again.attempts == 2

        service = cloud.runtime.assessments
        cloud.call(service.process, again)
        cloud.call(service.process, taken[0])  # the first worker comes back and finishes too
        assert cloud.call(Assessment.count().where(Assessment.claim_id == claim_id).run) == 1
        assessed = AuditEntry.count().where(
            (AuditEntry.claim_id == claim_id) & (AuditEntry.event_type == "assessed")
        )
        assert cloud.call(assessed.run) == 1
        assert (
            cloud.client.get(f"/claims/{claim_id}/status", headers=cloud.headers("read")).json()["status"]
            == "ASSESSED"
        )
