"""Cuts a clip out of a recording by copying its compressed packets (no re-encode).

Evidence keeps the camera's own encoding and the cut costs almost nothing. A clip has to start on a
keyframe to be decodable, so it starts at the keyframe at or before the requested start; timestamps
are shifted so the clip's first frame is at 0, and the MP4 index goes first (faststart) so a
receiver can play the clip while it streams.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import av
import msgspec

from edge_agent.source.base import SourceError

log = logging.getLogger(__name__)


class ClipInfo(msgspec.Struct, frozen=True):
    path: str
    clip_start_s: float  # source time of the clip's first frame
    duration_s: float
    size_bytes: int
    sha256: str  # hex


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def cut_clip(source: Path, start_s: float, end_s: float, out: Path) -> ClipInfo:
    """Copy video and audio between ``start_s`` (back to the keyframe before it) and ``end_s`` into ``out``.

    Times are seconds on the source's timeline (from its first frame). The file appears atomically.
    Raises SourceError if the source cannot be read or holds nothing in that span.
    """
    if end_s <= start_s:
        raise ValueError(f"empty span {start_s}..{end_s}")
    source, out = Path(source), Path(out)
    tmp = out.with_name(f".{out.name}.part")
    try:
        clip_start, duration = _remux(source, max(0.0, start_s), end_s, tmp)
    except av.FFmpegError as exc:
        tmp.unlink(missing_ok=True)
        raise SourceError(str(source), f"cannot cut clip: {exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
    info = ClipInfo(str(out), round(clip_start, 6), round(duration, 6), out.stat().st_size, _sha256(out))
    log.info(
        "clip.cut source=%s clip_start_s=%.3f duration_s=%.3f bytes=%d",
        source,
        info.clip_start_s,
        info.duration_s,
        info.size_bytes,
    )
    return info


def _remux(source: Path, start_s: float, end_s: float, out: Path) -> tuple[float, float]:
    with av.open(str(source)) as src:
        if not src.streams.video:
            raise SourceError(str(source), "no video stream")
        video = src.streams.video[0]
        audio = src.streams.audio[0] if src.streams.audio else None
        vtb = video.time_base
        origin = video.start_time or 0  # source time 0 is the first frame, as in edge_agent.source
        src.seek(origin + int(start_s / vtb), stream=video, backward=True, any_frame=False)
        with av.open(str(out), "w", format="mp4", options={"movflags": "+faststart"}) as dst:
            out_video = dst.add_stream_from_template(video)
            out_audio = dst.add_stream_from_template(audio) if audio is not None else None
            first: int | None = None  # pts of the first keyframe, in the video time base
            last_end = 0
            video_done, audio_done = False, audio is None
            for packet in src.demux(*[s for s in (video, audio) if s is not None]):
                if packet.dts is None or packet.pts is None:
                    continue  # demuxer flush packets carry no data
                if packet.stream is video:
                    if first is None and not packet.is_keyframe:
                        continue
                    if first is None:
                        first = packet.pts
                    if video_done or (packet.dts - origin) * vtb >= end_s:
                        video_done = True
                    else:
                        last_end = max(last_end, packet.pts + (packet.duration or 0))
                        packet.pts, packet.dts = packet.pts - first, packet.dts - first
                        packet.stream = out_video
                        dst.mux(packet)
                elif first is not None and out_audio is not None:
                    atb = packet.time_base
                    offset = int(round(first * vtb / atb))
                    if packet.pts * atb - origin * vtb >= end_s:
                        audio_done = True
                    elif packet.pts >= offset:
                        packet.pts, packet.dts = packet.pts - offset, packet.dts - offset
                        packet.stream = out_audio
                        dst.mux(packet)
                if video_done and audio_done:
                    break
            if first is None or (last_end - origin) * vtb <= start_s:
                raise SourceError(str(source), f"no video between {start_s:.2f}s and {end_s:.2f}s")
    return float((first - origin) * vtb), float((last_end - first) * vtb)
