"""Fleet over REST with a real broker: derived status (Last Will, missed heartbeats), problems from
heartbeats, health history and its retention, and commands that travel over MQTT and come back settled."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from cloud_api.domain.devices.tables import DeviceHeartbeat
from cloud_api.settings import Settings
from shared_models import (
    CameraState,
    CommandResult,
    ConfigPush,
    DeviceState,
    DeviceStatus,
    FootageRequest,
    Ping,
    TopicKind,
    encode,
    topic_for,
)
from tests.integration.cloud.fleet_support import FleetDevice, new_public_pem
from tests.integration.cloud.support import CloudApp, running, wait_for


@pytest.fixture
def fleet(make_settings: Callable[..., Settings], broker) -> Iterator[CloudApp]:  # noqa: ANN001
    settings = make_settings(
        ingest_enabled=True,
        mqtt_url=broker.url,
        worker_enabled=False,
        health_stale_after_s=1.5,
        fleet_sweep_interval_s=3600.0,  # tests sweep by hand
    )
    with running(settings) as app:
        wait_for(lambda: app.runtime.ingest.connected, 15, "ingest to connect")
        yield app


def register(cloud: CloudApp, port: int, device_id: str) -> FleetDevice:
    device = FleetDevice(port, device_id)
    device.wait_connected()
    cloud.call(cloud.runtime.devices.register, device_id, device.public_pem)
    return device


def test_status_problems_filters_and_history(fleet: CloudApp, broker) -> None:  # noqa: ANN001
    headers = fleet.headers("read")
    healthy, hot, blind = (register(fleet, broker.port, d) for d in ("cam-ok", "cam-hot", "cam-blind"))
    register(fleet, broker.port, "cam-silent").close()
    try:
        healthy.heartbeat()
        hot.heartbeat(temperature_c=97.0, disk_free_bytes=10 * 1024**2)
        blind.heartbeat(camera_state=CameraState.OBSTRUCTED)
        wait_for(
            lambda: fleet.client.get("/devices/cam-blind", headers=headers).json()["problems"], 20, "beat"
        )
        body = fleet.client.get("/devices", headers=headers).json()
        assert [d["device_id"] for d in body["items"]] == ["cam-hot", "cam-blind", "cam-ok", "cam-silent"]
        assert [d["status"] for d in body["items"]] == ["ONLINE", "ONLINE", "ONLINE", "UNKNOWN"]
        assert [p["code"] for p in body["items"][0]["problems"]] == ["disk_low", "high_temperature"]
        only = fleet.client.get("/devices?problem=camera_obstructed", headers=headers).json()
        assert [d["device_id"] for d in only["items"]] == ["cam-blind"] and only["total"] == 1
        unknown = fleet.client.get("/devices?status=UNKNOWN", headers=headers).json()["items"]
        assert [d["device_id"] for d in unknown] == ["cam-silent"]
        assert fleet.client.get("/devices?problem=nonsense", headers=headers).status_code in (400, 422)

        # missed heartbeats: STALE; then the Last Will (a retained OFFLINE status): OFFLINE
        wait_for(
            lambda: fleet.client.get("/devices/cam-ok", headers=headers).json()["status"] == "STALE",
            10,
            "stale",
        )
        will = DeviceStatus(device_id="cam-hot", state=DeviceState.OFFLINE, at=time.time())
        hot.publish(topic_for(TopicKind.STATUS, "cam-hot"), encode(will))
        wait_for(
            lambda: fleet.client.get("/devices/cam-hot", headers=headers).json()["status"] == "OFFLINE",
            10,
            "will",
        )
        counts = fleet.call(fleet.runtime.devices.count_by_status)
        assert counts == {"ONLINE": 0, "STALE": 2, "OFFLINE": 1, "UNKNOWN": 1, "REVOKED": 0}

        mark = datetime.now(UTC)
        healthy.heartbeat(outbox_depth=40)
        wait_for(
            lambda: fleet.client.get("/devices/cam-ok", headers=headers).json()["problems"], 20, "beat 2"
        )
        everything = fleet.client.get("/devices/cam-ok/health", headers=headers).json()["items"]
        assert [b["heartbeat"]["outbox_depth"] for b in everything] == [0, 40]
        since = fleet.client.get(
            "/devices/cam-ok/health", params={"since": mark.isoformat()}, headers=headers
        ).json()["items"]
        assert [b["heartbeat"]["outbox_depth"] for b in since] == [40]
        assert fleet.client.get("/devices/nobody/health", headers=headers).status_code == 404
    finally:
        for device in (healthy, hot, blind):
            device.close()


def test_history_retention_prunes_old_heartbeats(fleet: CloudApp, broker) -> None:  # noqa: ANN001
    device = register(fleet, broker.port, "cam-old")
    try:
        device.heartbeat()
        device.heartbeat()
        wait_for(lambda: fleet.call(DeviceHeartbeat.count().run) == 2, 20, "two heartbeats")
        old = datetime.now(UTC) - timedelta(hours=200)
        first = fleet.call(DeviceHeartbeat.select(DeviceHeartbeat.id).first().run)["id"]
        fleet.call(
            DeviceHeartbeat.update({DeviceHeartbeat.received_at: old}).where(DeviceHeartbeat.id == first).run
        )
        fleet.call(fleet.runtime.sweeper.sweep)  # retention 168 h by default
        assert fleet.call(DeviceHeartbeat.count().run) == 1 and fleet.runtime.metrics.heartbeats_pruned == 1
    finally:
        device.close()


def test_commands_travel_over_mqtt_and_settle(fleet: CloudApp, broker) -> None:  # noqa: ANN001
    device = register(fleet, broker.port, "cam-cmd")
    write, read = fleet.headers("write"), fleet.headers("read")
    try:
        sent = fleet.client.post("/devices/cam-cmd/commands", json={"type": "ping"}, headers=write)
        assert sent.status_code == 202 and sent.json()["state"] == "SENT", sent.text
        ping = device.next_command()
        assert isinstance(ping, Ping) and ping.command_id == sent.json()["command_id"]

        push = fleet.client.post(
            "/devices/cam-cmd/commands",
            json={"type": "config_push", "config": {"fusion": {"threshold": 0.7}}},
            headers=write,
        ).json()
        config = device.next_command()
        assert isinstance(config, ConfigPush) and config.config == {"fusion": {"threshold": 0.7}}
        footage = fleet.client.post(
            "/devices/cam-cmd/commands",
            json={"type": "footage_request", "start_at": 1_700_000_000, "end_at": 1_700_000_030},
            headers=write,
        ).json()
        request = device.next_command()
        assert isinstance(request, FootageRequest) and request.end_at - request.start_at == 30

        for command_id, ok, detail in (
            (ping.command_id, True, "pong"),
            (config.command_id, False, "unknown key fusion.threshold"),
        ):
            result = CommandResult(
                device_id="cam-cmd", command_id=command_id, ok=ok, detail=detail, at=time.time()
            )
            device.publish(topic_for(TopicKind.COMMAND_RESULT, "cam-cmd"), encode(result))
        stray = CommandResult(device_id="cam-cmd", command_id="not-a-command", ok=True)
        device.publish(topic_for(TopicKind.COMMAND_RESULT, "cam-cmd"), encode(stray))

        def state(command_id: str) -> str:
            return fleet.client.get(f"/devices/cam-cmd/commands/{command_id}", headers=read).json()["state"]

        wait_for(lambda: state(push["command_id"]) == "FAILED", 20, "config push to fail")
        assert state(sent.json()["command_id"]) == "ACKNOWLEDGED" and state(footage["command_id"]) == "SENT"
        listed = fleet.client.get("/devices/cam-cmd/commands", headers=read).json()["items"]
        assert {c["kind"] for c in listed} == {"ping", "config_push", "footage_request"}
        assert (
            next(c for c in listed if c["kind"] == "config_push")["detail"] == "unknown key fusion.threshold"
        )
        wait_for(lambda: fleet.runtime.metrics.ingest_rejected["unknown_command"] == 1, 10, "stray counted")

        bad = fleet.client.post(
            "/devices/cam-cmd/commands",
            json={"type": "footage_request", "start_at": 5, "end_at": 1},
            headers=write,
        )
        assert bad.status_code == 422
        assert (
            fleet.client.post("/devices/cam-cmd/commands", json={"type": "reboot"}, headers=write).status_code
            == 422
        )
        assert (
            fleet.client.post("/devices/nobody/commands", json={"type": "ping"}, headers=write).status_code
            == 404
        )
        assert (
            fleet.client.post("/devices/cam-cmd/commands", json={"type": "ping"}, headers=read).status_code
            == 403
        )
        fleet.call(fleet.runtime.devices.revoke, "cam-cmd")
        assert (
            fleet.client.post("/devices/cam-cmd/commands", json={"type": "ping"}, headers=write).status_code
            == 409
        )
    finally:
        device.close()


def test_commands_need_the_broker(make_settings: Callable[..., Settings]) -> None:
    with running(make_settings(worker_enabled=False)) as cloud:  # ingest off: no MQTT client
        cloud.call(cloud.runtime.devices.register, "cam-x", new_public_pem())
        answer = cloud.client.post(
            "/devices/cam-x/commands", json={"type": "ping"}, headers=cloud.headers("write")
        )
        assert answer.status_code == 503  # details of 5xx are shown only with DEV_MODE
        assert (
            cloud.client.get("/devices/cam-x/commands", headers=cloud.headers("read")).json()["items"] == []
        )
