"""Drives a ``step()`` (None idle / True progress / False failed) with jittered backoff until stopped."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

import msgspec

log = logging.getLogger(__name__)


class Backoff(msgspec.Struct, frozen=True, kw_only=True):
    idle_s: float = 2.0  # nothing to do (or waiting for acks); an ack or a new clip wakes the loop early
    success_s: float = 0.0
    fail_min_s: float = 1.0
    fail_max_s: float = 60.0


def run_step_loop(
    step: Callable[[], bool | None],
    stop: threading.Event,
    wake: threading.Event,
    backoff: Backoff | None = None,
    rng: random.Random | None = None,
) -> None:
    """Run until ``stop`` is set; whoever sets ``stop`` also sets ``wake`` so the wait ends at once.

    Failures double the wait up to ``fail_max_s``; every wait gets up to 100 % random jitter so a fleet
    coming back after a broker outage does not reconnect in lockstep.
    """
    backoff = backoff or Backoff()
    rng = rng or random.Random()
    fail_delay = backoff.fail_min_s
    while not stop.is_set():
        try:
            result = step()
        except Exception:
            log.exception("publish.step_crashed")
            result = False
        if result is None:
            delay, fail_delay = backoff.idle_s, backoff.fail_min_s
        elif result:
            delay, fail_delay = backoff.success_s, backoff.fail_min_s
        else:
            delay, fail_delay = fail_delay, min(fail_delay * 2, backoff.fail_max_s)
        if delay > 0:
            wake.wait(delay + rng.uniform(0, delay))
        wake.clear()
