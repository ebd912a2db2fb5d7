"""Live incidents found but not yet cut, kept on disk until their clip is in the outbox.

A live incident waits for the segment holding the end of its window (up to ``2 * segment_s + 10`` s);
a power cut or kill -9 in that time (a crash often cuts the power) used to lose it, since a live source
cannot be mined again. Each is written here when fusion reports it, with what its clip needs from the
run that found it (the capture clock on the wall clock, the miners' scores around it), and removed
once the clip is queued or can never be cut. At the next start the clipper cuts what is left, from the
recording (the segment open at the cut is salvaged, see ``edge_agent/record/segment.py``). The
incident id is chosen when the incident is written, so a clip cut twice (a death between the outbox
put and the removal) is the same incident to the cloud, which answers it with the same claim.
"""

from __future__ import annotations

import logging
from pathlib import Path

import msgspec

from edge_agent.fusion.incident import Incident
from edge_agent.miners.base import padded_window
from edge_agent.outbox.fsio import fsync_dir, write_atomic
from shared_models import MinerTimeline

log = logging.getLogger(__name__)


class PendingClip(msgspec.Struct, frozen=True, kw_only=True):
    incident_id: str
    incident: Incident  # times on the capture clock of the run that found it
    origin_at: float  # wall clock (Unix s) of that run's capture time 0
    timelines_from_s: float  # capture time of the first bin of ``timelines``
    timelines: list[MinerTimeline]  # every miner's scores from a margin before the window to when fusion
    # reported the incident (a post-roll longer than the cooldown ends later: those bins read 0 on resume)

    def scores_over(self, start_s: float, duration_s: float) -> list[MinerTimeline]:
        """The timelines over a span of the capture clock, first bin at ``start_s``; 0 outside."""
        out = []
        for timeline in self.timelines:
            first = round((start_s - self.timelines_from_s) * timeline.rate_hz)
            scores = padded_window(timeline.scores, first, round(duration_s * timeline.rate_hz))
            out.append(MinerTimeline(miner=timeline.miner, rate_hz=timeline.rate_hz, scores=scores))
        return out


class PendingClips:
    """One JSON file per incident in ``folder``, written atomically (temp, fsync, rename, fsync dir)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        for leftover in self.folder.glob(".*"):  # a write cut short: its entry was never complete
            leftover.unlink()

    def add(self, pending: PendingClip) -> None:
        write_atomic(self.folder / f"{pending.incident_id}.json", msgspec.json.encode(pending))

    def remove(self, incident_id: str) -> None:
        (self.folder / f"{incident_id}.json").unlink(missing_ok=True)
        fsync_dir(self.folder)

    def load(self) -> list[PendingClip]:
        """What a previous run left, oldest incident first; unreadable entries are logged and dropped."""
        found = []
        for path in self.folder.glob("*.json"):
            try:
                found.append(msgspec.json.decode(path.read_bytes(), type=PendingClip))
            except (OSError, msgspec.DecodeError) as exc:
                log.error("live.pending_unreadable path=%s error=%s", path, exc)
                path.unlink(missing_ok=True)
        return sorted(found, key=lambda p: p.origin_at + p.incident.peak_s)
