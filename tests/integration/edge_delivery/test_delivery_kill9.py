"""kill -9 of the real agent process mid-upload and mid-cut: after restarts every clip arrives once, intact.

The cloud here is the scripted ingest of ``delivery_support`` on a real Mosquitto (a test subscriber that
reassembles, verifies hashes and the signature, and sends the acks), not cloud-api: the assertion is on
what it received and on the acks it sent.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import av
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from delivery_support import ClipMaker, ScriptedCloud, agent_run_args, wait_until

from deploy.localstack import MosquittoBroker
from edge_agent.clips import DeviceKey
from edge_agent.outbox import Outbox
from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive
from shared_models import AckStatus

DEVICE_ID = "dev-test-1"  # the id ClipMaker signs for


def start_agent(
    source: Path, data_dir: Path, broker: MosquittoBroker, *extra: str
) -> subprocess.Popen[bytes]:
    args = agent_run_args(source, DEVICE_ID, broker.url, data_dir)
    return subprocess.Popen(
        [sys.executable, "-m", "edge_agent.cli", *args, *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill9(agent: subprocess.Popen[bytes]) -> None:
    os.kill(agent.pid, signal.SIGKILL)
    assert agent.wait(15) == -signal.SIGKILL


def entries(data_dir: Path) -> set[str]:
    """Visible outbox entries, without opening an Outbox (that would clear the live agent's temp files)."""
    root = data_dir / "outbox"
    return {p.name for p in root.iterdir() if not p.name.startswith(".")} if root.exists() else set()


def test_kill9_while_uploading_then_restart_delivers_each_clip_once_intact(
    tmp_path: Path, broker: MosquittoBroker, clips: ClipMaker
) -> None:
    data_dir = tmp_path / "edge"
    outbox = Outbox(data_dir / "outbox")
    originals: dict[str, bytes] = {}
    for score in (0.9, 0.6, 0.3):
        clip, manifest = clips.make(1_200_000, score=score, chunk_size=2048)  # 586 chunks each
        originals[manifest.incident_id] = clip.read_bytes()
        outbox.put(clip, manifest)
    del outbox
    cloud = ScriptedCloud(broker.url, clips.key.public_key())
    no_video = tmp_path / "no-recording.mp4"  # the source fails at once: this run only delivers
    agent = start_agent(no_video, data_dir, broker)
    try:
        kills, mid_transfer = 0, 0
        for target in (100, 700, 1300):  # chunks received by the cloud when the agent is killed
            wait_until(
                lambda: sum(map(len, cloud.receipts.values())) >= target,
                timeout_s=60,
                what=f"{target} chunks",
            )
            kill9(agent)
            kills += 1
            with cloud.lock:
                mid_transfer += len(cloud.completed) < len(originals)
            agent = start_agent(no_video, data_dir, broker)
        wait_until(lambda: not entries(data_dir), timeout_s=120, what="outbox emptied by COMPLETE acks")
    finally:
        agent.kill()
        agent.wait()
        cloud.close()

    assert kills == 3 and mid_transfer >= 2  # the kills hit the agent while chunks were on the wire
    assert cloud.completed == originals  # every clip, byte for byte
    assert set(cloud.manifests) == set(originals)  # and no other incident appeared
    completes = [ack.incident_id for ack in cloud.acks_sent if ack.status is AckStatus.COMPLETE]
    assert set(completes) == set(originals)
    # Only what the cloud named missing was sent again: at most one window of chunks per kill re-sent
    # by the broker session, the rest by MISSING.
    total_chunks = sum(-(-len(data) // 2048) for data in originals.values())
    assert sum(map(len, cloud.receipts.values())) <= total_chunks + kills * 64


def test_kill9_while_cutting_and_queueing_then_restart_sends_the_incident_once(
    tmp_path: Path, broker: MosquittoBroker
) -> None:
    drive = tmp_path / "drive.mp4"
    write_sample_drive(
        drive, SampleDriveSpec(seed=3, impact_at_s=6.0, duration_s=10.0, width=640, height=360)
    )
    data_dir = tmp_path / "edge"
    key = DeviceKey.load_or_create(data_dir)
    cloud = ScriptedCloud(broker.url, load_pem_public_key(key.public_key_pem()))  # type: ignore[arg-type]
    config = tmp_path / "agent.toml"
    config.write_text("[clip]\nchunk_size_bytes = 2048\n")
    moments = [
        ("clip being cut or queued", lambda: any((data_dir / "work").glob("*")) or bool(entries(data_dir))),
        ("clip being uploaded", lambda: bool(cloud.receipts)),
    ]
    agent = start_agent(drive, data_dir, broker, "--config", str(config))
    try:
        for what, moment in moments:
            wait_until(moment, timeout_s=180, what=what)
            kill9(agent)
            agent = start_agent(drive, data_dir, broker, "--config", str(config))
        wait_until(lambda: cloud.completed and not entries(data_dir), timeout_s=180, what="delivery")
    finally:
        agent.kill()
        agent.wait()
        cloud.close()

    assert len(cloud.manifests) == 1  # one incident, cut once, whatever the kills interrupted
    ((incident_id, clip),) = cloud.completed.items()
    manifest = cloud.manifests[incident_id]
    assert hashlib.sha256(clip).hexdigest() == manifest.sha256
    assert abs(manifest.peak_s - 6.0) < 0.5
    with av.open(io.BytesIO(clip)) as container:
        assert sum(1 for _ in container.decode(video=0)) >= 30
