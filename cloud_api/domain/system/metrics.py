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

    def reject(self, reason: str, topic: str, detail: str = "") -> None:
        """Count a refused message and log it once; never raises."""
        self.ingest_rejected[reason] += 1
        log.warning("ingest.rejected reason=%s topic=%s detail=%s", reason, topic, detail[:200])
