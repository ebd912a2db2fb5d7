"""Counters the pipeline bumps and the heartbeat reads; one lock, no history."""

from __future__ import annotations

import threading
import time


class AgentStats:
    """Frames decoded and dropped since start; ``fps`` is the rate since the previous ``fps`` call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frames = 0
        self._dropped = 0
        self._rate_frames = 0
        self._rate_since = time.monotonic()

    def add_frames(self, count: int, dropped: int = 0) -> None:
        with self._lock:
            self._frames += count
            self._dropped += dropped

    @property
    def frames(self) -> int:
        with self._lock:
            return self._frames

    @property
    def dropped_frames(self) -> int:
        with self._lock:
            return self._dropped

    def fps(self) -> float:
        """Frames per second over the interval since the last call (each heartbeat is one interval)."""
        with self._lock:
            now = time.monotonic()
            elapsed = now - self._rate_since
            rate = (self._frames - self._rate_frames) / elapsed if elapsed > 0 else 0.0
            self._rate_frames, self._rate_since = self._frames, now
            return rate
