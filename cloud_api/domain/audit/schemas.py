from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec


class ActorType(StrEnum):
    AI = "AI"
    HUMAN = "HUMAN"
    SYSTEM = "SYSTEM"
    DEVICE = "DEVICE"


class AuditEvent(msgspec.Struct, kw_only=True):
    seq: int
    event_type: str
    actor_type: ActorType
    actor_id: str
    before_state: Any
    after_state: Any
    timestamp: datetime
    hash: str


class AuditHistory(msgspec.Struct, kw_only=True):
    claim_id: str
    events: list[AuditEvent]


class AuditVerification(msgspec.Struct, kw_only=True):
    ok: bool
    entries: int
    first_broken: int | None = None
    """seq of the first entry whose hash, link to its predecessor or position does not check out."""
