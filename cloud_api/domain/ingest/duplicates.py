"""The same clip bytes reported under another incident: linked to the earlier claim, never refused.

A device (or a fraudster with a device's key) replaying footage under a new incident id still gets its
claim (one per incident), but the link, the counter and the log line make the replay visible to the
fraud check and to people.

The claims that a batch's clips may repeat are looked up in one query per batch (``Duplicates.load``);
claims the batch makes join them, so the same bytes twice in one batch are linked too.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

import msgspec

from cloud_api.domain.claims.tables import Claim
from cloud_api.domain.system.metrics import Metrics
from shared_models import IncidentManifest

log = logging.getLogger(__name__)


class Prior(msgspec.Struct, frozen=True):
    claim_id: str
    device_id: str | None
    incident_id: str | None


class Duplicates:
    def __init__(self, by_sha256: dict[str, list[Prior]]) -> None:
        self._by_sha256 = by_sha256
        """Claims per clip sha256, oldest first."""

    @classmethod
    async def load(cls, sha256s: Collection[str]) -> Duplicates:
        by_sha256: dict[str, list[Prior]] = {}
        if sha256s:
            rows = (
                await Claim.select(Claim.id, Claim.device_id, Claim.incident_id, Claim.video_sha256)
                .where(Claim.video_sha256.is_in(list(sha256s)))
                .order_by(Claim.received_at)
                .run()
            )
            for r in rows:
                prior = Prior(str(r["id"]), r["device_id"], r["incident_id"])
                by_sha256.setdefault(r["video_sha256"], []).append(prior)
        return cls(by_sha256)

    def earlier_claim(self, m: IncidentManifest, metrics: Metrics) -> str | None:
        """A claim from another incident with these exact clip bytes: linked, counted, logged."""
        prior = next(
            (
                p
                for p in self._by_sha256.get(m.sha256, [])
                if (p.device_id, p.incident_id) != (m.device_id, m.incident_id)
            ),
            None,
        )
        if prior is None:
            return None
        metrics.duplicate_clips += 1
        log.warning(
            "ingest.duplicate_clip device=%s incident=%s sha256=%s earlier_claim=%s earlier=%s/%s",
            m.device_id,
            m.incident_id,
            m.sha256[:12],
            prior.claim_id,
            prior.device_id,
            prior.incident_id,
        )
        return prior.claim_id

    def add(self, m: IncidentManifest, claim_id: str) -> None:
        """A claim just made for ``m``: later clips of the batch with the same bytes link to it."""
        self._by_sha256.setdefault(m.sha256, []).append(Prior(claim_id, m.device_id, m.incident_id))
