"""MQTT ingest against a real Mosquitto: a simulated device signs manifests and sends chunks; the cloud
reassembles, creates exactly one claim, acks on fleet/<id>/acks, and counts every refusal."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from cloud_api.domain.assessments.scene.local import MODEL as LOCAL_MODEL
from cloud_api.domain.claims.tables import Claim
from shared_models import (
    AckStatus,
    CameraState,
    DeviceState,
    DeviceStatus,
    HealthHeartbeat,
    TopicKind,
    encode,
    topic_for,
)
from tests.integration.cloud.support import CloudApp, DeviceSim, wait_for, write_mp4

CHUNK = 1000


def clip_bytes(tmp_path: Path, name: str = "clip.mp4", base: int = 100) -> bytes:
    return write_mp4(tmp_path / name, lambda i: base + 20 * ((i // 2) % 2))


def claim_count(cloud: CloudApp) -> int:
    return cloud.call(Claim.count().run)


def rejected(cloud: CloudApp, reason: str, at_least: int = 1) -> int:
    return wait_for(
        lambda: cloud.runtime.metrics.ingest_rejected[reason] >= at_least
        and cloud.runtime.metrics.ingest_rejected[reason],
        20,
        f"rejection {reason}",
    )


def test_in_order_delivery_makes_one_claim_with_the_clip_intact(
    cloud_ingest: CloudApp, device: DeviceSim, tmp_path: Path
) -> None:
    clip = clip_bytes(tmp_path)
    manifest, chunks = device.manifest("inc-in-order", clip, CHUNK)
    assert len(chunks) > 2
    device.send_manifest(manifest)
    for seq, data in enumerate(chunks):
        device.send_chunk(manifest, seq, data)
    ack = device.next_ack()  # a brand-new manifest earns no ack: the first one is the verdict
    assert ack.status is AckStatus.COMPLETE and ack.incident_id == "inc-in-order" and ack.claim_id

    headers = cloud_ingest.headers()
    status = cloud_ingest.client.get(f"/claims/{ack.claim_id}/status", headers=headers).json()
    assert (status["source"], status["device_id"], status["incident_id"]) == (
        "device",
        device.device_id,
        "inc-in-order",
    )
    assert status["video_sha256"] == hashlib.sha256(clip).hexdigest() and status["size_bytes"] == len(clip)
    assert cloud_ingest.client.get(f"/claims/{ack.claim_id}/video", headers=headers).content == clip
    incoming = cloud_ingest.runtime.settings.blob_dir / "incoming" / device.device_id / "inc-in-order"
    assert not incoming.exists()

    device.send_manifest(manifest)  # the device missed the ack and asks again
    device.send_chunk(manifest, 0, chunks[0])
    again = device.next_ack()
    assert again.status is AckStatus.COMPLETE and again.claim_id == ack.claim_id
    assert claim_count(cloud_ingest) == 1

    cloud_ingest.wait_status(ack.claim_id, headers, {"ASSESSED"})
    assessment = cloud_ingest.client.get(f"/claims/{ack.claim_id}/assessment", headers=headers).json()
    assert assessment["model"] == LOCAL_MODEL
    assert any(
        e["what"].startswith("device incident peak 0.90") and e["t_s"] == 1.0 for e in assessment["evidence"]
    )
    history = cloud_ingest.client.get(f"/reviews/{ack.claim_id}/history", headers=headers).json()["events"]
    assert [(e["event_type"], e["actor_type"], e["actor_id"]) for e in history] == [
        ("received", "DEVICE", device.device_id),
        ("assessed", "AI", LOCAL_MODEL),
    ]


def test_out_of_order_duplicated_and_corrupt_chunks(
    cloud_ingest: CloudApp, device: DeviceSim, tmp_path: Path
) -> None:
    clip = clip_bytes(tmp_path)
    manifest, chunks = device.manifest("inc-shuffled", clip, CHUNK)
    last = len(chunks) - 1
    device.send_manifest(manifest)
    device.send_chunk(manifest, last, chunks[last])  # the last chunk first: everything else is missing
    first = device.next_ack()
    assert first.status is AckStatus.MISSING and first.missing == list(range(last))

    device.send_chunk(manifest, 1, b"corrupted" + chunks[1][9:])
    for seq in reversed(range(last)):
        if seq != 1:
            device.send_chunk(manifest, seq, chunks[seq])
            device.send_chunk(manifest, seq, chunks[seq])
    assert rejected(cloud_ingest, "chunk_hash_mismatch") == 1

    device.send_manifest(manifest)
    missing = device.next_ack()
    assert missing.status is AckStatus.MISSING and missing.missing == [1]
    device.send_chunk(manifest, 1, chunks[1])
    done = device.next_ack()
    assert done.status is AckStatus.COMPLETE and done.claim_id
    assert claim_count(cloud_ingest) == 1
    video = cloud_ingest.client.get(f"/claims/{done.claim_id}/video", headers=cloud_ingest.headers("read"))
    assert video.content == clip


def test_chunks_before_the_manifest_are_kept_and_checked_later(
    cloud_ingest: CloudApp, device: DeviceSim, tmp_path: Path
) -> None:
    clip = clip_bytes(tmp_path)
    manifest, chunks = device.manifest("inc-early", clip, CHUNK)
    device.send_chunk(manifest, 0, b"x" * len(chunks[0]))
    for seq in range(1, len(chunks)):
        device.send_chunk(manifest, seq, chunks[seq])
    device.send_manifest(manifest)  # new manifest, bad chunk 0 found and dropped: no ack yet
    assert rejected(cloud_ingest, "chunk_hash_mismatch") == 1
    device.send_manifest(manifest)
    ack = device.next_ack()
    assert ack.status is AckStatus.MISSING and ack.missing == [0]
    device.send_chunk(manifest, 0, chunks[0])
    done = device.next_ack()
    assert done.status is AckStatus.COMPLETE
    assert (
        cloud_ingest.client.get(
            f"/claims/{done.claim_id}/video", headers=cloud_ingest.headers("read")
        ).content
        == clip
    )


def test_refused_messages_are_counted_and_make_no_claim(
    cloud_ingest: CloudApp, device: DeviceSim, broker, tmp_path: Path  # noqa: ANN001
) -> None:
    clip = clip_bytes(tmp_path)
    stranger = DeviceSim(broker.port, "dev-unregistered")
    try:
        manifest, _ = stranger.manifest("inc-stranger", clip, CHUNK)
        stranger.send_manifest(manifest)
        rejected(cloud_ingest, "unknown_device")
    finally:
        stranger.close()

    forged, _ = device.manifest("inc-forged", clip, CHUNK, device_id="dev-someone-else")
    device.send_manifest(forged)  # payload names another device than the topic
    rejected(cloud_ingest, "device_mismatch")

    signed_by_other = DeviceSim(broker.port, device.device_id + "-twin")
    try:
        bad, _ = signed_by_other.manifest("inc-badsig", clip, CHUNK, device_id=device.device_id)
    finally:
        signed_by_other.close()
    device.send_manifest(bad)
    ack = device.next_ack()
    assert (
        ack.status is AckStatus.REJECTED and ack.reason == "bad signature" and ack.incident_id == "inc-badsig"
    )
    assert rejected(cloud_ingest, "bad_signature") == 1

    device.publish(topic_for(TopicKind.MANIFEST, device.device_id, "inc-junk"), b"\xc1 not msgpack")
    rejected(cloud_ingest, "malformed")
    status = DeviceStatus(device_id=device.device_id, state=DeviceState.ONLINE, at=time.time())
    device.publish(topic_for(TopicKind.MANIFEST, device.device_id, "inc-wrong-type"), encode(status))
    rejected(cloud_ingest, "unexpected_type")

    assert claim_count(cloud_ingest) == 0
    metrics = cloud_ingest.client.get("/metrics", headers=cloud_ingest.headers("read")).text
    for reason in ("unknown_device", "device_mismatch", "bad_signature", "malformed", "unexpected_type"):
        assert f'dashclaim_ingest_rejections_total{{reason="{reason}"}} 1' in metrics


def test_whole_clip_hash_mismatch_is_rejected_for_good(
    cloud_ingest: CloudApp, device: DeviceSim, tmp_path: Path
) -> None:
    clip = clip_bytes(tmp_path)
    manifest, chunks = device.manifest("inc-badclip", clip, CHUNK, sha256="0" * 64)
    device.send_manifest(manifest)
    for seq, data in enumerate(chunks):
        device.send_chunk(manifest, seq, data)
    ack = device.next_ack()
    assert ack.status is AckStatus.REJECTED and "do not match" in ack.reason
    device.send_manifest(manifest)
    assert device.next_ack().status is AckStatus.REJECTED
    assert claim_count(cloud_ingest) == 0 and rejected(cloud_ingest, "clip_hash_mismatch") == 1


def test_status_and_heartbeat_update_the_device(cloud_ingest: CloudApp, device: DeviceSim) -> None:
    status = DeviceStatus(
        device_id=device.device_id, state=DeviceState.ONLINE, at=time.time(), firmware="1.2.3"
    )
    device.publish(topic_for(TopicKind.STATUS, device.device_id), encode(status))
    heartbeat = HealthHeartbeat(
        device_id=device.device_id,
        sent_at=time.time(),
        uptime_s=12.0,
        cpu_percent=30.0,
        memory_percent=40.0,
        disk_free_bytes=10**9,
        outbox_depth=3,
        outbox_bytes=12345,
        fps=29.9,
        dropped_frames=1,
        camera_state=CameraState.OK,
    )
    device.publish(topic_for(TopicKind.HEALTH, device.device_id), encode(heartbeat))
    headers = cloud_ingest.headers("read")

    def seen() -> dict | None:
        body = cloud_ingest.client.get(f"/devices/{device.device_id}", headers=headers).json()
        return body if body["latest_heartbeat"] else None

    body = wait_for(seen, 20, "heartbeat stored")
    assert body["status"] == "ONLINE" and body["firmware"] == "1.2.3" and body["last_seen"]
    assert body["latest_heartbeat"]["outbox_depth"] == 3 and body["latest_heartbeat"]["camera_state"] == "OK"
    assert cloud_ingest.client.get("/health").json()["broker_connected"] is True


def test_same_clip_under_a_second_incident_is_flagged(
    cloud_ingest: CloudApp, device: DeviceSim, tmp_path: Path
) -> None:
    clip = clip_bytes(tmp_path)
    claim_ids = []
    for incident in ("inc-first", "inc-again"):
        manifest, chunks = device.manifest(incident, clip, CHUNK)
        device.send_manifest(manifest)
        for seq, data in enumerate(chunks):
            device.send_chunk(manifest, seq, data)
        claim_ids.append(device.next_ack().claim_id)
    assert len(set(claim_ids)) == 2  # one claim per incident, even for the same bytes
    headers = cloud_ingest.headers("read")
    cloud_ingest.wait_status(claim_ids[1], headers, {"ASSESSED"})
    second = cloud_ingest.client.get(f"/claims/{claim_ids[1]}/assessment", headers=headers).json()
    assert second["fraud_risk_score"] >= 0.6 and claim_ids[0] in second["fraud_reasons"][0]
