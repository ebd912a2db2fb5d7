"""Recording -> incidents -> clips -> signed manifests -> outbox, once per incident across restarts.

An incident counts as done when the processed-sources marker names its peak. Outbox entries carry their
source key, and the marker is brought up to date from them at start, before delivery can retire them:
that covers an agent that died between ``Outbox.put`` and the marker write.

A live source (``watch``) is mined until the agent stops; with a recorder, each incident is handed to
a ``LiveClipper`` that cuts it from the loop recording. There is no source to mine again after a
restart, so each live incident is kept on disk until its clip is queued (``PendingClips``), and the
next start cuts what a run that died left.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from edge_agent.clips import DeviceKey, cut_clip, new_incident_id, timelines_for_clip
from edge_agent.clips.live import LiveClipper
from edge_agent.clips.pending import PendingClips
from edge_agent.clips.recordings import RecordingIndex, recordings_of
from edge_agent.clips.sink import ClipSink
from edge_agent.fusion import Incident
from edge_agent.health import AgentStats, CameraMonitor
from edge_agent.mining import MiningResult, MiningSession
from edge_agent.outbox import Outbox, ProcessedSources, source_key
from edge_agent.record import LiveRecorder
from edge_agent.settings import AgentConfig
from edge_agent.source import LiveSource, Source, VideoFrame, open_source
from edge_agent.source.base import SourceError, SourceUriError
from edge_agent.source.segments import SegmentSpan, segment_files

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
        recordings: RecordingIndex | None = None,
        camera: CameraMonitor | None = None,
        gsensor: Path | None = None,
        live_pending: PendingClips | None = None,
    ) -> None:
        self.config = config
        self.processed = processed
        self.stats = stats
        self.work_dir = Path(work_dir)
        self.sink = ClipSink(device_id, key, outbox, on_put, processed)
        self.recordings = recordings  # footage requests are cut from what is indexed here
        self.camera = camera or CameraMonitor()
        self.gsensor = gsensor  # an explicit G-sensor CSV; by default <stem>.gsensor.csv beside the video
        self.live_pending = live_pending  # a recorded live source's incidents until their clips are queued
        self.model_versions: dict[str, str] = {}
        self._lock = threading.Lock()  # a pushed config (commands thread) vs. mining (source thread)
        self._session: MiningSession | None = None
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
            result, spans = self._mine(source)
        except SourceError as exc:
            log.error("intake.failed source=%s error=%s", source, exc)
            return False
        self.model_versions = dict(result.versions)
        recorded_at = _recorded_at(source, result.duration_s)
        ok = True
        for incident in result.incidents:
            if self.processed.has_peak(key, incident.peak_s):
                log.info("intake.already_cut source=%s peak_s=%.3f", source, incident.peak_s)
                continue
            try:
                self._enqueue(spans if source.is_dir() else source, key, incident, result, recorded_at)
            except (SourceError, ValueError, OSError) as exc:
                log.error("intake.clip_failed source=%s peak_s=%.3f error=%s", source, incident.peak_s, exc)
                ok = False
        if ok:
            self.processed.mark_done(key)
        log.info("intake.done source=%s incidents=%d ok=%s", source, len(result.incidents), ok)
        return ok

    def reconfigure(self, config: AgentConfig) -> None:
        """A pushed config: the recording being mined takes it from the next bin, the next from its start."""
        with self._lock:
            self.config = config
            if self._session is not None:
                self._session.reconfigure(config)

    def _mine(self, source: Path) -> tuple[MiningResult, list[SegmentSpan]]:
        """``mine_file``, with the session reachable by ``reconfigure`` and the files indexed for footage.

        A recording that breaks part-way keeps what decoded (power loss mid-recording leaves exactly such
        files, and their incidents matter most); the spans say which file holds which time.
        """
        with open_source(source, self.config.analysis.width, self.gsensor) as opened:
            spans = getattr(opened, "spans", None) or [SegmentSpan(str(source), 0.0, opened.info.duration_s)]
            if self.recordings is not None and spans[-1].end_s > 0:
                for recording in recordings_of(spans):
                    self.recordings.add(recording)
            with self._lock:
                session = self._session = MiningSession(opened.info, self.config)
            try:
                try:
                    self._feed(opened, session)
                except SourceError as exc:
                    if session.frames == 0:
                        raise
                    log.error(
                        "intake.source_damaged source=%s frames=%d error=%s",
                        source,
                        session.frames,
                        exc.detail,
                    )
                return session.finish(), spans
            finally:
                with self._lock:
                    self._session = None

    def _feed(
        self,
        source: Source,
        session: MiningSession,
        stop: threading.Event | None = None,
        on_incident: Callable[[Incident], None] | None = None,
    ) -> None:
        """Every item to the miners; every frame to the camera monitor and the frame counters; each
        incident as it closes to ``on_incident`` (a live source's clipper)."""
        dropped = 0
        for item in source:
            if isinstance(item, VideoFrame):
                self.camera.observe(item)
                self.stats.add_frames(1, source.dropped_frames - dropped)
                dropped = source.dropped_frames
            with self._lock:
                closed = session.feed(item)
            for incident in closed:
                log.info(
                    "intake.incident source=%s peak_s=%.2f score=%.2f",
                    source.info.uri,
                    incident.peak_s,
                    incident.score,
                )
                if on_incident is not None:
                    on_incident(incident)
            if stop is not None and stop.is_set():
                return

    def watch(self, uri: str, stop: threading.Event, recorder: LiveRecorder | None = None) -> bool:
        """Mine a live camera until ``stop``; with ``recorder``, each incident's clip is cut from its loop
        recording (the recorder also gets the captured frames, for a source it has to encode)."""
        tap = recorder.offer_frame if recorder is not None else None
        try:
            source = LiveSource.open_when_ready(
                uri, self.config.analysis.width, self.config.source, tap, stop
            )
        except SourceUriError as exc:
            log.error("intake.failed source=%s error=%s", uri, exc)
            return False
        if source is None:  # stopped before the camera came up
            return False
        with source:
            # The capture blocks in its queue, not in this loop: closing the source is what ends it.
            closer = threading.Thread(target=lambda: (stop.wait(), source.close()), daemon=True)
            closer.start()
            with self._lock:
                session = self._session = MiningSession(source.info, self.config, live=True)
            clipper = self._clipper(recorder, session, source.origin, stop)
            try:
                self._feed(source, session, stop, clipper.submit if clipper is not None else None)
                closed = len(session.incidents)
                result = session.finish()
                self.model_versions = dict(result.versions)
                for incident in result.incidents[closed:]:  # still in its cooldown: the recorder is stopping
                    if clipper is None:
                        continue
                    log.warning("intake.incident_deferred peak_s=%.2f reason=agent stopping", incident.peak_s)
                    clipper.submit(incident)  # on disk: cut at the next start
            finally:
                with self._lock:
                    self._session = None
        return True

    def _clipper(
        self, recorder: LiveRecorder | None, session: MiningSession, origin: float, stop: threading.Event
    ) -> LiveClipper | None:
        """The clipper thread of a live source, started; None without a recording to cut from."""
        if recorder is None or self.recordings is None or self.live_pending is None:
            log.warning(
                "intake.no_clips source=%s reason=not recorded: incidents are only logged", session.info.uri
            )
            return None
        clipper = LiveClipper(
            recorder.store,
            self.recordings,
            self.sink,
            self.work_dir,
            lambda: self.config,
            session.timelines_over,
            origin,
            self.live_pending,
        )
        threading.Thread(target=clipper.run, args=(stop,), name="live-clips", daemon=True).start()
        return clipper

    def _enqueue(
        self,
        source: Path | list[SegmentSpan],
        key: str,
        incident: Incident,
        result: MiningResult,
        recorded_at: float,
    ) -> None:
        clip_cfg = self.config.clip
        start, end = incident.clip_window(clip_cfg.pre_roll_s, clip_cfg.post_roll_s)
        start, end = max(0.0, start), min(result.duration_s, end)
        incident_id = new_incident_id()
        clip = cut_clip(source, start, end, self.work_dir / f"{incident_id}.mp4")
        timelines = timelines_for_clip(result.timelines, clip)
        self.sink.put(
            incident_id, clip, incident, timelines, recorded_at, clip_cfg.chunk_size_bytes, source_key=key
        )


def _recorded_at(source: Path, duration_s: float) -> float:
    """A dashcam closes a file when its recording ends: the newest mtime minus the duration is the start."""
    files = segment_files(source) if source.is_dir() else [source]
    return max(p.stat().st_mtime for p in files) - duration_s
