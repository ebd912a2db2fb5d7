"""Camera motion between consecutive frames, and scene-cut detection, computed once for all miners.

Corners are tracked with pyramidal Lucas-Kanade and a similarity transform (shift, roll, scale) is fit
with RANSAC, so the background's motion wins over a car crossing the view. A cut is a frame where few
of the previous frame's corners follow any one camera motion (lost tracks and RANSAC outliers), or
whose coarse layout has almost nothing left in common with the previous one: an edit, not a physical
movement, so miners reset instead of scoring it. The layout limit (correlation of 32x18 thumbnails under
0.3) leaves room for a lead car looming into the view at a rear-end: that drops it to 0.31-0.48 between
two ticks, and the earlier limit of 0.5 cut the impact itself out of the motion window.
"""

from __future__ import annotations

import math

import cv2
import msgspec
import numpy as np

from edge_agent.source.base import VideoFrame

_THUMB = (32, 18)
_FLAT_STD = 4.0  # gray levels: black, blank or fully washed-out frames carry no motion information
_MIN_TRACKS = 8
# Tracking budget. A similarity transform has four unknowns; 60 corners spread over the frame leave
# RANSAC ample inliers when a car covers a third of the view (100 before: tracking was 40 % of mining).
# At 160 px wide and 10 Hz two pyramid levels with an 11 px window follow about 5 * 2**2 = 20 px per step;
# a third level (a 20 px wide image) added cost, not range the scene-cut test would accept anyway.
_CORNERS = 60
_LK_WINDOW = (11, 11)
_LK_LEVELS = 2


class EgoMotion(msgspec.Struct, frozen=True):
    """Image motion from the previous frame to this one; shifts are fractions of the frame width."""

    t: float
    dx: float = 0.0
    dy: float = 0.0
    droll: float = 0.0  # radians
    scale: float = 1.0  # above 1: the scene expands, as when driving forward
    valid: bool = False  # enough texture and tracks to trust the numbers
    cut: bool = False


def _zncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    return float((a * b).sum() / (math.sqrt(float((a * a).sum() * (b * b).sum())) + 1e-6))


class EgoMotionEstimator:
    def __init__(self, work_width: int, cut_inlier_ratio: float, cut_correlation: float) -> None:
        """The limits are ``[analysis]`` settings (``AnalysisConfig``: their defaults live there alone)."""
        self.work_width = work_width
        self.cut_inlier_ratio = cut_inlier_ratio
        self.cut_correlation = cut_correlation
        self._prev: np.ndarray | None = None
        self._prev_thumb: np.ndarray | None = None
        self._prev_flat = False

    def update(self, frame: VideoFrame) -> EgoMotion:
        gray = frame.gray
        if gray.shape[1] > self.work_width:
            h = max(2, round(gray.shape[0] * self.work_width / gray.shape[1]))
            gray = cv2.resize(gray, (self.work_width, h), interpolation=cv2.INTER_AREA)
        thumb = cv2.resize(gray, _THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)
        flat = float(thumb.std()) < _FLAT_STD
        prev, prev_thumb, prev_flat = self._prev, self._prev_thumb, self._prev_flat
        self._prev, self._prev_thumb, self._prev_flat = gray, thumb, flat
        if prev is None or prev_thumb is None:
            return EgoMotion(t=frame.t)
        if flat or prev_flat:
            return EgoMotion(t=frame.t, cut=flat != prev_flat)
        if _zncc(prev_thumb, thumb) < self.cut_correlation:
            return EgoMotion(t=frame.t, cut=True)
        return self._track(prev, gray, frame.t)

    def _track(self, prev: np.ndarray, gray: np.ndarray, t: float) -> EgoMotion:
        corners = cv2.goodFeaturesToTrack(prev, _CORNERS, 0.01, 4)
        if corners is None or len(corners) < _MIN_TRACKS:
            return EgoMotion(t=t)
        moved, status, _ = cv2.calcOpticalFlowPyrLK(
            prev, gray, corners, None, winSize=_LK_WINDOW, maxLevel=_LK_LEVELS
        )
        ok = status.ravel() == 1
        if int(ok.sum()) < _MIN_TRACKS:
            return EgoMotion(t=t, cut=True)
        m, inliers = cv2.estimateAffinePartial2D(
            corners[ok], moved[ok], method=cv2.RANSAC, ransacReprojThreshold=1.0
        )
        if m is None or inliers is None:
            return EgoMotion(t=t, cut=True)
        if float(inliers.sum()) / len(corners) < self.cut_inlier_ratio:  # lost tracks count against it too
            return EgoMotion(t=t, cut=True)
        w = gray.shape[1]
        centre = np.array([w / 2, gray.shape[0] / 2])
        a = m[:, :2]
        shift = m[:, 2] + a @ centre - centre  # how the image centre moved
        return EgoMotion(
            t=t,
            dx=float(shift[0] / w),
            dy=float(shift[1] / w),
            droll=float(math.atan2(a[1, 0], a[0, 0])),
            scale=float(math.sqrt(abs(np.linalg.det(a)))),
            valid=True,
        )
