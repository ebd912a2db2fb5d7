"""The real agent against a real broker: with a live MJPEG camera its heartbeat carries frames/s and the
camera state, through the camera vanishing and coming back; with a file it cannot read it logs one line
and keeps beating, the outbox untouched, and a command's issued_at sets the heartbeat's clock offset."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from deploy.localstack import MosquittoBroker
from edge_agent.app import AgentOptions, EdgeAgent
from edge_agent.mqtt_url import parse_broker_url
from shared_models import CameraState, HealthHeartbeat, Ping, TopicKind, decode, encode, topic_for
from tests.integration.edge_sources.mjpeg_server import MjpegCamera

DEVICE_ID = "dev-src-1"
FAST = """
[health]
heartbeat_interval_s = 0.3
[camera]
window_s = 1.0
frozen_s = 2.0
stale_s = 1.0
[source]
reconnect_min_s = 0.1
reconnect_max_s = 0.5
"""


class Heartbeats:
    """Every heartbeat the device sends, decoded."""

    def __init__(self, url: str) -> None:
        self.beats: list[HealthHeartbeat] = []
        address = parse_broker_url(url)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        ready = threading.Event()
        self.client.on_connect = lambda c, *a: c.subscribe(topic_for(TopicKind.HEALTH, DEVICE_ID), 0)
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = lambda c, u, m: self.beats.append(decode(m.payload, HealthHeartbeat))
        self.client.connect(address.host, address.port)
        self.client.loop_start()
        assert ready.wait(10)

    def wait_for(
        self, check: Callable[[HealthHeartbeat], bool], what: str, timeout_s: float = 30
    ) -> HealthHeartbeat:
        seen = len(self.beats)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for beat in self.beats[seen:]:
                if check(beat):
                    return beat
            time.sleep(0.05)
        raise AssertionError(f"no heartbeat with {what}; last: {self.beats[-1:]}")

    def command(self, message: Ping) -> None:
        """Publish a command as the cloud does."""
        topic = topic_for(TopicKind.COMMAND, DEVICE_ID)
        self.client.publish(topic, encode(message), qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def heartbeats(broker: MosquittoBroker) -> Iterator[Heartbeats]:
    probe = Heartbeats(broker.url)
    yield probe
    probe.close()


def _agent(source: str, broker: MosquittoBroker, tmp_path: Path) -> EdgeAgent:
    config = tmp_path / "agent.toml"
    config.write_text(FAST)
    options = AgentOptions(
        source=source,
        device_id=DEVICE_ID,
        broker_url=broker.url,
        data_dir=tmp_path / "edge",
        config_path=config,
    )
    agent = EdgeAgent(options)
    agent.init()
    agent.start()
    return agent


def test_live_camera_state_and_rate_follow_the_camera(
    broker: MosquittoBroker, heartbeats: Heartbeats, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    camera = MjpegCamera(fps=20)
    agent = _agent(camera.url, broker, tmp_path)
    try:
        with caplog.at_level(logging.INFO):
            live = heartbeats.wait_for(
                lambda b: b.camera_state is CameraState.OK and b.fps > 5, "a live OK camera"
            )
            assert live.dropped_frames >= 0 and live.uptime_s > 0
            camera.unplug()
            gone = heartbeats.wait_for(
                lambda b: b.camera_state is CameraState.UNKNOWN and b.fps == 0, "no frames after the unplug"
            )
            assert gone.uptime_s > live.uptime_s
            camera.plug()
            heartbeats.wait_for(lambda b: b.camera_state is CameraState.OK and b.fps > 5, "the camera back")
        events = [r.message.split()[0] for r in caplog.records]
        assert "source.camera_lost" in events and "source.camera_reconnected" in events
    finally:
        agent.shutdown()
        camera.unplug()


def test_camera_down_at_start_is_waited_for(
    broker: MosquittoBroker, heartbeats: Heartbeats, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A dashcam that boots before its camera: the agent beats meanwhile and mines once it comes up."""
    camera = MjpegCamera(fps=20)
    camera.unplug()  # the port is known and refuses connections
    with caplog.at_level(logging.INFO):
        agent = _agent(camera.url, broker, tmp_path)
        try:
            waiting = heartbeats.wait_for(lambda b: b.uptime_s > 1.0, "a heartbeat while the camera is down")
            assert waiting.camera_state is CameraState.UNKNOWN and waiting.fps == 0
            assert not agent.source_done.is_set()  # still waiting for the camera, not given up
            camera.plug()
            heartbeats.wait_for(lambda b: b.camera_state is CameraState.OK and b.fps > 5, "the camera up")
        finally:
            agent.shutdown()
            camera.unplug()
    events = [r.message.split()[0] for r in caplog.records]
    assert events.count("source.camera_unavailable") == 1  # one line, not one per try
    assert events.count("source.camera_opened") == 1
    assert "intake.failed" not in events


def test_malformed_camera_address_is_not_retried(broker: MosquittoBroker, tmp_path: Path) -> None:
    agent = _agent("camera:front", broker, tmp_path)
    try:
        assert agent.source_done.wait(10) and agent.source_ok is False
    finally:
        agent.shutdown()


def test_unreadable_source_is_logged_and_the_agent_keeps_beating_and_learns_the_clock(
    broker: MosquittoBroker, heartbeats: Heartbeats, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    with caplog.at_level(logging.INFO):
        agent = _agent(str(bad), broker, tmp_path)
        try:
            assert agent.source_done.wait(20) and agent.source_ok is False
            first = heartbeats.wait_for(lambda b: True, "a heartbeat after the failure")
            heartbeats.wait_for(lambda b: b.uptime_s > first.uptime_s, "a later heartbeat")
            assert agent.outbox.depth() == 0
            assert first.clock_offset_s is None  # no command yet: nothing to compare the clock with
            ahead = Ping(command_id="p-1", issued_at=time.time() + 120.0)  # the cloud's clock is 2 min ahead
            heartbeats.command(ahead)
            synced = heartbeats.wait_for(lambda b: b.clock_offset_s is not None, "a clock offset")
            assert synced.clock_offset_s == pytest.approx(120.0, abs=2.0)
        finally:
            agent.shutdown()
    failures = [r.message for r in caplog.records if r.message.startswith("intake.failed")]
    assert len(failures) == 1 and str(bad) in failures[0]
