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
