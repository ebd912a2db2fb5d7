"""A folder of consecutive segment files (as dashcams write them) read as ONE continuous drive.

Segments are taken in file-name order (dashcams name them by start time, e.g. ``20250101_120000.mp4``).
Segment k starts on the drive's timeline where segment k-1 ends by its header (the video stream's
duration), so times continue across files and an incident may span a boundary. ``segment_spans``
computes the same spans from the headers alone, so a clip cutter can map any window of the drive to
the files (and in-file times) that hold it without decoding anything.

A segment that cannot be opened is left out of the timeline (its length is unknown); one that breaks
while decoding keeps its header length, so later segments stay at their true times. Either is one log
line, and the drive goes on with the next file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import msgspec
import numpy as np

from edge_agent.source.base import AccelBlock, AudioBlock, Source, SourceError, SourceInfo, VideoFrame
from edge_agent.source.file import FileSource
from edge_agent.source.gsensor import load_sidecar

log = logging.getLogger(__name__)

SEGMENT_SUFFIXES = (".mp4", ".mov", ".mkv", ".ts")
_SILENCE_BLOCK_S = 0.5
_Item = TypeVar("_Item", VideoFrame, AudioBlock, AccelBlock)


class SegmentSpan(msgspec.Struct, frozen=True):
    """``path`` covers [start_s, end_s) of the drive; drive time t is ``t - start_s`` in the file."""

    path: str
    start_s: float
    end_s: float


def segment_files(folder: Path) -> list[Path]:
    """Candidate segments in drive order; hidden and partly written (``.part``) files are not segments."""
    return sorted(
        p
        for p in Path(folder).iterdir()
        if p.is_file() and p.suffix.lower() in SEGMENT_SUFFIXES and not p.name.startswith(".")
    )


def _compatible(first: SourceInfo, info: SourceInfo) -> str | None:
    """Why ``info`` cannot continue a drive that began with ``first`` (None: it can)."""
    if (info.analysis_width, info.analysis_height) != (first.analysis_width, first.analysis_height):
        return f"analysis size {info.analysis_width}x{info.analysis_height} differs from the drive's"
    if info.audio_rate is not None and first.audio_rate is not None and info.audio_rate != first.audio_rate:
        return f"audio rate {info.audio_rate} differs from the drive's {first.audio_rate}"
    return None


def _plan(folder: Path, analysis_width: int) -> tuple[SourceInfo | None, list[SegmentSpan]]:
    """Header-only pass: the first readable segment's info and the span of every usable segment."""
    first: SourceInfo | None = None
    spans: list[SegmentSpan] = []
    t = 0.0
    for path in segment_files(folder):
        try:
            with FileSource(path, analysis_width) as segment:
                info = segment.info
        except SourceError as exc:
            log.error("source.segment_unreadable path=%s error=%s", path, exc.detail)
            continue
        reason = _compatible(first, info) if first is not None else None
        if reason is not None:
            log.error("source.segment_mismatch path=%s reason=%s", path, reason)
            continue
        first = first or info
        spans.append(SegmentSpan(str(path), t, t + info.duration_s))
        t += info.duration_s
    return first, spans


def segment_spans(folder: Path, analysis_width: int = 320) -> list[SegmentSpan]:
    """Which file covers which time range of the drive in ``folder`` (headers only)."""
    return _plan(folder, analysis_width)[1]


def spans_covering(spans: list[SegmentSpan], start_s: float, end_s: float) -> list[SegmentSpan]:
    """The spans that overlap [start_s, end_s), in order: what a clip of that window is cut from."""
    return [s for s in spans if s.start_s < end_s and s.end_s > start_s]


def _silence(start_s: float, end_s: float, rate: int, whole_blocks: bool = True) -> Iterator[AudioBlock]:
    """Silence for a segment recorded without sound, so the audio clock keeps pace with the video."""
    t = start_s
    while end_s - t > 1e-6 and (end_s - t >= _SILENCE_BLOCK_S or not whole_blocks):
        n = int(round(min(_SILENCE_BLOCK_S, end_s - t) * rate))
        if n == 0:
            return
        yield AudioBlock(t=t, samples=np.zeros(n, np.float32), rate=rate)
        t += n / rate


def _shifted(item: _Item, offset_s: float, frame_base: int) -> _Item:
    if isinstance(item, VideoFrame):
        return msgspec.structs.replace(item, t=item.t + offset_s, index=item.index + frame_base)
    if isinstance(item, AccelBlock):
        samples = item.samples.copy()
        samples[:, 0] += offset_s
        return AccelBlock(t=item.t + offset_s, samples=samples)
    return msgspec.structs.replace(item, t=item.t + offset_s)


class SegmentFolderSource(Source):
    """Every usable segment of ``folder`` in order, on one timeline; each may have its own sidecar."""

    def __init__(self, folder: Path, analysis_width: int = 320) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise SourceError(str(self.folder), "not a folder of segments")
        self.analysis_width = analysis_width
        first, self.spans = _plan(self.folder, analysis_width)
        if first is None:
            kinds = ", ".join(f"*{s}" for s in SEGMENT_SUFFIXES)
            raise SourceError(str(self.folder), f"no readable segment files ({kinds})")
        self.info = msgspec.structs.replace(first, uri=str(self.folder), duration_s=self.spans[-1].end_s)
        self.failed: list[str] = []  # segments that broke while decoding

    def __iter__(self) -> Iterator[VideoFrame | AudioBlock | AccelBlock]:
        frames = 0
        for span in self.spans:
            path = Path(span.path)
            audio_end = span.start_s
            base = frames  # frame indices continue across files
            fill: int | None = None
            try:
                with FileSource(path, self.analysis_width, accel=load_sidecar(path)) as segment:
                    fill = self.info.audio_rate if segment.info.audio_rate is None else None
                    for item in segment:
                        if isinstance(item, AudioBlock) and self.info.audio_rate is None:
                            continue  # the drive began without sound: its miners expect none
                        item = _shifted(item, span.start_s, base)
                        if isinstance(item, VideoFrame):
                            frames = item.index + 1
                            if fill is not None:
                                for block in _silence(audio_end, item.t, fill):
                                    audio_end = block.t + len(block.samples) / fill
                                    yield block
                        yield item
            except SourceError as exc:
                self.failed.append(span.path)
                log.error("source.segment_failed path=%s error=%s", path, exc.detail)
            if fill is not None:  # a silent segment's last half second, so the next one starts level
                yield from _silence(audio_end, span.end_s, fill, whole_blocks=False)
        log.info(
            "source.segments_finished folder=%s segments=%d failed=%d",
            self.folder,
            len(self.spans),
            len(self.failed),
        )

    def close(self) -> None:
        """Each segment is opened and closed while it is read; nothing stays open between items."""
