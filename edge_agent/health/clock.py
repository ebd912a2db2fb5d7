"""Clock offset: how far the device's wall clock is from the cloud's, without NTP.

Every command the cloud sends carries ``issued_at`` (the cloud's wall clock when it sent it). On
arrival, ``issued_at - now`` is the true offset minus the one-way delay through the broker, so each
reading underestimates the offset by that delay; the largest of the recent readings (the one that
travelled fastest) is the best estimate. It is None until a command has arrived, and it is only as
good as the delay is short (a command queued while offline reads far too low, which the max discards
once a fresh one arrives). Positive: the device clock is behind the cloud's.
"""

from __future__ import annotations

import threading
import time
from collections import deque

_KEEP = 8  # readings remembered; old ones roll out, so a clock that was stepped is relearned


class ClockOffset:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._readings: deque[float] = deque(maxlen=_KEEP)

    def observe(self, remote_at: float, local_at: float | None = None) -> None:
        """A cloud timestamp seen at local time ``local_at`` (now by default)."""
        reading = remote_at - (time.time() if local_at is None else local_at)
        with self._lock:
            self._readings.append(reading)

    def estimate_s(self) -> float | None:
        with self._lock:
            return round(max(self._readings), 3) if self._readings else None
