"""The S3 blob store against a real S3-compatible HTTP server (moto's server mode, in-process), through
boto3 exactly as in production: store operations, then a device clip ingested into the bucket."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cloud_api.blobstore import S3BlobStore, blob_store_for
from cloud_api.settings import Settings
from deploy.localstack import free_port
from shared_models import AckStatus
from tests.integration.cloud.support import DeviceSim, running, wait_for, write_mp4

moto_server = pytest.importorskip("moto.server", reason="moto[server] (dev extra) is not installed")
BUCKET = "dashclaim-test"


@pytest.fixture
def s3_settings(tmp_path: Path) -> Iterator[dict[str, str]]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    values = {
        "blob_store": "s3",
        "s3_endpoint_url": f"http://{host}:{port}",
        "s3_bucket": BUCKET,
        "s3_prefix": "dashclaim",
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
    }
    store = blob_store_for(Settings(data_dir=tmp_path / "boot", **values))
    assert isinstance(store, S3BlobStore)
    store.client.create_bucket(Bucket=BUCKET)
    try:
        yield values
    finally:
        server.stop()


def test_store_operations_on_the_bucket(s3_settings: dict[str, str], tmp_path: Path) -> None:
    store = blob_store_for(Settings(data_dir=tmp_path / "cloud", **s3_settings))
    assert isinstance(store, S3BlobStore)
    store.write_bytes("incoming/d/i/0", b"abc")
    store.write_bytes("incoming/d/i/1", b"def")
    assert store.exists("incoming/d/i/0") and not store.exists("incoming/d/i/9")
    assert store.local_path("incoming/d/i/1").read_bytes() == b"def"
    store.write_bytes("incoming/d/i/1", b"replaced")  # chunks may be replaced: never served stale
    assert store.local_path("incoming/d/i/1").read_bytes() == b"replaced"
    staged = store.temp_path()
    staged.write_bytes(b"clip")
    store.put_file("clips/x.mp4", staged)
    assert not staged.exists() and store.local_path("clips/x.mp4").read_bytes() == b"clip"
    listed = store.client.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert {o["Key"] for o in listed} == {
        "dashclaim/incoming/d/i/0",
        "dashclaim/incoming/d/i/1",
        "dashclaim/clips/x.mp4",
    }
    store.write_bytes("incoming/d/j/0", b"ghi")
    store.write_bytes("incoming/e/k/0", b"jkl")
    assert store.children("incoming") == ["d", "e"] and store.children("incoming/d") == ["i", "j"]
    assert store.children("incoming/none") == []
    store.delete_prefix("incoming/d/j")
    store.delete_prefix("incoming/e/k")
    store.delete_prefix("incoming/d/i")
    store.delete("clips/x.mp4")
    assert store.client.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    with pytest.raises(FileNotFoundError):
        store.local_path("clips/x.mp4")
    with pytest.raises(ValueError):
        store.write_bytes("../escape", b"")


def test_a_device_clip_lands_in_the_bucket(
    s3_settings: dict[str, str],
    make_settings: Callable[..., Settings],
    broker,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    clip = write_mp4(tmp_path / "clip.mp4", lambda i: 90 + 10 * (i % 3))
    settings = make_settings(ingest_enabled=True, mqtt_url=broker.url, worker_enabled=False, **s3_settings)
    with running(settings) as cloud:
        wait_for(lambda: cloud.runtime.ingest.connected, 15, "ingest to connect")
        device = DeviceSim(broker.port, "dev-s3")
        try:
            cloud.call(cloud.runtime.devices.register, device.device_id, device.public_pem)
            manifest, chunks = device.manifest("inc-s3", clip, 1500)
            device.send_manifest(manifest)
            for seq in reversed(range(len(chunks))):  # the last first: MISSING, then COMPLETE
                device.send_chunk(manifest, seq, chunks[seq])
            assert device.next_ack().missing == list(range(len(chunks) - 1))
            ack = device.next_ack()
        finally:
            device.close()
        assert ack.status is AckStatus.COMPLETE
        video = cloud.client.get(f"/claims/{ack.claim_id}/video", headers=cloud.headers("read"))
        assert video.content == clip
        client, wanted = (
            cloud.runtime.blobs.client,
            {f"dashclaim/clips/{hashlib.sha256(clip).hexdigest()}.mp4"},
        )

        def keys() -> set[str]:
            return {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}

        wait_for(lambda: keys() == wanted, 10, "chunks to be cleared after COMPLETE")  # cleared after the ack
