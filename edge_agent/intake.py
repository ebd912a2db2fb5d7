"""Recording -> incidents -> clips -> signed manifests -> outbox, once per incident across restarts.

An incident counts as done when the processed-sources marker names its peak. Outbox entries carry their
source key, and the marker is brought up to date from them at start, before delivery can retire them:
that covers an agent that died between ``Outbox.put`` and the marker write.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from edge_agent import __version__
from edge_agent.clips import DeviceKey, build_manifest, cut_clip, new_incident_id, timelines_for_clip
from edge_agent.fusion import Incident
from edge_agent.health import AgentStats
from edge_agent.mining import MiningResult, mine_file
from edge_agent.outbox import Outbox, ProcessedSources, source_key
from edge_agent.settings import AgentConfig
from edge_agent.source.base import SourceError

log = logging.getLogger(__name__)


class FileIntake:
    """Mines one recording and puts a clip per new incident in the outbox; ``on_put`` wakes delivery."""

    def __init__(
        self,
        device_id: str,
        config: AgentConfig,
        key: DeviceKey,
        outbox: Outbox,
        processed: ProcessedSources,
        stats: AgentStats,
        work_dir: Path,
        on_put: Callable[[], None] = lambda: None,
    ) -> None:
        self.device_id = device_id
        self.config = config
        self.key = key
        self.outbox = outbox
        self.processed = processed
        self.stats = stats
        self.work_dir = Path(work_dir)
        self.on_put = on_put
        self.model_versions: dict[str, str] = {}
        # Clips cut before a crash and never put in the outbox: they will be cut again.
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for entry in outbox.pending():
            if entry.state.source_key is not None:
                processed.add_peak(entry.state.source_key, entry.manifest.peak_s)

    def ingest(self, source: Path) -> bool:
        """True when every incident of ``source`` is in the outbox (now or before); False on a failure."""
        key = source_key(source)
        if self.processed.is_done(key):
            log.info("intake.skipped source=%s reason=already_processed", source)
            return True
        try:
            result = mine_file(source, self.config)
        except SourceError as exc:
            log.error("intake.failed source=%s error=%s", source, exc)
            return False
        self.model_versions = dict(result.versions)
        self.stats.add_frames(result.frames)
        # A dashcam closes its file when the recording ends: mtime - duration is when it began.
        recorded_at = source.stat().st_mtime - result.duration_s
        ok = True
        for incident in result.incidents:
            if self.processed.has_peak(key, incident.peak_s):
                log.info("intake.already_cut source=%s peak_s=%.3f", source, incident.peak_s)
                continue
            try:
                self._enqueue(source, key, incident, result, recorded_at)
            except (SourceError, ValueError, OSError) as exc:
                log.error("intake.clip_failed source=%s peak_s=%.3f error=%s", source, incident.peak_s, exc)
                ok = False
        if ok:
            self.processed.mark_done(key)
        log.info("intake.done source=%s incidents=%d ok=%s", source, len(result.incidents), ok)
        return ok

    def _enqueue(
        self, source: Path, key: str, incident: Incident, result: MiningResult, recorded_at: float
    ) -> None:
        clip_cfg = self.config.clip
        start = max(0.0, incident.peak_s - clip_cfg.pre_roll_s)
        end = min(result.duration_s, incident.peak_s + clip_cfg.post_roll_s)
        incident_id = new_incident_id()
        clip = cut_clip(source, start, end, self.work_dir / f"{incident_id}.mp4")
        manifest = build_manifest(
            self.device_id,
            incident_id,
            incident,
            clip,
            timelines_for_clip(result.timelines, clip),
            recorded_at,
            clip_cfg.chunk_size_bytes,
            self.key,
            __version__,
        )
        self.outbox.put(Path(clip.path), manifest, source_key=key)
        self.processed.add_peak(key, incident.peak_s)
        self.on_put()
