"""Closing in on what is ahead: a small INT8 model over the looming of the central view.

Every other analysis tick (5 Hz) measures how much the region ahead expanded since the tick before it
(``LoomingMeter``: ln scale per second, i.e. 1 / time-to-contact of what dominates it), how well that
match held, how much the region changed at all, and the camera's global zoom (forward driving makes
everything expand a little). The model (``proximity-mlp-int8``) sees the last 1.6 s of these and gives
the probability that time-to-contact with something ahead is under about a second; the score holds
until the next measurement.

Why 5 Hz: matching the region at eight scales was 45 % of the mining cost, for the weakest model and a
precursor that cannot open an incident on its own (``[fusion] precursors``); a time-to-contact under a
second still spans five measurements, and fusion holds every miner at its maximum over a second anyway.
"""

from __future__ import annotations

import math
from typing import Annotated, ClassVar

import msgspec
import numpy as np

from edge_agent.miners.base import VIDEO, Miner, MinerConfig
from edge_agent.miners.ego_motion import EgoMotion
from edge_agent.miners.learned import FeatureWindow, WindowModel
from edge_agent.miners.looming import LoomingMeter
from edge_agent.source.base import VideoFrame

MODEL = "proximity-mlp-int8"
STRIDE = 2  # analysis ticks per measurement (10 Hz ticks: 5 Hz)
WINDOW = 8  # measurements the model sees: 1.6 s
FEATURES = 5  # expansion rate, match, region change, ego zoom rate, measured
Fraction = Annotated[float, msgspec.Meta(ge=0, le=1)]


class ProximityConfig(MinerConfig, frozen=True, forbid_unknown_fields=True, kw_only=True):
    weight: Annotated[float, msgspec.Meta(ge=0)] = 0.1  # its model is the weakest (MODEL_CARD.md)
    roi: tuple[Fraction, Fraction, Fraction, Fraction] = (0.3, 0.7, 0.28, 0.68)  # x0, x1, y0, y1 of the frame
    work_width: Annotated[int, msgspec.Meta(ge=64)] = 160  # frames are matched at this width

    def __post_init__(self) -> None:
        if self.roi[1] <= self.roi[0] or self.roi[3] <= self.roi[2]:
            raise ValueError("roi must be x0 < x1, y0 < y1")


def proximity_row(log_scale: float, match: float, change: float, ego: EgoMotion, dt: float) -> np.ndarray:
    per_s = 1.0 / max(dt, 1e-3)
    zoom = math.log(max(ego.scale, 1e-3)) * per_s if ego.valid else 0.0
    row = [log_scale * per_s / 2.0, match, change, zoom / 2.0, 1.0]
    return np.clip(np.asarray(row, np.float32), -5.0, 5.0)


class ProximityMiner(Miner):
    """Time-to-contact danger from looming, by a learned INT8 model."""

    kind: ClassVar[str] = "proximity"
    version: ClassVar[str] = "proximity-mlp-int8-6"
    inputs: ClassVar[frozenset[str]] = frozenset({VIDEO})
    config_type: ClassVar[type[MinerConfig]] = ProximityConfig

    def __init__(self, config: MinerConfig, rate_hz: float) -> None:
        super().__init__(config, rate_hz)
        self.model = WindowModel(MODEL)
        self.window = FeatureWindow(WINDOW, FEATURES)
        self._meter = self._make_meter()
        self._prev: tuple[float, np.ndarray] | None = None
        self._skipped = 0  # ticks since the last measurement
        self._score = 0.0  # the last measurement's score, held until the next

    def _make_meter(self) -> LoomingMeter:
        assert isinstance(self.config, ProximityConfig)
        return LoomingMeter(self.config.roi, self.config.work_width, 0.6, 0.5, 8)

    def reconfigure(self, config: MinerConfig) -> None:
        super().reconfigure(config)
        self._meter = self._make_meter()
        self._prev = None  # regions cut with the old settings do not compare with new ones

    def on_video(self, frame: VideoFrame, ego: EgoMotion) -> None:
        region = self._meter.region(frame.gray)
        prev, self._prev = self._prev, (frame.t, region)
        if ego.cut or prev is None or prev[1].shape != region.shape:
            self.window.reset()
            self._skipped, self._score = 0, 0.0
            return
        self._skipped += 1
        if self._skipped < STRIDE:
            self.track.put(frame.t, self._score)
            return
        self._skipped = 0
        dt = frame.t - prev[0]
        log_scale, match = self._meter.expansion(prev[1], region)
        change = float(np.abs(region - prev[1]).mean()) / 32.0
        self.window.push(proximity_row(log_scale, match, change, ego, dt))
        out = self.model.score(frame.t, self.window.rows.copy())
        if out is not None:
            self._score = float(out[0])
            self.track.put(frame.t, self._score)
