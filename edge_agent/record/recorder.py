"""Loop recording of one live source, so that its incidents and footage requests have footage to cut.

A stream FFmpeg demuxes (RTSP, MPEG-TS over TCP / UDP / HTTP) with H.264 video is recorded as it is
(``StreamRecorder``: remux, no re-encode). A source that delivers pictures only (``camera:N``, ``gst:``,
MJPEG over HTTP, or a stream in another codec) has its captured frames encoded (``FrameEncoder``), or,
with ``[recorder] encode_frames = false``, is not recorded: its incidents are logged without a clip.
Segments land in ``<data-dir>/recordings`` and in the recording index that footage requests read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edge_agent.clips.recordings import RecordingIndex
from edge_agent.record.config import RecorderConfig
from edge_agent.record.encode import FrameEncoder
from edge_agent.record.remux import REMUX_SCHEMES, StreamRecorder
from edge_agent.record.store import SegmentStore
from edge_agent.source.live import SourceConfig

log = logging.getLogger(__name__)


class LiveRecorder:
    def __init__(
        self,
        uri: str,
        config: Callable[[], RecorderConfig],
        source: SourceConfig,
        index: RecordingIndex,
        folder: Path,
    ) -> None:
        self.uri = uri
        self.config = config
        self.store = SegmentStore(folder, index, config().quota_bytes)
        self.encoder = FrameEncoder(self.store, config)
        self.stream: StreamRecorder | None = None
        if uri.startswith(REMUX_SCHEMES):
            self.stream = StreamRecorder(uri, self.store, config, source, self._encode_frames)
        else:
            self._encode_frames("the source delivers decoded pictures only")

    def offer_frame(self, captured: float, image: np.ndarray) -> None:
        """The capture's frame tap: encoded only where the stream has no H.264 packets to keep."""
        self.encoder.offer(captured, image)

    def threads(self, stop: threading.Event) -> list[threading.Thread]:
        """The worker threads to start (each runs until ``stop``)."""
        threads = [threading.Thread(target=self.encoder.run, args=(stop,), name="encoder", daemon=True)]
        if self.stream is not None:
            threads.append(
                threading.Thread(target=self.stream.run, args=(stop,), name="recorder", daemon=True)
            )
        return threads

    def _encode_frames(self, reason: str) -> None:
        if self.config().encode_frames:
            self.encoder.enable(reason)
        else:
            log.warning(
                "recorder.off uri=%s reason=%s; encode_frames is false: incidents are logged without a clip",
                self.uri,
                reason,
            )
