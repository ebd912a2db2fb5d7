"""Helpers for the cloud integration tests: the app under a real TestClient, a simulated device on the
real broker, tiny real MP4 files, and a wait that polls a condition."""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import av
import numpy as np
import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from cloud_api.server.asgi import create_app
from cloud_api.server.runtime import Runtime
from cloud_api.settings import Settings
from shared_models import (
    ClipChunk,
    IncidentAck,
    IncidentManifest,
    MinerTimeline,
    TopicKind,
    decode,
    encode,
    signing_bytes,
    topic_for,
)


def write_mp4(
    path: Path, brightness: Callable[[int], int], seconds: float = 2.0, fps: int = 8, size: int = 64
) -> bytes:
    """A real H.264 MP4 of flat grey frames, frame i at ``brightness(i)``; returns its bytes."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(int(seconds * fps)):
            pixels = np.full((size, size, 3), brightness(i), dtype=np.uint8)
            pixels[: size // 8, : size // 8] = 255 - brightness(i)  # a corner patch so no frame is trivial
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes()


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll until ``condition()`` is truthy and return it; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def assert_problem(response: Any, status: int) -> None:
    """``response`` is an RFC 9457 problem with ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]


class CloudApp:
    """The app under test: HTTP through ``client``, service calls on the app's own event loop."""

    def __init__(self, client: TestClient, runtime: Runtime) -> None:
        self.client = client
        self.runtime = runtime

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` (a coroutine function) on the app's loop: PostgreSQL pools are loop-bound."""
        return self.client.blocking_portal.call(fn, *args)

    def key(self, scopes: str) -> str:
        from cloud_api.domain.apikeys.services import parse_scopes

        return self.call(self.runtime.apikeys.create, parse_scopes(scopes)).key

    def headers(self, scopes: str = "read,write") -> dict[str, str]:
        return {"X-API-Key": self.key(scopes)}

    def wait_status(
        self, claim_id: str, headers: dict[str, str], statuses: set[str], timeout: float = 60
    ) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            body = self.client.get(f"/claims/{claim_id}/status", headers=headers).json()
            return body if body["status"] in statuses else None

        return wait_for(done, timeout, f"claim {claim_id} to reach {statuses}")


@contextmanager
def running(settings: Settings) -> Iterator[CloudApp]:
    app = create_app(settings)
    with TestClient(app) as client:
        yield CloudApp(client, app.state.runtime)


class DeviceSim:
    """A device on the real broker: signs manifests with its own Ed25519 key, sends chunks, reads acks."""

    def __init__(self, port: int, device_id: str) -> None:
        self.device_id = device_id
        self.key = Ed25519PrivateKey.generate()
        self.acks: queue.Queue[IncidentAck] = queue.Queue()
        subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"sim-{device_id}", protocol=mqtt.MQTTv5
        )
        self.client.on_message = lambda _c, _u, msg: self.acks.put(decode(msg.payload, IncidentAck))
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(topic_for(TopicKind.ACK, device_id), qos=1)
        assert subscribed.wait(10), "device simulator could not subscribe to its acks"

    @property
    def public_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def manifest(
        self, incident_id: str, clip: bytes, chunk_size: int, **fields: Any
    ) -> tuple[IncidentManifest, list[bytes]]:
        """A signed manifest for ``clip`` and its chunks; ``fields`` override defaults (and are signed)."""
        chunks = [clip[i : i + chunk_size] for i in range(0, len(clip), chunk_size)]
        values: dict[str, Any] = dict(
            device_id=self.device_id,
            incident_id=incident_id,
            recorded_at=1_700_000_000.0,
            start_s=10.0,
            peak_s=11.0,
            end_s=12.0,
            clip_start_s=10.0,
            clip_duration_s=2.0,
            score=0.9,
            miner_scores={"motion": 0.8, "audio": 0.7},
            timelines=[
                MinerTimeline(miner="motion", rate_hz=4.0, scores=[0.1, 0.2, 0.3, 0.9, 0.8, 0.3, 0.2, 0.1])
            ],
            size_bytes=len(clip),
            sha256=hashlib.sha256(clip).hexdigest(),
            chunk_size=chunk_size,
            chunk_sha256=[hashlib.sha256(c).hexdigest() for c in chunks],
        )
        values.update(fields)
        unsigned = IncidentManifest(**values)
        signed = IncidentManifest(**{**values, "signature": self.key.sign(signing_bytes(unsigned))})
        return signed, chunks

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def send_manifest(self, manifest: IncidentManifest, topic_device: str | None = None) -> None:
        topic = topic_for(TopicKind.MANIFEST, topic_device or self.device_id, manifest.incident_id)
        self.publish(topic, encode(manifest))

    def send_chunk(self, manifest: IncidentManifest, seq: int, data: bytes) -> None:
        chunk = ClipChunk(
            device_id=manifest.device_id,
            incident_id=manifest.incident_id,
            seq=seq,
            total=manifest.chunk_count,
            data=data,
        )
        self.publish(topic_for(TopicKind.CHUNK, self.device_id, manifest.incident_id, seq), encode(chunk))

    def next_ack(self, timeout: float = 20.0) -> IncidentAck:
        try:
            return self.acks.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no ack for {self.device_id} within {timeout}s") from None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
