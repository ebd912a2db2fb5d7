from piccolo.columns import Bytea, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Incident(Table, tablename="incidents"):
    """One incident a device reported; the state of its reassembly lives here, not in memory.

    Unique on (device_id, incident_id): a unique index made by a migration (see migrations/).
    """

    device_id = Varchar(length=64)
    incident_id = Varchar(length=64)
    manifest = Bytea()
    """The signed IncidentManifest exactly as received (msgpack)."""
    sha256 = Varchar(length=64)
    chunk_count = Integer()
    state = Varchar(length=16)
    """RECEIVING, COMPLETE, REJECTED or EXPIRED (left incomplete past INCIDENT_EXPIRY_S)."""
    claim_id = Varchar(length=36, null=True, default=None)
    duplicate_of = Varchar(length=36, null=True, default=None)
    """The earlier claim whose clip has the same bytes (sha256), if any: a fraud signal, linked here."""
    reason = Text(default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class IncidentChunk(Table, tablename="incident_chunks"):
    """A chunk stored under ``incoming/<device>/<incident>/<seq>`` in the blob store.

    Unique on (device_id, incident_id, seq): a unique index made by a migration.
    """

    device_id = Varchar(length=64)
    incident_id = Varchar(length=64)
    seq = Integer()
    sha256 = Varchar(length=64)
    size_bytes = Integer()
    received_at = Timestamptz()
