"""Feeding fusion a whole list of bins, as the mining session does one burst at a time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from edge_agent.fusion import FusionEngine, Incident


def fused(engine: FusionEngine, bins: Iterable[Mapping[str, float]]) -> list[Incident]:
    """Every incident the engine reports for ``bins``, then for the end of the source."""
    out: list[Incident] = []
    for scores in bins:
        out += engine.push(scores)
    return out + engine.finish()
