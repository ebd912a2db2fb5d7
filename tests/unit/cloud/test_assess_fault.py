"""The fault rules table: the published anchors, most specific rule wins, exclusions, modifiers, every
rule reachable, evidence cited with clip times, and the no-rule fallback flagged for review."""

from __future__ import annotations

import pytest

from cloud_api.domain.assessments.fault import MODIFIERS, NO_RULE, RULES, assess_fault, table_markdown
from cloud_api.domain.assessments.taxonomy import Fact, Scenario

F, S = Fact, Scenario


@pytest.mark.parametrize(
    ("scenario", "facts", "rule", "share"),
    [
        (S.REAR_END_STRIKING, {F.LEAD_VEHICLE_STOPPED}, "RE-1", 100),  # striking a stopped car: 100:0
        (S.REAR_END_STRIKING, {F.LEAD_SUDDEN_BRAKING_UNEXPLAINED}, "RE-2", 70),  # braking moves 30
        (S.REAR_END_STRIKING, set(), "RE-3", 100),
        (S.REAR_END_STRUCK, set(), "RE-5", 0),
        (S.REAR_END_STRUCK, {F.EGO_SUDDEN_BRAKING_UNEXPLAINED}, "RE-4", 30),
        (S.LANE_CHANGE, {F.EGO_CHANGED_LANE}, "LC-2", 70),  # the lane changer: 70:30
        (S.LANE_CHANGE, {F.OTHER_CHANGED_LANE}, "LC-3", 30),
        (S.LANE_CHANGE, {F.EGO_CHANGED_LANE, F.OTHER_CHANGED_LANE}, "LC-1", 50),  # most specific wins
        (S.HEAD_ON, {F.EGO_CROSSED_CENTRE_LINE}, "HO-1", 100),
        (S.NEAR_MISS, set(), "NC-1", 0),
    ],
)
def test_anchor_rules(scenario: Scenario, facts: set[Fact], rule: str, share: float) -> None:
    fault = assess_fault(scenario, {f: [3.5] for f in facts})
    assert (fault.rule, fault.fault_ratio, fault.needs_review) == (rule, share, False)
    assert rule in fault.reasoning and fault.confidence >= 0.5


def test_a_stopped_lead_car_is_not_excused_by_its_braking() -> None:
    facts = {F.LEAD_VEHICLE_STOPPED: [2.0], F.LEAD_SUDDEN_BRAKING_UNEXPLAINED: [1.5]}
    assert assess_fault(S.REAR_END_STRIKING, facts).rule == "RE-1"  # RE-2 excludes a stopped lead car


def test_every_rule_is_reachable_from_its_own_facts() -> None:
    for rule in RULES:
        assert assess_fault(rule.scenario, {f: [1.0] for f in rule.requires}).rule == rule.id


def test_the_rule_cites_the_facts_it_used_with_their_clip_times() -> None:
    facts = {F.EGO_CHANGED_LANE: [4.2, 4.8], F.EGO_STATIONARY: [0.5]}  # the second is irrelevant here
    fault = assess_fault(S.LANE_CHANGE, facts)
    assert fault.facts_used == ["ego_changed_lane"]
    assert [(e.t_s, e.what) for e in fault.evidence] == [
        (4.2, "fact ego_changed_lane"),
        (4.8, "fact ego_changed_lane"),
    ]


def test_speeding_modifier_moves_the_share_within_bounds() -> None:
    lane = assess_fault(S.LANE_CHANGE, {F.EGO_CHANGED_LANE: [4.0], F.EGO_SPEEDING: [3.0]})
    assert (lane.fault_ratio, lane.modifiers) == (80, ["M-SPEED"])
    assert "ego_speeding" in lane.facts_used and "M-SPEED" in lane.reasoning
    capped = assess_fault(S.REAR_END_STRIKING, {F.LEAD_VEHICLE_STOPPED: [2.0], F.EGO_SPEEDING: [1.0]})
    assert capped.fault_ratio == 100


@pytest.mark.parametrize(
    ("scenario", "facts"),
    [
        ("unclassified", {}),  # a reader without the taxonomy
        (S.INTERSECTION, {}),  # right of way unknown
        (S.HEAD_ON, {F.EGO_CROSSED_CENTRE_LINE: [1.0], F.OTHER_CROSSED_CENTRE_LINE: [1.2]}),  # both crossed
    ],
)
def test_no_rule_is_an_even_split_flagged_for_review(scenario: str, facts: dict[Fact, list[float]]) -> None:
    fault = assess_fault(scenario, facts)
    assert (fault.fault_ratio, fault.rule, fault.needs_review) == (50.0, NO_RULE, True)
    assert fault.confidence < 0.5 and not fault.evidence


def test_the_printed_table_is_the_table_in_use() -> None:
    text = table_markdown()
    assert all(f"| {r.id} |" in text for r in RULES) and all(f"| {m.id} |" in text for m in MODIFIERS)
    assert len({r.id for r in RULES}) == len(RULES)
