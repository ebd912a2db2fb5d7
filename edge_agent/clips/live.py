"""Clips for a live source's incidents, cut from its loop recording once the recording covers them.

Mining runs on the capture clock (monotonic seconds since the source opened). An incident's clip window
(pre- and post-roll around the peak) is mapped to the wall clock and cut from the recording index, as
a footage request is. Fusion reports an incident once its cooldown passed quietly, but the segment
holding the end of the window may still be open; the clip waits for it on this thread (mining never
stalls) until the recorder has closed it or it can no longer come (``SegmentStore.settled``), at most
``2 * segment_s + 10`` s. A recording with a gap gives a clip of what exists, logged
``live.clip_partial``; no recording at all, ``live.clip_failed``. Each incident is kept on disk from the
moment it is submitted until its clip is queued (``PendingClips``), and a clipper started after a power
cut or kill -9 cuts what its predecessor left first (``live.clip_resumed``).

The manifest's timeline starts at the clip's first frame (``recorded_at`` is its wall-clock time,
``clip_start_s`` 0): the capture clock restarts with every run of the agent and the recording has its
own connection, so neither is a better origin. Incident times and miner timelines are moved onto it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from edge_agent.clips.cut import DiskFullError
from edge_agent.clips.manifest import new_incident_id
from edge_agent.clips.pending import PendingClip, PendingClips
from edge_agent.clips.recordings import RecordingIndex, cut_recorded
from edge_agent.clips.sink import ClipSink
from edge_agent.fusion.incident import Incident
from edge_agent.outbox import OutboxEntry
from edge_agent.record.clock import wall_clock
from edge_agent.record.store import SegmentStore
from edge_agent.settings import AgentConfig
from edge_agent.source.base import SourceError
from shared_models import MinerTimeline

log = logging.getLogger(__name__)

_PARTIAL_S = 0.5  # the clip misses more than this of its window at either end: say so
_LEAD_S = 5.0  # scores kept before the window: the clip starts at the keyframe before it

Timelines = Callable[[float, float], list[MinerTimeline]]  # (start_s, duration_s) on the capture clock


class LiveClipper:
    """``submit`` from the mining thread; ``run`` on its own thread cuts and queues each clip in turn."""

    def __init__(
        self,
        store: SegmentStore,
        index: RecordingIndex,
        sink: ClipSink,
        work_dir: Path,
        config: Callable[[], AgentConfig],
        timelines: Timelines,
        origin: float,
        journal: PendingClips,
    ) -> None:
        self.store = store
        self.index = index
        self.sink = sink
        self.work_dir = Path(work_dir)
        self.config = config
        self.timelines = timelines
        self.origin = origin  # capture time 0 on the monotonic clock
        self.journal = journal
        self._pending: queue.Queue[PendingClip] = queue.Queue()  # bounded by fusion's hourly budget
        self._resumed: set[str] = set()  # left by an earlier run: their scores are the journal's
        for left in journal.load():  # found by a run that died before cutting them
            self._resumed.add(left.incident_id)
            log.warning(
                "live.clip_resumed incident=%s peak_at=%.3f",
                left.incident_id,
                left.origin_at + left.incident.peak_s,
            )
            self._pending.put(left)

    def submit(self, incident: Incident) -> None:
        """Keep ``incident`` on disk with the scores its clip needs, then queue it for cutting."""
        config = self.config()
        start, end = incident.clip_window(config.clip.pre_roll_s, config.clip.post_roll_s)
        pending = PendingClip(
            incident_id=new_incident_id(),
            incident=incident,
            origin_at=wall_clock(self.origin),
            timelines_from_s=start - _LEAD_S,
            timelines=self.timelines(start - _LEAD_S, end - start + _LEAD_S),
        )
        self.journal.add(pending)
        self._pending.put(pending)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                pending = self._pending.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self.clip(pending, stop)
            except DiskFullError as exc:  # kept on disk: the next start tries again
                log.error("live.clip_failed incident=%s error=%s", pending.incident_id, exc)
                continue
            except (SourceError, ValueError, OSError) as exc:
                log.error("live.clip_failed incident=%s error=%s", pending.incident_id, exc)
            if not stop.is_set():
                self.journal.remove(pending.incident_id)
        if not self._pending.empty():  # on disk: the next start cuts them
            log.warning("live.clips_deferred count=%d reason=agent stopping", self._pending.qsize())

    def clip(self, pending: PendingClip, stop: threading.Event) -> OutboxEntry | None:
        """Wait for the recording of the incident's window, cut it, queue it; None if not queued."""
        config = self.config()
        incident, incident_id = pending.incident, pending.incident_id
        start, end = incident.clip_window(config.clip.pre_roll_s, config.clip.post_roll_s)
        start_at, end_at = pending.origin_at + start, pending.origin_at + end
        waiting_since = time.monotonic()
        settled = self.store.wait_settled(end_at, 2 * config.recorder.segment_s + 10.0, stop)
        if not settled and stop.is_set():
            log.info("live.clip_deferred incident=%s reason=agent stopping", incident_id)
            self._pending.put(pending)  # still on disk: the next start cuts it, from a recording then whole
            return None
        if not settled:
            log.warning(
                "live.clip_waited peak_s=%.3f detail=recording not settled (timed out or stopping); "
                "cutting what is closed",
                incident.peak_s,
            )
        if self.sink.outbox.get(incident_id) is not None:
            log.info("live.clip_already_queued incident=%s", incident_id)  # died before the removal
            return None
        self.work_dir.mkdir(parents=True, exist_ok=True)
        cut = cut_recorded(self.index, start_at, end_at, self.work_dir / f"{incident_id}.mp4")
        if cut is None:
            log.error("live.clip_failed peak_s=%.3f error=no recording covers the window", incident.peak_s)
            return None
        found, clip = cut
        covered_from = found.recorded_at + clip.clip_start_s
        covered_to = covered_from + clip.duration_s
        if covered_from > start_at + _PARTIAL_S or covered_to < end_at - _PARTIAL_S:
            log.warning(
                "live.clip_partial incident=%s wanted=%.3f..%.3f covered=%.3f..%.3f detail=the recording has a gap",
                incident_id,
                start_at,
                end_at,
                covered_from,
                covered_to,
            )
        shift = covered_from - pending.origin_at  # capture time of the clip's first frame
        on_clip = msgspec.structs.replace(
            incident,
            start_s=round(max(0.0, incident.start_s - shift), 3),
            peak_s=round(max(0.0, incident.peak_s - shift), 3),
            end_s=round(max(0.0, incident.end_s - shift), 3),
        )
        entry = self.sink.put(
            incident_id,
            msgspec.structs.replace(clip, clip_start_s=0.0),
            on_clip,
            # This run's session has the scores up to now (the post-roll may end after fusion reported
            # the incident); a run that died left what it had when it reported it.
            pending.scores_over(shift, clip.duration_s)
            if incident_id in self._resumed
            else self.timelines(shift, clip.duration_s),
            covered_from,
            config.clip.chunk_size_bytes,
        )
        log.info(
            "live.clip_queued incident=%s peak_s=%.3f clip_from=%.3f duration_s=%.3f waited_s=%.2f queued=%s",
            incident_id,
            incident.peak_s,
            covered_from,
            clip.duration_s,
            time.monotonic() - waiting_since,
            entry is not None,
        )
        return entry
