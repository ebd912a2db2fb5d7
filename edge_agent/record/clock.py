"""Monotonic capture times to wall clock, the one conversion the recorder and the live clipper share.

Both sides measure on the monotonic clock (frames by when they were captured, segments by when their
packets arrived) and convert when they hand a time to the wall-clock world (the recording index, a
manifest). The same conversion on both sides keeps them consistent with each other; an NTP step between
the two conversions (seconds apart) would shift one against the other by the step.
"""

from __future__ import annotations

import time


def wall_clock(monotonic_s: float) -> float:
    """Unix time of the moment ``monotonic_s`` (a ``time.monotonic()`` reading) by the clock now."""
    return time.time() - (time.monotonic() - monotonic_s)
