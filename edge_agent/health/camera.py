"""Camera state from the analysis frames: ok, blank, obstructed or frozen, from cheap statistics.

Sampled a few times a second on a quarter of the analysis pixels, so it costs next to nothing:
- blank: the whole picture is one level, near black or near white (lens cap, dead sensor, glare);
- obstructed: most of the picture has no texture (a cloth, a mud or snow patch, a sun visor);
- frozen: consecutive pictures are identical. A parked car at night still has sensor noise and a
  new keyframe every second or two, so "identical" means a mean change below a tenth of a grey level
  over several seconds, not merely "little motion".
A state is reported only once it held for every sample of its window; until the window has filled,
and again once no frame has arrived for ``stale_s`` (a camera gone, a recording finished), the state is
UNKNOWN: the heartbeat never repeats a verdict about pictures nobody is looking at.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Annotated

import msgspec
import numpy as np

from edge_agent.source.base import VideoFrame
from shared_models import CameraState


class CameraConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    sample_hz: Annotated[float, msgspec.Meta(gt=0, le=30)] = 5.0  # frames looked at per second
    window_s: Annotated[float, msgspec.Meta(gt=0)] = 3.0  # blank / obstructed must hold this long
    frozen_s: Annotated[float, msgspec.Meta(gt=0)] = 5.0  # no change at all for this long: frozen
    blank_std: Annotated[float, msgspec.Meta(ge=0)] = 6.0  # grey-level spread below this is one level
    blank_dark: Annotated[float, msgspec.Meta(ge=0, le=255)] = 30.0  # a level below this is black
    blank_bright: Annotated[float, msgspec.Meta(ge=0, le=255)] = 225.0  # a level above this is white
    texture_min: Annotated[float, msgspec.Meta(ge=0)] = 4.0  # mean gradient of a textured block
    obstructed_share: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.75  # share of textureless blocks
    frozen_diff: Annotated[float, msgspec.Meta(ge=0)] = 0.1  # mean change (grey levels) that is none
    stale_s: Annotated[float, msgspec.Meta(gt=0)] = 10.0  # no frame for this long (wall clock): UNKNOWN


_GRID = 8  # the picture is judged in GRID x GRID blocks for texture


class _Sample(msgspec.Struct, frozen=True):
    t: float
    blank: bool
    obstructed: bool
    change: float  # mean absolute change from the previous sample; inf for the first


class CameraMonitor:
    """Fed every analysis frame by the mining loop (any thread); ``state`` is read by the heartbeat."""

    def __init__(self, config: CameraConfig | None = None) -> None:
        self.config = config or CameraConfig()
        self._lock = threading.Lock()
        self._samples: deque[_Sample] = deque()
        self._previous: np.ndarray | None = None
        self._state = CameraState.UNKNOWN
        self._seen_at = -float("inf")  # monotonic time of the newest frame

    @property
    def state(self) -> CameraState:
        with self._lock:
            if time.monotonic() - self._seen_at > self.config.stale_s:
                return CameraState.UNKNOWN
            return self._state

    def observe(self, frame: VideoFrame) -> CameraState:
        cfg = self.config
        with self._lock:
            self._seen_at = time.monotonic()
            if self._samples and frame.t < self._samples[-1].t:  # a new timeline (the next recording)
                self._reset()
            if self._samples and frame.t - self._samples[-1].t < 1.0 / cfg.sample_hz:
                return self._state
            image = frame.gray[::2, ::2].astype(np.float32)
            previous, self._previous = self._previous, image
            same_size = previous is not None and previous.shape == image.shape
            change = float(np.abs(image - previous).mean()) if same_size else np.inf
            self._samples.append(_Sample(frame.t, self._is_blank(image), self._is_obstructed(image), change))
            horizon = max(cfg.window_s, cfg.frozen_s)
            while len(self._samples) > 1 and frame.t - self._samples[1].t >= horizon:
                self._samples.popleft()  # the oldest kept sample is at least ``horizon`` old
            self._state = self._judge(frame.t)
            return self._state

    def _reset(self) -> None:
        self._samples.clear()
        self._previous = None
        self._state = CameraState.UNKNOWN

    def _is_blank(self, image: np.ndarray) -> bool:
        cfg = self.config
        mean = float(image.mean())
        return float(image.std()) < cfg.blank_std and (mean < cfg.blank_dark or mean > cfg.blank_bright)

    def _is_obstructed(self, image: np.ndarray) -> bool:
        gradient = np.abs(np.diff(image, axis=1))[:-1, :] + np.abs(np.diff(image, axis=0))[:, :-1]
        h, w = (gradient.shape[0] // _GRID) * _GRID, (gradient.shape[1] // _GRID) * _GRID
        blocks = gradient[:h, :w].reshape(_GRID, h // _GRID, _GRID, w // _GRID).mean(axis=(1, 3))
        return float((blocks < self.config.texture_min).mean()) >= self.config.obstructed_share

    def _judge(self, now: float) -> CameraState:
        cfg = self.config
        samples = list(self._samples)
        if now - samples[0].t < min(cfg.window_s, cfg.frozen_s) - 1e-9:
            return CameraState.UNKNOWN
        recent = [s for s in samples if now - s.t <= cfg.window_s]
        if all(s.blank for s in recent):
            return CameraState.BLANK
        if all(s.obstructed for s in recent):
            return CameraState.OBSTRUCTED
        if now - samples[0].t >= cfg.frozen_s - 1e-9 and all(s.change < cfg.frozen_diff for s in samples[1:]):
            return CameraState.FROZEN
        return CameraState.OK
