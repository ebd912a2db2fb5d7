"""Delivery under load and failure, against real mosquitto processes: 20 devices at once; duplicate,
out-of-order, missing and corrupt chunks in one transfer; forged ids; the broker restarted mid-transfer;
the cloud process killed mid-transfer. Each ends with the right number of claims, intact clips and the
right counters."""

from __future__ import annotations

import hashlib
import os
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from cloud_api.domain.claims.tables import Claim
from cloud_api.domain.ingest.tables import Incident
from cloud_api.settings import Settings
from deploy.localstack import CloudService, MosquittoBroker
from shared_models import AckStatus, ClipChunk, TopicKind, encode, topic_for
from tests.integration.cloud.fleet_support import FleetDevice
from tests.integration.cloud.support import CloudApp, running, wait_for

CHUNK = 4096


@pytest.fixture
def ingest_only(make_settings: Callable[..., Settings], broker: MosquittoBroker) -> Iterator[CloudApp]:
    with running(make_settings(ingest_enabled=True, mqtt_url=broker.url, worker_enabled=False)) as app:
        wait_for(lambda: app.runtime.ingest.connected, 15, "ingest to connect")
        yield app


def registered(cloud: CloudApp, port: int, device_id: str, persistent: bool = False) -> FleetDevice:
    device = FleetDevice(port, device_id, persistent=persistent)
    device.wait_connected()
    cloud.call(cloud.runtime.devices.register, device_id, device.public_pem)
    return device


def clip_of(cloud: CloudApp, claim_id: str) -> bytes:
    return cloud.client.get(f"/claims/{claim_id}/video", headers=cloud.headers("read")).content


