"""Checking a video-LLM's answer before it becomes a reading: JSON, schema, vocabularies, sums."""

from __future__ import annotations

import json

import msgspec
import pytest

from cloud_api.domain.assessments.scene.openai_compat import ANSWER_SCHEMA, SceneAnswer, parse_answer
from cloud_api.domain.assessments.taxonomy import Fact, Scenario

GOOD = {
    "scenario": "lane_change",
    "severity_probabilities": {"NONE": 0.1, "LOW": 0.6, "MEDIUM": 0.2, "HIGH": 0.1},
    "narrative": "A car cuts in from the left lane and is clipped.",
    "evidence": [{"t_s": 3.2, "what": "car crosses the lane line"}],
    "facts": [{"fact": "other_changed_lane", "t_s": [2.5, 3.2]}],
    "other_parties": ["silver car"],
}


def test_a_good_answer_parses_into_the_vocabularies() -> None:
    answer = parse_answer(json.dumps(GOOD))
    assert answer.scenario is Scenario.LANE_CHANGE
    assert answer.facts[0].fact is Fact.OTHER_CHANGED_LANE


def test_fences_are_stripped() -> None:
    assert parse_answer("```json\n" + json.dumps(GOOD) + "\n```").scenario is Scenario.LANE_CHANGE


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scenario": "rear_end"}, "does not match the schema"),
        ({"extra": 1}, "does not match the schema"),
        ({"severity_probabilities": {"NONE": 1.2, "LOW": 0, "MEDIUM": 0, "HIGH": 0}}, "does not match"),
        ({"severity_probabilities": {"NONE": 0.2, "LOW": 0.2, "MEDIUM": 0.2, "HIGH": 0.2}}, "sum to 0.800"),
        ({"evidence": [{"t_s": -1, "what": "x"}]}, "does not match the schema"),
        ({"narrative": ""}, "does not match the schema"),
    ],
)
def test_bad_answers_say_what_is_wrong(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_answer(json.dumps({**GOOD, **change}))


def test_not_json_is_named_as_such() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        parse_answer("The car was hit.")


def test_the_schema_sent_is_the_struct_schema_and_closed() -> None:
    assert ANSWER_SCHEMA == msgspec.json.schema(SceneAnswer)
    answer = ANSWER_SCHEMA["$defs"]["SceneAnswer"]
    assert answer["additionalProperties"] is False
    assert set(answer["required"]) == set(GOOD)
    scenario_enum = json.dumps(ANSWER_SCHEMA)
    assert all(s.value in scenario_enum for s in Scenario)
