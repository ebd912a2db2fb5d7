"""Fusion on synthetic bins: hysteresis, corroboration, minimum duration, cooldown merging, hourly budget."""

from __future__ import annotations

import logging

import msgspec
import pytest

from edge_agent.fusion import FusionConfig, FusionEngine, Incident
from tests.support.fusion import fused

RATE = 10.0


def pulse(total: int, spans: list[tuple[int, int, float]], kind: str = "motion") -> list[dict[str, float]]:
    bins = [{kind: 0.0} for _ in range(total)]
    for lo, hi, value in spans:
        for i in range(lo, hi):
            bins[i][kind] = value
    return bins


def test_one_pulse_one_incident_with_start_peak_end() -> None:
    config = FusionConfig(corroboration_s=0.0)
    bins = pulse(100, [(40, 44, 0.4), (44, 50, 0.9), (50, 52, 0.4)])
    bins[47]["motion"] = 1.0
    [incident] = fused(FusionEngine(config, {"motion": 1.0}, RATE), bins)
    assert (incident.start_s, incident.peak_s, incident.end_s) == (4.0, 4.7, 5.2)
    assert incident.score == 1.0 and incident.miner_scores == {"motion": 1.0}


def test_dip_between_thresholds_does_not_split_an_incident() -> None:
    config = FusionConfig(corroboration_s=0.0, cooldown_s=0.0)
    bins = pulse(100, [(20, 30, 0.8), (30, 33, 0.35), (33, 40, 0.8)])
    assert len(fused(FusionEngine(config, {"motion": 1.0}, RATE), bins)) == 1
    bins = pulse(100, [(20, 30, 0.8), (30, 33, 0.1), (33, 40, 0.8)])
    assert len(fused(FusionEngine(config, {"motion": 1.0}, RATE), bins)) == 2


def test_weighted_mean_needs_corroboration_within_the_window() -> None:
    weights = {"motion": 0.4, "audio": 0.4, "proximity": 0.2}  # no miner alone reaches 0.5
    apart = [{"motion": 0.0, "audio": 0.0} for _ in range(100)]
    apart[30]["motion"], apart[60]["audio"] = 1.0, 1.0
    assert fused(FusionEngine(FusionConfig(), weights, RATE), apart) == []
    near = [{"motion": 0.0, "audio": 0.0} for _ in range(100)]
    near[30]["motion"], near[33]["audio"] = 1.0, 1.0
    [incident] = fused(FusionEngine(FusionConfig(), weights, RATE), near)
    assert incident.miner_scores == {"audio": 1.0, "motion": 1.0, "proximity": 0.0}
    assert incident.score == 0.8
    assert 3.0 <= incident.peak_s <= 3.3


def test_miner_without_weight_or_input_is_left_out_of_the_mean() -> None:
    bins = pulse(50, [(20, 25, 0.8)])
    assert len(fused(FusionEngine(FusionConfig(), {"motion": 0.45}, RATE), bins)) == 1
    assert fused(FusionEngine(FusionConfig(), {"motion": 0.45, "audio": 0.35}, RATE), bins) == []


def test_short_glitch_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    config = FusionConfig(corroboration_s=0.0, min_duration_s=0.5)
    with caplog.at_level(logging.INFO):
        assert fused(FusionEngine(config, {"motion": 1.0}, RATE), pulse(50, [(20, 22, 0.9)])) == []
    assert "fusion.dropped reason=short" in caplog.text


def test_trigger_within_the_cooldown_extends_the_incident(caplog: pytest.LogCaptureFixture) -> None:
    # A jolt at 2 s, a stronger one at 8 s (within 10 s of the first one's end), a third at 20 s.
    bins = pulse(400, [(20, 25, 0.7), (80, 85, 0.9), (200, 205, 0.9)])
    config = FusionConfig(corroboration_s=0.0, cooldown_s=10.0)
    with caplog.at_level(logging.INFO):
        first, second = fused(FusionEngine(config, {"motion": 1.0}, RATE), bins)
    assert (first.start_s, first.peak_s, first.end_s, first.score) == (2.0, 8.0, 8.5, 0.9)
    assert first.clip_window(10.0, 5.0) == (-2.0, 13.0)  # around the stronger peak, holding the first jolt
    assert second.peak_s == 20.0  # 11.5 s after the merged incident ended: a new one
    assert caplog.text.count("fusion.merged") == 1


def test_weaker_later_trigger_keeps_the_peak_and_widens_the_clip() -> None:
    bins = pulse(300, [(20, 25, 0.9), (160, 165, 0.7)])
    config = FusionConfig(corroboration_s=0.0, cooldown_s=15.0)
    [incident] = fused(FusionEngine(config, {"motion": 1.0}, RATE), bins)
    assert (incident.start_s, incident.peak_s, incident.end_s) == (2.0, 2.0, 16.5)
    assert incident.clip_window(10.0, 5.0) == (-8.0, 16.5)  # the clip runs to the last trigger's end


