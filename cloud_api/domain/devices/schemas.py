from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from cloud_api.domain.devices.health import FleetStatus, Problem


class DeviceOut(msgspec.Struct, kw_only=True):
    device_id: str
    status: FleetStatus
    """Derived: ONLINE, STALE (heartbeats stopped), OFFLINE (Last Will or long silence), UNKNOWN, REVOKED."""
    reported_state: str
    """What the device last said on its retained status topic: ONLINE, OFFLINE or UNKNOWN."""
    registered_at: datetime
    revoked_at: datetime | None
    last_seen: datetime | None
    last_heartbeat_at: datetime | None = None
    firmware: str
    problems: list[Problem] = []
    latest_heartbeat: dict[str, Any] | None = None


class DeviceList(msgspec.Struct, kw_only=True):
    items: list[DeviceOut]
    total: int


class HeartbeatOut(msgspec.Struct, kw_only=True):
    received_at: datetime
    heartbeat: dict[str, Any]


class HealthHistory(msgspec.Struct, kw_only=True):
    device_id: str
    items: list[HeartbeatOut]
    """Oldest first, from ``since`` on (limited to ``limit``)."""


class ProvisionedDevice(msgspec.Struct, kw_only=True):
    """What ``devices add`` prints: the broker credentials are shown once and stored only hashed."""

    device_id: str
    mqtt_username: str
    mqtt_password: str
    password_file: str


# ---- commands (REST in, MQTT out) ----


class PingIn(msgspec.Struct, tag="ping", forbid_unknown_fields=True):
    pass


class ConfigPushIn(msgspec.Struct, tag="config_push", forbid_unknown_fields=True):
    config: dict[str, Any]
    """Agent TOML keys as a nested mapping, e.g. {"fusion": {"threshold": 0.7}}."""


class FootageRequestIn(msgspec.Struct, tag="footage_request", forbid_unknown_fields=True):
    start_at: Annotated[float, msgspec.Meta(ge=0)]
    """Unix seconds (device wall clock)."""
    end_at: Annotated[float, msgspec.Meta(ge=0)]

    def __post_init__(self) -> None:
        if self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")


CommandIn = PingIn | ConfigPushIn | FootageRequestIn

CommandState = Literal["SENT", "ACKNOWLEDGED", "FAILED"]


class CommandOut(msgspec.Struct, kw_only=True):
    command_id: str
    device_id: str
    kind: str
    state: CommandState
    detail: str
    body: dict[str, Any]
    issued_by: str
    created_at: datetime
    updated_at: datetime


class CommandList(msgspec.Struct, kw_only=True):
    items: list[CommandOut]
