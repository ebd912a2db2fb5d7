"""Camera motion and scene cuts measured on synthetic frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge_agent.miners import EgoMotionEstimator
from edge_agent.source import VideoFrame


def texture(seed: int) -> np.ndarray:
    """Large shapes (a scene's layout) with fine detail (corners to track) on top."""
    rng = np.random.default_rng(seed)
    coarse = cv2.GaussianBlur(rng.standard_normal((180, 320)).astype(np.float32), (0, 0), 12.0)
    fine = cv2.GaussianBlur(rng.standard_normal((180, 320)).astype(np.float32), (0, 0), 1.5)
    img = coarse / coarse.std() + 0.5 * fine / fine.std()
    return np.clip(128 + img / img.std() * 45, 0, 255).astype(np.uint8)


def shifted(img: np.ndarray, dx: float, dy: float, angle_deg: float = 0.0) -> np.ndarray:
    m = cv2.getRotationMatrix2D((160, 90), angle_deg, 1.0)
    m[:, 2] += (dx, dy)
    return cv2.warpAffine(img, m, (320, 180), borderMode=cv2.BORDER_REFLECT)


def measure(frames: list[np.ndarray]) -> list:
    est = EgoMotionEstimator(work_width=160)
    return [est.update(VideoFrame(t=i / 30, index=i, gray=f)) for i, f in enumerate(frames)]


def test_global_shift_and_roll_are_measured_in_width_fractions() -> None:
    base = texture(1)
    first, second = measure([base, shifted(base, 16.0, -8.0, 2.0)])
    assert not first.valid and not first.cut
    assert second.valid and not second.cut
    assert second.dx == pytest.approx(16 / 320, abs=0.004)
    assert second.dy == pytest.approx(-8 / 320, abs=0.004)
    assert abs(second.droll) == pytest.approx(np.deg2rad(2.0), abs=0.01)


def test_unrelated_picture_is_a_cut_not_motion() -> None:
    _, cut = measure([texture(1), texture(2)])
    assert cut.cut and not cut.valid


def test_blank_frames_carry_no_motion_and_leaving_them_is_a_cut() -> None:
    black = np.zeros((180, 320), np.uint8)
    results = measure([black, black, texture(3), texture(3)])
    assert [r.valid for r in results] == [False, False, False, True]
    assert [r.cut for r in results] == [False, False, True, False]
