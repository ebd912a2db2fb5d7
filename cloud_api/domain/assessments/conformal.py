"""Severity prediction sets.

Not yet calibrated: the set is the most probable classes until their probabilities add up to at least
1 - alpha. That is the shape of a split-conformal set, but the coverage holds only if the
probabilities are calibrated; split-conformal calibration on reviewed claims replaces this later.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared_models import Severity

DEFAULT_ALPHA = 0.1
CALIBRATED = False


def prediction_set(probabilities: Mapping[Severity, float], alpha: float = DEFAULT_ALPHA) -> list[Severity]:
    """Classes by descending probability until the cumulative probability reaches 1 - alpha."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    chosen: list[Severity] = []
    total = 0.0
    for severity, p in sorted(probabilities.items(), key=lambda kv: kv[1], reverse=True):
        chosen.append(severity)
        total += p
        if total >= 1 - alpha - 1e-12:
            break
    return chosen
