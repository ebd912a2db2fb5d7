"""A live camera, RTSP / HTTP (MJPEG) stream or GStreamer pipeline, captured through OpenCV.

A capture thread reads as fast as the camera delivers and puts analysis frames into a bounded queue;
when mining falls behind, the newest frame is dropped and counted rather than the camera stalled
(Frigate's capture does the same). Frame times come from the capture clock (monotonic seconds since
the source opened), because a reconnected stream restarts its own timestamps. When the camera
vanishes the thread logs it once, then reopens with doubling, jittered delays until it is back.
``on_frame`` sees every captured full-size picture with its monotonic capture time (the recorder
encodes them where the stream has no H.264 packets to keep); it must not block.

URIs: ``rtsp://``, ``rtsps://``, ``http(s)://`` (MJPEG), ``udp://``, ``tcp://`` go to OpenCV's FFmpeg
backend; ``gst:<pipeline ending in appsink>`` to GStreamer (only where OpenCV was built with it: the
pip wheels are not, a device build is); ``camera:<N>`` to V4L2 device N. Video only: OpenCV does not
deliver the audio track, so the audio miner sits out on a live source.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Annotated

import cv2
import msgspec
import numpy as np

from edge_agent.source.base import (
    AccelBlock,
    AudioBlock,
    Source,
    SourceError,
    SourceInfo,
    SourceUriError,
    VideoFrame,
)
from edge_agent.source.file import analysis_size
from edge_agent.source.reconnect import ReconnectDelay, open_patiently

log = logging.getLogger(__name__)

_TIMEOUT_MS = 5000
LIVE_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "udp://", "tcp://", "gst:", "camera:")

FrameTap = Callable[[float, np.ndarray], None]  # (monotonic capture time, full-size BGR picture)


class SourceConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The ``[source]`` section: how a live source buffers and reconnects (files need no settings)."""

    queue_frames: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 32  # waiting for mining; more are dropped
    reconnect_min_s: Annotated[float, msgspec.Meta(gt=0)] = 0.5  # first wait before reopening a lost camera
    reconnect_max_s: Annotated[float, msgspec.Meta(gt=0)] = 30.0  # longest wait (doubling, plus jitter)


def is_live_uri(uri: str) -> bool:
    return uri.startswith(LIVE_SCHEMES)


def open_capture(uri: str) -> cv2.VideoCapture:
    """The capture for ``uri`` with the backend its scheme names; check ``isOpened()``."""
    if uri.startswith("gst:"):
        return cv2.VideoCapture(uri.removeprefix("gst:"), cv2.CAP_GSTREAMER)
    if uri.startswith("camera:"):
        number = uri.removeprefix("camera:")
        if not number.isdigit():
            raise SourceUriError(uri, "a V4L2 camera is camera:<device number>, e.g. camera:0")
        return cv2.VideoCapture(int(number), cv2.CAP_V4L2)
    # Without timeouts a stream that goes silent blocks read() for FFmpeg's default (about 30 s).
    timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, _TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, _TIMEOUT_MS]
    return cv2.VideoCapture(uri, cv2.CAP_FFMPEG, timeouts)


