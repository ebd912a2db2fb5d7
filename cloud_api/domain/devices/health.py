"""What a device's presence and latest heartbeat mean: a derived status and a list of problems.

Pure functions over the stored row, so the list, the detail page and /metrics agree and tests need no
clock: the status is derived at read time from the last reported state (the OFFLINE one is the Last
Will) and from how long the device has been silent, never stored.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec

from cloud_api.settings import Settings

MB = 1024 * 1024


class FleetStatus(StrEnum):
    ONLINE = "ONLINE"  # reported online and heard from recently
    STALE = "STALE"  # reported online, but heartbeats stopped (no Last Will seen yet)
    OFFLINE = "OFFLINE"  # Last Will / clean offline, or silent past HEALTH_OFFLINE_AFTER_S
    UNKNOWN = "UNKNOWN"  # registered, never heard from
    REVOKED = "REVOKED"


class ProblemCode(StrEnum):
    CAMERA_BLANK = "camera_blank"
    CAMERA_OBSTRUCTED = "camera_obstructed"
    CAMERA_FROZEN = "camera_frozen"
    DISK_LOW = "disk_low"
    OUTBOX_BACKLOG = "outbox_backlog"
    CLOCK_DRIFT = "clock_drift"
    HIGH_TEMPERATURE = "high_temperature"


class Problem(msgspec.Struct, frozen=True):
    code: ProblemCode
    detail: str
    value: float | str
    threshold: float | str


class Thresholds(msgspec.Struct, frozen=True, kw_only=True):
    stale_after_s: float
    offline_after_s: float
    disk_free_min_bytes: int
    outbox_max_depth: int
    clock_drift_max_s: float
    temperature_max_c: float

    @classmethod
    def from_settings(cls, s: Settings) -> Thresholds:
        return cls(
            stale_after_s=s.health_stale_after_s,
            offline_after_s=s.health_offline_after_s,
            disk_free_min_bytes=s.health_disk_free_min_mb * MB,
            outbox_max_depth=s.health_outbox_max_depth,
            clock_drift_max_s=s.health_clock_drift_max_s,
            temperature_max_c=s.health_temperature_max_c,
        )


def derive_status(row: dict[str, Any], now: datetime, t: Thresholds) -> FleetStatus:
    """From a ``devices`` row: revoked, never seen, Last Will, then silence decide."""
    if row["revoked_at"] is not None:
        return FleetStatus.REVOKED
    last_seen: datetime | None = row["last_seen"]
    if last_seen is None:
        return FleetStatus.UNKNOWN
    silent_s = (now - last_seen).total_seconds()
    if row["status"] == "OFFLINE" or silent_s > t.offline_after_s:
        return FleetStatus.OFFLINE
    return FleetStatus.STALE if silent_s > t.stale_after_s else FleetStatus.ONLINE


def _camera(state: str) -> Problem | None:
    code = {
        "BLANK": ProblemCode.CAMERA_BLANK,
        "OBSTRUCTED": ProblemCode.CAMERA_OBSTRUCTED,
        "FROZEN": ProblemCode.CAMERA_FROZEN,
    }.get(state)
    return Problem(code, f"camera reports {state.lower()}", state, "OK") if code else None


def problems(health: dict[str, Any] | None, received_at: datetime | None, t: Thresholds) -> list[Problem]:
    """Problems in the latest heartbeat (JSON of a HealthHeartbeat); none without one."""
    if not health:
        return []
    found: list[Problem] = []
    if camera := _camera(str(health.get("camera_state", "UNKNOWN"))):
        found.append(camera)
    disk = int(health.get("disk_free_bytes", 0))
    if disk < t.disk_free_min_bytes:
        found.append(Problem(ProblemCode.DISK_LOW, f"{disk / MB:.0f} MB free", disk, t.disk_free_min_bytes))
    depth = int(health.get("outbox_depth", 0))
    if depth > t.outbox_max_depth:
        found.append(
            Problem(ProblemCode.OUTBOX_BACKLOG, f"{depth} clips waiting to upload", depth, t.outbox_max_depth)
        )
    drift = _clock_drift(health, received_at)
    if drift is not None and abs(drift) > t.clock_drift_max_s:
        found.append(
            Problem(
                ProblemCode.CLOCK_DRIFT, f"device clock off by {drift:+.1f} s", drift, t.clock_drift_max_s
            )
        )
    temperature = health.get("temperature_c")
    if temperature is not None and temperature > t.temperature_max_c:
        found.append(
            Problem(ProblemCode.HIGH_TEMPERATURE, f"{temperature:.0f} C", temperature, t.temperature_max_c)
        )
    return found


def _clock_drift(health: dict[str, Any], received_at: datetime | None) -> float | None:
    """The device's own clock offset (NTP) where it reports one, else send time vs receive time.

    The fallback includes transport delay, which is seconds at worst for a live heartbeat; a heartbeat
    that waited in the broker for an offline device would look drifted, so it is used only without
    the device's figure.
    """
    if health.get("clock_offset_s") is not None:
        return float(health["clock_offset_s"])
    if received_at is None or not health.get("sent_at"):
        return None
    return float(health["sent_at"]) - received_at.timestamp()
