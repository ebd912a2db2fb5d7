"""Derived device status and health problems: pure functions over a stored row and heartbeat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cloud_api.domain.devices.health import FleetStatus, ProblemCode, Thresholds, derive_status, problems
from cloud_api.settings import Settings

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
T = Thresholds(
    stale_after_s=90,
    offline_after_s=900,
    disk_free_min_bytes=1024**3,
    outbox_max_depth=20,
    clock_drift_max_s=5,
    temperature_max_c=85,
)


def row(status: str = "ONLINE", silent_s: float | None = 10, revoked: bool = False) -> dict:
    return {
        "status": status,
        "last_seen": None if silent_s is None else NOW - timedelta(seconds=silent_s),
        "revoked_at": NOW if revoked else None,
    }


def healthy(**changes: object) -> dict:
    body = {
        "sent_at": NOW.timestamp(),
        "camera_state": "OK",
        "disk_free_bytes": 50 * 1024**3,
        "outbox_depth": 0,
        "temperature_c": 55.0,
        "clock_offset_s": 0.2,
    }
    return {**body, **changes}


def test_status_from_last_will_and_silence() -> None:
    assert derive_status(row(silent_s=None), NOW, T) is FleetStatus.UNKNOWN
    assert derive_status(row(silent_s=10), NOW, T) is FleetStatus.ONLINE
    assert derive_status(row(silent_s=91), NOW, T) is FleetStatus.STALE
    assert derive_status(row(silent_s=901), NOW, T) is FleetStatus.OFFLINE
    assert derive_status(row("OFFLINE", silent_s=1), NOW, T) is FleetStatus.OFFLINE  # the Last Will
    assert derive_status(row(revoked=True), NOW, T) is FleetStatus.REVOKED


def test_a_healthy_heartbeat_has_no_problems() -> None:
    assert problems(healthy(), NOW, T) == [] and problems(None, None, T) == []


def test_each_problem_at_its_threshold() -> None:
    cases = {
        ProblemCode.CAMERA_BLANK: healthy(camera_state="BLANK"),
        ProblemCode.CAMERA_OBSTRUCTED: healthy(camera_state="OBSTRUCTED"),
        ProblemCode.CAMERA_FROZEN: healthy(camera_state="FROZEN"),
        ProblemCode.DISK_LOW: healthy(disk_free_bytes=1024**3 - 1),
        ProblemCode.OUTBOX_BACKLOG: healthy(outbox_depth=21),
        ProblemCode.CLOCK_DRIFT: healthy(clock_offset_s=-7.5),
        ProblemCode.HIGH_TEMPERATURE: healthy(temperature_c=90.0),
    }
    for code, body in cases.items():
        assert [p.code for p in problems(body, NOW, T)] == [code], code
    at_limits = healthy(disk_free_bytes=1024**3, outbox_depth=20, clock_offset_s=5.0, temperature_c=85.0)
    assert problems(at_limits, NOW, T) == []


def test_clock_drift_falls_back_to_send_time_without_the_devices_offset() -> None:
    body = healthy(clock_offset_s=None, sent_at=NOW.timestamp() - 30)
    (drift,) = problems(body, NOW, T)
    assert drift.code is ProblemCode.CLOCK_DRIFT and drift.value == -30


def test_thresholds_come_from_settings() -> None:
    s = Settings.from_env({"HEALTH_STALE_AFTER_S": "12.5", "HEALTH_DISK_FREE_MIN_MB": "10"})
    t = Thresholds.from_settings(s)
    assert t.stale_after_s == 12.5 and t.disk_free_min_bytes == 10 * 1024 * 1024
    assert t.offline_after_s == 900 and t.temperature_max_c == 85
