"""What PyAV can tell about a video file: enough to refuse what is not a video before storing it."""

from __future__ import annotations

from pathlib import Path

import av
import msgspec

MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".avi": "video/x-msvideo",
    ".ts": "video/mp2t",
}


class VideoError(ValueError):
    """``reason`` is ``not_video`` (no container or no video stream) or ``undecodable`` (no frame decodes)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class VideoInfo(msgspec.Struct, frozen=True, kw_only=True):
    container: str
    codec: str
    width: int
    height: int
    duration_s: float | None
    fps: float | None


def probe(path: Path) -> VideoInfo:
    """Open ``path``, find its video stream and decode its first frame, or raise VideoError."""
    try:
        container = av.open(str(path))
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise VideoError("not_video", str(exc)) from None
    with container:
        if not container.streams.video:
            raise VideoError("not_video", "no video stream")
        stream = container.streams.video[0]
        try:
            frame = next(container.decode(stream), None)
        except (av.FFmpegError, ValueError) as exc:
            raise VideoError("undecodable", str(exc)) from None
        if frame is None:
            raise VideoError("undecodable", "no frame could be decoded")
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        rate = stream.average_rate
        return VideoInfo(
            container=container.format.name,
            codec=stream.codec_context.name,
            width=frame.width,
            height=frame.height,
            duration_s=duration,
            fps=float(rate) if rate else None,
        )
