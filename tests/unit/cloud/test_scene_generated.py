"""The physics of the generated incidents the local model learns from: labels follow delta-v,
contact happens when and how the label says, near misses never touch."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from cloud_api.domain.assessments.taxonomy import Scenario
from cloud_api.training.scenarios import EDGE_SEED_BASE, FPS, TRAINED_SCENARIOS, make_case, severity_for
from edge_agent.sample.plan import HOOD_M
from shared_models import Severity


def first(scenario: Scenario, contact: bool = True):  # noqa: ANN201
    for seed in range(500):
        case, plan = make_case(seed)
        if case.scenario is scenario and (case.delta_v > 0) == contact:
            return case, plan
    raise AssertionError(f"no {scenario} in 500 seeds")


@pytest.mark.parametrize(
    ("delta_v", "severity"),
    [
        (0.0, Severity.NONE),
        (0.5, Severity.LOW),
        (2.79, Severity.LOW),
        (2.8, Severity.MEDIUM),
        (5.59, Severity.MEDIUM),
        (5.6, Severity.HIGH),
        (9.0, Severity.HIGH),
    ],
)
def test_severity_is_the_delta_v_class(delta_v: float, severity: Severity) -> None:
    assert severity_for(delta_v) is severity


def test_every_trained_scenario_is_generated_and_cases_are_reproducible() -> None:
    counts = Counter(make_case(seed)[0].scenario for seed in range(300))
    assert set(counts) == set(TRAINED_SCENARIOS)
    a, b = make_case(42), make_case(42)
    assert a[0] == b[0] and np.array_equal(a[1].cam_dy, b[1].cam_dy)


def test_striking_closes_at_twice_the_delta_v_and_touches_at_the_event() -> None:
    case, plan = first(Scenario.REAR_END_STRIKING)
    i = round(case.event_t_s * FPS)
    closing = (plan.lead_gap[i - 2] - plan.lead_gap[i - 1]) * FPS
    assert closing == pytest.approx(2 * case.delta_v, rel=0.1)
    assert plan.lead_gap[i - 4] > HOOD_M and plan.lead_gap[i + 1] == pytest.approx(HOOD_M)
    assert plan.ego_speed[i - 1] - plan.ego_speed[i + 1] == pytest.approx(case.delta_v, abs=0.3)


def test_struck_throws_a_standing_ego_forward_at_delta_v() -> None:
    case, plan = first(Scenario.REAR_END_STRUCK)
    i = int(np.ceil(case.event_t_s * FPS))
    assert plan.ego_speed[: i - 1].max() == 0.0
    assert plan.ego_speed[i] == pytest.approx(case.delta_v, abs=0.3)
    assert plan.cam_dy[i : i + 3].min() < -0.003  # pitched the other way from a frontal hit


@pytest.mark.parametrize("scenario", [Scenario.NEAR_MISS, Scenario.NONE])
def test_no_contact_cases_keep_a_gap_and_severity_none(scenario: Scenario) -> None:
    case, plan = first(scenario, contact=False)
    assert case.severity is Severity.NONE
    assert plan.lead_gap.min() > HOOD_M + 0.2


def test_cut_in_comes_from_the_next_lane() -> None:
    case, plan = first(Scenario.LANE_CHANGE)
    i = round(case.event_t_s * FPS)
    assert abs(plan.lead_lateral[0]) == pytest.approx(3.5, abs=0.01)
    assert abs(plan.lead_lateral[i]) < 1.3


def test_jolt_grows_with_delta_v() -> None:
    def jolt(seed: int) -> tuple[float, float]:
        case, plan = make_case(seed)
        i = int(np.ceil(case.event_t_s * FPS))
        return case.delta_v, float(np.abs(plan.cam_dy[i : i + 6]).max())

    pairs = [jolt(s) for s in range(200) if make_case(s)[0].scenario is Scenario.SINGLE_VEHICLE]
    dv, amplitude = np.array(pairs).T
    assert np.corrcoef(dv, amplitude)[0, 1] > 0.8


def test_edge_sample_drives_are_labelled_by_the_delta_v_their_plan_implies() -> None:
    for k in range(5):
        case, plan = make_case(EDGE_SEED_BASE + k)
        assert case.scenario is Scenario.REAR_END_STRIKING
        i = int(np.floor(case.event_t_s * FPS))
        assert plan.lead_gap[i] > HOOD_M and plan.lead_gap[i + 2] == pytest.approx(HOOD_M, abs=0.1)
        assert case.severity is severity_for(case.delta_v) and 3.0 < case.delta_v < 11.0