def test_merging_stops_at_the_longest_incident(caplog: pytest.LogCaptureFixture) -> None:
    # Triggers every 8 s: each is within the cooldown of the last, but one incident may span 20 s at most.
    bins = pulse(600, [(i, i + 5, 0.9) for i in range(20, 600, 80)])
    config = FusionConfig(corroboration_s=0.0, cooldown_s=10.0, max_incident_s=20.0)
    with caplog.at_level(logging.INFO):
        incidents = fused(FusionEngine(config, {"motion": 1.0}, RATE), bins)
    assert incidents[0].start_s == 2.0 and incidents[0].end_s <= 2.0 + 20.0
    assert caplog.text.count("fusion.suppressed reason=cooldown") >= 1
    assert all(i.end_s - i.start_s <= 20.0 for i in incidents)


def test_incident_is_reported_only_after_its_cooldown() -> None:
    engine = FusionEngine(FusionConfig(corroboration_s=0.0, cooldown_s=5.0), {"motion": 1.0}, RATE)
    reported = [engine.push(b) for b in pulse(200, [(20, 25, 0.9)])]
    at = [i for i, r in enumerate(reported) if r]
    assert at == [75]  # ended at 2.5 s, reported when 5 s passed without another trigger
    assert engine.finish() == []


def test_hourly_budget_caps_incidents(caplog: pytest.LogCaptureFixture) -> None:
    bins = pulse(1000, [(i, i + 3, 0.9) for i in range(10, 1000, 100)])
    config = FusionConfig(corroboration_s=0.0, cooldown_s=0.0, max_incidents_per_hour=3)
    with caplog.at_level(logging.INFO):
        incidents = fused(FusionEngine(config, {"motion": 1.0}, RATE), bins)
    assert len(incidents) == 3
    assert caplog.text.count("fusion.suppressed reason=budget") == 7


def test_a_full_budget_still_lets_through_an_incident_stronger_than_this_hours(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Weak triggers that filled the budget must not hide the crash after them; a record score cannot
    be beaten every time, so what passes over the budget stays rare."""
    weak = [(i, i + 3, 0.7) for i in range(10, 500, 100)]  # five, budget three
    later = [(510, 513, 0.95), (610, 613, 0.8), (710, 713, 0.95), (810, 813, 1.0)]
    config = FusionConfig(corroboration_s=0.0, cooldown_s=0.0, max_incidents_per_hour=3)
    with caplog.at_level(logging.INFO):
        incidents = fused(FusionEngine(config, {"motion": 1.0}, RATE), pulse(1000, weak + later))
    assert [round(i.peak_s) for i in incidents] == [1, 11, 21, 51, 81]
    assert [i.score for i in incidents][-2:] == [0.95, 1.0]
    assert caplog.text.count("fusion.over_budget reason=stronger_than_this_hour") == 2
    assert caplog.text.count("fusion.suppressed reason=budget") == 4  # two weak, the 0.8, the second 0.95


def test_a_budget_of_zero_lets_nothing_through() -> None:
    config = FusionConfig(corroboration_s=0.0, cooldown_s=0.0, max_incidents_per_hour=0)
    assert fused(FusionEngine(config, {"motion": 1.0}, RATE), pulse(100, [(10, 13, 1.0)])) == []


def test_the_budget_counts_the_last_hour_only() -> None:
    hour = int(3600 * RATE)
    bins = pulse(2 * hour, [(10, 13, 0.9), (hour + 20, hour + 23, 0.9)])
    config = FusionConfig(corroboration_s=0.0, cooldown_s=0.0, max_incidents_per_hour=1)
    assert len(fused(FusionEngine(config, {"motion": 1.0}, RATE), bins)) == 2


def test_incident_open_at_the_end_is_closed_there() -> None:
    [incident] = fused(
        FusionEngine(FusionConfig(corroboration_s=0.0), {"motion": 1.0}, RATE), pulse(30, [(25, 30, 0.9)])
    )
    assert incident.end_s == 3.0


def test_incident_json_line_and_description() -> None:
    incident = Incident(
        start_s=1.0, peak_s=1.5, end_s=2.0, score=0.75, miner_scores={"audio": 0.5, "motion": 1.0}
    )
    line = incident.to_json()
    assert "\n" not in line
    assert list(msgspec.json.decode(line)) == ["start_s", "peak_s", "end_s", "score", "miner_scores"]
    assert msgspec.json.decode(line, type=Incident) == incident
    assert "1.50" in incident.describe() and "motion=1.00" in incident.describe()


def test_exit_above_enter_is_rejected() -> None:
    with pytest.raises(msgspec.ValidationError, match="exit_threshold"):
        msgspec.convert({"enter_threshold": 0.3, "exit_threshold": 0.6}, FusionConfig)