class LiveSource(Source):
    """Frames from a live capture until ``close``; ``dropped`` counts frames mining had no room for."""

    def __init__(
        self,
        uri: str,
        analysis_width: int = 320,
        config: SourceConfig | None = None,
        on_frame: FrameTap | None = None,
    ) -> None:
        self.uri = uri
        self.config = config or SourceConfig()
        self.on_frame = on_frame
        capture = open_capture(uri)
        if not capture.isOpened():
            capture.release()
            raise SourceError(uri, "cannot open the camera or stream")
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if width <= 0 or height <= 0:
            capture.release()
            raise SourceError(uri, "the stream does not say its frame size")
        aw, ah = analysis_size(width, height, analysis_width)
        self.info = SourceInfo(
            uri=uri,
            width=width,
            height=height,
            fps=float(capture.get(cv2.CAP_PROP_FPS) or 0.0),
            duration_s=0.0,
            analysis_width=aw,
            analysis_height=ah,
            audio_rate=None,
        )
        self.frames = 0  # captured, whether queued or dropped
        self.dropped = 0  # written by the capture thread only
        self.reconnects = 0
        self.connected = True
        self._queue: queue.Queue[VideoFrame] = queue.Queue(maxsize=self.config.queue_frames)
        self._stop = threading.Event()
        self.origin = time.monotonic()  # frame time 0 on the monotonic clock
        self._thread = threading.Thread(target=self._capture, args=(capture,), name="capture", daemon=True)
        self._thread.start()

    @classmethod
    def open_when_ready(
        cls,
        uri: str,
        analysis_width: int,
        config: SourceConfig,
        on_frame: FrameTap | None,
        stop: threading.Event,
    ) -> LiveSource | None:
        """The camera, once it opens; None if ``stop`` comes first; SourceUriError for a malformed address.

        A dashcam often boots before its camera, or its network to an IP camera, is up: a camera that
        cannot be opened yet is retried with the reconnect waits, as one lost while running is, and
        logged once (``source.camera_unavailable``), then ``source.camera_opened``.
        """
        tries = 0

        def open_once() -> LiveSource | None:
            nonlocal tries
            try:
                return cls(uri, analysis_width, config, on_frame)
            except SourceUriError:
                raise
            except SourceError as exc:
                tries += 1
                if tries == 1:
                    log.error("source.camera_unavailable uri=%s error=%s detail=retrying", uri, exc.detail)
                return None

        delay = ReconnectDelay(config.reconnect_min_s, config.reconnect_max_s)
        source = open_patiently(open_once, delay, stop)
        if source is not None and tries:
            log.info("source.camera_opened uri=%s tries=%d", uri, tries + 1)
        return source

    # ---- capture thread -----------------------------------------------------------------------

    def _capture(self, capture: cv2.VideoCapture | None) -> None:
        delay = ReconnectDelay(self.config.reconnect_min_s, self.config.reconnect_max_s)
        while not self._stop.is_set():
            if capture is None:
                capture = open_patiently(self._reopen, delay, self._stop)
                if capture is None:
                    break
            try:
                ok, image = capture.read()
                if ok and image is not None:
                    now = time.monotonic()
                    if self.on_frame is not None:
                        self.on_frame(now, image)
                    self._offer(now - self.origin, image)
                    continue
                error = "no frame"
            except cv2.error as exc:  # a garbled frame the decoder hands over: treat as a lost camera
                error = str(exc).strip().splitlines()[-1]
            capture.release()
            capture = None
            self.connected = False
            log.error("source.camera_lost uri=%s frames=%d error=%s", self.uri, self.frames, error)
        if capture is not None:
            capture.release()

    def _reopen(self) -> cv2.VideoCapture | None:
        capture = open_capture(self.uri)
        if not capture.isOpened():
            capture.release()
            log.debug("source.camera_retry uri=%s", self.uri)
            return None
        self.reconnects += 1
        self.connected = True
        log.info("source.camera_reconnected uri=%s reconnects=%d", self.uri, self.reconnects)
        return capture

    def _offer(self, t: float, image: np.ndarray) -> None:
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        size = (self.info.analysis_width, self.info.analysis_height)
        frame = VideoFrame(t=t, index=self.frames, gray=cv2.resize(gray, size, interpolation=cv2.INTER_AREA))
        self.frames += 1
        try:
            self._queue.put_nowait(frame)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                log.warning("source.frames_dropped uri=%s dropped=%d", self.uri, self.dropped)

    # ---- consumer -----------------------------------------------------------------------------

    @property
    def dropped_frames(self) -> int:
        return self.dropped

    def __iter__(self) -> Iterator[VideoFrame | AudioBlock | AccelBlock]:
        while not (self._stop.is_set() and self._queue.empty()):
            try:
                yield self._queue.get(timeout=0.2)
            except queue.Empty:
                continue

    def close(self) -> None:
        """Ends the iteration (after the frames already queued) and releases the camera."""
        self._stop.set()
        self._thread.join(5.0)
