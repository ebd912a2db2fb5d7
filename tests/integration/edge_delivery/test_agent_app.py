"""``edge-agent run`` end to end on the device side: a generated drive, a real broker, the scripted cloud."""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
from delivery_support import ScriptedCloud, TopicProbe, agent_run_args, cloud_for_agent, wait_until

from deploy.localstack import MosquittoBroker, free_port
from edge_agent.app import AgentOptions, run_agent
from edge_agent.outbox import Outbox
from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive
from shared_models import DeviceState, DeviceStatus, TopicKind, topic_for

DEVICE_ID = "dev-app-1"
IMPACT_AT_S = 7.0


@pytest.fixture(scope="module")
def drive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("drive") / "drive.mp4"
    write_sample_drive(
        path, SampleDriveSpec(seed=3, impact_at_s=IMPACT_AT_S, duration_s=12.0, width=320, height=180)
    )
    return path


@pytest.fixture
def app_cloud(broker: MosquittoBroker, data_dir: Path) -> Iterator[ScriptedCloud]:
    with cloud_for_agent(broker.url, data_dir, DEVICE_ID) as scripted:
        yield scripted


def options(drive: Path, data_dir: Path, broker_url: str, **extra: object) -> AgentOptions:
    return AgentOptions(
        source=str(drive),
        device_id=DEVICE_ID,
        broker_url=broker_url,
        data_dir=data_dir,
        exit_when_idle=True,
        **extra,
    )


def test_run_delivers_the_incident_clip_and_exits_when_idle(
    drive: Path,
    data_dir: Path,
    broker: MosquittoBroker,
    app_cloud: ScriptedCloud,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent")
    assert run_agent(options(drive, data_dir, broker.url)) == 0

    assert len(app_cloud.completed) == 1
    ((incident_id, clip),) = app_cloud.completed.items()
    manifest = app_cloud.manifests[incident_id]
    assert abs(manifest.peak_s - IMPACT_AT_S) < 0.5
    assert manifest.clip_start_s <= manifest.peak_s <= manifest.clip_start_s + manifest.clip_duration_s
    assert abs(manifest.recorded_at - (drive.stat().st_mtime - 12.0)) < 0.5
    with av.open(io.BytesIO(clip)) as container:  # the delivered bytes are a playable clip
        frames = sum(1 for _ in container.decode(video=0))
    assert frames >= 30
    assert Outbox(data_dir / "outbox").depth() == 0

    # A second run over the same recording cuts nothing again and sends nothing.
    assert run_agent(options(drive, data_dir, broker.url)) == 0
    assert "intake.skipped" in caplog.text
    assert list(app_cloud.manifest_count.values()) == [1]


def test_undelivered_incident_is_not_cut_twice_after_restart(
    drive: Path,
    data_dir: Path,
    broker: MosquittoBroker,
    app_cloud: ScriptedCloud,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    nobody = f"mqtt://127.0.0.1:{free_port()}"
    assert run_agent(options(drive, data_dir, nobody, idle_timeout_s=2.0)) == 1
    assert "still waiting for the cloud's ack" in capsys.readouterr().err
    held = [entry.incident_id for entry in Outbox(data_dir / "outbox").pending()]
    assert len(held) == 1
    # As if the agent died between putting the clip in the outbox and writing the processed marker.
    (data_dir / "processed_sources.json").unlink()

    caplog.set_level(logging.INFO, logger="edge_agent")
    assert run_agent(options(drive, data_dir, broker.url)) == 0
    assert "intake.already_cut" in caplog.text
    assert list(app_cloud.completed) == held
    assert list(app_cloud.manifest_count) == held


def test_bad_broker_url_fails_fast(drive: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_agent(options(drive, data_dir, "http://127.0.0.1:1883")) == 2
    assert "mqtt://" in capsys.readouterr().err


def _agent_process(drive: Path, data_dir: Path, broker: MosquittoBroker) -> subprocess.Popen[bytes]:
    args = agent_run_args(drive, DEVICE_ID, broker.url, data_dir)
    return subprocess.Popen(
        [sys.executable, "-m", "edge_agent.cli", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _states(probe: TopicProbe) -> list[tuple[DeviceState, bool]]:
    return [(m.state, retained) for m, retained in probe.messages if isinstance(m, DeviceStatus)]


@pytest.mark.parametrize("ending", ["kill -9", "SIGTERM"])
def test_status_goes_offline_when_the_agent_dies_or_stops(
    ending: str, drive: Path, data_dir: Path, broker: MosquittoBroker, app_cloud: ScriptedCloud
) -> None:
    status_topic = topic_for(TopicKind.STATUS, DEVICE_ID)
    probe = TopicProbe(broker.url, status_topic)
    agent = _agent_process(drive, data_dir, broker)
    try:
        wait_until(lambda: (DeviceState.ONLINE, False) in _states(probe), what="ONLINE status")
        wait_until(lambda: app_cloud.completed, what="the clip delivered")
        os.kill(agent.pid, signal.SIGKILL if ending == "kill -9" else signal.SIGTERM)
        assert agent.wait(15) == (-signal.SIGKILL if ending == "kill -9" else 0)
        wait_until(lambda: _states(probe)[-1][0] is DeviceState.OFFLINE, what="OFFLINE status")
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
        probe.close()
    # Retained: whoever looks later (a cloud replica starting up) sees the device offline at once.
    late = TopicProbe(broker.url, status_topic)
    try:
        wait_until(lambda: late.messages, what="retained status")
        assert _states(late) == [(DeviceState.OFFLINE, True)]
    finally:
        late.close()
