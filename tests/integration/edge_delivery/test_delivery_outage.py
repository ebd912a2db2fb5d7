"""A real mosquitto stopped mid-transfer and restarted on the same port (persistence on): what was queued
before and during the outage is delivered after it, and the cloud's session keeps its acks flowing."""

from __future__ import annotations

import random

from delivery_support import ClipMaker, DeviceSide, ScriptedCloud, wait_until

from deploy.localstack import MosquittoBroker
from edge_agent.mqtt_url import parse_broker_url
from edge_agent.publisher import LinkSettings, reconnect_jitter_s


def test_clips_queued_during_an_outage_are_delivered_after_it(
    broker: MosquittoBroker, clips: ClipMaker, cloud: ScriptedCloud, device_factory
) -> None:
    big, big_manifest = clips.make(1_000_000, score=0.8, chunk_size=2048)
    originals = {big_manifest.incident_id: big.read_bytes()}
    device: DeviceSide = device_factory(ack_timeout_s=3.0)
    device.outbox.put(big, big_manifest)
    device.start()
    wait_until(lambda: len(cloud.receipts.get(big_manifest.incident_id, [])) >= 30, what="transfer under way")
    port = broker.port
    broker.stop()
    wait_until(lambda: not device.link.is_ready(), what="device notices the outage")
    assert big_manifest.incident_id not in cloud.completed

    for score in (0.9, 0.1):  # new incidents while the broker is away: they wait in the outbox
        clip, manifest = clips.make(20_000, score=score)
        originals[manifest.incident_id] = clip.read_bytes()
        device.outbox.put(clip, manifest)
        device.delivery.wake.set()
    assert device.outbox.depth() == 3

    broker.start()
    assert broker.port == port
    wait_until(lambda: device.outbox.depth() == 0, timeout_s=90, what="everything delivered after the outage")
    assert cloud.completed == originals


def test_reconnect_jitter_doubles_to_the_cap_and_spreads_devices() -> None:
    settings = LinkSettings(
        device_id="d", broker=parse_broker_url("mqtt://127.0.0.1:1"), reconnect_min_s=1, reconnect_max_s=8
    )
    rng = random.Random(4)
    for failures, cap in [(0, 1), (1, 2), (2, 4), (3, 8), (6, 8)]:
        waits = [reconnect_jitter_s(failures, settings, rng) for _ in range(200)]
        assert 0 <= min(waits) and max(waits) <= cap
        assert max(waits) > 0.8 * cap and min(waits) < 0.2 * cap  # spread over the range, not lockstep
