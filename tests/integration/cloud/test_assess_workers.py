"""Standalone ``cloud-api worker`` processes on one database: several share the queue with exactly one
assessment per claim; a worker killed with SIGKILL mid-job leaves the job to another once its lease
runs out, while a live worker's lease is renewed; WORKER_MAX_THREADS bounds the jobs run at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cloud_api.domain.assessments.jobs import JobQueue
from cloud_api.domain.assessments.tables import Assessment, AssessmentJob
from cloud_api.domain.assessments.worker import AssessmentWorker
from cloud_api.domain.audit.schemas import ActorType
from cloud_api.domain.audit.tables import AuditEntry
from cloud_api.domain.claims.schemas import NewClaim
from cloud_api.domain.claims.tables import Claim
from cloud_api.settings import Settings
from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive
from tests.integration.cloud.support import CloudApp, running, wait_for, write_mp4

LEASE_S = 2.0


class WorkerProcess:
    """``python -m cloud_api.cli worker`` on the test's database and blob folder."""

    def __init__(self, settings: Settings, log_path: Path, threads: int = 1) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "DATA_DIR": str(settings.data_dir),
            "UPLOAD_DIR": str(settings.blob_dir),
            "WORKER_MAX_THREADS": str(threads),
            "ASSESSMENT_LEASE_S": str(LEASE_S),
            "ASSESSMENT_RETRY_BACKOFF_S": "0.2",
            "RECALIBRATE_EVERY_N_REVIEWS": "0",
        }
        self.log_path = log_path
        self.log = log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cloud_api.cli", "worker"], env=env, stdout=self.log, stderr=self.log
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self) -> None:
        wait_for(lambda: "worker.process_started" in self.log_path.read_text(), 60, "worker process to start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(settings: Settings, threads: int = 1) -> WorkerProcess:
        worker = WorkerProcess(settings, tmp_path / f"worker-{len(started)}.log", threads)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def add_claim(cloud: CloudApp, key: str, video: bytes, sha: str) -> str:
    cloud.runtime.blobs.write_bytes(key, video)
    new = NewClaim(source="upload", video_key=key, video_sha256=sha, size_bytes=len(video), metadata={})
    claim, created = cloud.call(cloud.runtime.claims.create, new, ActorType.SYSTEM, "test")
    assert created
    return claim.claim_id


def job_row(cloud: CloudApp, claim_id: str) -> dict:
    return cloud.call(AssessmentJob.select().where(AssessmentJob.claim_id == claim_id).first().run)


def claim_status(cloud: CloudApp, claim_id: str) -> str:
    return cloud.call(Claim.select(Claim.status).where(Claim.id == claim_id).first().run)["status"]


def assessed_once(cloud: CloudApp, claim_id: str) -> bool:
    assessments = cloud.call(Assessment.count().where(Assessment.claim_id == claim_id).run)
    audited = AuditEntry.count().where(
        (AuditEntry.claim_id == claim_id) & (AuditEntry.event_type == "assessed")
    )
    return assessments == 1 and cloud.call(audited.run) == 1


def test_worker_processes_share_the_queue_one_assessment_per_claim(
    make_settings: Callable[..., Settings], spawn: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    settings = make_settings(worker_enabled=False)
    with running(settings) as cloud:
        workers = [spawn(settings), spawn(settings)]
        for worker in workers:
            worker.wait_ready()
        # Encoded first, then queued back to back: encoding between claims let one worker finish each
        # claim before the next arrived, so a fast poller could take all eight and the other none.
        videos = [
            write_mp4(tmp_path / f"{i}.mp4", lambda n, i=i: (40 + 20 * i + 7 * n) % 250, seconds=1.0)
            for i in range(8)
        ]
        ids = [add_claim(cloud, f"clips/{i}.mp4", video, f"{i:064x}") for i, video in enumerate(videos)]
        headers = cloud.headers("read")
        for claim_id in ids:
            assert (
                cloud.wait_status(claim_id, headers, {"ASSESSED", "FAILED"}, timeout=120)["status"]
                == "ASSESSED"
            )
        assert all(assessed_once(cloud, claim_id) for claim_id in ids)
        holders = {job_row(cloud, claim_id)["leased_by"].split(":")[1] for claim_id in ids}
        assert holders == {str(w.pid) for w in workers}  # both processes took jobs
        assert all(job_row(cloud, claim_id)["attempts"] == 1 for claim_id in ids)


@pytest.fixture(scope="module")
def slow_clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real 8-s 640x360 drive: long enough to read that a worker can be caught in the middle."""
    path = tmp_path_factory.mktemp("slow") / "drive.mp4"
    write_sample_drive(path, SampleDriveSpec(seed=5, duration_s=8, width=640, height=360, impact_at_s=5))
    return path.read_bytes()


def test_a_worker_killed_mid_job_leaves_it_to_another(
    make_settings: Callable[..., Settings], spawn: Callable[..., WorkerProcess], slow_clip: bytes
) -> None:
    settings = make_settings(worker_enabled=False)
    with running(settings) as cloud:
        headers = cloud.headers("read")
        for attempt in range(4):  # until the kill lands while the job runs (it usually does at once)
            doomed = spawn(settings)
            doomed.wait_ready()
            claim_id = add_claim(
                cloud, f"clips/slow-{attempt}.mp4", slow_clip + bytes(attempt), f"{attempt:064x}"
            )
            wait_for(lambda: claim_status(cloud, claim_id) != "QUEUED", 30, "the worker to start the job")
            os.kill(doomed.pid, signal.SIGSTOP)  # freeze it where it is, then look
            job = job_row(cloud, claim_id)
            status = cloud.client.get(f"/claims/{claim_id}/status", headers=headers).json()
            os.kill(doomed.pid, signal.SIGKILL)
            doomed.proc.wait(10)
            if job["state"] == "running":
                break
        else:
            pytest.fail("the worker finished every job before it could be killed")
        assert job["leased_by"].split(":")[1] == str(doomed.pid) and job["attempts"] == 1
        assert status["status"] == "PROCESSING" and 0 < status["progress_percent"] < 100

        rescuer = spawn(settings)
        final = cloud.wait_status(claim_id, headers, {"ASSESSED", "FAILED"}, timeout=90)
        assert final["status"] == "ASSESSED" and final["progress_percent"] == 100
        job = job_row(cloud, claim_id)
        assert job["state"] == "done" and job["attempts"] == 2
        assert job["leased_by"].split(":")[1] == str(rescuer.pid)
        assert assessed_once(cloud, claim_id)


def test_a_live_worker_keeps_its_lease(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    with running(make_settings(worker_enabled=False, assessment_lease_s=0.6)) as cloud:
        jobs = cloud.runtime.jobs
        claim_id = add_claim(cloud, "clips/k.mp4", write_mp4(tmp_path / "k.mp4", lambda _: 90), "b" * 64)
        job = cloud.call(jobs.lease, "holder-1")
        assert job is not None
        for _ in range(3):  # renewing every third of the lease keeps others out well past its length
            time.sleep(0.3)
            assert cloud.call(jobs.renew, job)
            assert cloud.call(jobs.lease, "holder-2") is None
        time.sleep(0.8)  # the holder stops renewing (died): the job is free again
        again = cloud.call(jobs.lease, "holder-2")
        assert again is not None and again.attempts == 2 and again.claim_id == claim_id
        assert not cloud.call(jobs.renew, job)  # the first holder learns it lost the lease
        cloud.call(jobs.complete, job)  # and its late writes change nothing
        assert job_row(cloud, claim_id)["state"] == "running"


def test_worker_max_threads_bounds_the_jobs_in_flight(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    with running(make_settings(worker_enabled=False, worker_max_threads=2)) as cloud:
        ids = [
            add_claim(
                cloud,
                f"clips/t{i}.mp4",
                write_mp4(tmp_path / f"t{i}.mp4", lambda n, i=i: 50 + i * 30 + n),
                f"{i + 100:064x}",
            )
            for i in range(5)
        ]
        runtime = cloud.runtime
        worker = AssessmentWorker(runtime.assessments, runtime.jobs, runtime.settings.worker_max_threads)

        async def start() -> None:
            worker.start()

        cloud.call(start)
        headers = cloud.headers("read")
        try:
            for claim_id in ids:
                assert cloud.wait_status(claim_id, headers, {"ASSESSED"}, timeout=60)
        finally:
            cloud.call(worker.stop)
        assert worker.peak_in_flight == 2  # two at once, never more


def test_retry_backoff_doubles() -> None:
    queue = JobQueue(max_attempts=4, retry_backoff_s=1.5)
    assert [queue.backoff(n).total_seconds() for n in (1, 2, 3)] == [1.5, 3.0, 6.0]
    with pytest.raises(ValueError, match="ASSESSMENT_MAX_ATTEMPTS"):
        JobQueue(max_attempts=0)
