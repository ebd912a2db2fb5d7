"""One segment being written: the stream's own compressed packets remuxed into an MP4, no re-encode.

Timestamps are rebased so the segment's first keyframe decodes at 0, as a dashcam's files start. AAC
from MPEG-TS comes with ADTS headers, which MP4 keeps in the sample description instead
(``aac_adtstoasc``); other audio codecs MP4 cannot hold for browsers (G.711 from RTSP cameras) are
left out, logged once by the caller. Segments are fragmented MP4 (a fragment per keyframe, the index of
each fragment written with it), so a segment open at a power cut or kill -9 keeps every fragment finished
before it: ``salvage`` copies those into a whole segment at the next start. A plain MP4 writes its only
index at close, and the segment being written (up to ``segment_s``, with the crash in it) was lost.

The segment's wall-clock start is estimated from packet arrival: each packet arrives no earlier than
its moment on the stream (plus network and camera delay), so the smallest ``arrival - dts`` over the
segment places its timeline on the monotonic clock, untouched by jitter and by the burst of the last
GOP a camera sends to a new viewer.
"""

from __future__ import annotations

import logging
from pathlib import Path

import av
import av.bitstream

from edge_agent.record.clock import wall_clock

log = logging.getLogger(__name__)


def start_note(part: Path) -> Path:
    """Beside a segment being written: its best wall-clock start so far, for ``salvage`` after a crash."""
    return part.with_name(part.name + ".start")


def note_start(part: Path, started_at: float) -> None:
    """Best effort, no fsync: without it a salvaged segment is placed by its file's opening time."""
    try:
        start_note(part).write_text(f"{started_at:.6f}")
    except OSError:
        pass


FRAGMENTED = {"movflags": "frag_keyframe+empty_moov+delay_moov+default_base_moof"}
"""MP4 muxer options of a segment being written: a fragment per keyframe, readable up to the last one
finished. ``delay_moov`` writes the header with the first fragment, once the audio's decoder config
(from the stream's ADTS headers) is known."""


class Segment:
    """Packets of one input's video (and AAC audio) from a keyframe on, into ``part``."""

    def __init__(
        self, part: Path, video: av.VideoStream, audio: av.AudioStream | None, first: av.Packet
    ) -> None:
        self.part = part
        self._dst = av.open(str(part), "w", format="mp4", options=FRAGMENTED)
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
        self._noted: float | None = None  # the offset last written beside the part (``note_start``)

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
            if self._noted != self._offset and (packet.is_keyframe or self._noted is None):
                self._noted = self._offset  # noted about once a GOP, once the estimate moved
                note_start(self.part, wall_clock(self.first_pts_s + self._offset))
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


def salvage(part: Path, dest: Path) -> float | None:
    """Copy the whole fragments of a segment cut short into ``dest``; its duration in seconds, or None
    (and no ``dest``) when not one whole fragment can be read back.

    A fragment is known whole once the next one begins (the muxer writes them in turn), so the last one
    read is dropped: it is the one the power cut tore, or at most one GOP of footage.
    """
    first: float | None = None
    end = 0.0
    try:
        with av.open(str(part)) as src, av.open(str(dest), "w", format="mp4", options=FRAGMENTED) as dst:
            if not src.streams.video:
                raise av.InvalidDataError(0, "no video stream")
            streams = [src.streams.video[0], *src.streams.audio[:1]]
            outputs = {s.index: dst.add_stream_from_template(s) for s in streams}
            fragment: list[av.Packet] = []  # packets since the last video keyframe
            fragment_end = 0.0
            try:
                for packet in src.demux(*streams):
                    if packet.dts is None or packet.pts is None:
                        continue
                    video = packet.stream.type == "video"
                    if video and packet.is_keyframe and fragment:
                        for whole in fragment:
                            whole.stream = outputs[whole.stream.index]
                            dst.mux(whole)
                        fragment, end = [], fragment_end
                    if video:
                        t = float(packet.pts * packet.time_base)
                        first = t if first is None else min(first, t)
                        fragment_end = max(fragment_end, t + float((packet.duration or 0) * packet.time_base))
                    fragment.append(packet)
            except av.FFmpegError as exc:  # the torn last fragment
                log.info("recorder.salvage_stopped path=%s error=%s", part.name, exc)
            log.info(
                "recorder.salvage_dropped path=%s packets=%d (the last fragment)", part.name, len(fragment)
            )
    except (OSError, av.FFmpegError) as exc:
        log.warning("recorder.salvage_failed path=%s error=%s", part.name, exc)
        first = None
    if first is None or end <= first:
        dest.unlink(missing_ok=True)
        return None
    return end - first


def abandon(container: av.container.OutputContainer, part: Path) -> None:
    """A segment whose write failed (disk full, a broken packet): nothing of it is kept."""
    try:
        container.close()
    except (OSError, av.FFmpegError):
        pass
    part.unlink(missing_ok=True)
