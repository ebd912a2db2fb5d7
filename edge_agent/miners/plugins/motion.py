"""Ego jolt: a small INT8 model over the camera's own motion and, where present, the G-sensor.

Each analysis tick (10 Hz) adds one row: the camera's velocity since the last tick (shift, roll and
zoom from ``EgoMotion``, per 0.1 s so any frame rate reads the same), whether the tracking held, and
the G-sensor's largest deviation from its recent median (in g) with a flag saying a sensor exists.
The model (``motion-mlp-int8``) sees the last 1.6 s and judges whether a collision jolt happened
0.3 s before the newest tick; a scene cut clears the window, since motion across an edit means nothing.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Annotated, ClassVar

import msgspec
import numpy as np

from edge_agent.miners.base import VIDEO, Miner, MinerConfig
from edge_agent.miners.ego_motion import EgoMotion
from edge_agent.miners.learned import Agreement, FeatureWindow, WindowModel
from edge_agent.source.base import AccelBlock, VideoFrame

MODEL = "motion-mlp-int8"
WINDOW = 16  # ticks the model sees
DELAY = 3  # the score is about the tick this many before the newest
FEATURES = 7  # vx, vy, vroll, vzoom, tracked, accel_peak_g, accel_present
_VELOCITY_GAIN = 20.0  # a shift of 5% of the frame per 0.1 s reads 1.0
_ACCEL_MEDIAN_S = 2.0
_G = 9.81


class MotionConfig(MinerConfig, frozen=True, forbid_unknown_fields=True, kw_only=True):
    weight: Annotated[float, msgspec.Meta(ge=0)] = 0.45
    use_accel: bool = True  # read the G-sensor where the source has one


def motion_row(ego: EgoMotion, dt: float, accel_peak_g: float, accel_present: bool) -> np.ndarray:
    """One tick's features; velocities are normalised to 0.1 s and compressed to the model's range."""
    per = _VELOCITY_GAIN * 0.1 / max(dt, 1e-3)
    v = (
        [ego.dx * per, ego.dy * per, ego.droll * per, math.log(max(ego.scale, 1e-3)) * per]
        if ego.valid
        else [0.0] * 4
    )
    raw = np.clip(np.asarray([*v, min(accel_peak_g, 8.0)], np.float32), -8.0, 8.0)
    c = compress(raw)
    return np.asarray([*c[:4], 1.0 if ego.valid else 0.0, c[4], 1.0 if accel_present else 0.0], np.float32)


def compress(v: np.ndarray) -> np.ndarray:
    """Signed log: keeps resolution where normal shake lives (0.05-0.5) after INT8 quantization.

    Linear inputs spanning +-8 leave one INT8 step per 0.06, about the whole range of a road's shake,
    so the quantized model could not tell a rough road from a smooth one; log1p(4|v|) maps 8 to 3.5 and
    0.1 to 0.34: a step per 0.03 at the large end and finer at the small end.
    """
    return (np.sign(v) * np.log1p(4.0 * np.abs(v))).astype(np.float32)


def expand(c: np.ndarray) -> np.ndarray:
    """The inverse of ``compress`` (training adds camera turns in linear velocity)."""
    return (np.sign(c) * np.expm1(np.abs(c)) / 4.0).astype(np.float32)


class AccelPeaks:
    """G-sensor magnitude deviation from its running median: the largest one since the last tick."""

    def __init__(self) -> None:
        self.present = False
        self._samples: deque[tuple[float, float]] = deque()
        self._consumed_t = -math.inf

    def add(self, block: AccelBlock) -> None:
        self.present = True
        mags = np.linalg.norm(block.samples[:, 1:4], axis=1)
        self._samples.extend(zip(block.samples[:, 0].tolist(), mags.tolist(), strict=True))

    def peak_until(self, t: float) -> float:
        while self._samples and self._samples[0][0] < t - _ACCEL_MEDIAN_S:
            self._samples.popleft()
        if not self._samples:
            return 0.0
        mags = np.array([m for _, m in self._samples])
        times = np.array([s for s, _ in self._samples])
        new = (times > self._consumed_t) & (times <= t)
        self._consumed_t = t
        if not new.any():
            return 0.0
        return float(np.abs(mags[new] - np.median(mags)).max() / _G)


class MotionMiner(Miner):
    """Collision jolt from ego motion (+ G-sensor) by a learned INT8 model."""

    kind: ClassVar[str] = "motion"
    version: ClassVar[str] = "motion-mlp-int8-6"
    inputs: ClassVar[frozenset[str]] = frozenset({VIDEO})
    config_type: ClassVar[type[MinerConfig]] = MotionConfig

    def __init__(self, config: MinerConfig, rate_hz: float) -> None:
        super().__init__(config, rate_hz)
        self.model = WindowModel(MODEL)
        self.window = FeatureWindow(WINDOW, FEATURES)
        self.accel = AccelPeaks()
        self._times: deque[float] = deque(maxlen=WINDOW)
        self._last_t: float | None = None
        self._agreement = Agreement()

    def on_accel(self, block: AccelBlock) -> None:
        assert isinstance(self.config, MotionConfig)
        if self.config.use_accel:
            self.accel.add(block)

    def on_video(self, frame: VideoFrame, ego: EgoMotion) -> None:
        dt = frame.t - self._last_t if self._last_t is not None else 0.1
        self._last_t = frame.t
        if ego.cut:
            self.window.reset()
            self._times.clear()
            self._agreement.reset()
            return
        self.window.push(motion_row(ego, dt, self.accel.peak_until(frame.t), self.accel.present))
        self._times.append(frame.t)
        if len(self._times) > DELAY:
            t_score = self._times[-1 - DELAY]
            out = self.model.score(t_score, self.window.rows.copy())
            if out is not None:
                self.track.put(t_score, self._agreement(float(out[0])))
