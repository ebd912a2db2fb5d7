"""Provisioning and the broker's own checks, on a mosquitto started with the project's deploy ACL and a
password file: `devices add` creates a login that works after a SIGHUP reload, `devices revoke` takes it
away, and a device can neither publish under another device's id nor read another device's acks."""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from cloud_api.cli import main as cli
from cloud_api.settings import Settings
from deploy.localstack import MosquittoBroker
from shared_models import AckStatus, TopicKind, encode, topic_for
from tests.integration.cloud.fleet_support import CLOUD_USER, FleetDevice, public_pem, secured_broker
from tests.integration.cloud.support import running, wait_for

CHUNK = 4096


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[MosquittoBroker, Path, str]]:
    broker, passwords, cloud_password = secured_broker(tmp_path / "broker")
    broker.start()
    pid_file = tmp_path / "broker" / "mosquitto.pid"
    pid_file.write_text(str(broker.proc.pid))  # type: ignore[union-attr]
    try:
        yield broker, pid_file, cloud_password
    finally:
        broker.stop()


def provision(
    settings: Settings,
    device_id: str,
    key: Ed25519PrivateKey,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> str:
    """`cloud-api devices add` as an operator runs it; returns the printed MQTT password."""
    pem = tmp_path / f"{device_id}.pem"
    pem.write_text(public_pem(key))
    capsys.readouterr()
    assert cli(["devices", "add", device_id, "--public-key", str(pem)], settings) == 0
    out = capsys.readouterr().out
    assert "broker reloaded (SIGHUP)" in out and f"mqtt_username={device_id}" in out
    return out.strip().splitlines()[-1].removeprefix("mqtt_password=")


def connect_result(port: int, username: str, password: str) -> Any:
    """The CONNACK reason for a fresh client with these credentials."""
    answers: queue.Queue[Any] = queue.Queue()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"probe-{username}-{time.monotonic_ns()}", protocol=mqtt.MQTTv5
    )
    client.username_pw_set(username, password)
    client.on_connect = lambda _c, _u, _f, reason, _p: answers.put(reason)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        return answers.get(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_provision_reload_acl_and_revoke(
    secured: tuple[MosquittoBroker, Path, str],
    make_settings: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broker, pid_file, cloud_password = secured
    settings: Settings = make_settings(
        ingest_enabled=True,
        mqtt_url=broker.url,
        mqtt_username=CLOUD_USER,
        mqtt_password=cloud_password,
        mqtt_password_file=tmp_path / "broker" / "passwd",
        mqtt_broker_pid_file=pid_file,
        worker_enabled=False,
        ingest_device_cache_s=0.0,
    )
    with running(settings) as cloud:
        wait_for(lambda: cloud.runtime.ingest.connected, 15, "cloud to log in to the secured broker")
        # before provisioning the broker refuses the device
        assert connect_result(broker.port, "cam-alice", "guess").is_failure
        alice_key, bob_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
        alice_pw = provision(settings, "cam-alice", alice_key, tmp_path, capsys)
        bob_pw = provision(settings, "cam-bob", bob_key, tmp_path, capsys)
        assert not connect_result(broker.port, "cam-alice", alice_pw).is_failure
        assert connect_result(broker.port, "cam-alice", bob_pw).is_failure

        alice = FleetDevice(broker.port, "cam-alice", alice_pw, key=alice_key)
        bob = FleetDevice(broker.port, "cam-bob", bob_pw, key=bob_key)
        try:
            alice.wait_connected()
            bob.wait_connected()
            clip = os.urandom(3 * CHUNK)
            # bob publishes a manifest and chunks under alice's id, signed with his key: the broker drops them
            forged, chunks = bob.manifest("inc-forged", clip, CHUNK, device_id="cam-alice")
            denied = bob.client.publish(
                topic_for(TopicKind.MANIFEST, "cam-alice", "inc-forged"), encode(forged), qos=1
            )
            denied.wait_for_publish(10)
            # bob also listens on alice's acks: the broker grants the subscription nothing
            spy: queue.Queue[bytes] = queue.Queue()
            bob.client.message_callback_add(
                topic_for(TopicKind.ACK, "cam-alice"), lambda _c, _u, m: spy.put(m.payload)
            )
            bob.client.subscribe(topic_for(TopicKind.ACK, "cam-alice"), qos=1)

            manifest, chunks = alice.manifest("inc-alice", clip, CHUNK)
            alice.send_manifest(manifest)
            for seq, data in enumerate(chunks):
                alice.send_chunk(manifest, seq, data)
            ack = alice.next_ack()
            assert ack.status is AckStatus.COMPLETE
            time.sleep(0.5)
            assert spy.empty(), "bob read alice's ack"
            accepted = cloud.runtime.metrics.ingest_accepted
            assert accepted["manifest"] == 1 and accepted["chunk"] == len(
                chunks
            )  # nothing of bob's got through
            assert "inc-forged" not in str(cloud.runtime.metrics.ingest_rejected)

            # revoked in the registry while the broker still lets it in: the cloud refuses and counts it
            cloud.call(cloud.runtime.devices.revoke, "cam-alice")
            late, _ = alice.manifest("inc-late", clip, CHUNK)
            alice.send_manifest(late)
            wait_for(
                lambda: cloud.runtime.metrics.ingest_rejected["revoked_device"] == 1, 10, "revoked counted"
            )
            status = cloud.client.get("/devices/cam-alice", headers=cloud.headers("read")).json()
            assert status["status"] == "REVOKED" and status["revoked_at"]

            # `devices revoke`: registry and login; on the reload mosquitto drops bob's open session too
            capsys.readouterr()
            assert cli(["devices", "revoke", "cam-bob"], settings) == 0
            assert "broker reloaded (SIGHUP)" in capsys.readouterr().out
            wait_for(lambda: not bob.client.is_connected(), 10, "the broker to drop bob")
            assert connect_result(broker.port, "cam-bob", bob_pw).is_failure
            assert cloud.call(cloud.runtime.devices.count_by_status)["REVOKED"] == 2
        finally:
            alice.close()
            bob.close()
