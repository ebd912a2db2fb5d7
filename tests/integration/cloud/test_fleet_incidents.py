"""Incident bookkeeping on a real broker: an incident left incomplete expires (counted, chunks gone) and
comes back when the device sends its manifest again; the same clip under another incident is linked to
the first claim as a duplicate and counted."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from cloud_api.db.helpers import from_json, utcnow
from cloud_api.domain.claims.tables import Claim
from cloud_api.domain.ingest.tables import Incident, IncidentChunk
from cloud_api.settings import Settings
from deploy.localstack import MosquittoBroker
from shared_models import AckStatus, IncidentManifest
from tests.integration.cloud.fleet_support import FleetDevice
from tests.integration.cloud.support import CloudApp, running, wait_for

CHUNK = 4096


@pytest.fixture
def cloud(make_settings: Callable[..., Settings], broker: MosquittoBroker) -> Iterator[CloudApp]:
    settings = make_settings(
        ingest_enabled=True,
        mqtt_url=broker.url,
        worker_enabled=False,
        incident_expiry_s=1.0,
        fleet_sweep_interval_s=3600.0,  # swept by hand below
    )
    with running(settings) as app:
        wait_for(lambda: app.runtime.ingest.connected, 15, "ingest to connect")
        yield app


@pytest.fixture
def device(cloud: CloudApp, broker: MosquittoBroker) -> Iterator[FleetDevice]:
    sim = FleetDevice(broker.port, "cam-inc")
    sim.wait_connected()
    cloud.call(cloud.runtime.devices.register, sim.device_id, sim.public_pem)
    yield sim
    sim.close()


def incident(cloud: CloudApp, incident_id: str) -> dict:
    return cloud.call(Incident.select().where(Incident.incident_id == incident_id).first().run)


def test_incomplete_incident_expires_and_a_resent_manifest_reopens_it(
    cloud: CloudApp, device: FleetDevice
) -> None:
    clip = os.urandom(4 * CHUNK)
    manifest, chunks = device.manifest("inc-stalled", clip, CHUNK)
    device.send_manifest(manifest)
    device.send_chunk(manifest, 0, chunks[0])
    device.send_chunk(manifest, 1, chunks[1])
    wait_for(lambda: cloud.runtime.metrics.ingest_accepted["chunk"] == 2, 20, "two chunks")

    assert cloud.call(cloud.runtime.sweeper.expire_incidents) == []  # not stalled long enough yet
    time.sleep(1.2)
    assert cloud.call(cloud.runtime.sweeper.expire_incidents) == [("cam-inc", "inc-stalled")]
    assert (
        incident(cloud, "inc-stalled")["state"] == "EXPIRED" and cloud.runtime.metrics.incidents_expired == 1
    )
    assert cloud.call(IncidentChunk.count().run) == 0
    assert not (cloud.runtime.settings.blob_dir / "incoming" / "cam-inc" / "inc-stalled").exists()
    device.send_chunk(manifest, 2, chunks[2])  # a straggler for an expired incident is ignored

    device.send_manifest(manifest)  # the device still holds the clip and asks again
    reopened = device.next_ack()
    assert reopened.status is AckStatus.MISSING and reopened.missing == [0, 1, 2, 3]
    for seq, data in enumerate(chunks):
        device.send_chunk(manifest, seq, data)
    done = device.next_ack()
    assert done.status is AckStatus.COMPLETE and cloud.call(Claim.count().run) == 1
    assert (
        incident(cloud, "inc-stalled")["state"] == "COMPLETE" and cloud.runtime.metrics.incidents_expired == 1
    )
    metrics = cloud.client.get("/metrics", headers=cloud.headers("read"))
    assert metrics.status_code == 200


def test_same_bytes_under_another_incident_are_linked_as_duplicate(
    cloud: CloudApp, device: FleetDevice
) -> None:
    clip = os.urandom(3 * CHUNK)
    claims = []
    for incident_id in ("inc-original", "inc-replayed"):
        manifest, chunks = device.manifest(incident_id, clip, CHUNK)
        device.send_manifest(manifest)
        for seq, data in enumerate(chunks):
            device.send_chunk(manifest, seq, data)
        ack = device.next_ack()
        assert ack.status is AckStatus.COMPLETE
        claims.append(ack.claim_id)
    assert claims[0] != claims[1] and cloud.call(Claim.count().run) == 2  # one claim per incident
    assert incident(cloud, "inc-original")["duplicate_of"] is None
    assert incident(cloud, "inc-replayed")["duplicate_of"] == claims[0]
    second = cloud.call(Claim.select(Claim.metadata).where(Claim.id == claims[1]).first().run)
    assert from_json(second["metadata"])["duplicate_of"] == claims[0]
    assert cloud.runtime.metrics.duplicate_clips == 1 and not cloud.runtime.metrics.ingest_rejected


def three_incidents(
    cloud: CloudApp, device: FleetDevice
) -> tuple[tuple[IncidentManifest, list[bytes]], tuple[IncidentManifest, list[bytes]]]:
    """inc-done (COMPLETE), inc-open (its manifest and one of two chunks) and inc-early (one chunk, its
    manifest not sent): the done and early ones' manifests and chunks."""
    manifest, chunks = device.manifest("inc-done", os.urandom(2 * CHUNK), CHUNK)
    device.send_manifest(manifest)
    for seq, data in enumerate(chunks):
        device.send_chunk(manifest, seq, data)
    assert device.next_ack().status is AckStatus.COMPLETE
    open_manifest, open_chunks = device.manifest("inc-open", os.urandom(2 * CHUNK), CHUNK)
    device.send_manifest(open_manifest)
    device.send_chunk(open_manifest, 0, open_chunks[0])
    early_manifest, early_chunks = device.manifest("inc-early", os.urandom(2 * CHUNK), CHUNK)
    device.send_chunk(early_manifest, 0, early_chunks[0])
    wait_for(lambda: cloud.runtime.metrics.ingest_accepted["chunk"] == 4, 20, "four chunks")
    return (manifest, chunks), (early_manifest, early_chunks)


