"""Topic builders and the parser agree, and anything outside ``fleet/{device_id}/...`` is refused."""

from __future__ import annotations

import pytest

from shared_models import Topic, TopicError, TopicKind, parse_topic, topic_for
from shared_models.topics import subscription


@pytest.mark.parametrize(
    ("kind", "incident", "seq", "expected"),
    [
        (TopicKind.STATUS, None, None, "fleet/dev-1/status"),
        (TopicKind.HEALTH, None, None, "fleet/dev-1/health"),
        (TopicKind.ACK, None, None, "fleet/dev-1/acks"),
        (TopicKind.COMMAND, None, None, "fleet/dev-1/commands"),
        (TopicKind.COMMAND_RESULT, None, None, "fleet/dev-1/command_results"),
        (TopicKind.MANIFEST, "inc_9", None, "fleet/dev-1/incidents/inc_9/manifest"),
        (TopicKind.CHUNK, "inc_9", 41, "fleet/dev-1/incidents/inc_9/chunks/41"),
    ],
)
def test_build_then_parse(kind: TopicKind, incident: str | None, seq: int | None, expected: str) -> None:
    topic = topic_for(kind, "dev-1", incident, seq)
    assert topic == expected
    assert parse_topic(topic) == Topic(kind, "dev-1", incident, seq)


@pytest.mark.parametrize(
    "topic",
    [
        "fleet",
        "fleet/dev-1",
        "other/dev-1/status",
        "fleet/dev 1/status",
        "fleet/+/status",
        "fleet/dev-1/unknown",
        "fleet/dev-1/incidents/i/chunks/x",
        "fleet/dev-1/incidents/i/chunks/-1",
        "fleet/dev-1/incidents/i/manifest/extra",
        "fleet/dev-1/status/extra",
        "fleet/" + "d" * 65 + "/status",
    ],
)
def test_topics_outside_the_contract_raise(topic: str) -> None:
    with pytest.raises(TopicError):
        parse_topic(topic)


@pytest.mark.parametrize("device_id", ["", "a/b", "a+b", "#", "x" * 65])
def test_builders_refuse_ids_that_would_escape_the_device_subtree(device_id: str) -> None:
    with pytest.raises(TopicError):
        topic_for(TopicKind.STATUS, device_id)


def test_incident_topics_need_their_ids() -> None:
    with pytest.raises(TopicError):
        topic_for(TopicKind.MANIFEST, "dev-1")
    with pytest.raises(TopicError):
        topic_for(TopicKind.CHUNK, "dev-1", "inc")


def test_subscriptions_match_what_builders_produce() -> None:
    assert subscription(TopicKind.CHUNK) == "fleet/+/incidents/+/chunks/+"
    assert subscription(TopicKind.MANIFEST, "dev-1") == "fleet/dev-1/incidents/+/manifest"
    assert subscription(TopicKind.STATUS) == "fleet/+/status"
