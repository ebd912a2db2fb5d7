"""Generated crash physics: a side impact's ego is the struck car or the striking one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge_agent.sample.gsensor import GRAVITY
from edge_agent.sample.scenarios import Scenario, ScenarioDrive, _striking, build_scenario
from edge_agent.sample.stream import accel_readings

IMPACT_S = 7.0


def side_impacts(count: int) -> list[Scenario]:
    return [
        Scenario(kind="side_impact", seed=seed, duration_s=12.0, event_s=IMPACT_S)
        for seed in range(800_000, 800_000 + count)
    ]


def speed_around_impact(drive: ScenarioDrive) -> tuple[float, float]:
    i = round(IMPACT_S * drive.plan.fps)
    return float(drive.plan.ego_speed[i - 1]), float(drive.plan.ego_speed[i + 1])


def test_about_half_the_side_impacts_are_the_ego_striking_and_no_other_kind_is() -> None:
    kept = [_striking(s) for s in side_impacts(200)]
    striking = [k for k in kept if k < 1.0]
    assert 70 <= len(striking) <= 130
    assert min(striking) >= 0.4 and max(striking) <= 0.75
    for kind in ("rear_end", "pedestrian", "near_miss", "normal"):
        assert _striking(Scenario(kind=kind, seed=800_001, event_s=IMPACT_S)) == 1.0  # type: ignore[arg-type]


def test_a_striking_ego_loses_its_share_of_speed_at_the_impact_and_the_g_sensor_feels_it() -> None:
    scenario = next(s for s in side_impacts(20) if _striking(s) < 1.0)
    drive = build_scenario(scenario)
    before, after = speed_around_impact(drive)
    assert after == pytest.approx(before * _striking(scenario), rel=0.05)
    assert drive.plan.impact_at_s == IMPACT_S  # the speed step the G-sensor and the sound follow
    readings = accel_readings(drive)
    near = np.abs(readings[:, 0] - IMPACT_S) < 0.3
    # A half-sine pulse of the lost speed over 0.12 s, forward (x) not sideways (y).
    expected = math.pi * (before - after) / (2 * 0.12)
    assert -readings[near, 1].min() == pytest.approx(expected, rel=0.15)
    assert np.abs(readings[near, 2]).max() < 0.5 * expected
    assert drive.sounds["impact"] == [IMPACT_S] and drive.sounds["glass"] == [IMPACT_S]


def test_a_struck_ego_keeps_its_speed_through_the_hit_and_is_pushed_sideways() -> None:
    scenario = next(s for s in side_impacts(20) if _striking(s) == 1.0)
    drive = build_scenario(scenario)
    before, after = speed_around_impact(drive)
    assert after == pytest.approx(before, rel=0.02)
    assert drive.plan.impact_at_s is None
    readings = accel_readings(drive)
    near = np.abs(readings[:, 0] - IMPACT_S) < 0.3
    assert np.abs(readings[near, 2]).max() > 2.5 * GRAVITY
    assert -readings[near, 1].min() < 1.0 * GRAVITY
    assert drive.sounds["impact"] == [IMPACT_S] and drive.sounds["glass"] == []


@pytest.mark.parametrize("striking", [True, False])
def test_either_way_the_ego_then_brakes_to_rest(striking: bool) -> None:
    scenario = next(s for s in side_impacts(20) if (_striking(s) < 1.0) == striking)
    drive = build_scenario(scenario)
    assert drive.plan.ego_speed[-1] < 0.2 * speed_around_impact(drive)[0]