def test_incoming_blobs_left_by_a_crash_are_swept(cloud: CloudApp, device: FleetDevice) -> None:
    """A crash between a batch's commit and its clear leaves the decided incident's incoming blobs; the
    sweeper removes them, and only them: not an incident in flight nor chunks ahead of their manifest."""
    chunk_store = cloud.runtime.sweeper.chunks
    (_, chunks), _ = three_incidents(cloud, device)
    # What a crash before the clear leaves: the decided incident's blobs, and an expired one's.
    chunk_store.put("cam-inc", "inc-done", 0, chunks[0], None)
    stale_manifest, stale_chunks = device.manifest("inc-stale", os.urandom(2 * CHUNK), CHUNK)
    device.send_manifest(stale_manifest)
    wait_for(lambda: cloud.runtime.metrics.ingest_accepted["manifest"] == 3, 20, "the third manifest")
    long_ago = utcnow() - timedelta(hours=1)
    cloud.call(
        Incident.update({Incident.state: "EXPIRED", Incident.updated_at: long_ago})
        .where(Incident.incident_id == "inc-stale")
        .run
    )
    chunk_store.put("cam-inc", "inc-stale", 0, stale_chunks[0], None)
    assert sorted(cloud.call(cloud.runtime.sweeper.remove_leftovers)) == [
        ("cam-inc", "inc-done"),
        ("cam-inc", "inc-stale"),
    ]
    assert sorted(incident for _, incident in chunk_store.present()) == ["inc-early", "inc-open"]
    assert cloud.runtime.metrics.incoming_leftovers == 2
    assert cloud.call(cloud.runtime.sweeper.remove_leftovers) == []  # nothing left to remove
    metrics = cloud.client.get("/metrics", headers=cloud.headers("read")).text
    assert "dashclaim_incoming_leftovers_total 2" in metrics


def test_chunk_rows_go_with_their_incident_and_manifestless_chunks_expire(
    cloud: CloudApp, device: FleetDevice
) -> None:
    """``incident_chunks`` holds only transfers in flight: a decided incident's rows go with its decision,
    and chunks whose manifest never came expire (rows and blobs); a manifest sent later asks again."""
    sweeper = cloud.runtime.sweeper

    def rows(incident_id: str) -> int:
        return cloud.call(IncidentChunk.count().where(IncidentChunk.incident_id == incident_id).run)

    (manifest, _), (early_manifest, early_chunks) = three_incidents(cloud, device)
    assert (rows("inc-done"), rows("inc-open"), rows("inc-early")) == (0, 1, 1)

    cloud.call(sweeper.sweep)
    assert (rows("inc-open"), rows("inc-early")) == (1, 1)  # neither is stale yet
    assert cloud.runtime.metrics.incidents_expired == 0
    time.sleep(1.2)  # past INCIDENT_EXPIRY_S (1 s here); inc-open expires as an incident, inc-early as chunks
    assert cloud.call(sweeper.expire_orphan_chunks) == [("cam-inc", "inc-early")]
    assert rows("inc-early") == 0 and cloud.runtime.metrics.incidents_expired == 1
    assert ("cam-inc", "inc-early") not in cloud.runtime.sweeper.chunks.present()
    device.send_manifest(early_manifest)
    device.send_chunk(early_manifest, 1, early_chunks[1])  # the last chunk: the cloud says what it lacks
    assert device.next_ack().missing == [0]  # the expired early chunk is gone, not silently reused
    done = cloud.call(Incident.select(Incident.state).where(Incident.incident_id == "inc-done").first().run)
    assert done["state"] == "COMPLETE"
    device.send_manifest(manifest)  # a decided incident sent again still gets its claim without chunk rows
    again = device.next_ack()
    assert again.status is AckStatus.COMPLETE and cloud.call(Claim.count().run) == 1
