"""Looming of what is ahead: how fast the central view expands, as time-to-contact (heuristic-1).

The centre of the region ahead, taken ``lag_s`` ago, is rescaled by a range of factors and matched
against the region now; the best factor gives the expansion rate ``ln(scale) / lag`` per second, which
is 1 / time-to-contact for whatever dominates the view. High-contrast objects (a vehicle's outline and
lights) dominate the match over low-contrast road surface. Normal forward driving expands the view
a little, so the rate is taken relative to its own recent median. Signal processing, not a detector.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Annotated, ClassVar

import cv2
import msgspec
import numpy as np

from edge_agent.miners.base import VIDEO, Miner, MinerConfig, ramp
from edge_agent.miners.ego_motion import EgoMotion
from edge_agent.source.base import VideoFrame

Fraction = Annotated[float, msgspec.Meta(ge=0, le=1)]


class ProximityConfig(MinerConfig, frozen=True, forbid_unknown_fields=True, kw_only=True):
    weight: Annotated[float, msgspec.Meta(ge=0)] = 0.2
    roi: tuple[Fraction, Fraction, Fraction, Fraction] = (0.3, 0.7, 0.28, 0.68)  # x0, x1, y0, y1 of the frame
    work_width: Annotated[int, msgspec.Meta(ge=64)] = 240  # frames are matched at this width
    lag_s: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.15
    template_fraction: Annotated[float, msgspec.Meta(gt=0.2, lt=1)] = 0.6  # of the region, matched at scales
    max_log_scale: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.5  # largest expansion searched over one lag
    scale_steps: Annotated[int, msgspec.Meta(ge=4, le=64)] = 14
    min_match: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.8  # weaker matches are not trusted
    baseline_s: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    expansion_low: Annotated[float, msgspec.Meta(ge=0)] = 0.7  # per second (time-to-contact 1.4 s) scores 0
    expansion_high: Annotated[float, msgspec.Meta(gt=0)] = 2.5  # per second (time-to-contact 0.4 s) scores 1

    def __post_init__(self) -> None:
        if self.roi[1] <= self.roi[0] or self.roi[3] <= self.roi[2]:
            raise ValueError("roi must be x0 < x1, y0 < y1")
        if self.expansion_high <= self.expansion_low:
            raise ValueError("expansion_high must be above expansion_low")


class ProximityMiner(Miner):
    """Expansion rate of the region ahead from a multi-scale template match (heuristic-1)."""

    kind: ClassVar[str] = "proximity"
    version: ClassVar[str] = "heuristic-1"
    inputs: ClassVar[frozenset[str]] = frozenset({VIDEO})
    config_type: ClassVar[type[MinerConfig]] = ProximityConfig

    def __init__(self, config: MinerConfig, rate_hz: float) -> None:
        super().__init__(config, rate_hz)
        assert isinstance(config, ProximityConfig)
        self.cfg = config
        self._log_scales = np.linspace(-0.3 * config.max_log_scale, config.max_log_scale, config.scale_steps)
        self._regions: deque[tuple[float, np.ndarray]] = deque()
        self._rates: deque[tuple[float, float]] = deque()
        self._recent: deque[float] = deque(maxlen=3)

    def _region(self, gray: np.ndarray) -> np.ndarray:
        h, w = gray.shape
        x0, x1, y0, y1 = self.cfg.roi
        region = gray[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)]
        scale = min(1.0, self.cfg.work_width / w)
        if scale < 1.0:
            size = (max(8, round(region.shape[1] * scale)), max(8, round(region.shape[0] * scale)))
            region = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
        return region.astype(np.float32)

    def on_video(self, frame: VideoFrame, ego: EgoMotion) -> None:
        if ego.cut:
            self._regions.clear()
            self._recent.clear()
        region = self._region(frame.gray)
        self._regions.append((frame.t, region))
        while len(self._regions) > 1 and self._regions[1][0] <= frame.t - self.cfg.lag_s:
            self._regions.popleft()
        t_old, old = self._regions[0]
        if frame.t - t_old < 0.5 * self.cfg.lag_s:
            return
        log_scale = self._expansion(old, region)
        if log_scale is None:
            return
        rate = log_scale / (frame.t - t_old)
        self._recent.append(rate)
        rate = float(np.median(self._recent))  # one odd match is not a trend
        self._rates.append((frame.t, rate))
        while self._rates[0][0] < frame.t - self.cfg.baseline_s:
            self._rates.popleft()
        baseline = max(0.0, float(np.median([r for _, r in self._rates])))
        self.track.put(frame.t, ramp(rate - baseline, self.cfg.expansion_low, self.cfg.expansion_high))

    def _expansion(self, old: np.ndarray, now: np.ndarray) -> float | None:
        """ln(scale) of the best match of ``old``'s centre rescaled into ``now``, or None if none is good."""
        h, w = old.shape
        th, tw = max(4, int(h * self.cfg.template_fraction)), max(4, int(w * self.cfg.template_fraction))
        scores = np.full(len(self._log_scales), -1.0)
        for i, log_s in enumerate(self._log_scales):
            ch, cw = (
                th / math.exp(log_s),
                tw / math.exp(log_s),
            )  # the part of ``old`` that grows to the template
            if ch > h or cw > w:
                continue
            y0, x0 = int((h - ch) / 2), int((w - cw) / 2)
            crop = old[y0 : y0 + max(2, int(ch)), x0 : x0 + max(2, int(cw))]
            template = cv2.resize(crop, (tw, th), interpolation=cv2.INTER_LINEAR)
            if float(template.std()) < 2.0:
                continue
            scores[i] = float(cv2.matchTemplate(now, template, cv2.TM_CCOEFF_NORMED).max())
        best = int(np.argmax(scores))
        if scores[best] < self.cfg.min_match:
            return None
        if 0 < best < len(scores) - 1 and scores[best - 1] > -1 and scores[best + 1] > -1:
            # Parabola through the peak and its neighbours: sub-step scale resolution.
            a, b, c = scores[best - 1], scores[best], scores[best + 1]
            denom = a - 2 * b + c
            offset = 0.5 * (a - c) / denom if denom < 0 else 0.0
            step = self._log_scales[1] - self._log_scales[0]
            return float(self._log_scales[best] + offset * step)
        return float(self._log_scales[best])
