"""Enums both sides share; string values so they read the same in msgpack, JSON and SQL."""

from enum import StrEnum


class Severity(StrEnum):
    NONE = "NONE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


SEVERITY_ORDER: tuple[Severity, ...] = (Severity.NONE, Severity.LOW, Severity.MEDIUM, Severity.HIGH)


class ReviewPriority(StrEnum):
    URGENT = "URGENT"
    STANDARD = "STANDARD"
    LOW_PRIORITY = "LOW_PRIORITY"


class Decision(StrEnum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    REQUEST_MORE_INFO = "REQUEST_MORE_INFO"


class ClaimStatus(StrEnum):
    """Lifecycle of a claim: received -> queued -> processing -> assessed -> reviewed (or failed)."""

    RECEIVED = "RECEIVED"
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    ASSESSED = "ASSESSED"
    REVIEWED = "REVIEWED"
    FAILED = "FAILED"


class AckStatus(StrEnum):
    """The cloud's answer to an incident: all chunks stored, some missing, or refused for good."""

    COMPLETE = "COMPLETE"
    MISSING = "MISSING"
    REJECTED = "REJECTED"


class DeviceState(StrEnum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"


class CameraState(StrEnum):
    OK = "OK"
    BLANK = "BLANK"
    OBSTRUCTED = "OBSTRUCTED"
    FROZEN = "FROZEN"
    UNKNOWN = "UNKNOWN"
