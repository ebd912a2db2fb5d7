"""Outbox -> MQTT -> scripted cloud and back, on a real Mosquitto."""

from __future__ import annotations

import hashlib
import logging

import msgspec
import pytest

from delivery_support import ClipMaker, DeviceSide, ScriptedCloud, wait_until

from deploy.localstack import MosquittoBroker
from edge_agent.outbox import EntryStatus
from shared_models import AckStatus, Ping, TopicKind, encode, topic_for


def test_clip_delivered_intact_and_removed_only_after_complete(
    clips: ClipMaker, cloud: ScriptedCloud, device_factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent")
    cloud.auto_complete = False  # the test sends COMPLETE itself, after checking the entry is still held
    clip, manifest = clips.make(50_000, chunk_size=4096)
    original = clip.read_bytes()
    device: DeviceSide = device_factory()
    device.outbox.put(clip, manifest)
    device.start()

    wait_until(lambda: manifest.incident_id in cloud.completed, what="all chunks at the cloud")
    received = cloud.completed[manifest.incident_id]
    assert hashlib.sha256(received).hexdigest() == manifest.sha256 == hashlib.sha256(original).hexdigest()
    wait_until(
        lambda: device.outbox.get(manifest.incident_id).state.status is EntryStatus.SENT, what="SENT state"
    )
    assert device.outbox.depth() == 1  # every chunk PUBACKed, still no ack: the clip stays

    cloud.ack(manifest.incident_id, AckStatus.COMPLETE)
    wait_until(lambda: device.outbox.depth() == 0, what="removal after COMPLETE")
    assert sorted(cloud.receipts[manifest.incident_id]) == list(range(manifest.chunk_count))
    # Logged just after the removal, on the delivery thread: wait for it rather than race it.
    wait_until(lambda: f"publish.ok incident={manifest.incident_id}" in caplog.text, what="publish.ok logged")


def test_missing_chunks_are_resent_exactly(clips: ClipMaker, cloud: ScriptedCloud, device_factory) -> None:
    clip, manifest = clips.make(40_000, chunk_size=4096)  # 10 chunks
    original = clip.read_bytes()
    cloud.drop_first = {2, 5}
    device = device_factory()
    device.outbox.put(clip, manifest)
    device.start()

    wait_until(lambda: device.outbox.depth() == 0, what="delivery after MISSING [2, 5]")
    receipts = cloud.receipts[manifest.incident_id]
    assert [ack.missing for ack in cloud.acks_sent if ack.status is AckStatus.MISSING] == [[2, 5]]
    assert receipts[: manifest.chunk_count] == list(range(manifest.chunk_count))
    assert receipts[manifest.chunk_count :] == [2, 5]
    assert cloud.completed[manifest.incident_id] == original


def test_rejected_is_dropped_and_does_not_block_the_queue(
    clips: ClipMaker, cloud: ScriptedCloud, device_factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent")
    device = device_factory()
    bad_clip, bad = clips.make(9_000, score=0.9)
    bad = msgspec.structs.replace(bad, signature=b"\x00" * 64)
    good_clip, good = clips.make(9_000, score=0.4)
    device.outbox.put(bad_clip, bad)  # higher score: first in line, and the cloud refuses it for good
    device.outbox.put(good_clip, good)
    device.start()

    wait_until(lambda: device.outbox.depth() == 0, what="both entries settled")
    assert good.incident_id in cloud.completed
    assert bad.incident_id not in cloud.completed
    assert f"publish.rejected incident={bad.incident_id} reason=bad signature" in caplog.text


def test_no_ack_resends_manifest_and_cloud_answers(
    clips: ClipMaker, cloud: ScriptedCloud, device_factory
) -> None:
    cloud.auto_complete = False  # silent cloud: the device must ask again by itself
    clip, manifest = clips.make(12_000)
    device = device_factory(ack_timeout_s=0.5)
    device.outbox.put(clip, manifest)
    device.start()

    wait_until(
        lambda: cloud.manifest_count.get(manifest.incident_id, 0) >= 2, what="manifest re-sent after timeout"
    )
    assert device.outbox.depth() == 1
    cloud.auto_complete = True  # answers the next re-sent manifest with COMPLETE
    wait_until(lambda: device.outbox.depth() == 0, what="COMPLETE after a re-sent manifest")
    assert sorted(set(cloud.receipts[manifest.incident_id])) == list(range(manifest.chunk_count))


def test_broker_outage_mid_transfer_loses_nothing(
    broker: MosquittoBroker, clips: ClipMaker, cloud: ScriptedCloud, device_factory
) -> None:
    clip, manifest = clips.make(1_200_000, chunk_size=2048)  # 586 chunks
    second_clip, second = clips.make(30_000, score=0.2)
    originals = {manifest.incident_id: clip.read_bytes(), second.incident_id: second_clip.read_bytes()}
    seen_at_stop: list[int] = []

    def stop_broker_after_a_few() -> None:
        with cloud.lock:
            seen_at_stop.append(len(cloud.chunks.get(manifest.incident_id, {})))
        broker.stop()

    device = device_factory(ack_timeout_s=3.0)
    device.outbox.put(clip, manifest)
    device.outbox.put(second_clip, second)
    device.start()
    wait_until(lambda: len(cloud.receipts.get(manifest.incident_id, [])) >= 20, what="transfer under way")
    stop_broker_after_a_few()
    assert seen_at_stop[0] < manifest.chunk_count
    wait_until(lambda: not device.link.is_ready(), what="device notices the outage")
    broker.start()

    wait_until(lambda: device.outbox.depth() == 0, timeout_s=60, what="delivery after the broker came back")
    assert cloud.completed == originals


def test_malformed_acks_are_counted_and_ignored(
    clips: ClipMaker, cloud: ScriptedCloud, device_factory
) -> None:
    device: DeviceSide = device_factory()
    device.start()
    wait_until(device.link.is_ready, what="device connected")
    ack_topic = topic_for(TopicKind.ACK, device.link.device_id)
    cloud.client.publish(ack_topic, b"\xc1 not msgpack", qos=1)
    cloud.client.publish(ack_topic, encode(Ping(command_id="c1", issued_at=0.0)), qos=1)  # not an ack
    wait_until(lambda: device.link.rejected == 2, what="both counted as rejected")

    clip, manifest = clips.make(9_000)
    device.outbox.put(clip, manifest)
    device.delivery.wake.set()
    wait_until(lambda: device.outbox.depth() == 0, what="delivery still works")
    assert manifest.incident_id in cloud.completed
