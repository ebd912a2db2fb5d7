from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class DeviceOut(msgspec.Struct, kw_only=True):
    device_id: str
    status: str
    registered_at: datetime
    revoked_at: datetime | None
    last_seen: datetime | None
    firmware: str
    latest_heartbeat: dict[str, Any] | None = None


class DeviceList(msgspec.Struct, kw_only=True):
    items: list[DeviceOut]
    total: int
