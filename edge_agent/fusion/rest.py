"""Did the vehicle slow towards rest after a jolt? The check on incidents that nothing heard.

Without a sound track, a jolt of the camera (and of the G-sensor, where there is one) is the only sign
of contact, and a pothole, a speed bump or a loose mount jolt both too. What tells a collision apart is what follows it: the car is
damaged and every driver must stop. Phone crash detection confirms an accelerometer spike the same
way, with the GPS speed falling to rest; here the speed is read from the picture. The forward flow
(how fast the view expands, ``EgoMotion.scale`` per second) is the speed over the depth of the scene,
so within one scene its fall from the seconds before the jolt to a second after it is the fall of the
speed. Every measurement is taken where the tracking held; where there are too few, the check cannot
tell and lets the incident pass.
"""

from __future__ import annotations

import math
import statistics
from collections import deque

import msgspec

from edge_agent.miners.ego_motion import EgoMotion

BEFORE_S = (2.5, 0.5)  # the speed before: from this long before the peak to this long before it
AFTER_FROM_S = 0.5  # the speed after is looked for from this long after the peak ...
# ... as the median over each window this long (slid by half of it): the flow must stay down for at least
# half of it. A stopped car stays stopped for far longer, but the estimate of a car driving on at a steady
# speed dips for a few ticks where the tracking is poor (0.07-0.16/s for up to half a second in a dim
# stretch of a generated drive at 0.49/s), and a 1 s median let such a dip pass as a stop.
AFTER_WINDOW_S = 2.0
MIN_SAMPLES = 5  # measurements a window needs to count (half a second at 10 Hz)
# Forward flow below which the camera was barely moving before the jolt (a parked car or a queue at a
# walking pace measure about this): there is nothing to slow from, so the check cannot tell.
MOVING_FLOW = 0.03


class RestReading(msgspec.Struct, frozen=True):
    """Forward flow (1/s) before the peak and the lowest median over ``AFTER_WINDOW_S`` after it."""

    before: float
    after: float


class ForwardFlow:
    """The camera's forward flow at each analysis tick, kept for the last ``keep_s`` seconds."""

    def __init__(self, keep_s: float) -> None:
        self.keep_s = keep_s
        self._samples: deque[tuple[float, float]] = deque()  # (t, |log zoom| per second), tracking held
        self._last_t: float | None = None

    def add(self, ego: EgoMotion) -> None:
        dt = ego.t - self._last_t if self._last_t is not None else 0.0
        self._last_t = ego.t
        if ego.valid and dt > 0:
            self._samples.append((ego.t, abs(math.log(max(ego.scale, 1e-3))) / dt))
        while self._samples and self._samples[0][0] < ego.t - self.keep_s:
            self._samples.popleft()

    def _median(self, start: float, end: float) -> float | None:
        flows = [f for t, f in self._samples if start <= t < end]
        return statistics.median(flows) if len(flows) >= MIN_SAMPLES else None

    def reading(self, peak_s: float, within_s: float) -> RestReading | None:
        """Flow before the peak and the lowest after it, up to ``within_s`` after the peak; None when
        the camera was barely moving before or too few measurements were taken to tell."""
        before = self._median(peak_s - BEFORE_S[0], peak_s - BEFORE_S[1])
        if before is None or before < MOVING_FLOW:
            return None
        afters: list[float] = []
        start = peak_s + AFTER_FROM_S
        while start + AFTER_WINDOW_S <= peak_s + within_s + 1e-9:
            after = self._median(start, start + AFTER_WINDOW_S)
            if after is not None:
                afters.append(after)
            start += AFTER_WINDOW_S / 2
        return RestReading(before=before, after=min(afters)) if afters else None
