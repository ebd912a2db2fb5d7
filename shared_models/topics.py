"""MQTT topic names, all under ``fleet/{device_id}/``, and their parser.

The broker ACL grants a device ``fleet/<its id>/#`` for writing and only its ``acks`` and ``commands``
for reading, so the device id in the topic is the identity the broker authenticated.
"""

from __future__ import annotations

import re
from enum import StrEnum

import msgspec

ROOT = "fleet"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class TopicKind(StrEnum):
    STATUS = "status"  # device -> cloud, retained, Last Will
    HEALTH = "health"  # device -> cloud
    MANIFEST = "manifest"  # device -> cloud: fleet/{id}/incidents/{incident}/manifest
    CHUNK = "chunk"  # device -> cloud: fleet/{id}/incidents/{incident}/chunks/{seq}
    COMMAND_RESULT = "command_result"  # device -> cloud
    ACK = "ack"  # cloud -> device
    COMMAND = "command"  # cloud -> device


class Topic(msgspec.Struct, frozen=True):
    kind: TopicKind
    device_id: str
    incident_id: str | None = None
    seq: int | None = None


class TopicError(ValueError):
    """A topic outside the contract: wrong root, bad id, unknown leaf."""


_LEAF = {
    TopicKind.STATUS: "status",
    TopicKind.HEALTH: "health",
    TopicKind.COMMAND_RESULT: "command_results",
    TopicKind.ACK: "acks",
    TopicKind.COMMAND: "commands",
}
_BY_LEAF = {leaf: kind for kind, leaf in _LEAF.items()}


def _check_id(value: str, what: str) -> str:
    if not _ID.match(value):
        raise TopicError(f"invalid {what} {value!r}: letters, digits, '_' and '-' only, 1-64 chars")
    return value


def topic_for(kind: TopicKind, device_id: str, incident_id: str | None = None, seq: int | None = None) -> str:
    """Build the topic for ``kind``; incident topics need ``incident_id`` (and ``seq`` for chunks)."""
    _check_id(device_id, "device id")
    base = f"{ROOT}/{device_id}"
    if kind in _LEAF:
        return f"{base}/{_LEAF[kind]}"
    if incident_id is None:
        raise TopicError(f"{kind} topic needs an incident id")
    _check_id(incident_id, "incident id")
    if kind is TopicKind.MANIFEST:
        return f"{base}/incidents/{incident_id}/manifest"
    if seq is None or seq < 0:
        raise TopicError("chunk topic needs a sequence number >= 0")
    return f"{base}/incidents/{incident_id}/chunks/{seq}"


def subscription(kind: TopicKind, device_id: str = "+") -> str:
    """Subscription filter for ``kind`` on one device or, with the default ``+``, on every device."""
    base = f"{ROOT}/{device_id}"
    if kind in _LEAF:
        return f"{base}/{_LEAF[kind]}"
    if kind is TopicKind.MANIFEST:
        return f"{base}/incidents/+/manifest"
    return f"{base}/incidents/+/chunks/+"


def parse_topic(topic: str) -> Topic:
    parts = topic.split("/")
    if len(parts) < 3 or parts[0] != ROOT:
        raise TopicError(f"not a fleet topic: {topic!r}")
    device_id = _check_id(parts[1], "device id")
    rest = parts[2:]
    if len(rest) == 1 and rest[0] in _BY_LEAF:
        return Topic(_BY_LEAF[rest[0]], device_id)
    if len(rest) == 3 and rest[0] == "incidents" and rest[2] == "manifest":
        return Topic(TopicKind.MANIFEST, device_id, _check_id(rest[1], "incident id"))
    if len(rest) == 4 and rest[0] == "incidents" and rest[2] == "chunks" and rest[3].isdigit():
        return Topic(TopicKind.CHUNK, device_id, _check_id(rest[1], "incident id"), int(rest[3]))
    raise TopicError(f"unknown fleet topic: {topic!r}")
