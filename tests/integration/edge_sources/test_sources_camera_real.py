"""Camera state on the real clips in ../shared/data/real: never a false BLANK / OBSTRUCTED / FROZEN on
real footage (day, night, rain, static traffic cams), and real frames covered, blacked out or stuck are
called what they are. Skips where the data folder is absent."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import msgspec
import numpy as np
import pytest

from edge_agent.health.camera import CameraMonitor
from edge_agent.source import VideoFrame, open_source
from shared_models import CameraState

REAL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "real"
pytestmark = pytest.mark.skipif(not (REAL / "labels.tsv").exists(), reason=f"{REAL} is absent (real clips)")


def _clips() -> list[str]:
    if not (REAL / "labels.tsv").exists():
        return []
    with (REAL / "labels.tsv").open() as f:
        return [row["file"] for row in csv.DictReader(f, delimiter="\t") if row["file"].endswith(".mp4")]


def _frames(name: str, seconds: float = 12.0) -> list[VideoFrame]:
    """The first ``seconds`` of a clip: the detector's windows are 3-5 s, more adds only decoding time."""
    frames: list[VideoFrame] = []
    with open_source(REAL / name) as source:
        for item in source:
            if isinstance(item, VideoFrame):
                if item.t > seconds:
                    break
                frames.append(item)
    return frames


def test_real_footage_is_never_called_blank_obstructed_or_frozen() -> None:
    clips = _clips()
    assert len(clips) >= 20
    judged = Counter()
    for name in clips:
        monitor = CameraMonitor()
        states = Counter(monitor.observe(frame) for frame in _frames(name, seconds=8.0))
        wrong = {s: n for s, n in states.items() if s not in (CameraState.OK, CameraState.UNKNOWN)}
        assert not wrong, f"{name}: {wrong}"
        judged[states[CameraState.OK] > 0] += 1
    assert judged[True] >= len(clips) - 3  # all but the shortest clips fill the 3 s window


@pytest.fixture(scope="module")
def road() -> list[VideoFrame]:
    frames = _frames("normal/n09_dashcam_us_interstate_day.mp4")
    assert len(frames) > 150
    return frames


def _replayed(frames: list[VideoFrame], change: Callable[[np.ndarray], np.ndarray]) -> CameraState:
    monitor = CameraMonitor()
    state = CameraState.UNKNOWN
    for frame in frames:
        state = monitor.observe(msgspec.structs.replace(frame, gray=change(frame.gray.copy())))
    return state


def test_real_road_covered_by_a_cloth_is_obstructed(road: list[VideoFrame]) -> None:
    def cloth(gray: np.ndarray) -> np.ndarray:
        gray[:, : int(gray.shape[1] * 0.85)] = 60
        return gray

    assert _replayed(road, lambda g: g) is CameraState.OK
    assert _replayed(road, cloth) is CameraState.OBSTRUCTED


def test_real_road_blacked_out_is_blank(road: list[VideoFrame]) -> None:
    assert _replayed(road, lambda g: (g // 40).astype(np.uint8)) is CameraState.BLANK  # lens cap: 0..6


def test_real_road_stuck_on_one_picture_is_frozen(road: list[VideoFrame]) -> None:
    stuck = road[0].gray
    assert _replayed(road, lambda g: stuck) is CameraState.FROZEN
