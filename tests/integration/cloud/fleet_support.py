"""Fleet test helpers: a device with broker credentials that also hears its commands, heartbeats, and
a broker started with the project's own deploy/mosquitto ACL and a password file."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cloud_api.domain.devices.broker_auth import PasswordFile
from deploy.localstack import MosquittoBroker
from shared_models import (
    CameraState,
    Command,
    HealthHeartbeat,
    IncidentAck,
    TopicKind,
    decode,
    encode,
    topic_for,
)
from tests.integration.cloud.support import DeviceSim

REPO = Path(__file__).resolve().parents[3]
DEPLOY_ACL = REPO / "deploy" / "mosquitto" / "acl"
CLOUD_USER = "cloud-api"


def secured_broker(workdir: Path, port: int | None = None) -> tuple[MosquittoBroker, PasswordFile, str]:
    """A broker with the deploy ACL and a password file holding the cloud's user; (broker, file, its pw)."""
    passwords = PasswordFile(workdir / "passwd")
    cloud_password = passwords.set(CLOUD_USER)
    broker = MosquittoBroker(
        workdir / "mosquitto",
        port=port,
        # as root mosquitto would switch to its own user, which cannot read a private test folder
        extra_config=f"user root\npassword_file {passwords.path}\nacl_file {DEPLOY_ACL}\n",
    )
    return broker, passwords, cloud_password


def public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def new_public_pem() -> str:
    """The PEM public half of a fresh Ed25519 key (for devices that never send a manifest)."""
    return public_pem(Ed25519PrivateKey.generate())


class FleetDevice(DeviceSim):
    """A device on the real broker: optional credentials, persistent session, acks and commands heard."""

    def __init__(
        self,
        port: int,
        device_id: str,
        password: str | None = None,
        key: Ed25519PrivateKey | None = None,
        persistent: bool = False,
    ) -> None:
        self.device_id = device_id
        self.key = key or Ed25519PrivateKey.generate()
        self.acks: queue.Queue[IncidentAck] = queue.Queue()
        self.commands: queue.Queue[Any] = queue.Queue()
        self.connected = threading.Event()
        self.refused: list[Any] = []
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"fleet-{device_id}", protocol=mqtt.MQTTv5
        )
        if password is not None:
            self.client.username_pw_set(device_id, password)
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        properties = None
        if persistent:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", port, clean_start=not persistent, properties=properties)
        self.client.loop_start()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self.refused.append(reason)
            return
        client.subscribe(
            [(topic_for(TopicKind.ACK, self.device_id), 1), (topic_for(TopicKind.COMMAND, self.device_id), 1)]
        )
        self.connected.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic.endswith("/acks"):
            self.acks.put(decode(msg.payload, IncidentAck))
        else:
            self.commands.put(decode(msg.payload, Command))

    def wait_connected(self, timeout: float = 10) -> None:
        assert self.connected.wait(timeout), f"{self.device_id} did not connect: {self.refused}"
        time.sleep(0.2)  # let the SUBACK land before anything is published to us

    def next_command(self, timeout: float = 20) -> Any:
        try:
            return self.commands.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no command for {self.device_id} within {timeout}s") from None

    def heartbeat(self, **fields: Any) -> HealthHeartbeat:
        values: dict[str, Any] = dict(
            device_id=self.device_id,
            sent_at=time.time(),
            uptime_s=100.0,
            cpu_percent=20.0,
            memory_percent=30.0,
            disk_free_bytes=50 * 1024**3,
            outbox_depth=0,
            outbox_bytes=0,
            fps=30.0,
            dropped_frames=0,
            temperature_c=50.0,
            camera_state=CameraState.OK,
            clock_offset_s=0.1,
        )
        values.update(fields)
        beat = HealthHeartbeat(**values)
        self.publish(topic_for(TopicKind.HEALTH, self.device_id), encode(beat))
        return beat
