"""The append-only audit log: every state change, hash-chained so an edited or deleted row shows.

Each entry's hash is sha256(prev_hash + canonical JSON of the entry), where the canonical JSON has
sorted keys, no spaces and the time as UTC ISO-8601 with microseconds. Appends are serialized (SQLite's
write lock, a PostgreSQL advisory lock) so the chain never forks, and they join the caller's
transaction, so a state change and its audit entry commit together or not at all.

The head row (``audit_head``) moves with every append; verify checks the chain ends exactly there, so
entries deleted from the end show too. The database refuses UPDATE and DELETE on the log (migration
cloud_0005); an external party can also keep the head it was shown and pass it back as an anchor.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from cloud_api.db.engine import is_sqlite, write_transaction
from cloud_api.db.helpers import from_json, to_json, utcnow
from cloud_api.domain.audit.schemas import ActorType, AuditEvent, AuditVerification
from cloud_api.domain.audit.tables import AuditEntry, AuditHead

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
            head = (
                await AuditHead.select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).first().run()
            )
            if head is None:
                raise RuntimeError("audit_head is missing: run the migrations (cloud-api migrate)")
            row["seq"] = head["seq"] + 1
            row["prev_hash"] = head["hash"]
            row["hash"] = entry_hash(row["prev_hash"], _hashed_fields(row))
            await AuditEntry.insert(AuditEntry(**row)).run()
            await AuditHead.update({AuditHead.seq: row["seq"], AuditHead.hash: row["hash"]}).where(
                AuditHead.id == 1
            ).run()
        return _event(row)

    async def history(self, claim_id: str) -> list[AuditEvent]:
        rows = await AuditEntry.select().where(AuditEntry.claim_id == claim_id).order_by(AuditEntry.seq).run()
        return [_event(row) for row in rows]

    async def verify(self, anchor: tuple[int, str] | None = None) -> AuditVerification:
        """Walk the whole chain in order; report the first entry that does not check out.

        ``anchor`` is a (seq, hash) shown earlier by this endpoint: it must still be in the chain, which
        catches even a rewrite of the whole log by someone who also recomputed every hash.
        """
        head = await AuditHead.select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).first().run()
        head_seq, head_hash = (head["seq"], head["hash"]) if head else (0, GENESIS_HASH)
        prev_hash, expected_seq, entries = GENESIS_HASH, 1, 0
        anchor_ok = None if anchor is None else anchor == (0, GENESIS_HASH)

        def result(first_broken: int | None = None, reason: str | None = None) -> AuditVerification:
            return AuditVerification(
                ok=reason is None,
                entries=entries,
                first_broken=first_broken,
                reason=reason,
                head_seq=head_seq,
                head_hash=head_hash,
                anchor_ok=anchor_ok,
            )

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
                if row["seq"] != expected_seq:
                    return result(expected_seq, "missing")
                if row["prev_hash"] != prev_hash:
                    return result(row["seq"], "relinked")
                if row["hash"] != entry_hash(prev_hash, _hashed_fields(row)):
                    return result(row["seq"], "altered")
                if anchor is not None and row["seq"] == anchor[0]:
                    anchor_ok = row["hash"] == anchor[1]
                prev_hash, expected_seq = row["hash"], expected_seq + 1
            if len(rows) < _BATCH:
                break
        if (expected_seq - 1, prev_hash) != (head_seq, head_hash):
            # Entries past the last one found were deleted (or the head was forged).
            return result(expected_seq, "truncated")
        if anchor is not None and anchor_ok is None:
            anchor_ok = False  # the anchored entry is not in the chain at all
        return result(reason="anchor_mismatch" if anchor_ok is False else None)
