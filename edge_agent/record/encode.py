"""Loop recording of a source that hands out pictures only: its captured frames encoded to H.264.

A V4L2 camera (``camera:N``), a ``gst:`` appsink pipeline or an MJPEG stream delivers no H.264 packets
to keep, so the recorder encodes the full-size frames the capture already has, with libx264
(``[recorder] encode_preset``, ``encode_crf``): the clip's evidence is then this encoding, not the
camera's, and it costs CPU (``python -m tests.bench recorder`` prints it). Frames come from the capture
thread through a bounded queue; when the encoder falls behind, frames are dropped and counted, the
capture is never stalled. A keyframe every second bounds a clip's extra pre-roll as on the H.264 path;
each segment is its own encoder run, so each starts on a keyframe. Frames keep their capture times
(variable frame rate, millisecond ticks), so the segment's clock is exactly the capture's.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import av.video.frame
import numpy as np

from edge_agent.record.clock import wall_clock
from edge_agent.record.config import RecorderConfig
from edge_agent.record.segment import FRAGMENTED, abandon, note_start
from edge_agent.record.store import SegmentStore

log = logging.getLogger(__name__)

_QUEUE_FRAMES = 60  # about 2 s at 30 fps waiting for the encoder; more are dropped
_GAP_S = 2.0  # no frame for this long: the camera is lost, the segment ends
_KEYFRAME_S = 1.0
_TICK = Fraction(1, 1000)


class _EncodedSegment:
    """One libx264 run into ``part``, frames stamped with their capture time since the first."""

    def __init__(self, part: Path, captured: float, image: np.ndarray, config: RecorderConfig) -> None:
        self.part = part
        self.origin = captured
        self.last_captured = captured
        self.size = image.shape[:2]
        self._dst = av.open(str(part), "w", format="mp4", options=FRAGMENTED)
        note_start(part, wall_clock(captured))
        self._stream = self._dst.add_stream("libx264", rate=30)  # nominal: frames carry their own times
        self._stream.width, self._stream.height = image.shape[1] // 2 * 2, image.shape[0] // 2 * 2
        self._stream.pix_fmt = "yuv420p"
        self._stream.codec_context.time_base = _TICK
        self._stream.options = {"preset": config.encode_preset, "crf": str(config.encode_crf)}
        self._last_pts = -1
        self._last_key_s = -_KEYFRAME_S
        self._step_s = 0.0  # last frame interval, the length given to the last frame

    def age_s(self, captured: float) -> float:
        return captured - self.origin

    def encode(self, captured: float, image: np.ndarray) -> None:
        height, width = self._stream.height, self._stream.width
        frame = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(image[:height, :width]), format="bgr24" if image.ndim == 3 else "gray"
        )
        t = captured - self.origin
        self.last_captured = captured
        pts = max(round(t / _TICK), self._last_pts + 1)
        if self._last_pts >= 0:
            self._step_s = float((pts - self._last_pts) * _TICK)
        frame.pts, frame.time_base, self._last_pts = pts, _TICK, pts
        if t - self._last_key_s >= _KEYFRAME_S:
            frame.pict_type = av.video.frame.PictureType.I
            self._last_key_s = t
        self._dst.mux(self._stream.encode(frame))

    def close(self) -> tuple[float, float]:
        """Flush the encoder and write the index; (wall-clock start, duration in seconds)."""
        self._dst.mux(self._stream.encode(None))
        self._dst.close()
        return wall_clock(self.origin), float(self._last_pts * _TICK) + self._step_s

    def abandon(self) -> None:
        abandon(self._dst, self.part)


class FrameEncoder:
    """Idle until ``enable``; then every offered frame is encoded into rolling segments of ``store``."""

    def __init__(self, store: SegmentStore, config: Callable[[], RecorderConfig]) -> None:
        self.store = store
        self.config = config
        self.enabled = threading.Event()
        self.dropped = 0  # frames the encoder had no room for (written by the capture thread only)
        self._recording = False  # the store was told recording started and not yet that it stopped
        self._queue: queue.Queue[tuple[float, np.ndarray]] = queue.Queue(maxsize=_QUEUE_FRAMES)

    def enable(self, reason: str) -> None:
        config = self.config()
        log.info(
            "recorder.encoding reason=%s preset=%s crf=%d", reason, config.encode_preset, config.encode_crf
        )
        self.enabled.set()

    def offer(self, captured: float, image: np.ndarray) -> None:
        """A captured frame (capture thread): queued, or dropped and counted; never blocks."""
        if not self.enabled.is_set():
            return
        try:
            self._queue.put_nowait((captured, image))
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                log.warning("recorder.frames_dropped dropped=%d", self.dropped)

    def run(self, stop: threading.Event) -> None:
        segment: _EncodedSegment | None = None
        try:
            while not stop.is_set():
                try:
                    captured, image = self._queue.get(timeout=0.5)
                except queue.Empty:
                    if segment is not None and time.monotonic() - segment.last_captured >= _GAP_S:
                        segment = self._end(segment)  # the camera is lost: keep what it gave
                    continue
                segment = self._encode(segment, captured, image)
        finally:
            if segment is not None:
                self._end(segment)

    def _encode(
        self, segment: _EncodedSegment | None, captured: float, image: np.ndarray
    ) -> _EncodedSegment | None:
        if segment is not None and (
            segment.size != image.shape[:2] or self.config().rolls_over(segment.age_s(captured))
        ):
            self.store.close(segment)  # rolled over, or the camera came back at another size
            segment = None
        try:
            if segment is None:
                if not self._recording:
                    self.store.started(wall_clock(captured))
                    self._recording = True
                segment = _EncodedSegment(self.store.part_path(), captured, image, self.config())
            segment.encode(captured, image)
            return segment
        except (OSError, av.FFmpegError) as exc:
            log.error("recorder.write_failed error=%s", exc)
            if segment is not None:
                segment.abandon()
            return None

    def _end(self, segment: _EncodedSegment) -> None:
        """The last segment before a loss or the stop; nothing is recorded until the next frame."""
        self.store.close(segment)
        self.store.stopped()
        self._recording = False
