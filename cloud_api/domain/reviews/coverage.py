"""Whether a final review's severity fell in the AI's prediction set: the fact conformal coverage counts.

It is worked out once, when the decision is written (``ReviewService.decide``; migration cloud_0006 for
reviews written before), and stored on the review, so ``/metrics`` counts stored booleans in one query
instead of decoding every reviewed assessment on every scrape (3.7 s at 100k claims before).
"""

from __future__ import annotations

from typing import Any

import msgspec

from shared_models import Severity


class _SetOnly(msgspec.Struct):
    prediction_set: list[Severity]


_set_decoder = msgspec.json.Decoder(_SetOnly)


def prediction_set(body: str | bytes) -> list[Severity]:
    """The prediction set of a stored assessment body; the rest of the JSON is skipped."""
    return _set_decoder.decode(body).prediction_set


def label_in_set(overrides: dict[str, Any] | None, ai_severity: str, body: str | bytes) -> bool:
    """The reviewer's final severity (their override, else the AI's, which they accepted) is in the set."""
    label = (overrides or {}).get("severity") or ai_severity
    return Severity(label) in prediction_set(body)
