"""The same clip bytes reported under another incident: linked to the earlier claim, never refused.

A device (or a fraudster with a device's key) replaying footage under a new incident id still gets its
claim (one per incident), but the link, the counter and the log line make the replay visible to the
fraud check and to people.
"""

from __future__ import annotations

import logging

from cloud_api.domain.claims.tables import Claim
from cloud_api.domain.system.metrics import Metrics
from shared_models import IncidentManifest

log = logging.getLogger(__name__)


async def earlier_claim(m: IncidentManifest, metrics: Metrics) -> str | None:
    """A claim from another incident with these exact clip bytes: linked, counted, logged."""
    row = (
        await Claim.select(Claim.id, Claim.device_id, Claim.incident_id)
        .where(
            (Claim.video_sha256 == m.sha256)
            & (
                Claim.device_id.is_null()
                | (Claim.device_id != m.device_id)
                | (Claim.incident_id != m.incident_id)
            )
        )
        .order_by(Claim.received_at)
        .first()
        .run()
    )
    if row is None:
        return None
    metrics.duplicate_clips += 1
    log.warning(
        "ingest.duplicate_clip device=%s incident=%s sha256=%s earlier_claim=%s earlier=%s/%s",
        m.device_id,
        m.incident_id,
        m.sha256[:12],
        row["id"],
        row["device_id"],
        row["incident_id"],
    )
    return str(row["id"])
