"""Fusion, what opens an incident: a precursor miner (looming ahead) adds to an incident's score but never
decides that one opens; a sustained, confident crash sound opens one on its own."""

from __future__ import annotations

from pathlib import Path

import pytest

import edge_agent
from edge_agent.fusion import FusionConfig, FusionEngine, Incident
from edge_agent.settings import load_config
from tests.support.fusion import fused

RATE = 10.0
WEIGHTS = {"motion": 0.45, "audio": 0.35, "proximity": 0.1}


def run(config: FusionConfig, bins: list[dict[str, float]], weights: dict[str, float]) -> list[Incident]:
    return fused(FusionEngine(config, weights, RATE), bins)


def event(jolt: float, bang: float, looming: float) -> list[dict[str, float]]:
    """Ten quiet seconds with one second of the given scores in the middle."""
    bins = [{"motion": 0.0, "audio": 0.0, "proximity": 0.0} for _ in range(100)]
    for i in range(50, 60):
        bins[i] = {"motion": jolt, "audio": bang, "proximity": looming}
    return bins


def test_jolt_tipped_over_by_looming_alone_opens_nothing_where_there_is_sound() -> None:
    # fused (0.45 + 0.35 * 0.02 + 0.1) / 0.9 = 0.62 >= 0.6, but contact evidence (0.45 + 0.007) / 0.8 = 0.57
    bins = event(jolt=1.0, bang=0.02, looming=1.0)
    assert run(FusionConfig(), bins, WEIGHTS) == []
    [incident] = run(FusionConfig(precursors=frozenset()), bins, WEIGHTS)  # the old rule: looming counted
    assert incident.score >= 0.6


def test_jolt_and_bang_open_one_incident_and_looming_adds_to_its_score() -> None:
    [quiet_ahead] = run(FusionConfig(), event(jolt=0.9, bang=0.6, looming=0.0), WEIGHTS)
    [closing_in] = run(FusionConfig(), event(jolt=0.9, bang=0.6, looming=1.0), WEIGHTS)
    assert quiet_ahead.peak_s == closing_in.peak_s
    assert closing_in.score > quiet_ahead.score


def test_without_a_sound_track_a_strong_jolt_still_opens_one() -> None:
    weights = {"motion": 0.45, "proximity": 0.1}
    bins = [{k: v for k, v in b.items() if k != "audio"} for b in event(jolt=0.8, bang=0.0, looming=0.0)]
    assert len(run(FusionConfig(), bins, weights)) == 1
    weak = [{k: v for k, v in b.items() if k != "audio"} for b in event(jolt=0.55, bang=0.0, looming=1.0)]
    # fused (0.45 * 0.55 + 0.1) / 0.55 = 0.63, but the jolt alone is 0.55: looming cannot carry it
    assert run(FusionConfig(), weak, weights) == []


def test_default_config_names_proximity_a_precursor() -> None:
    shipped = Path(edge_agent.__file__).parent / "default_config.toml"
    assert (
        load_config(shipped).fusion.precursors
        == frozenset({"proximity"})
        == load_config(None).fusion.precursors
    )


def bang(level: float, ticks: int) -> list[dict[str, float]]:
    """Ten quiet seconds with a sound scoring ``level`` for ``ticks`` ticks in the middle; the camera still."""
    bins = [{"motion": 0.0, "audio": 0.0, "proximity": 0.0} for _ in range(100)]
    for i in range(50, 50 + ticks):
        bins[i]["audio"] = level
    return bins


def test_a_sustained_confident_bang_opens_an_incident_on_its_own() -> None:
    [incident] = run(FusionConfig(), bang(0.95, 3), WEIGHTS)
    assert incident.score == pytest.approx(0.95)  # the held level, not the weighted mean (0.37)
    assert 4.5 <= incident.peak_s <= 5.3
    assert incident.miner_scores["motion"] == 0.0


def test_a_short_or_unsure_bang_or_one_not_allowed_alone_opens_nothing() -> None:
    assert run(FusionConfig(), bang(0.99, 2), WEIGHTS) == []  # a door or a knock: two ticks
    assert run(FusionConfig(), bang(0.85, 10), WEIGHTS) == []  # long, but under alone_threshold
    assert run(FusionConfig(alone_miners=frozenset()), bang(0.95, 10), WEIGHTS) == []  # turned off
    assert run(FusionConfig(alone_hold_s=0.5), bang(0.95, 3), WEIGHTS) == []


def test_a_bang_is_judged_over_its_hold_even_without_a_corroboration_window() -> None:
    [incident] = run(FusionConfig(corroboration_s=0.0), bang(0.95, 3), WEIGHTS)
    assert 5.0 <= incident.start_s <= incident.peak_s <= 5.2 < incident.end_s
    assert run(FusionConfig(corroboration_s=0.0), bang(0.95, 2), WEIGHTS) == []


def test_a_precursor_cannot_open_alone() -> None:
    with pytest.raises(ValueError, match="precursor"):
        FusionConfig(alone_miners=frozenset({"audio", "proximity"}))
