"""The append-only audit log: every state change, hash-chained so an edited or deleted row shows.

Each entry's hash is sha256(prev_hash + canonical JSON of the entry), where the canonical JSON has
sorted keys, no spaces and the time as UTC ISO-8601 with microseconds. Appends are serialized (SQLite's
write lock, a PostgreSQL advisory lock) so the chain never forks, and they join the caller's
transaction, so a state change and its audit entry commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from cloud_api.db.engine import is_sqlite, write_transaction
from cloud_api.db.helpers import from_json, to_json, utcnow
from cloud_api.domain.audit.schemas import ActorType, AuditEvent, AuditVerification
from cloud_api.domain.audit.tables import AuditEntry

GENESIS_HASH = "0" * 64
_PG_LOCK_KEY = 0x61756469  # "audi": any constant shared by every replica
_BATCH = 500


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _hashed_fields(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": row["seq"],
        "claim_id": row["claim_id"],
        "event_type": row["event_type"],
        "actor_type": row["actor_type"],
        "actor_id": row["actor_id"],
        "before_state": from_json(row["before_state"]),
        "after_state": from_json(row["after_state"]),
        "at": _timestamp(row["at"]),
    }


def _event(row: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        seq=row["seq"],
        event_type=row["event_type"],
        actor_type=ActorType(row["actor_type"]),
        actor_id=row["actor_id"],
        before_state=from_json(row["before_state"]),
        after_state=from_json(row["after_state"]),
        timestamp=row["at"],
        hash=row["hash"],
    )


class AuditService:
    async def log_action(
        self,
        event_type: str,
        actor_type: ActorType,
        actor_id: str,
        *,
        claim_id: str | None = None,
        before: Any = None,
        after: Any = None,
    ) -> AuditEvent:
        """Append one entry (``before`` / ``after`` may be Structs or plain JSON values)."""
        row: dict[str, Any] = {
            "claim_id": claim_id,
            "event_type": event_type,
            "actor_type": actor_type.value,
            "actor_id": actor_id,
            "before_state": None if before is None else to_json(before),
            "after_state": None if after is None else to_json(after),
            "at": utcnow(),
        }
        async with write_transaction():
            if not is_sqlite():
                await AuditEntry.raw("SELECT pg_advisory_xact_lock({})", _PG_LOCK_KEY).run()
            last = (
                await AuditEntry.select(AuditEntry.seq, AuditEntry.hash)
                .order_by(AuditEntry.seq, ascending=False)
                .first()
                .run()
            )
            row["seq"] = last["seq"] + 1 if last else 1
            row["prev_hash"] = last["hash"] if last else GENESIS_HASH
            row["hash"] = entry_hash(row["prev_hash"], _hashed_fields(row))
            await AuditEntry.insert(AuditEntry(**row)).run()
        return _event(row)

    async def history(self, claim_id: str) -> list[AuditEvent]:
        rows = await AuditEntry.select().where(AuditEntry.claim_id == claim_id).order_by(AuditEntry.seq).run()
        return [_event(row) for row in rows]

    async def verify(self) -> AuditVerification:
        """Walk the whole chain in order; report the first entry that does not check out."""
        prev_hash, expected_seq, entries = GENESIS_HASH, 1, 0
        while True:
            rows = (
                await AuditEntry.select()
                .where(AuditEntry.seq >= expected_seq)
                .order_by(AuditEntry.seq)
                .limit(_BATCH)
                .run()
            )
            for row in rows:
                entries += 1
                ok = (
                    row["seq"] == expected_seq
                    and row["prev_hash"] == prev_hash
                    and row["hash"] == entry_hash(prev_hash, _hashed_fields(row))
                )
                if not ok:
                    return AuditVerification(ok=False, entries=entries, first_broken=row["seq"])
                prev_hash, expected_seq = row["hash"], expected_seq + 1
            if len(rows) < _BATCH:
                return AuditVerification(ok=True, entries=entries)
