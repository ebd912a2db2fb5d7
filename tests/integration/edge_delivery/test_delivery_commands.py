"""Cloud commands against the running agent on a real Mosquitto, published by the test as the cloud would."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
from delivery_support import CloudCommands, ScriptedCloud, cloud_for_agent, wait_until

from deploy.localstack import MosquittoBroker
from edge_agent.app import AgentOptions, EdgeAgent
from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive
from shared_models import (
    ConfigPush,
    FootageRequest,
    Ping,
    TopicKind,
    encode,
    topic_for,
)

DEVICE_ID = "dev-cmd-1"


@pytest.fixture(scope="module")
def drives(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("drives")
    paths = []
    for seed in (6, 8):  # each with a clear incident (motion 1.0): this tests commands, not detection
        path = folder / f"drive{seed}.mp4"
        spec = SampleDriveSpec(seed=seed, impact_at_s=6.0, duration_s=10.0, width=320, height=180)
        write_sample_drive(path, spec)
        paths.append(path)
    return paths


def _id() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture
def cloud(broker: MosquittoBroker, data_dir: Path) -> Iterator[ScriptedCloud]:
    with cloud_for_agent(broker.url, data_dir, DEVICE_ID) as scripted:
        yield scripted


@pytest.fixture
def commands(broker: MosquittoBroker) -> Iterator[CloudCommands]:
    sender = CloudCommands(broker.url, DEVICE_ID)
    yield sender
    sender.close()


def start_agent(source: Path, data_dir: Path, broker: MosquittoBroker) -> EdgeAgent:
    agent = EdgeAgent(
        AgentOptions(source=str(source), device_id=DEVICE_ID, broker_url=broker.url, data_dir=data_dir)
    )
    agent.init()
    agent.start()
    return agent


@pytest.fixture
def agents() -> Iterator[list[EdgeAgent]]:
    started: list[EdgeAgent] = []
    yield started
    for agent in started:
        agent.source_done.wait(60)  # the source thread is a daemon: let it end before the process does
        agent.shutdown()


def test_ping_and_config_push_apply_live_and_survive_restart(
    drives: list[Path],
    data_dir: Path,
    broker: MosquittoBroker,
    cloud: ScriptedCloud,
    commands: CloudCommands,
    agents: list[EdgeAgent],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent")
    agent = start_agent(drives[0], data_dir, broker)
    agents.append(agent)
    wait_until(agent.source_done.is_set, timeout_s=120, what="first drive mined")
    wait_until(lambda: len(cloud.completed) == 1, timeout_s=60, what="its incident delivered")

    pong = commands.send(Ping(command_id=_id(), issued_at=time.time()))
    assert pong.ok and pong.device_id == DEVICE_ID and pong.detail.startswith("pong")

    bad = commands.send(
        ConfigPush(command_id=_id(), issued_at=time.time(), config={"fusion": {"cooldown_s": -1}})
    )
    assert not bad.ok and "cooldown_s" in bad.detail
    typo = commands.send(
        ConfigPush(command_id=_id(), issued_at=time.time(), config={"fusion": {"cooldwn_s": 3}})
    )
    assert not typo.ok and "cooldwn_s" in typo.detail
    assert agent.config.fusion.cooldown_s == 10.0  # refused pushes change nothing

    push = ConfigPush(
        command_id=_id(),
        issued_at=time.time(),
        config={"fusion": {"max_incidents_per_hour": 0}, "outbox": {"quota_bytes": 5_000_000}},
    )
    result = commands.send(push)
    assert result.ok and "fusion.max_incidents_per_hour" in result.detail
    assert agent.outbox.quota_bytes == 5_000_000
    # Applied without a restart: the next recording (same impact, new file) yields no incident now.
    assert agent.intake.ingest(drives[1])
    assert "incidents=0" in caplog.text.split(f"intake.done source={drives[1]}")[1].splitlines()[0]

    # The same command delivered again (QoS 1 is at least once) answers the stored result, runs nothing.
    commands.client.publish(topic_for(TopicKind.COMMAND, DEVICE_ID), encode(push), qos=1)
    again = commands.result(push.command_id, count=2)
    assert again == result
    assert caplog.text.count(f"config.applied command_id={push.command_id}") == 1

    # The MQTT session's own settings cannot change under a live connection: the result says so.
    session = ConfigPush(
        command_id=_id(), issued_at=time.time(), config={"publisher": {"reconnect_max_s": 30}}
    )
    deferred = commands.send(session)
    assert deferred.ok and deferred.detail.endswith("at next start: publisher.reconnect_max_s")

    agent.shutdown()
    agents.remove(agent)
    stored = json.loads((data_dir / "pushed_config.json").read_text())
    assert stored == {
        "fusion": {"max_incidents_per_hour": 0},
        "outbox": {"quota_bytes": 5_000_000},
        "publisher": {"reconnect_max_s": 30},
    }
    restarted = EdgeAgent(
        AgentOptions(source=str(drives[1]), device_id=DEVICE_ID, broker_url=broker.url, data_dir=data_dir)
    )
    restarted.init_config()
    assert restarted.config.fusion.max_incidents_per_hour == 0
    assert restarted.config.outbox.quota_bytes == 5_000_000


def test_footage_request_is_cut_from_the_recording_and_delivered(
    drives: list[Path],
    data_dir: Path,
    broker: MosquittoBroker,
    cloud: ScriptedCloud,
    commands: CloudCommands,
    agents: list[EdgeAgent],
) -> None:
    agent = start_agent(drives[0], data_dir, broker)
    agents.append(agent)
    wait_until(agent.recordings.recordings, timeout_s=60, what="recording indexed as it is read")
    [recording] = agent.recordings.recordings()
    assert recording.path == str(drives[0]) and recording.duration_s == pytest.approx(10.0, abs=0.1)

    start_at = recording.recorded_at + 2.5
    request = FootageRequest(
        command_id=_id(), issued_at=time.time(), start_at=start_at, end_at=start_at + 4.0
    )
    result = commands.send(request)
    assert result.ok, result.detail
    incident_id = result.detail.split("incident=")[1].split()[0]
    wait_until(lambda: incident_id in cloud.completed, timeout_s=60, what="requested footage delivered")
    manifest = cloud.manifests[incident_id]
    assert manifest.reason == "footage_request" and manifest.score == 0.0
    assert manifest.recorded_at == pytest.approx(recording.recorded_at)
    assert manifest.clip_start_s == pytest.approx(2.0, abs=0.01)  # the keyframe before 2.5 s
    with av.open(io.BytesIO(cloud.completed[incident_id])) as container:
        frames = [f.time for f in container.decode(video=0)]
    assert 4.5 <= frames[-1] - frames[0] + 1 / 30 <= 4.7  # 2.0 .. 6.5 s of the recording
    wait_until(lambda: agent.outbox.depth() == 0, what="outbox empty after COMPLETE")

    elsewhere = FootageRequest(
        command_id=_id(), issued_at=time.time(), start_at=start_at - 3600, end_at=start_at - 3590
    )
    missing = commands.send(elsewhere)
    assert not missing.ok and "no local recording covers" in missing.detail
    too_long = commands.send(
        FootageRequest(command_id=_id(), issued_at=time.time(), start_at=start_at, end_at=start_at + 3600)
    )
    assert not too_long.ok and "clip.footage_max_s" in too_long.detail
    assert [m.reason for m in cloud.manifests.values()].count("footage_request") == 1


def test_config_push_reaches_the_recording_being_mined(
    tmp_path: Path, data_dir: Path, broker: MosquittoBroker, commands: CloudCommands, agents: list[EdgeAgent]
) -> None:
    late_impact = tmp_path / "late.mp4"  # the impact comes late, long after the push lands
    spec = SampleDriveSpec(seed=9, impact_at_s=26.0, duration_s=30.0, width=320, height=180)
    write_sample_drive(late_impact, spec)
    agent = EdgeAgent(
        AgentOptions(source=str(late_impact), device_id=DEVICE_ID, broker_url=broker.url, data_dir=data_dir)
    )
    agent.init()
    agents.append(agent)
    agent.start()
    wait_until(lambda: agent.intake._session is not None, what="mining session open")
    push = ConfigPush(
        command_id=_id(), issued_at=time.time(), config={"fusion": {"max_incidents_per_hour": 0}}
    )
    assert commands.send(push).ok
    assert not agent.source_done.is_set()  # applied while the recording was still being mined
    wait_until(agent.source_done.is_set, timeout_s=180, what="drive mined")
    assert agent.source_ok and agent.outbox.depth() == 0  # the impact at 26 s was judged by the new budget


def test_a_command_not_yet_run_when_the_agent_dies_is_run_after_restart(
    tmp_path: Path,
    drives: list[Path],
    data_dir: Path,
    broker: MosquittoBroker,
    commands: CloudCommands,
    agents: list[EdgeAgent],
) -> None:
    # A process that takes the command off the broker and dies (kill -9) before running it.
    marker = tmp_path / "received"
    dying = textwrap.dedent(f"""
        import pathlib, time
        from edge_agent.mqtt_url import parse_broker_url
        from edge_agent.publisher import LinkSettings, MqttLink
        link = MqttLink(LinkSettings(device_id={DEVICE_ID!r}, broker=parse_broker_url({broker.url!r})))
        link.on_command = lambda command: pathlib.Path({str(marker)!r}).write_text(command.command_id)
        link.on_ready = lambda: pathlib.Path({str(marker)!r} + ".ready").touch()
        link.start()
        time.sleep(300)
        """)
    process = subprocess.Popen([sys.executable, "-c", dying])
    try:
        wait_until(lambda: Path(f"{marker}.ready").exists(), what="dying agent subscribed")
        ping = Ping(command_id=_id(), issued_at=time.time())
        commands.client.publish(topic_for(TopicKind.COMMAND, DEVICE_ID), encode(ping), qos=1)
        wait_until(marker.exists, what="command taken by the dying agent")
        assert marker.read_text() == ping.command_id
    finally:
        process.kill()
        process.wait()

    agent = start_agent(drives[0], data_dir, broker)  # same device id: the broker's session redelivers
    agents.append(agent)
    result = commands.result(ping.command_id)
    assert result.ok and result.detail.startswith("pong")
