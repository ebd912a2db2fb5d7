"""kill -9 of the agent mid-upload against the real cloud-api: one claim, the clip byte for byte."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from delivery_support import TopicProbe, wait_until

from deploy.localstack import CloudService, MosquittoBroker, provision_device, run_edge_agent
from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive
from shared_models import ClipChunk, IncidentManifest, TopicKind
from shared_models.topics import subscription

pytestmark = pytest.mark.e2e

DEVICE_ID = "truck-kill9"


@pytest.fixture
def stack(tmp_path: Path, broker: MosquittoBroker) -> Iterator[tuple[CloudService, httpx.Client]]:
    with CloudService(tmp_path / "cloud", broker.url) as cloud:
        key = cloud.create_key("read,write")
        with httpx.Client(base_url=cloud.base_url, headers={"X-API-Key": key}, timeout=10) as client:
            yield cloud, client


def _agent(drive: Path, data_dir: Path, broker: MosquittoBroker, config: Path) -> subprocess.Popen[bytes]:
    args = ["run", "--source", str(drive), "--device-id", DEVICE_ID, "--broker", broker.url]
    args += ["--data-dir", str(data_dir), "--config", str(config)]
    return subprocess.Popen(
        [sys.executable, "-m", "edge_agent.cli", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def test_kill9_mid_upload_gives_one_claim_with_the_exact_clip(
    tmp_path: Path, broker: MosquittoBroker, stack: tuple[CloudService, httpx.Client]
) -> None:
    cloud, client = stack
    drive = tmp_path / "impact.mp4"
    write_sample_drive(  # seed 1: a clear crash (seed 3 is marginal for the motion model, test_spine)
        drive, SampleDriveSpec(seed=1, impact_at_s=8.0, duration_s=14.0, width=640, height=360)
    )
    data_dir = tmp_path / "edge"
    provision_device(cloud, DEVICE_ID, data_dir)
    config = tmp_path / "agent.toml"
    config.write_text("[clip]\nchunk_size_bytes = 1024\n")  # many small chunks: the kills land mid-upload
    chunks = TopicProbe(broker.url, subscription(TopicKind.CHUNK, DEVICE_ID))
    manifests = TopicProbe(broker.url, subscription(TopicKind.MANIFEST, DEVICE_ID))
    seen_at_kill: list[int] = []
    agent = _agent(drive, data_dir, broker, config)
    try:
        for target in (50, 400):
            wait_until(lambda: len(chunks.messages) >= target, timeout_s=180, what=f"{target} chunks sent")
            os.kill(agent.pid, signal.SIGKILL)
            agent.wait(15)
            seen_at_kill.append(len({m.seq for m, _ in chunks.messages if isinstance(m, ClipChunk)}))
            agent = _agent(drive, data_dir, broker, config)
        agent.terminate()
        agent.wait(30)
        finished = run_edge_agent(drive, DEVICE_ID, broker.url, data_dir, timeout=240)
        assert finished.returncode == 0, finished.stderr[-3000:]
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
        chunks.close()
        manifests.close()
    sent = [m for m, _ in manifests.messages if isinstance(m, IncidentManifest)]
    assert len({m.incident_id for m in sent}) == 1  # one incident cut, never a second copy under a new id
    manifest = sent[0]
    assert seen_at_kill[0] < manifest.chunk_count  # the first kill interrupted the transfer

    items = client.get("/claims", params={"limit": 100}).raise_for_status().json()["items"]
    claims = [c for c in items if c["device_id"] == DEVICE_ID]
    assert len(claims) == 1 and claims[0]["incident_id"] == manifest.incident_id
    video = client.get(f"/claims/{claims[0]['claim_id']}/video").raise_for_status().content
    assert hashlib.sha256(video).hexdigest() == manifest.sha256 == claims[0]["video_sha256"]
    assert len(video) == manifest.size_bytes == claims[0]["size_bytes"]
