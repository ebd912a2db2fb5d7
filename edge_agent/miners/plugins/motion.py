"""Ego jolt from the camera's own motion: a signal-processing heuristic, not a learned model.

The camera pose is the running sum of the frame-to-frame shift and roll. A collision changes the
camera's velocity within a few tens of milliseconds, so the jolt is the change between the velocity
over the last lag and over the lag before (the same physical window at any frame rate), expressed as
the extra shift it makes over one lag. Steady turns and panning keep their velocity; road vibration
and bumps stay below the low end of the scale.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Annotated, ClassVar

import msgspec

from edge_agent.miners.base import VIDEO, Miner, MinerConfig, log_ramp
from edge_agent.miners.ego_motion import EgoMotion
from edge_agent.source.base import VideoFrame


class MotionConfig(MinerConfig, frozen=True, forbid_unknown_fields=True, kw_only=True):
    weight: Annotated[float, msgspec.Meta(ge=0)] = 0.45
    lag_s: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.1  # velocity is measured over this window
    jolt_low: Annotated[float, msgspec.Meta(gt=0)] = 0.015  # jolt (fraction of width) that scores 0
    jolt_high: Annotated[float, msgspec.Meta(gt=0)] = 0.08  # jolt that scores 1
    roll_weight: Annotated[float, msgspec.Meta(ge=0)] = 0.5  # radians of roll counted as this much shift

    def __post_init__(self) -> None:
        if self.jolt_high <= self.jolt_low:
            raise ValueError("jolt_high must be above jolt_low")


class MotionMiner(Miner):
    """Camera jolt from tracked global motion on low-resolution frames (heuristic-1)."""

    kind: ClassVar[str] = "motion"
    version: ClassVar[str] = "heuristic-1"
    inputs: ClassVar[frozenset[str]] = frozenset({VIDEO})
    config_type: ClassVar[type[MinerConfig]] = MotionConfig

    def __init__(self, config: MinerConfig, rate_hz: float) -> None:
        super().__init__(config, rate_hz)
        assert isinstance(config, MotionConfig)
        self.cfg = config
        self._pose = (0.0, 0.0, 0.0)
        self._history: deque[tuple[float, tuple[float, float, float]]] = deque()

    def on_video(self, frame: VideoFrame, ego: EgoMotion) -> None:
        if ego.cut:  # a pose difference across an edit is meaningless: start over
            self._history.clear()
        elif ego.valid:
            x, y, r = self._pose
            self._pose = (x + ego.dx, y + ego.dy, r + ego.droll * self.cfg.roll_weight)
        # At low frame rates one frame interval is the shortest lag that can be measured.
        lag = max(self.cfg.lag_s, frame.t - self._history[-1][0]) if self._history else self.cfg.lag_s
        self._history.append((frame.t, self._pose))
        while self._history[0][0] < frame.t - 3 * lag:
            self._history.popleft()
        if self._history[0][0] > frame.t - 1.5 * lag:
            return  # not yet two lags of history since the start or the last cut
        t_mid, mid = self._nearest(frame.t - lag)
        t_old, old = self._nearest(frame.t - 2 * lag)
        if not t_old < t_mid < frame.t:
            return
        # Change of velocity, expressed as the extra shift it makes over one lag.
        jolt = lag * math.dist(
            [(self._pose[i] - mid[i]) / (frame.t - t_mid) for i in range(3)],
            [(mid[i] - old[i]) / (t_mid - t_old) for i in range(3)],
        )
        self.track.put(t_mid, log_ramp(jolt, self.cfg.jolt_low, self.cfg.jolt_high))

    def _nearest(self, t: float) -> tuple[float, tuple[float, float, float]]:
        return min(self._history, key=lambda item: abs(item[0] - t))
