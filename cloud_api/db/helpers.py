"""Small helpers every service uses with Piccolo: one clock, one JSON encoding."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder(order="sorted")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_datetime(value: datetime | str) -> datetime:
    """A timestamp from a raw query: PostgreSQL gives a datetime, SQLite the stored text (UTC)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def to_json(value: Any) -> str:
    """JSON text for a JSON column (Structs, enums and datetimes included), keys sorted."""
    return _encoder.encode(value).decode()


def from_json(value: str | bytes | None) -> Any:
    """The value of a JSON column: Piccolo hands back the text on both engines."""
    if value is None:
        return None
    return msgspec.json.decode(value) if isinstance(value, (str, bytes)) else value
