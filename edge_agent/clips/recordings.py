"""A bounded index of the recordings the agent has read, by wall clock, so footage requests can find them.

A footage request names a wall-clock window; the device answers it from the files it still has. The
index keeps the newest ``limit`` recordings (each file of a segmented drive is one), persisted
atomically so a restart still knows them; a file deleted since (dashcams recycle their card) is simply
not found. The agent's own loop recording of a live source recycles its files through ``discard``,
which spares any file a cut is reading (``holding``).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from edge_agent.clips.cut import ClipInfo, cut_clip
from edge_agent.outbox.fsio import write_atomic
from edge_agent.source.segments import SegmentSpan, spans_covering

log = logging.getLogger(__name__)

_CONTIGUOUS_S = 1.0  # files closer than this end to start are one drive (mtime granularity, write delay)


class Recording(msgspec.Struct, frozen=True):
    path: str
    recorded_at: float  # wall clock (Unix s) of its first frame
    duration_s: float

    @property
    def ends_at(self) -> float:
        return self.recorded_at + self.duration_s


class FootageSpan(msgspec.Struct, frozen=True):
    """Where a wall-clock window lies in the local files: cut ``spans`` from ``start_s`` to ``end_s``."""

    recorded_at: float  # wall clock of drive time 0 of ``spans``
    spans: list[SegmentSpan]
    start_s: float
    end_s: float


class RecordingIndex:
    def __init__(self, path: Path, limit: int = 500) -> None:
        self.path = Path(path)
        self.limit = limit
        self._lock = threading.Lock()
        self._items: dict[str, Recording] = {}
        self._held: Counter[str] = Counter()  # files a cut is reading
        if self.path.exists():
            try:
                loaded = msgspec.json.decode(self.path.read_bytes(), type=list[Recording])
            except msgspec.DecodeError as exc:
                log.warning("recordings.index_reset path=%s error=%s", self.path, exc)
                loaded = []
            self._items = {r.path: r for r in loaded}

    def add(self, recording: Recording) -> None:
        with self._lock:
            self._items[recording.path] = recording
            self._save()

    def discard(self, path: Path) -> bool:
        """Delete a recording file and forget it, unless a cut holds it (then False, nothing done)."""
        with self._lock:
            if self._held[str(path)]:
                return False
            Path(path).unlink(missing_ok=True)
            if self._items.pop(str(path), None) is not None:
                self._save()
            return True

    def _save(self) -> None:
        newest = sorted(self._items.values(), key=lambda r: r.recorded_at)[-self.limit :]
        self._items = {r.path: r for r in newest}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, msgspec.json.encode(newest))

    def recordings(self) -> list[Recording]:
        with self._lock:
            return sorted(self._items.values(), key=lambda r: r.recorded_at)

    @contextmanager
    def holding(self, start_at: float, end_at: float) -> Iterator[FootageSpan | None]:
        """``find``, with the files found kept on disk (``discard`` spares them) until the block ends."""
        with self._lock:
            found = self._find(start_at, end_at)
            paths = [span.path for span in found.spans] if found is not None else []
            self._held.update(paths)
        try:
            yield found
        finally:
            with self._lock:
                self._held.subtract(paths)

    def find(self, start_at: float, end_at: float) -> FootageSpan | None:
        """The contiguous run of existing files that covers the most of [start_at, end_at), or None."""
        with self._lock:
            return self._find(start_at, end_at)

    def _find(self, start_at: float, end_at: float) -> FootageSpan | None:
        best: FootageSpan | None = None
        best_cover = 0.0
        for run in self._runs():
            lo, hi = max(start_at, run[0].recorded_at), min(end_at, run[-1].ends_at)
            if hi - lo <= best_cover:
                continue
            spans, t = [], 0.0
            for recording in run:
                spans.append(SegmentSpan(recording.path, t, t + recording.duration_s))
                t += recording.duration_s
            origin = run[0].recorded_at
            # Only the files the window touches: a live recording is one long run, and a cut holds these.
            covering = spans_covering(spans, lo - origin, hi - origin)
            best, best_cover = FootageSpan(origin, covering, lo - origin, hi - origin), hi - lo
        return best

    def _runs(self) -> list[list[Recording]]:
        runs: list[list[Recording]] = []
        for recording in sorted(self._items.values(), key=lambda r: r.recorded_at):
            if not Path(recording.path).exists():
                continue
            if runs and abs(recording.recorded_at - runs[-1][-1].ends_at) <= _CONTIGUOUS_S:
                runs[-1].append(recording)
            else:
                runs.append([recording])
        return runs


def recordings_of(spans: list[SegmentSpan]) -> list[Recording]:
    """The files of a source just read, placed on the wall clock by the last one's mtime (when it closed)."""
    last = spans[-1]
    origin = Path(last.path).stat().st_mtime - last.end_s
    return [Recording(s.path, origin + s.start_s, s.end_s - s.start_s) for s in spans]


def cut_recorded(
    index: RecordingIndex, start_at: float, end_at: float, out: Path
) -> tuple[FootageSpan, ClipInfo] | None:
    """The wall-clock window cut from the files that cover it best, held against loop recording while
    they are read; None when no file covers any of it. Raises what ``cut_clip`` raises."""
    with index.holding(start_at, end_at) as found:
        if found is None:
            return None
        return found, cut_clip(found.spans, found.start_s, found.end_s, out)
