"""Heartbeats on the real broker: they arrive, decode as HealthHeartbeat and carry live outbox figures."""

from __future__ import annotations

import threading
from pathlib import Path

from delivery_support import ClipMaker, DeviceSide, TopicProbe, wait_until

from edge_agent import __version__
from edge_agent.health import AgentStats, HealthEmitter, HealthMonitor
from shared_models import CameraState, HealthHeartbeat, TopicKind, topic_for
from deploy.localstack import MosquittoBroker


def test_heartbeat_arrives_and_decodes(
    broker: MosquittoBroker, clips: ClipMaker, tmp_path: Path, device_factory
) -> None:
    device: DeviceSide = device_factory()
    clip, manifest = clips.make(7000)
    device.outbox.put(clip, manifest)  # no delivery: the entry stays put and shows in the heartbeat
    stats = AgentStats()
    stats.add_frames(120, dropped=3)
    monitor = HealthMonitor(
        device.link.device_id, tmp_path, device.outbox, stats, model_versions=lambda: {"motion": "h1"}
    )
    stop = threading.Event()
    emitter = HealthEmitter(monitor, device.link, stop, interval_s=0.2)
    probe = TopicProbe(broker.url, topic_for(TopicKind.HEALTH, device.link.device_id))
    try:
        device.start(deliver=False)
        emitter.start()
        wait_until(lambda: len(probe.messages) >= 2, what="two heartbeats")
    finally:
        stop.set()
        emitter.join(5)
        probe.close()

    beats = [message for message, _ in probe.messages]
    assert all(isinstance(beat, HealthHeartbeat) for beat in beats)
    first: HealthHeartbeat = beats[0]
    assert first.device_id == device.link.device_id
    assert (first.outbox_depth, first.outbox_bytes) == (1, 7000)
    assert first.dropped_frames == 3
    assert first.fps > 0  # the 120 frames fell in the first interval
    assert beats[1].fps == 0.0  # and none since
    assert first.model_versions == {"motion": "h1"}
    assert first.firmware == __version__
    assert first.camera_state is CameraState.UNKNOWN
    assert first.disk_free_bytes > 0 and 0 <= first.memory_percent <= 100
    assert beats[1].uptime_s > first.uptime_s
