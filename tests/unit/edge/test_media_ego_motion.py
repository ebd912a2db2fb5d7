"""Camera motion and scene cuts measured on synthetic frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge_agent.miners import EgoMotionEstimator
from edge_agent.settings import AnalysisConfig
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
    analysis = AnalysisConfig()
    est = EgoMotionEstimator(analysis.motion_width, analysis.cut_inlier_ratio, analysis.cut_correlation)
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


# The two tests below name what the estimator gets wrong; each one's fix was built, measured and held back
# because the motion model learns from this estimator's output (README 'Still missed').
KNOWN_GAP = (
    "known gap (README 'Tried, not shipped: exposure-matched tracking'): the fix passes this test, but motion "
    "models retrained on what it changes scored the real ego crashes lower"
)


@pytest.mark.xfail(
    strict=True, reason=f"{KNOWN_GAP}; without an exposure match Lucas-Kanade loses the corners"
)
def test_an_exposure_step_is_motion_not_a_cut() -> None:
    """Sun through trees or a tunnel's edge changes the gain between ticks; the camera moved 8 px."""
    base = texture(4)
    darker = (shifted(base, 8.0, 4.0).astype(np.float32) * 0.75).astype(np.uint8)
    _, step = measure([base, darker])
    assert step.valid and not step.cut
    assert step.dx == pytest.approx(8 / 320, abs=0.004)
    assert step.dy == pytest.approx(4 / 320, abs=0.004)


def with_detail(layout_seed: int, detail_seed: int) -> np.ndarray:
    """One scene layout (``texture``'s coarse shapes) under the fine detail of another seed."""
    coarse = texture(layout_seed).astype(np.float32)
    coarse = cv2.GaussianBlur(coarse, (0, 0), 6.0)
    rng = np.random.default_rng(detail_seed)
    fine = cv2.GaussianBlur(rng.standard_normal((180, 320)).astype(np.float32), (0, 0), 1.5)
    return np.clip(coarse + fine / fine.std() * 25, 0, 255).astype(np.uint8)


@pytest.mark.xfail(
    strict=True, reason=f"{KNOWN_GAP}; without a forward-backward check RANSAC fits a chance consensus"
)
def test_an_edit_between_pictures_of_the_same_layout_is_a_cut() -> None:
    """Two roads of the same shape: the coarse layout still correlates, so only tracking can tell, and
    a chance consensus of corners that landed anywhere must not pass for a camera motion."""
    first, second = with_detail(5, 50), with_detail(5, 51)
    thumbs = [
        cv2.resize(f, (32, 18), interpolation=cv2.INTER_AREA).astype(np.float32) for f in (first, second)
    ]
    assert np.corrcoef(thumbs[0].ravel(), thumbs[1].ravel())[0, 1] > 0.5  # the layout test passes it
    _, edit = measure([first, second])
    assert edit.cut and not edit.valid


def test_a_lead_car_looming_into_the_view_is_motion_not_a_cut() -> None:
    """A rear-end's last tick: the car ahead grows from a third to over half the width of the view while
    the background moves as one. The layout correlation drops below the earlier limit (0.5), but not
    to an edit's (under 0.3)."""
    background = texture(6)
    frames = []
    for half_w, half_h, dx in ((50, 32, 0.0), (95, 62, 3.0)):
        frame = shifted(background, dx, 0.0)
        frame[100 - half_h : 100 + half_h, 160 - half_w : 160 + half_w] = 235
        frames.append(frame)
    thumbs = [cv2.resize(f, (32, 18), interpolation=cv2.INTER_AREA).astype(np.float32) for f in frames]
    assert 0.3 < np.corrcoef(thumbs[0].ravel(), thumbs[1].ravel())[0, 1] < 0.5
    _, loom = measure(frames)
    assert loom.valid and not loom.cut
    assert loom.dx == pytest.approx(3 / 320, abs=0.004)
