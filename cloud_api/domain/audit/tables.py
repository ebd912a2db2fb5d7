from piccolo.columns import JSON, Integer, Timestamptz, Varchar
from piccolo.table import Table


class AuditEntry(Table, tablename="audit_log"):
    seq = Integer(unique=True)
    """1, 2, 3, ... without gaps: a deleted row shows as a gap."""
    claim_id = Varchar(length=36, null=True, default=None, index=True)
    event_type = Varchar(length=64)
    actor_type = Varchar(length=16)
    """AI, HUMAN, SYSTEM or DEVICE."""
    actor_id = Varchar(length=100)
    before_state = JSON(null=True, default=None)
    after_state = JSON(null=True, default=None)
    at = Timestamptz()
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)
    """sha256(prev_hash + canonical JSON of this entry)."""


class AuditHead(Table, tablename="audit_head"):
    """One row (id 1): seq and hash of the newest entry, moved in the same transaction as each append.

    Made by migration cloud_0005 with triggers that let it only move forward one entry at a time.
    """

    id = Integer(primary_key=True)
    seq = Integer()
    hash = Varchar(length=64)
