"""One segment being written: the stream's own compressed packets remuxed into an MP4, no re-encode.

Timestamps are rebased so the segment's first keyframe decodes at 0, as a dashcam's files start. AAC
from MPEG-TS comes with ADTS headers, which MP4 keeps in the sample description instead
(``aac_adtstoasc``); other audio codecs MP4 cannot hold for browsers (G.711 from RTSP cameras) are
left out, logged once by the caller. The MP4 index is written when the segment closes, so a segment
open at a power cut is lost (at most ``segment_s``); closed ones are complete files.

The segment's wall-clock start is estimated from packet arrival: each packet arrives no earlier than
its moment on the stream (plus network and camera delay), so the smallest ``arrival - dts`` over the
segment places its timeline on the monotonic clock, untouched by jitter and by the burst of the last
GOP a camera sends to a new viewer.
"""

from __future__ import annotations

from pathlib import Path

import av
import av.bitstream

from edge_agent.record.clock import wall_clock


class Segment:
    """Packets of one input's video (and AAC audio) from a keyframe on, into ``part``."""

    def __init__(
        self, part: Path, video: av.VideoStream, audio: av.AudioStream | None, first: av.Packet
    ) -> None:
        self.part = part
        self._dst = av.open(str(part), "w", format="mp4")
        self._video = self._dst.add_stream_from_template(video)
        self._audio: av.AudioStream | None = None
        self._adts: av.bitstream.BitStreamFilterContext | None = None
        if audio is not None:
            self._audio = self._dst.add_stream_from_template(audio)
            if not audio.codec_context.extradata:  # ADTS: the headers become the sample description
                self._adts = av.bitstream.BitStreamFilterContext("aac_adtstoasc", audio, self._audio)
                self._audio.codec_context.codec_tag = "mp4a"
        assert first.dts is not None and first.pts is not None
        self.first_dts_s = float(first.dts * first.time_base)  # input time of the segment's time 0
        self.first_pts_s = float(first.pts * first.time_base)
        self.end_s = self.first_pts_s  # input time where the last video frame ends
        self._offset: float | None = None  # min(arrival - dts): input time -> monotonic clock

    def age_s(self, packet: av.Packet) -> float:
        """How far ``packet`` (video) is past the segment's first frame, in input seconds."""
        assert packet.pts is not None
        return float(packet.pts * packet.time_base) - self.first_pts_s

    def write(self, packet: av.Packet, arrived: float) -> None:
        """A packet of the input's video or audio stream, with the monotonic time it arrived."""
        assert packet.dts is not None and packet.pts is not None
        tb = packet.time_base
        dts_s = float(packet.dts * tb)
        if dts_s < self.first_dts_s:
            return  # audio from before the first keyframe
        video = packet.stream.type == "video"
        if video:
            offset = arrived - dts_s
            self._offset = offset if self._offset is None else min(self._offset, offset)
            self.end_s = max(self.end_s, float((packet.pts + (packet.duration or 0)) * tb))
        elif self._audio is None:
            return
        shift = round(self.first_dts_s / tb)
        packet.pts -= shift
        packet.dts -= shift
        if video:
            packet.stream = self._video
            self._dst.mux(packet)
            return
        assert self._audio is not None
        for out in self._adts.filter(packet) if self._adts is not None else [packet]:
            out.stream = self._audio
            self._dst.mux(out)

    def close(self) -> tuple[float, float]:
        """Write the index; (wall-clock start of the first frame, duration in seconds)."""
        self._dst.close()
        assert self._offset is not None  # the first packet is a video keyframe
        return wall_clock(self.first_pts_s + self._offset), self.end_s - self.first_pts_s

    def abandon(self) -> None:
        abandon(self._dst, self.part)


def abandon(container: av.container.OutputContainer, part: Path) -> None:
    """A segment whose write failed (disk full, a broken packet): nothing of it is kept."""
    try:
        container.close()
    except (OSError, av.FFmpegError):
        pass
    part.unlink(missing_ok=True)
