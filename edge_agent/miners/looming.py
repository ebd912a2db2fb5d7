"""Looming of the view ahead: how much the central region grew between two analysis frames.

The centre of the earlier region is rescaled by a range of factors and matched against the later one;
the best factor's log is the expansion over the interval, and expansion per second is 1 / time-to-
contact of whatever dominates the region. High-contrast things (a vehicle's outline and lights) win
the match over low-contrast road. A parabola through the best score and its neighbours gives sub-step
resolution.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


class LoomingMeter:
    def __init__(
        self,
        roi: tuple[float, float, float, float],
        work_width: int,
        template_fraction: float,
        max_log_scale: float,
        scale_steps: int,
    ) -> None:
        self.roi = roi
        self.work_width = work_width
        self.template_fraction = template_fraction
        self.log_scales = np.linspace(-0.3 * max_log_scale, max_log_scale, scale_steps)

    def region(self, gray: np.ndarray) -> np.ndarray:
        h, w = gray.shape
        x0, x1, y0, y1 = self.roi
        region = gray[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)]
        scale = min(1.0, self.work_width * (x1 - x0) / max(1, region.shape[1]))
        if scale < 1.0:
            size = (max(8, round(region.shape[1] * scale)), max(8, round(region.shape[0] * scale)))
            region = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
        return region.astype(np.float32)

    def expansion(self, old: np.ndarray, now: np.ndarray) -> tuple[float, float]:
        """(ln of the scale that best maps ``old``'s centre into ``now``, that match's correlation)."""
        h, w = old.shape
        th, tw = max(4, int(h * self.template_fraction)), max(4, int(w * self.template_fraction))
        scores = np.full(len(self.log_scales), -1.0)
        for i, log_s in enumerate(self.log_scales):
            ch, cw = th / math.exp(log_s), tw / math.exp(log_s)  # the part of ``old`` that grows to it
            if ch > h or cw > w:
                continue
            y0, x0 = int((h - ch) / 2), int((w - cw) / 2)
            crop = old[y0 : y0 + max(2, int(ch)), x0 : x0 + max(2, int(cw))]
            template = cv2.resize(crop, (tw, th), interpolation=cv2.INTER_LINEAR)
            if float(cv2.meanStdDev(template)[1][0, 0]) < 2.0:  # flat: nothing to match (cheaper than .std())
                continue
            scores[i] = float(cv2.matchTemplate(now, template, cv2.TM_CCOEFF_NORMED).max())
        best = int(np.argmax(scores))
        log_scale = float(self.log_scales[best])
        if 0 < best < len(scores) - 1 and scores[best - 1] > -1 and scores[best + 1] > -1:
            a, b, c = scores[best - 1], scores[best], scores[best + 1]
            denom = a - 2 * b + c
            offset = 0.5 * (a - c) / denom if denom < 0 else 0.0
            log_scale += offset * float(self.log_scales[1] - self.log_scales[0])
        return log_scale, float(scores[best])
