"""Camera state on generated frames: a textured road is OK, black / white is BLANK, a cloth over most
of the lens is OBSTRUCTED, a stuck picture is FROZEN, a parked car at night (noise only) stays OK."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from edge_agent.health.camera import CameraConfig, CameraMonitor
from edge_agent.source.base import VideoFrame
from shared_models import CameraState

H, W, FPS = 180, 320, 30


def _road(rng: np.random.Generator, shift: int = 0) -> np.ndarray:
    """A textured scene (sky gradient on top, textured ground below) moved by ``shift`` pixels."""
    sky = np.linspace(150, 200, H // 2, dtype=np.float32)[:, None].repeat(W + 64, axis=1)
    ground = 90 + 40 * rng.standard_normal((H - H // 2, W + 64)).astype(np.float32)
    scene = np.vstack([sky, ground])
    return np.clip(scene[:, shift : shift + W], 0, 255).astype(np.uint8)


def _feed(monitor: CameraMonitor, frames: list[np.ndarray], t0: float = 0.0) -> CameraState:
    state = CameraState.UNKNOWN
    for i, gray in enumerate(frames):
        state = monitor.observe(VideoFrame(t=t0 + i / FPS, index=i, gray=gray))
    return state


def _seconds(make: Callable[[int], np.ndarray], seconds: float) -> list[np.ndarray]:
    return [make(i) for i in range(int(seconds * FPS))]


def test_driving_is_ok() -> None:
    rng = np.random.default_rng(0)
    base = _road(rng)
    frames = _seconds(lambda i: np.roll(base, i % 40, axis=1), 6)
    assert _feed(CameraMonitor(), frames) is CameraState.OK


def test_unknown_until_the_window_fills() -> None:
    rng = np.random.default_rng(1)
    frames = _seconds(lambda i: _road(rng), 1)
    assert _feed(CameraMonitor(), frames) is CameraState.UNKNOWN


@pytest.mark.parametrize("level", [3, 250])
def test_black_or_white_is_blank(level: int) -> None:
    rng = np.random.default_rng(2)
    frames = _seconds(lambda i: np.clip(level + rng.normal(0, 1.5, (H, W)), 0, 255).astype(np.uint8), 4)
    assert _feed(CameraMonitor(), frames) is CameraState.BLANK


def test_uniform_mid_grey_is_obstructed_not_blank() -> None:
    rng = np.random.default_rng(3)
    frames = _seconds(lambda i: np.clip(120 + rng.normal(0, 1.0, (H, W)), 0, 255).astype(np.uint8), 4)
    assert _feed(CameraMonitor(), frames) is CameraState.OBSTRUCTED


def test_cloth_over_most_of_the_lens_is_obstructed() -> None:
    rng = np.random.default_rng(4)

    def covered(i: int) -> np.ndarray:
        frame = _road(rng, i % 40)
        frame[:, : int(W * 0.85)] = 70  # a smooth dark cloth hanging over 85% of the view
        return frame

    assert _feed(CameraMonitor(), _seconds(covered, 4)) is CameraState.OBSTRUCTED


def test_stuck_picture_is_frozen_and_recovers() -> None:
    rng = np.random.default_rng(5)
    still = _road(rng)
    monitor = CameraMonitor()
    assert _feed(monitor, _seconds(lambda i: still, 6)) is CameraState.FROZEN
    moving = _seconds(lambda i: _road(rng), 4)
    assert _feed(monitor, moving, t0=6.0) is CameraState.OK


def test_parked_car_at_night_is_not_frozen() -> None:
    """A still, dark scene: only sensor noise (sigma 2 grey levels) changes between frames."""
    rng = np.random.default_rng(6)
    scene = np.clip(_road(rng).astype(np.float32) * 0.3, 0, 255)
    frames = _seconds(lambda i: np.clip(scene + rng.normal(0, 2.0, scene.shape), 0, 255).astype(np.uint8), 8)
    assert _feed(CameraMonitor(), frames) is CameraState.OK


def test_brief_glitch_does_not_change_the_state() -> None:
    rng = np.random.default_rng(7)
    frames = _seconds(lambda i: np.zeros((H, W), np.uint8) if 60 <= i < 75 else _road(rng), 6)
    assert _feed(CameraMonitor(CameraConfig(window_s=2.0)), frames) is CameraState.OK


def test_state_goes_unknown_when_frames_stop_arriving() -> None:
    rng = np.random.default_rng(8)
    monitor = CameraMonitor(CameraConfig(stale_s=0.2))
    assert _feed(monitor, _seconds(lambda i: _road(rng), 4)) is CameraState.OK
    assert monitor.state is CameraState.OK
    time.sleep(0.3)
    assert monitor.state is CameraState.UNKNOWN


def test_next_recording_starts_a_new_judgement() -> None:
    """A new file starts its clock at 0 again: the stuck picture of the last one must not carry over."""
    rng = np.random.default_rng(9)
    still = _road(rng)
    monitor = CameraMonitor()
    assert _feed(monitor, _seconds(lambda i: still, 6)) is CameraState.FROZEN
    assert _feed(monitor, _seconds(lambda i: _road(rng), 1)) is CameraState.UNKNOWN  # t restarts at 0
    assert _feed(monitor, _seconds(lambda i: _road(rng)[::2, ::2], 4), t0=1.0) is CameraState.OK  # other size
