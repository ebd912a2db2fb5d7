"""Cuts a clip out of a recording by copying its compressed packets (no re-encode).

Evidence keeps the camera's own encoding and the cut costs almost nothing. A clip has to start on a
keyframe to be decodable, so it starts at the keyframe at or before the requested start; it ends with
the last frame decoded before the requested end and the B-frames shown before that one (no stutter).
Timestamps are shifted so the clip's first frame is at 0, and the MP4 index goes first (faststart) so
a receiver can play the clip while it streams. A window that spans consecutive segment files is cut from
all of them into one clip: their packets are remuxed back to back on the drive's timeline.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import msgspec

from edge_agent.source.base import SourceError
from edge_agent.source.segments import SegmentSpan, spans_covering

log = logging.getLogger(__name__)

_NO_SPACE = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


class ClipInfo(msgspec.Struct, frozen=True):
    path: str
    clip_start_s: float  # source time of the clip's first frame
    duration_s: float
    size_bytes: int
    sha256: str  # hex


class DiskFullError(OSError):
    """The clip could not be written: no space left, or a file-size limit. Not the source's fault."""


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def cut_clip(source: Path | Sequence[SegmentSpan], start_s: float, end_s: float, out: Path) -> ClipInfo:
    """Copy video and audio between ``start_s`` (back to the keyframe before it) and ``end_s`` into ``out``.

    ``source`` is one recording, or the spans of a segmented drive (``segment_spans``); times are
    seconds on its timeline (from its first frame). The file appears atomically. Raises SourceError if
    the source cannot be read or holds nothing in that span, DiskFullError if the clip cannot be written.
    """
    if end_s <= start_s:
        raise ValueError(f"empty span {start_s}..{end_s}")
    if isinstance(source, (str, Path)):
        spans = [SegmentSpan(str(source), 0.0, float("inf"))]
    else:
        spans = spans_covering(list(source), max(0.0, start_s), end_s)
        if not spans:
            raise SourceError("segments", f"no segment covers {start_s:.2f}s..{end_s:.2f}s")
    out = Path(out)
    tmp = out.with_name(f".{out.name}.part")
    named = spans[0].path if len(spans) == 1 else f"{spans[0].path} (+{len(spans) - 1} segments)"
    try:
        writer = _ClipWriter(max(0.0, start_s), end_s)
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as dst:
            for index, span in enumerate(spans):
                if not writer.copy(span, dst, seek=index == 0):
                    break
            clip_start, duration = writer.finish(named)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno in _NO_SPACE:
            raise DiskFullError(exc.errno, f"no space to write the clip {out.name}: {exc.strerror}") from None
        if isinstance(exc, av.FFmpegError):
            raise SourceError(named, f"cannot cut clip: {exc}") from None
        raise
    except av.FFmpegError as exc:
        tmp.unlink(missing_ok=True)
        raise SourceError(named, f"cannot cut clip: {exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
    info = ClipInfo(str(out), round(clip_start, 6), round(duration, 6), out.stat().st_size, _sha256(out))
    log.info(
        "clip.cut source=%s segments=%d clip_start_s=%.3f duration_s=%.3f bytes=%d",
        named,
        len(spans),
        info.clip_start_s,
        info.duration_s,
        info.size_bytes,
    )
    return info


class _ClipWriter:
    """Copies packets from one or more files into one MP4, all on the drive's timeline (seconds)."""

    def __init__(self, start_s: float, end_s: float) -> None:
        self.start_s = start_s
        self.end_s = end_s
        self.first: float | None = None  # drive time of the clip's first keyframe
        self.last_end = 0.0  # drive time where the last copied video frame ends
        self.last_shown = 0.0  # drive time of the latest-shown video frame copied
        self._video: av.VideoStream | None = None
        self._audio: av.AudioStream | None = None
        self._codec: tuple[str, int, int] | None = None
        self._last_dts: dict[str, Fraction] = {}  # per stream type, seconds

    def copy(self, span: SegmentSpan, dst: av.container.OutputContainer, seek: bool) -> bool:
        """Copy what ``span``'s file holds of the window; False once the window's end is reached."""
        with av.open(span.path) as src:
            if not src.streams.video:
                raise SourceError(span.path, "no video stream")
            video = src.streams.video[0]
            audio = src.streams.audio[0] if src.streams.audio else None
            self._add_streams(span.path, dst, video, audio)
            origin_s = float((video.start_time or 0) * video.time_base)  # file time 0 is its first frame
            local_start = self.start_s - span.start_s
            if seek and local_start > 0:
                src.seek(int((origin_s + local_start) / video.time_base), stream=video, backward=True)
            video_done, audio_done = False, audio is None or self._audio is None
            for packet in src.demux(*[s for s in (video, audio) if s is not None]):
                if packet.dts is None or packet.pts is None:
                    continue  # demuxer flush packets carry no data
                tb = packet.time_base
                t = float(packet.pts * tb) - origin_s + span.start_s
                t_dts = float(packet.dts * tb) - origin_s + span.start_s
                if packet.stream is video:
                    if self.first is None and not packet.is_keyframe:
                        continue
                    if self.first is None:
                        self.first = t
                    # Past the end (in decode order), only the B-frames shown before the last frame
                    # copied still come: without them the clip's last frames would stutter.
                    if video_done or (t_dts >= self.end_s and t >= self.last_shown):
                        video_done = True
                        continue
                    self.last_shown = max(self.last_shown, t)
                    self.last_end = max(self.last_end, t + float((packet.duration or 0) * tb))
                    self._mux(dst, packet, self._video, t, t_dts)
                elif self.first is not None and self._audio is not None:
                    if t >= self.end_s:
                        audio_done = True
                    elif t >= self.first:
                        self._mux(dst, packet, self._audio, t, t_dts)
                if video_done and audio_done:
                    break
        return not video_done

    def finish(self, named: str) -> tuple[float, float]:
        if self.first is None or self.last_end <= self.start_s:
            raise SourceError(named, f"no video between {self.start_s:.2f}s and {self.end_s:.2f}s")
        return self.first, self.last_end - self.first

    def _add_streams(
        self,
        path: str,
        dst: av.container.OutputContainer,
        video: av.VideoStream,
        audio: av.AudioStream | None,
    ) -> None:
        codec = (video.codec_context.name, video.codec_context.width, video.codec_context.height)
        if self._codec is None:
            self._codec = codec
            self._video = dst.add_stream_from_template(video)
            self._audio = dst.add_stream_from_template(audio) if audio is not None else None
        elif codec != self._codec:
            # Concatenating different encodings would give a clip no player can decode.
            raise SourceError(path, f"segment encoded as {codec}, the clip so far as {self._codec}")

    def _mux(
        self, dst: av.container.OutputContainer, packet: av.Packet, stream: av.Stream, t: float, t_dts: float
    ) -> None:
        assert self.first is not None
        tb = packet.time_base  # ticks stay in the source's time base; PyAV rescales to the output's
        pts = round((t - self.first) / tb)
        dts = round((t_dts - self.first) / tb)
        last = self._last_dts.get(stream.type)
        if last is not None and dts * tb <= last:
            dts = int(last / tb) + 1  # a segment boundary can land two packets on one tick; keep order
        pts = max(pts, dts)
        self._last_dts[stream.type] = dts * tb
        packet.stream = stream
        packet.pts, packet.dts = pts, dts
        dst.mux(packet)