def test_twenty_devices_at_once(ingest_only: CloudApp, broker: MosquittoBroker) -> None:
    devices = [registered(ingest_only, broker.port, f"cam-{n:02d}") for n in range(20)]
    clips = {d.device_id: os.urandom(random.randint(5, 12) * CHUNK + 123) for d in devices}
    acks: dict[str, object] = {}

    def deliver(device: FleetDevice) -> None:
        manifest, chunks = device.manifest("inc-rush", clips[device.device_id], CHUNK)
        device.send_manifest(manifest)
        for seq, data in enumerate(chunks):
            device.send_chunk(manifest, seq, data)
        acks[device.device_id] = device.next_ack(60)

    threads = [threading.Thread(target=deliver, args=(d,)) for d in devices]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert {d: a.status for d, a in acks.items()} == {d.device_id: AckStatus.COMPLETE for d in devices}
        assert ingest_only.call(Claim.count().run) == 20
        for device in devices:
            assert clip_of(ingest_only, acks[device.device_id].claim_id) == clips[device.device_id]
        metrics = ingest_only.runtime.metrics
        assert metrics.ingest_accepted["manifest"] == 20 and not metrics.ingest_rejected
        assert metrics.ingest_accepted["chunk"] == sum(-(-len(c) // CHUNK) for c in clips.values())
    finally:
        for d in devices:
            d.close()


def test_duplicate_out_of_order_missing_and_corrupt_chunks(
    ingest_only: CloudApp, broker: MosquittoBroker
) -> None:
    device = registered(ingest_only, broker.port, "cam-rough")
    try:
        clip = os.urandom(10 * CHUNK)
        manifest, chunks = device.manifest("inc-rough", clip, CHUNK)
        order = [7, 3, 3, 0, 8, 1, 5, 5, 2, 6]  # shuffled, 3 and 5 twice, 4 never, 9 (the last) held back
        device.send_chunk(manifest, 2, b"\0" * CHUNK)  # corrupt, before the manifest: checked when it comes
        device.send_manifest(manifest)
        for seq in order:
            device.send_chunk(manifest, seq, chunks[seq])
        device.send_chunk(manifest, 6, chunks[6][:-1] + b"!")  # corrupt copy of a stored chunk: dropped
        device.send_chunk(manifest, 9, chunks[9])  # the last chunk with a gap: MISSING [4]
        missing = device.next_ack()
        assert missing.status is AckStatus.MISSING and missing.missing == [4]
        device.send_chunk(manifest, 4, chunks[4])
        done = device.next_ack()
        assert done.status is AckStatus.COMPLETE
        assert clip_of(ingest_only, done.claim_id) == clip
        device.send_manifest(manifest)  # the device lost the ack: the same claim again, no second one
        again = device.next_ack()
        assert (again.status, again.claim_id) == (AckStatus.COMPLETE, done.claim_id)
        assert ingest_only.call(Claim.count().run) == 1
        rejected = ingest_only.runtime.metrics.ingest_rejected
        assert rejected == {"chunk_hash_mismatch": 2}, rejected
    finally:
        device.close()


def test_a_chunk_lost_on_disk_is_asked_for_again(ingest_only: CloudApp, broker: MosquittoBroker) -> None:
    """Chunks are stored without fsync; a crash that tears one is caught at assembly, not trusted."""
    device = registered(ingest_only, broker.port, "cam-torn")
    try:
        clip = os.urandom(5 * CHUNK)
        manifest, chunks = device.manifest("inc-torn", clip, CHUNK)
        device.send_manifest(manifest)
        for seq in range(4):
            device.send_chunk(manifest, seq, chunks[seq])
        wait_for(lambda: ingest_only.runtime.metrics.ingest_accepted["chunk"] == 4, 20, "four chunks")
        stored = ingest_only.runtime.settings.blob_dir / "incoming" / "cam-torn" / "inc-torn" / "clip"
        with stored.open("r+b") as clip_file:  # what a power cut can leave behind: blocks never written
            clip_file.seek(2 * CHUNK + CHUNK // 2)
            clip_file.write(bytes(CHUNK // 2))
        device.send_chunk(manifest, 4, chunks[4])
        again = device.next_ack()
        assert again.status is AckStatus.MISSING and again.missing == [2]
        assert ingest_only.runtime.metrics.ingest_rejected == {"chunk_unreadable": 1}
        device.send_chunk(manifest, 2, chunks[2])
        done = device.next_ack()
        assert done.status is AckStatus.COMPLETE and clip_of(ingest_only, done.claim_id) == clip
    finally:
        device.close()


def test_forged_ids_topic_payload_signature(ingest_only: CloudApp, broker: MosquittoBroker) -> None:
    """On an open broker (no ACL) the cloud itself must catch every mismatch."""
    victim = registered(ingest_only, broker.port, "cam-victim")
    forger = registered(ingest_only, broker.port, "cam-forger")
    try:
        clip = os.urandom(3 * CHUNK)
        # payload names the victim, topic the forger
        as_victim, chunks = forger.manifest("inc-1", clip, CHUNK, device_id="cam-victim")
        forger.send_manifest(as_victim)
        # topic and payload name the victim, the forger's key signed it
        forger.send_manifest(as_victim, topic_device="cam-victim")
        assert victim.next_ack().status is AckStatus.REJECTED  # the answer goes to the id in the topic
        # a chunk whose payload names the victim, on the forger's topic
        chunk = ClipChunk(device_id="cam-victim", incident_id="inc-1", seq=0, total=3, data=chunks[0])
        forger.publish(topic_for(TopicKind.CHUNK, "cam-forger", "inc-1", 0), encode(chunk))
        # a chunk on another incident's topic than its payload
        chunk = ClipChunk(device_id="cam-forger", incident_id="inc-2", seq=0, total=3, data=chunks[0])
        forger.publish(topic_for(TopicKind.CHUNK, "cam-forger", "inc-1", 0), encode(chunk))
        rejected = ingest_only.runtime.metrics.ingest_rejected
        wait_for(lambda: sum(rejected.values()) == 4, 10, "four rejections")
        assert rejected == {"device_mismatch": 2, "bad_signature": 1, "topic_mismatch": 1}
        assert ingest_only.call(Claim.count().run) == 0 and ingest_only.call(Incident.count().run) == 0
    finally:
        victim.close()
        forger.close()


def test_broker_restart_mid_transfer(ingest_only: CloudApp, broker: MosquittoBroker) -> None:
    device = registered(ingest_only, broker.port, "cam-outage", persistent=True)
    try:
        clip = os.urandom(12 * CHUNK)
        manifest, chunks = device.manifest("inc-outage", clip, CHUNK)
        device.send_manifest(manifest)
        for seq in range(6):
            device.send_chunk(manifest, seq, chunks[seq])
        wait_for(lambda: ingest_only.runtime.metrics.ingest_accepted["chunk"] == 6, 20, "half the chunks")
        broker.stop()
        wait_for(lambda: not ingest_only.runtime.ingest.connected, 10, "ingest to notice")
        broker.start()
        wait_for(lambda: ingest_only.runtime.ingest.connected, 40, "ingest to reconnect")
        wait_for(device.client.is_connected, 40, "device to reconnect")
        for seq in range(6, 12):
            device.send_chunk(manifest, seq, chunks[seq])
        done = device.next_ack(30)
        assert done.status is AckStatus.COMPLETE and clip_of(ingest_only, done.claim_id) == clip
        assert ingest_only.call(Claim.count().run) == 1 and not ingest_only.runtime.metrics.ingest_rejected
    finally:
        device.close()


def test_cloud_process_killed_mid_transfer(
    tmp_path: Path, broker: MosquittoBroker, database_url: str
) -> None:
    """kill -9 of `cloud-api serve` with chunks in flight; chunks sent while it is down wait at the broker
    (its persistent session); the restarted process finishes the incident: one claim, the clip intact."""
    cloud = CloudService(tmp_path / "cloud", broker.url, database_url)
    cloud.env["WORKER_ENABLED"] = "false"
    cloud.start()
    key = cloud.create_key("read,write")
    device = FleetDevice(broker.port, "cam-crash", persistent=True)
    try:
        device.wait_connected()
        pem = tmp_path / "cam.pem"
        pem.write_text(device.public_pem)
        cloud.cli("devices", "add", "cam-crash", "--public-key", str(pem))
        clip = os.urandom(40 * CHUNK)
        manifest, chunks = device.manifest("inc-crash", clip, CHUNK)
        device.send_manifest(manifest)
        for seq in range(20):
            device.send_chunk(manifest, seq, chunks[seq])
        assert cloud.proc is not None
        cloud.proc.kill()  # no goodbye: whatever it had not acknowledged comes again
        cloud.proc.wait()
        for seq in range(20, 40):
            device.send_chunk(manifest, seq, chunks[seq])
        cloud.start()
        # A manifest the killed process had stored but not acknowledged comes again and, like any
        # manifest sent twice, may earn a MISSING first; the verdict that matters is COMPLETE.
        done = device.next_ack(60)
        while done.status is AckStatus.MISSING:
            done = device.next_ack(60)
        assert done.status is AckStatus.COMPLETE
        headers = {"X-API-Key": key}
        video = httpx.get(f"{cloud.base_url}/claims/{done.claim_id}/video", headers=headers, timeout=30)
        assert hashlib.sha256(video.content).digest() == hashlib.sha256(clip).digest()
        claims = httpx.get(f"{cloud.base_url}/claims", headers=headers, timeout=30).json()
        assert claims["total"] == 1
        incoming = tmp_path / "cloud" / "uploads" / "incoming" / "cam-crash"
        assert not any(incoming.rglob("*")) if incoming.exists() else True
    finally:
        device.close()
        cloud.stop()
