"""The wait between tries to reopen a camera or stream: doubling from a minimum to a maximum, plus jitter.

Every wait gets up to 100 % random jitter, so a fleet whose cameras all dropped at once (a depot's
network restarting) does not hammer them back in lockstep. The first open of a live source, its
capture and its recorder reopen the same stream, so they share this loop and the ``[source]`` settings.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class ReconnectDelay:
    def __init__(self, min_s: float, max_s: float) -> None:
        self.min_s = min_s
        self.max_s = max_s
        self._next_s = min_s

    def wait(self, stop: threading.Event) -> None:
        """Sleep the current delay (plus jitter) or until ``stop``; the next one is twice as long."""
        delay = self._next_s
        stop.wait(delay + random.uniform(0, delay))
        self._next_s = min(delay * 2, self.max_s)

    def reset(self) -> None:
        """The stream is back: the next loss starts again from the minimum."""
        self._next_s = self.min_s


def open_patiently(
    open_once: Callable[[], T | None], delay: ReconnectDelay, stop: threading.Event
) -> T | None:
    """``open_once()`` until it gives something (the delay then starts again from its minimum), waiting
    ``delay`` after each None; None once ``stop`` is set. ``open_once`` logs its own failures."""
    while not stop.is_set():
        opened = open_once()
        if opened is not None:
            delay.reset()
            return opened
        delay.wait(stop)
    return None
