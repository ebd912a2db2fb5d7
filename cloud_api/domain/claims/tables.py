from piccolo.columns import JSON, BigInt, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Claim(Table, tablename="claims"):
    """Unique on (device_id, incident_id) through a unique index made by a migration."""

    id = Varchar(length=36, primary_key=True)
    """A uuid4 string."""
    claim_number = Varchar(length=64, index=True)
    source = Varchar(length=16)
    """'device' (MQTT ingest) or 'upload' (POST /claims/upload)."""
    device_id = Varchar(length=64, null=True, default=None)
    incident_id = Varchar(length=64, null=True, default=None)
    upload_sha256 = Varchar(length=64, null=True, default=None, unique=True)
    """Set for uploads only: the same bytes uploaded twice map to one claim (NULLs never collide)."""
    video_key = Varchar(length=255)
    """Blob store key of the clip, content-addressed: clips/<sha256><ext>."""
    video_sha256 = Varchar(length=64, index=True)
    size_bytes = BigInt()
    status = Varchar(length=16, index=True)
    """shared_models.ClaimStatus."""
    progress_percent = Integer(default=0)
    error = Text(null=True, default=None)
    received_at = Timestamptz()
    updated_at = Timestamptz()
    review_rank = Integer(null=True, default=None)
    """While the claim awaits review (status ASSESSED): its assessment's priority rank (0 URGENT, 1 STANDARD,
    2 LOW_PRIORITY); NULL otherwise. Kept by database triggers (migration cloud_0005), so the review queue
    is one read of a small partial index however many claims there are."""
    metadata = JSON()
    """The manifest as JSON for device claims (times, miner scores, timelines); upload details otherwise."""
