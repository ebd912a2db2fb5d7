from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

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
    """Entries checked (up to and including the first broken one)."""
    first_broken: int | None = None
    """seq of the first entry that is missing, altered or relinked, or the first one deleted from the end."""
    reason: Literal["missing", "altered", "relinked", "truncated", "anchor_mismatch"] | None = None
    head_seq: int = 0
    """The newest entry the database says was written; keep (head_seq, head_hash) to pass as an anchor."""
    head_hash: str = ""
    anchor_ok: bool | None = None
    """None without an anchor; False when the anchored (seq, hash) is no longer in the chain."""
