"""A full disk while the agent writes a clip: a real file-size limit (RLIMIT_FSIZE) on the agent process.

The kernel refuses the write (EFBIG), exactly as it would with ENOSPC: the agent says so in one log line
and a failed CommandResult, keeps running, and delivers what was already in the outbox.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from delivery_support import ClipMaker, ScriptedCloud, TopicProbe, agent_run_args, wait_until

from deploy.localstack import MosquittoBroker
from edge_agent.outbox import Outbox
from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive
from shared_models import CommandResult, FootageRequest, Ping, TopicKind, encode, topic_for

DEVICE_ID = "dev-test-1"
FILE_LIMIT = 64 * 1024


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


def test_clip_write_hits_the_disk_limit_agent_keeps_running_and_outbox_is_kept(
    tmp_path: Path, broker: MosquittoBroker, clips: ClipMaker
) -> None:
    drive = tmp_path / "drive.mp4"
    write_sample_drive(
        drive, SampleDriveSpec(seed=8, impact_at_s=None, duration_s=10.0, width=640, height=360)
    )
    assert drive.stat().st_size > 4 * FILE_LIMIT  # any clip of a few seconds is over the limit
    data_dir = tmp_path / "edge"
    clip, queued = clips.make(50_000, chunk_size=4096)  # already in the outbox before the disk fills
    original = clip.read_bytes()
    Outbox(data_dir / "outbox").put(clip, queued)
    cloud = ScriptedCloud(broker.url, clips.key.public_key())
    cloud.auto_complete = False  # hold the queued clip in the outbox until the test has checked the failure
    results = TopicProbe(broker.url, topic_for(TopicKind.COMMAND_RESULT, DEVICE_ID))
    log_path = tmp_path / "agent.log"
    args = agent_run_args(drive, DEVICE_ID, broker.url, data_dir)
    with log_path.open("wb") as log:  # the log is the test's file, not written under the agent's limit
        agent = subprocess.Popen(
            [sys.executable, "-m", "edge_agent.cli", *args],
            stdout=log,
            stderr=log,
            preexec_fn=_limit_file_size,
        )
    try:
        wait_until(lambda: (data_dir / "recordings.json").exists(), timeout_s=60, what="recording indexed")
        [recording] = json.loads((data_dir / "recordings.json").read_text())
        request = FootageRequest(
            command_id="footage-1",
            issued_at=time.time(),
            start_at=recording["recorded_at"] + 1.0,
            end_at=recording["recorded_at"] + 8.0,
        )
        cloud.client.publish(topic_for(TopicKind.COMMAND, DEVICE_ID), encode(request), qos=1)

        def result(command_id: str) -> CommandResult | None:
            found = [
                m for m, _ in results.messages if isinstance(m, CommandResult) and m.command_id == command_id
            ]
            return found[0] if found else None

        wait_until(lambda: result("footage-1") is not None, timeout_s=60, what="footage result")
        failed = result("footage-1")
        assert failed is not None and not failed.ok and "no space to write the clip" in failed.detail

        # Still running and answering; nothing already queued lost.
        cloud.client.publish(
            topic_for(TopicKind.COMMAND, DEVICE_ID),
            encode(Ping(command_id="ping-1", issued_at=time.time())),
            qos=1,
        )
        wait_until(lambda: result("ping-1") is not None, timeout_s=30, what="ping answered after the failure")
        assert agent.poll() is None
        wait_until(lambda: queued.incident_id in cloud.completed, timeout_s=60, what="queued clip received")
        assert cloud.completed[queued.incident_id] == original
        assert [p.name for p in (data_dir / "outbox").iterdir() if not p.name.startswith(".")] == [
            queued.incident_id
        ]
        assert not list((data_dir / "work").glob("*"))  # the partial clip was removed
    finally:
        agent.kill()
        agent.wait()
        results.close()
        cloud.close()
    lines = [line for line in log_path.read_text().splitlines() if "no space to write the clip" in line]
    assert len(lines) == 1 and "command.done" in lines[0] and "footage-1" in lines[0]
