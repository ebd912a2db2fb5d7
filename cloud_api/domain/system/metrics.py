"""In-process counters, all in one place; /metrics adds database-derived gauges to them.

Counters are per process (a replica counts what it saw); Prometheus sums them across replicas.
"""

from __future__ import annotations

import logging
from collections import Counter

log = logging.getLogger("cloud_api.ingest")


class Metrics:
    def __init__(self) -> None:
        self.ingest_accepted: Counter[str] = Counter()
        """Messages handled, by kind (manifest, chunk, status, health, command_result)."""
        self.ingest_rejected: Counter[str] = Counter()
        """Messages refused or discarded, by reason."""
        self.assessments: Counter[str] = Counter()
        """Assessment job outcomes: done, retried, failed."""
        # fleet / ingest (cloud-fleet)
        self.duplicate_clips = 0
        """Clips whose bytes were already claimed under another incident (linked, a fraud signal)."""
        self.incidents_expired = 0
        """Incidents left incomplete past INCIDENT_EXPIRY_S."""
        self.incoming_leftovers = 0
        """Incidents whose incoming blobs outlived their decision (a crash before the clear): removed."""
        self.heartbeats_pruned = 0
        """Health history rows deleted by the retention."""
        # insurer API (cloud-rest)
        self.uploads_rejected: Counter[str] = Counter()
        """POST /claims/upload refused, by reason (too_large, not_video, undecodable)."""

    def reject(self, reason: str, topic: str, detail: str = "") -> None:
        """Count a refused message and log it once; never raises."""
        self.ingest_rejected[reason] += 1
        log.warning("ingest.rejected reason=%s topic=%s detail=%s", reason, topic, detail[:200])
