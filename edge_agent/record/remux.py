"""Loop recording of a live H.264 stream: its packets remuxed into rolling segments, never re-encoded.

The recorder opens its own connection to the stream (OpenCV, which the capture uses, hands out decoded
pictures only) through PyAV, i.e. any URI FFmpeg demuxes: RTSP, MPEG-TS over TCP / UDP / HTTP. A
segment closes at the first keyframe ``segment_s`` after it opened (every segment starts decodable) or
when the stream breaks (what arrived is kept). A lost stream is one log line; it is reopened with the
same doubling, jittered waits and ``[source]`` settings as the capture. A stream whose video is not
H.264 cannot go into a browser-playable clip as it is: the recorder hands over to ``on_not_h264``
(the encoder of captured frames) and ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import av

from edge_agent.record.clock import wall_clock
from edge_agent.record.config import RecorderConfig
from edge_agent.record.segment import Segment
from edge_agent.record.store import SegmentStore
from edge_agent.source.live import SourceConfig
from edge_agent.source.reconnect import ReconnectDelay, open_patiently

log = logging.getLogger(__name__)

REMUX_SCHEMES = ("rtsp://", "rtsps://", "udp://", "tcp://", "http://", "https://")
_TIMEOUT_S = 5.0  # as the capture's: a stream silent this long is lost (FFmpeg's own default is ~30 s)
_JUMP_S = 10.0  # a video timestamp going back, or forward by more, is a discontinuity: a new segment


class StreamRecorder:
    def __init__(
        self,
        uri: str,
        store: SegmentStore,
        config: Callable[[], RecorderConfig],
        source: SourceConfig,
        on_not_h264: Callable[[str], None],
    ) -> None:
        self.uri = uri
        self.store = store
        self.config = config
        self.source = source
        self.on_not_h264 = on_not_h264
        self.connections = 0

    def run(self, stop: threading.Event) -> None:
        delay = ReconnectDelay(self.source.reconnect_min_s, self.source.reconnect_max_s)
        said = False  # this absence of the stream is logged: once, however long it lasts

        def open_once() -> av.container.InputContainer | None:
            nonlocal said
            try:
                return av.open(self.uri, timeout=_TIMEOUT_S)
            except (av.FFmpegError, OSError) as exc:
                if not said:
                    log.warning("recorder.cannot_open uri=%s error=%s", self.uri, exc)
                    said = True
                log.debug("recorder.retry uri=%s error=%s", self.uri, exc)
                return None

        while not stop.is_set():
            container = open_patiently(open_once, delay, stop)
            if container is None:
                return
            with container:
                video = container.streams.video[0] if container.streams.video else None
                codec = video.codec_context.name if video is not None else "none"
                if video is None or codec != "h264":
                    self.on_not_h264(f"video codec {codec} is not H.264")
                    return
                said = False
                self.connections += 1
                event = "recorder.connected" if self.connections == 1 else "recorder.reconnected"
                log.info("%s uri=%s connections=%d", event, self.uri, self.connections)
                error = self._record(container, video, self._audio(container), stop)
            if not stop.is_set():
                log.error(
                    "recorder.stream_lost uri=%s segments=%d error=%s", self.uri, self.store.segments, error
                )
                said = True
                delay.wait(stop)

    def _audio(self, container: av.container.InputContainer) -> av.AudioStream | None:
        if not container.streams.audio:
            return None
        audio = container.streams.audio[0]
        if audio.codec_context.name == "aac":
            return audio
        if self.connections == 1:
            log.warning(
                "recorder.audio_skipped uri=%s codec=%s reason=not AAC", self.uri, audio.codec_context.name
            )
        return None

    def _record(
        self,
        container: av.container.InputContainer,
        video: av.VideoStream,
        audio: av.AudioStream | None,
        stop: threading.Event,
    ) -> str:
        """Segments from this connection until it breaks or ``stop``; returns what ended it."""
        segment: Segment | None = None
        last_dts: float | None = None
        try:
            for packet in container.demux(*[s for s in (video, audio) if s is not None]):
                arrived = time.monotonic()
                if stop.is_set():
                    return "stopped"
                if packet.dts is None or packet.pts is None:
                    continue  # the demuxer's flush packet at the end of the stream
                if packet.stream is video:
                    dts = float(packet.dts * packet.time_base)
                    if (
                        segment is not None
                        and last_dts is not None
                        and not last_dts < dts <= last_dts + _JUMP_S
                    ):
                        log.warning(
                            "recorder.discontinuity uri=%s from_s=%.3f to_s=%.3f", self.uri, last_dts, dts
                        )
                        segment = self.store.close(segment)
                    last_dts = dts
                    if packet.is_keyframe and (
                        segment is None or self.config().rolls_over(segment.age_s(packet))
                    ):
                        if segment is None:
                            self.store.started(wall_clock(arrived))
                        else:
                            self.store.close(segment)
                        segment = Segment(self.store.part_path(), video, audio, packet)
                if segment is not None:
                    segment = self._write(segment, packet, arrived)
            return "end of stream"
        except av.FFmpegError as exc:  # reading the stream; writing is handled in _write
            return str(exc)
        finally:
            if segment is not None:
                self.store.close(segment)
            self.store.stopped()

    def _write(self, segment: Segment, packet: av.Packet, arrived: float) -> Segment | None:
        """The packet into the segment; None when that failed (disk full): the segment is dropped and
        the next keyframe starts a new one."""
        try:
            segment.write(packet, arrived)
            return segment
        except (OSError, av.FFmpegError) as exc:
            log.error("recorder.write_failed path=%s error=%s", segment.part, exc)
            segment.abandon()
            return None
