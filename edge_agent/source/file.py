"""A recorded MP4 (or anything FFmpeg demuxes) decoded with PyAV, one packet at a time.

Frames are scaled down by FFmpeg's scaler straight into gray at the analysis size, so no full-size
picture is ever copied into Python; audio is converted to mono float32 at its own sample rate.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from edge_agent.source.base import AccelBlock, AudioBlock, Source, SourceError, SourceInfo, VideoFrame
from edge_agent.source.gsensor import interleave

log = logging.getLogger(__name__)

_MISSING_FRAMES_TOLERATED = 2  # decoders may hold back a frame or two at the very end


def analysis_size(width: int, height: int, analysis_width: int) -> tuple[int, int]:
    """Even-sized, aspect-preserving, never larger than the source."""
    w = min(analysis_width, width) // 2 * 2
    return w, max(2, round(w * height / width / 2) * 2)


class FileSource(Source):
    """One recording; ``accel`` (its G-sensor blocks, on the same timeline) is slotted in by time."""

    def __init__(self, path: Path, analysis_width: int = 320, accel: Sequence[AccelBlock] = ()) -> None:
        self.path = Path(path)
        self.accel = list(accel)
        try:
            self._container = av.open(str(self.path))
        except (av.FFmpegError, OSError) as exc:
            raise SourceError(str(self.path), f"cannot open: {exc}") from None
        if not self._container.streams.video:
            self._container.close()
            raise SourceError(str(self.path), "no video stream")
        self._video = self._container.streams.video[0]
        self._video.thread_type = "AUTO"
        self._audio = self._container.streams.audio[0] if self._container.streams.audio else None
        ctx = self._video.codec_context
        rate = self._video.average_rate or self._video.guessed_rate or Fraction(30)
        aw, ah = analysis_size(ctx.width, ctx.height, analysis_width)
        self.info = SourceInfo(
            uri=str(self.path),
            width=ctx.width,
            height=ctx.height,
            fps=float(rate),
            duration_s=self._duration(),
            analysis_width=aw,
            analysis_height=ah,
            audio_rate=self._audio.codec_context.sample_rate if self._audio else None,
        )
        self._origin_s = float((self._video.start_time or 0) * self._video.time_base)

    def _duration(self) -> float:
        if self._video.duration:
            return float(self._video.duration * self._video.time_base)
        return (self._container.duration or 0) / av.time_base

    def __iter__(self) -> Iterator[VideoFrame | AudioBlock | AccelBlock]:
        return interleave(self._decoded(), self.accel)

    def _decoded(self) -> Iterator[VideoFrame | AudioBlock]:
        streams = [s for s in (self._video, self._audio) if s is not None]
        resampler = (
            av.AudioResampler(format="flt", layout="mono", rate=self.info.audio_rate) if self._audio else None
        )
        frames = 0
        try:
            for packet in self._container.demux(*streams):
                for decoded in packet.decode():
                    if isinstance(decoded, av.VideoFrame):
                        yield self._video_frame(decoded, frames)
                        frames += 1
                    elif resampler is not None:
                        yield from self._audio_blocks(decoded, resampler)
        except av.FFmpegError as exc:
            raise SourceError(str(self.path), f"corrupt media after {frames} frames: {exc}") from None
        expected = self._video.frames
        if frames == 0 or (expected and frames + _MISSING_FRAMES_TOLERATED < expected):
            raise SourceError(str(self.path), f"truncated: decoded {frames} of {expected} frames")
        log.debug("source.finished path=%s frames=%d", self.path, frames)

    def _video_frame(self, frame: av.VideoFrame, index: int) -> VideoFrame:
        if frame.pts is None:
            t = index / self.info.fps
        else:
            t = float(frame.pts * self._video.time_base) - self._origin_s
        gray = frame.reformat(
            width=self.info.analysis_width,
            height=self.info.analysis_height,
            format="gray",
            interpolation="AREA",
        ).to_ndarray()
        return VideoFrame(t=t, index=index, gray=gray)

    def _audio_blocks(self, frame: av.AudioFrame, resampler: av.AudioResampler) -> Iterator[AudioBlock]:
        t = float(frame.pts * frame.time_base) - self._origin_s if frame.pts is not None else 0.0
        for mono in resampler.resample(frame):
            samples = mono.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            yield AudioBlock(t=t, samples=samples, rate=mono.sample_rate)
            t += len(samples) / mono.sample_rate

    def close(self) -> None:
        self._container.close()
