"""Health inputs that need no broker: thermal zones and the frame counters."""

from __future__ import annotations

import time
from pathlib import Path

from edge_agent.health import AgentStats, read_temperature_c


def zone(root: Path, index: int, text: str) -> None:
    folder = root / f"thermal_zone{index}"
    folder.mkdir(parents=True)
    (folder / "temp").write_text(text)


def test_temperature_is_the_hottest_readable_zone(tmp_path: Path) -> None:
    zone(tmp_path, 0, "41500\n")
    zone(tmp_path, 1, "67250\n")
    zone(tmp_path, 2, "not a number\n")
    assert read_temperature_c(tmp_path) == 67.25


def test_no_thermal_zones_gives_none(tmp_path: Path) -> None:
    assert read_temperature_c(tmp_path) is None


def test_fps_is_the_rate_since_the_last_reading() -> None:
    stats = AgentStats()
    stats.fps()
    stats.add_frames(30, dropped=2)
    time.sleep(0.05)
    first = stats.fps()
    assert 0 < first <= 30 / 0.05
    assert stats.fps() == 0.0
    stats.add_frames(10, dropped=1)
    assert (stats.frames, stats.dropped_frames) == (40, 3)
