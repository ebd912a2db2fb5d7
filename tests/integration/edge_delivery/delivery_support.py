"""Helpers for the edge delivery tests: signed test clips, a running device side, a scripted cloud.

Clips are random bytes (delivery does not look inside them) signed with a throwaway Ed25519 key; the
cloud is a small paho subscriber on the real broker that reassembles, checks hashes and the signature,
and answers IncidentAck the way the real ingest does.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
import paho.mqtt.client as mqtt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge_agent.clips import DeviceKey
from edge_agent.mqtt_url import parse_broker_url
from edge_agent.outbox import Outbox
from edge_agent.publisher import Backoff, Delivery, DeliverySettings, LinkSettings, MqttLink, run_step_loop
from shared_models import (
    AckStatus,
    ClipChunk,
    Command,
    CommandResult,
    IncidentAck,
    IncidentManifest,
    Message,
    TopicKind,
    decode,
    encode,
    parse_topic,
    signing_bytes,
    topic_for,
)
from shared_models.topics import subscription

DEVICE_ID = "dev-test-1"


def wait_until(predicate: Callable[[], bool], timeout_s: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.02)


class TopicProbe:
    """A plain subscriber that keeps every decoded message (and its retain flag) seen on ``topic``."""

    def __init__(self, url: str, topic: str) -> None:
        self.messages: list[tuple[Message, bool]] = []
        address = parse_broker_url(url)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        subscribed = threading.Event()
        self.client.on_connect = lambda client, *a: client.subscribe(topic, 1)
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_message = lambda c, u, m: self.messages.append((decode(m.payload), m.retain))
        self.client.connect(address.host, address.port)
        self.client.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError(f"probe did not subscribe to {topic}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class CloudCommands:
    """Publishes commands to ``device_id`` as the cloud does and keeps the CommandResults it answers with."""

    def __init__(self, url: str, device_id: str) -> None:
        self.device_id = device_id
        self.probe = TopicProbe(url, topic_for(TopicKind.COMMAND_RESULT, device_id))
        address = parse_broker_url(url)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.connect(address.host, address.port)
        self.client.loop_start()

    def send(self, command: Command) -> CommandResult:
        self.client.publish(topic_for(TopicKind.COMMAND, self.device_id), encode(command), qos=1)
        return self.result(command.command_id)

    def result(self, command_id: str, count: int = 1) -> CommandResult:
        def answers() -> list[CommandResult]:
            return [
                m
                for m, _ in self.probe.messages
                if isinstance(m, CommandResult) and m.command_id == command_id
            ]

        wait_until(lambda: len(answers()) >= count, timeout_s=60, what=f"result of {command_id}")
        return answers()[-1]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.probe.close()


class ClipMaker:
    """Writes random clips and their signed manifests, the way the media side will."""

    def __init__(self, workdir: Path, device_id: str = DEVICE_ID) -> None:
        self.workdir = workdir
        self.device_id = device_id
        self.key = Ed25519PrivateKey.generate()
        self._rng = random.Random(7)
        workdir.mkdir(parents=True, exist_ok=True)

    def make(
        self, size: int, score: float = 0.5, chunk_size: int = 4096, reason: str = "incident"
    ) -> tuple[Path, IncidentManifest]:
        incident_id = uuid.uuid4().hex[:16]
        data = self._rng.randbytes(size)
        path = self.workdir / f"{incident_id}.mp4"
        path.write_bytes(data)
        chunks = [data[i : i + chunk_size] for i in range(0, size, chunk_size)]
        manifest = IncidentManifest(
            device_id=self.device_id,
            incident_id=incident_id,
            recorded_at=time.time() - 60,
            start_s=10.0,
            peak_s=12.0,
            end_s=13.0,
            clip_start_s=4.0,
            clip_duration_s=16.0,
            score=score,
            miner_scores={"motion": score},
            size_bytes=size,
            sha256=hashlib.sha256(data).hexdigest(),
            chunk_size=chunk_size,
            chunk_sha256=[hashlib.sha256(c).hexdigest() for c in chunks],
            reason=reason,
        )
        signature = self.key.sign(signing_bytes(manifest))
        return path, msgspec.structs.replace(manifest, signature=signature)


class ScriptedCloud:
    """Plays the cloud's ingest on the real broker: reassembles clips and answers IncidentAck.

    A first manifest is stored silently (its chunks follow); a repeated one is answered COMPLETE or
    MISSING; a manifest whose signature does not verify is REJECTED. ``drop_first`` chunk numbers are
    discarded on first receipt (as if corrupted in transit); with ``auto_complete`` off the cloud stores
    but never answers (the test does, through ``ack``).
    """

    def __init__(self, url: str, public_key: Ed25519PublicKey, device_id: str = DEVICE_ID) -> None:
        self.device_id = device_id
        self.public_key = public_key
        self.drop_first: set[int] = set()
        self.auto_complete = True
        self.manifests: dict[str, IncidentManifest] = {}
        self.manifest_count: dict[str, int] = {}
        self.chunks: dict[str, dict[int, bytes]] = {}
        self.receipts: dict[str, list[int]] = {}
        self.completed: dict[str, bytes] = {}
        self.acks_sent: list[IncidentAck] = []
        self.lock = threading.RLock()  # ack() is called from inside the message handler
        address = parse_broker_url(url)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="scripted-cloud", protocol=mqtt.MQTTv5
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 1)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self._subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.connect_async(address.host, address.port, clean_start=False, properties=props)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("scripted cloud did not subscribe")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def ack(
        self, incident_id: str, status: AckStatus, missing: list[int] | None = None, reason: str = ""
    ) -> None:
        ack = IncidentAck(incident_id=incident_id, status=status, missing=missing or [], reason=reason)
        with self.lock:
            self.acks_sent.append(ack)
        self.client.publish(topic_for(TopicKind.ACK, self.device_id), encode(ack), qos=1)

    def missing(self, incident_id: str) -> list[int]:
        manifest = self.manifests[incident_id]
        have = self.chunks.get(incident_id, {})
        return [seq for seq in range(manifest.chunk_count) if seq not in have]

    def _on_connect(self, client: mqtt.Client, *args: object) -> None:
        client.subscribe(
            [
                (subscription(TopicKind.MANIFEST, self.device_id), 1),
                (subscription(TopicKind.CHUNK, self.device_id), 1),
            ]
        )

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        topic = parse_topic(message.topic)
        with self.lock:
            if topic.kind is TopicKind.MANIFEST:
                self._manifest(decode(message.payload, IncidentManifest))
            else:
                self._chunk(decode(message.payload, ClipChunk))

    def _manifest(self, manifest: IncidentManifest) -> None:
        incident_id = manifest.incident_id
        try:
            self.public_key.verify(manifest.signature, signing_bytes(manifest))
        except InvalidSignature:
            self.ack(incident_id, AckStatus.REJECTED, reason="bad signature")
            return
        seen = self.manifest_count.get(incident_id, 0)
        self.manifest_count[incident_id] = seen + 1
        self.manifests[incident_id] = manifest
        if not self.auto_complete:
            return
        if incident_id in self.completed:
            self.ack(incident_id, AckStatus.COMPLETE)
        elif seen:
            self.ack(incident_id, AckStatus.MISSING, self.missing(incident_id))

    def _chunk(self, chunk: ClipChunk) -> None:
        incident_id = chunk.incident_id
        self.receipts.setdefault(incident_id, []).append(chunk.seq)
        manifest = self.manifests.get(incident_id)
        if manifest is None or incident_id in self.completed:
            return
        if chunk.seq in self.drop_first and self.receipts[incident_id].count(chunk.seq) == 1:
            return
        if hashlib.sha256(chunk.data).hexdigest() != manifest.chunk_sha256[chunk.seq]:
            return
        have = self.chunks.setdefault(incident_id, {})
        have[chunk.seq] = chunk.data
        if len(have) == manifest.chunk_count:
            data = b"".join(have[seq] for seq in range(manifest.chunk_count))
            assert hashlib.sha256(data).hexdigest() == manifest.sha256
            self.completed[incident_id] = data
            if self.auto_complete:
                self.ack(incident_id, AckStatus.COMPLETE)
        elif self.auto_complete and chunk.seq == manifest.chunk_count - 1:
            # The transfer's last chunk arrived with gaps before it: name them, as the real ingest does.
            self.ack(incident_id, AckStatus.MISSING, self.missing(incident_id))


class DeviceSide:
    """The device's delivery path, running: outbox + MQTT link + delivery loop on its own thread."""

    def __init__(
        self, url: str, data_dir: Path, ack_timeout_s: float = 5.0, quota_bytes: int | None = None
    ) -> None:
        self.outbox = Outbox(data_dir / "outbox", quota_bytes=quota_bytes)
        settings = LinkSettings(
            device_id=DEVICE_ID,
            broker=parse_broker_url(url),
            keepalive_s=5,
            reconnect_min_s=1,
            reconnect_max_s=1,
        )
        self.link = MqttLink(settings)
        self.stop = threading.Event()
        self.delivery = Delivery(
            self.outbox,
            self.link,
            DeliverySettings(ack_timeout_s=ack_timeout_s, puback_timeout_s=5.0, window=4),
            self.stop,
        )
        self._thread = threading.Thread(
            target=run_step_loop,
            args=(
                self.delivery.step,
                self.stop,
                self.delivery.wake,
                Backoff(idle_s=0.2, fail_min_s=0.1, fail_max_s=0.5),
            ),
            daemon=True,
        )

    def start(self, deliver: bool = True) -> None:
        """Connect; with ``deliver`` off the link is up (for heartbeats) but the outbox is left alone."""
        self.link.start()
        if deliver:
            self._thread.start()

    def close(self) -> None:
        self.stop.set()
        self.delivery.wake.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self.link.close()


def agent_run_args(source: str | Path, device_id: str, broker_url: str, data_dir: Path) -> list[str]:
    """``edge-agent run`` arguments for a test's agent process (a file, a folder or a live URI)."""
    return [
        "run",
        "--source",
        str(source),
        "--device-id",
        device_id,
        "--broker",
        broker_url,
        "--data-dir",
        str(data_dir),
    ]


@contextmanager
def cloud_for_agent(url: str, data_dir: Path, device_id: str) -> Iterator[ScriptedCloud]:
    """A scripted cloud trusting the key the agent in ``data_dir`` signs with (created now if need be)."""
    public_key = load_pem_public_key(DeviceKey.load_or_create(data_dir).public_key_pem())
    scripted = ScriptedCloud(url, public_key, device_id=device_id)  # type: ignore[arg-type]
    try:
        yield scripted
    finally:
        scripted.close()
