"""Fault allocation by an explicit rules table: (scenario, facts seen) -> the ego vehicle's share, 0-100.

The table is data (``RULES``, ``MODIFIERS``), printed in the README, so a regulator can read every
number. Its base shares are modelled on published standard tables for motor claims: the Japanese
negligence-ratio tables (Hanrei Times No. 38: rear-end 100:0, a lane changer 70:30, the lead car's
unexplained sudden braking moving 30 to it, centre-line crossing 100:0) and Ontario's Fault
Determination Rules (O. Reg. 668/90: the following car in a rear-end collision, a reversing or
parked-car collision). They are modelled on those tables, not a legal opinion.

Matching: among the rules of the scenario whose required facts were all seen and whose excluded facts
were not, the one requiring the most facts wins (table order breaks ties). Modifiers then move the
share. No matching rule: 50 with low confidence, flagged for a reviewer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from cloud_api.domain.assessments.schemas import EvidenceOut, FaultAssessmentOut
from cloud_api.domain.assessments.taxonomy import Fact, Scenario

NO_RULE = "no-rule"
NO_RULE_CONFIDENCE = 0.1

F = Fact


class FaultRule(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    scenario: Scenario
    ego_share: float
    """The ego vehicle's share of fault, 0-100."""
    confidence: float
    basis: str
    requires: frozenset[Fact] = frozenset()
    excludes: frozenset[Fact] = frozenset()


