from __future__ import annotations

from typing import Literal

import msgspec


class HealthOut(msgspec.Struct, kw_only=True):
    status: Literal["ok", "degraded"]
    database: bool
    broker_connected: bool | None
    """None when ingest is disabled (INGEST_ENABLED=false)."""
    ingest_alive: bool | None
    workers_alive: int
    workers_expected: int
    uptime_s: float
    version: str
