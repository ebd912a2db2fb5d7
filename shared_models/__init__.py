"""The wire contract between the edge agent and the cloud: Structs, enums, topics and codec.

Depends on msgspec alone, so a device or a replica imports it without either application.
"""

from shared_models.codec import WireError, decode, encode, signing_bytes
from shared_models.enums import (
    AckStatus,
    CameraState,
    ClaimStatus,
    Decision,
    DeviceState,
    ReviewPriority,
    Severity,
)
from shared_models.messages import (
    SCHEMA_VERSION,
    ClipChunk,
    Command,
    CommandResult,
    ConfigPush,
    DeviceStatus,
    FootageRequest,
    HealthHeartbeat,
    IncidentAck,
    IncidentManifest,
    Message,
    MinerTimeline,
    Ping,
)
from shared_models.topics import Topic, TopicKind, TopicError, parse_topic, topic_for

__all__ = [
    "SCHEMA_VERSION",
    "AckStatus",
    "CameraState",
    "ClaimStatus",
    "ClipChunk",
    "Command",
    "CommandResult",
    "ConfigPush",
    "Decision",
    "DeviceState",
    "DeviceStatus",
    "FootageRequest",
    "HealthHeartbeat",
    "IncidentAck",
    "IncidentManifest",
    "Message",
    "MinerTimeline",
    "Ping",
    "ReviewPriority",
    "Severity",
    "Topic",
    "TopicError",
    "TopicKind",
    "WireError",
    "decode",
    "encode",
    "parse_topic",
    "signing_bytes",
    "topic_for",
]