class FaultModifier(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    fact: Fact
    delta: float
    """Added to the ego share (then clamped to 0-100)."""
    basis: str


RULES: tuple[FaultRule, ...] = (
    FaultRule(
        id="RE-1", scenario=Scenario.REAR_END_STRIKING, requires=frozenset({F.LEAD_VEHICLE_STOPPED}),
        ego_share=100, confidence=0.9, basis="striking a stopped vehicle from behind: 100:0",
    ),
    FaultRule(
        id="RE-2", scenario=Scenario.REAR_END_STRIKING,
        requires=frozenset({F.LEAD_SUDDEN_BRAKING_UNEXPLAINED}), excludes=frozenset({F.LEAD_VEHICLE_STOPPED}),
        ego_share=70, confidence=0.7,
        basis="the lead car braked suddenly without cause: 30 moves to it (70:30)",
    ),
    FaultRule(
        id="RE-3", scenario=Scenario.REAR_END_STRIKING, ego_share=100, confidence=0.8,
        basis="the following car keeps a safe distance: striking from behind 100:0",
    ),
    FaultRule(
        id="RE-4", scenario=Scenario.REAR_END_STRUCK, requires=frozenset({F.EGO_SUDDEN_BRAKING_UNEXPLAINED}),
        ego_share=30, confidence=0.7, basis="the ego braked suddenly without cause: 30 to the ego (30:70)",
    ),
    FaultRule(
        id="RE-5", scenario=Scenario.REAR_END_STRUCK, ego_share=0, confidence=0.85,
        basis="struck from behind by the following car: 0:100",
    ),
    FaultRule(
        id="LC-1", scenario=Scenario.LANE_CHANGE,
        requires=frozenset({F.EGO_CHANGED_LANE, F.OTHER_CHANGED_LANE}), ego_share=50, confidence=0.5,
        basis="both changed lanes into each other: 50:50",
    ),
    FaultRule(
        id="LC-2", scenario=Scenario.LANE_CHANGE, requires=frozenset({F.EGO_CHANGED_LANE}),
        ego_share=70, confidence=0.7, basis="the lane changer bears the larger share: 70:30",
    ),
    FaultRule(
        id="LC-3", scenario=Scenario.LANE_CHANGE, requires=frozenset({F.OTHER_CHANGED_LANE}),
        ego_share=30, confidence=0.7, basis="the other car changed lanes into the ego: 30:70",
    ),
    FaultRule(
        id="IX-1", scenario=Scenario.INTERSECTION, requires=frozenset({F.EGO_HAD_RIGHT_OF_WAY}),
        ego_share=20, confidence=0.6, basis="the ego had right of way; it keeps a duty of care: 20:80",
    ),
    FaultRule(
        id="IX-2", scenario=Scenario.INTERSECTION, requires=frozenset({F.OTHER_HAD_RIGHT_OF_WAY}),
        ego_share=80, confidence=0.6, basis="the ego failed to yield to the car with right of way: 80:20",
    ),
    FaultRule(
        id="HO-1", scenario=Scenario.HEAD_ON, requires=frozenset({F.EGO_CROSSED_CENTRE_LINE}),
        excludes=frozenset({F.OTHER_CROSSED_CENTRE_LINE}), ego_share=100, confidence=0.85,
        basis="the ego crossed the centre line: 100:0",
    ),
    FaultRule(
        id="HO-2", scenario=Scenario.HEAD_ON, requires=frozenset({F.OTHER_CROSSED_CENTRE_LINE}),
        excludes=frozenset({F.EGO_CROSSED_CENTRE_LINE}), ego_share=0, confidence=0.85,
        basis="the other car crossed the centre line: 0:100",
    ),
    FaultRule(
        id="PK-1", scenario=Scenario.PARKING, requires=frozenset({F.EGO_STATIONARY}),
        ego_share=0, confidence=0.8, basis="a stationary (parked) vehicle is struck: 0:100",
    ),
    FaultRule(
        id="PK-2", scenario=Scenario.PARKING, requires=frozenset({F.EGO_REVERSING}),
        excludes=frozenset({F.OTHER_REVERSING}), ego_share=80, confidence=0.6,
        basis="the reversing vehicle bears the larger share: 80:20",
    ),
    FaultRule(
        id="PK-3", scenario=Scenario.PARKING, requires=frozenset({F.OTHER_REVERSING}),
        excludes=frozenset({F.EGO_REVERSING}), ego_share=20, confidence=0.6,
        basis="the other vehicle reversed into the ego: 20:80",
    ),
    FaultRule(
        id="SV-1", scenario=Scenario.SINGLE_VEHICLE, ego_share=100, confidence=0.8,
        basis="no other party involved: the ego bears it all",
    ),
    FaultRule(
        id="NC-1", scenario=Scenario.NEAR_MISS, ego_share=0, confidence=0.8,
        basis="no contact: no fault to allocate",
    ),
    FaultRule(
        id="NC-2", scenario=Scenario.NONE, ego_share=0, confidence=0.8,
        basis="no incident seen: no fault to allocate",
    ),
)  # fmt: skip

MODIFIERS: tuple[FaultModifier, ...] = (
    FaultModifier(
        id="M-SPEED", fact=F.EGO_SPEEDING, delta=10, basis="the ego was clearly speeding: +10 to the ego"
    ),
)


def _matches(rule: FaultRule, scenario: Scenario, seen: frozenset[Fact]) -> bool:
    return rule.scenario is scenario and rule.requires <= seen and not rule.excludes & seen


def find_rule(scenario: Scenario, seen: frozenset[Fact]) -> FaultRule | None:
    """The most specific matching rule, the first in the table on a tie; None when none matches."""
    candidates = [rule for rule in RULES if _matches(rule, scenario, seen)]
    return max(candidates, key=lambda rule: len(rule.requires), default=None)


def assess_fault(scenario: Scenario | str, facts: Mapping[Fact, Sequence[float]]) -> FaultAssessmentOut:
    """The ego share from the table, citing its rule and the facts (with clip times) it used."""
    seen = frozenset(facts)
    try:
        rule = find_rule(Scenario(scenario), seen)
    except ValueError:  # a reader without a scenario taxonomy (heuristic-v1 says 'unclassified')
        rule = None
    if rule is None:
        return FaultAssessmentOut(
            fault_ratio=50.0,
            rule=NO_RULE,
            confidence=NO_RULE_CONFIDENCE,
            reasoning=(
                f"No fault rule covers scenario '{scenario}' with facts "
                f"{sorted(seen) or 'none'}; 50:50 is a placeholder for the reviewer."
            ),
            needs_review=True,
        )
    modifiers = [m for m in MODIFIERS if m.fact in seen]
    share = min(100.0, max(0.0, rule.ego_share + sum(m.delta for m in modifiers)))
    used = sorted(rule.requires | {m.fact for m in modifiers})
    evidence = [EvidenceOut(t_s=t, what=f"fact {fact}") for fact in used for t in facts[fact]]
    reasoning = f"Rule {rule.id} ({scenario}): {rule.basis}." + "".join(
        f" Modifier {m.id}: {m.basis}." for m in modifiers
    )
    return FaultAssessmentOut(
        fault_ratio=share,
        rule=rule.id,
        confidence=rule.confidence,
        reasoning=reasoning,
        modifiers=[m.id for m in modifiers],
        facts_used=[str(f) for f in used],
        evidence=sorted(evidence, key=lambda e: e.t_s),
        needs_review=False,
    )


def table_markdown() -> str:
    """The rules table as Markdown, for the README (so the printed table is the one the code uses)."""
    lines = [
        "| rule | scenario | requires | excludes | ego share | confidence | basis |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in RULES:
        lines.append(
            f"| {r.id} | {r.scenario} | {', '.join(sorted(r.requires)) or '-'} | "
            f"{', '.join(sorted(r.excludes)) or '-'} | {r.ego_share:g} | {r.confidence:g} | {r.basis} |"
        )
    lines += ["", "| modifier | fact | change | basis |", "|---|---|---|---|"]
    lines += [f"| {m.id} | {m.fact} | {m.delta:+g} | {m.basis} |" for m in MODIFIERS]
    return "\n".join(lines)
