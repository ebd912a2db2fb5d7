"""The recorder's folder: finished segments into the index, loop recording, and how far recording has got.

Whoever writes segments (the remuxer of an H.264 stream, or the encoder of captured frames) reports
here: ``started`` when recording (re)starts, ``finished`` for each closed segment (renamed from its
hidden ``.part`` name into ``<UTC start>.mp4``, added to the recording index, then the quota applied),
``stopped`` when the stream is lost. A live incident's clip waits on ``wait_settled`` until the footage
of its window is either in closed segments or can no longer arrive (the stream was lost, or came
back after the window: a gap). A segment left open by a crash or power cut is salvaged at start: its
whole fragments become a segment like the others, placed on the wall clock by the time its file was
opened (its first keyframe's arrival, so within the camera's delay of the truth).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import av

from edge_agent.clips.recordings import Recording, RecordingIndex
from edge_agent.record.quota import enforce_quota
from edge_agent.record.segment import salvage, start_note

log = logging.getLogger(__name__)


def segment_name(started_at: float) -> str:
    """``20250101_120000_250.mp4``: UTC start to the millisecond, so name order is time order."""
    stamp = datetime.fromtimestamp(started_at, UTC)
    return f"{stamp:%Y%m%d_%H%M%S}_{stamp.microsecond // 1000:03d}.mp4"


class OpenSegment(Protocol):
    """A segment being written, by the remuxer or the encoder."""

    part: Path

    def close(self) -> tuple[float, float]:
        """Finish the file; (wall-clock start of its first frame, duration in seconds)."""
        ...

    def abandon(self) -> None: ...


class SegmentStore:
    def __init__(self, folder: Path, index: RecordingIndex, quota_bytes: int) -> None:
        self.folder = Path(folder)
        self.index = index
        self.quota_bytes = quota_bytes  # a pushed config changes it live
        self.segments = 0  # finished in this run
        self._cond = threading.Condition()
        self._covered_until = 0.0  # wall clock where the last finished segment of this run ends
        self._recording_since: float | None = None  # wall clock; None while no stream is recorded
        self.folder.mkdir(parents=True, exist_ok=True)
        for torn in self.folder.glob(".*.salvaged"):  # a salvage cut short: its .part is still there
            torn.unlink()
        for note in self.folder.glob(".*.start"):  # notes of parts gone (closed, or salvaged)
            if not note.with_name(note.name.removesuffix(".start")).exists():
                note.unlink()
        for part in sorted(self.folder.glob(".*.part")):  # open when the agent died (power cut, kill -9)
            self._salvage(part)

    def part_path(self) -> Path:
        """Where the segment being written goes until it is finished (one writer at a time); the name
        keeps the wall-clock time it was opened, for ``_salvage``."""
        return self.folder / f".{time.time_ns()}.mp4.part"

    def _salvage(self, part: Path) -> None:
        size = part.stat().st_size
        opened_ns = part.name.split(".")[1]
        whole = part.with_name(part.name.removesuffix(".part") + ".salvaged")
        duration_s = salvage(part, whole) if opened_ns.isdigit() else None
        started_at = _noted_start(part)
        part.unlink()
        start_note(part).unlink(missing_ok=True)
        if duration_s is None or duration_s <= 0:
            whole.unlink(missing_ok=True)
            log.warning("recorder.partial_discarded path=%s bytes=%d reason=nothing readable", part, size)
            return
        recording = self._keep(whole, started_at or int(opened_ns) / 1e9, duration_s)
        log.warning(
            "recorder.partial_salvaged path=%s duration_s=%.2f bytes=%d of=%d",
            recording.path,
            duration_s,
            Path(recording.path).stat().st_size,
            size,
        )

    def _keep(self, part: Path, started_at: float, duration_s: float) -> Recording:
        """Name a whole segment by its start and index it."""
        path = self.folder / segment_name(started_at)
        part.rename(path)
        start_note(part).unlink(missing_ok=True)
        recording = Recording(str(path), round(started_at, 3), round(duration_s, 3))
        self.index.add(recording)
        return recording

    def started(self, at: float) -> None:
        with self._cond:
            self._recording_since = at
            self._cond.notify_all()

    def close(self, segment: OpenSegment) -> None:
        """Close ``segment`` and keep it (``finished``); one that cannot be closed (disk full) is dropped.
        Returns None, so a writer forgets its segment in the same line."""
        try:
            started_at, duration_s = segment.close()
        except (OSError, av.FFmpegError) as exc:
            log.error("recorder.write_failed path=%s error=%s", segment.part, exc)
            segment.abandon()
            return
        self.finished(segment.part, started_at, duration_s)

    def finished(self, part: Path, started_at: float, duration_s: float) -> Recording:
        """A closed segment: named by its start, indexed, the quota applied, waiting clips woken."""
        recording = self._keep(part, started_at, duration_s)
        path = Path(recording.path)
        kept = enforce_quota(self.folder, self.quota_bytes, self.index)
        with self._cond:
            self.segments += 1
            self._covered_until = max(self._covered_until, recording.ends_at)
            self._cond.notify_all()
        log.info(
            "recorder.segment path=%s duration_s=%.2f bytes=%d kept_bytes=%d",
            path,
            duration_s,
            path.stat().st_size,
            kept,
        )
        return recording

    def stopped(self) -> None:
        with self._cond:
            self._recording_since = None
            self._cond.notify_all()

    def settled(self, end_at: float) -> bool:
        """No more footage up to ``end_at`` can arrive: it is in finished segments, the stream is down
        and ``end_at`` has passed, or recording restarted after ``end_at`` (the rest is a gap)."""
        with self._cond:
            if self._covered_until >= end_at:
                return True
            if self._recording_since is None:
                return time.time() >= end_at
            return self._recording_since > end_at

    def wait_settled(self, end_at: float, timeout_s: float, stop: threading.Event) -> bool:
        """Block until ``settled(end_at)``, ``timeout_s`` passed or ``stop``; True if settled."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not self.settled(end_at) and not stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))  # also wakes for the clock passing end_at
            return self.settled(end_at)


def _noted_start(part: Path) -> float | None:
    """The wall-clock start the writer noted beside ``part`` (from packet arrival), if it got that far."""
    try:
        return float(start_note(part).read_text())
    except (OSError, ValueError):
        return None
