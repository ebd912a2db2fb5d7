"""Builds a HealthHeartbeat from the host (psutil, thermal zones, disk) and the agent's own counters."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from edge_agent import __version__
from edge_agent.health.camera import CameraMonitor
from edge_agent.health.clock import ClockOffset
from edge_agent.health.stats import AgentStats
from edge_agent.outbox import Outbox
from shared_models import HealthHeartbeat

log = logging.getLogger(__name__)

THERMAL_ROOT = Path("/sys/class/thermal")


def read_temperature_c(root: Path = THERMAL_ROOT) -> float | None:
    """Hottest thermal zone in degrees C (Jetsons expose CPU/GPU/SoC zones in millidegrees); None where
    there are none."""
    readings: list[float] = []
    for path in root.glob("thermal_zone*/temp"):
        try:
            readings.append(int(path.read_text().strip()) / 1000.0)
        except (OSError, ValueError):
            continue  # some zones refuse reads (sensor asleep); the others still count
    return max(readings) if readings else None


def hwmon_temperature_c() -> float | None:
    """Hottest sensor psutil knows (hwmon), for hosts without thermal zones; None: unknown, not cold."""
    sensors = psutil.sensors_temperatures() if hasattr(psutil, "sensors_temperatures") else {}
    readings = [t.current for group in sensors.values() for t in group if t.current]
    return max(readings) if readings else None


class HealthMonitor:
    def __init__(
        self,
        device_id: str,
        data_dir: Path,
        outbox: Outbox,
        stats: AgentStats,
        model_versions: Callable[[], dict[str, str]] = dict,
        thermal_root: Path = THERMAL_ROOT,
        camera: CameraMonitor | None = None,
        clock: ClockOffset | None = None,
    ) -> None:
        self.device_id = device_id
        self.data_dir = Path(data_dir)
        self.outbox = outbox
        self.stats = stats
        self.model_versions = model_versions
        self.thermal_root = thermal_root
        self.camera = camera or CameraMonitor()
        self.clock = clock or ClockOffset()
        self._started = time.monotonic()
        psutil.cpu_percent(interval=None)  # primes the counter: the first reading is since this call

    def _temperature_c(self) -> float | None:
        zones = read_temperature_c(self.thermal_root)
        return zones if zones is not None else hwmon_temperature_c()

    def snapshot(self) -> HealthHeartbeat:
        return HealthHeartbeat(
            device_id=self.device_id,
            sent_at=time.time(),
            uptime_s=time.monotonic() - self._started,
            cpu_percent=psutil.cpu_percent(interval=None),
            memory_percent=psutil.virtual_memory().percent,
            disk_free_bytes=shutil.disk_usage(self.data_dir).free,
            outbox_depth=self.outbox.depth(),
            outbox_bytes=self.outbox.bytes(),
            fps=self.stats.fps(),
            dropped_frames=self.stats.dropped_frames,
            temperature_c=self._temperature_c(),
            camera_state=self.camera.state,
            model_versions=self.model_versions(),
            firmware=__version__,
            clock_offset_s=self.clock.estimate_s(),
        )
