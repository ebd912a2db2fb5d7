"""Live source through OpenCV against a real HTTP MJPEG camera served by the test: capture-clock times,
a bounded queue that drops and counts, reconnect after the camera vanishes, clear errors for what this
OpenCV build cannot open."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import cv2
import pytest

from edge_agent.source import SourceError, VideoFrame, open_source
from edge_agent.source.live import LiveSource, SourceConfig
from tests.integration.edge_sources.mjpeg_server import MjpegCamera

_GSTREAMER = "GStreamer:                   YES" in cv2.getBuildInformation()


@pytest.fixture
def camera() -> Iterator[MjpegCamera]:
    cam = MjpegCamera(fps=25)
    yield cam
    cam.unplug()


def _take(source: LiveSource, count: int, timeout_s: float = 20.0) -> list[VideoFrame]:
    frames: list[VideoFrame] = []
    deadline = time.monotonic() + timeout_s
    for item in source:
        assert isinstance(item, VideoFrame)
        frames.append(item)
        if len(frames) == count or time.monotonic() > deadline:
            break
    return frames


def test_frames_carry_capture_clock_times(camera: MjpegCamera) -> None:
    with open_source(camera.url, analysis_width=160) as source:
        assert isinstance(source, LiveSource)
        assert (source.info.width, source.info.height) == (320, 180)
        assert (source.info.analysis_width, source.info.analysis_height) == (160, 90)
        assert source.info.audio_rate is None and source.info.duration_s == 0.0
        frames = _take(source, 50)
    assert len(frames) == 50
    assert frames[0].gray.shape == (90, 160)
    times = [f.t for f in frames]
    assert times == sorted(times)
    # 49 intervals of a 25 fps camera: about 1.96 s of capture clock (the server paces by sleeping).
    assert 1.5 < times[-1] - times[0] < 3.5
    assert source.dropped_frames == 0


def test_slow_mining_drops_and_counts_frames(camera: MjpegCamera) -> None:
    source = LiveSource(camera.url, 160, SourceConfig(queue_frames=3))
    try:
        taken = []
        for item in source:
            taken.append(item)
            time.sleep(0.2)  # mining five times slower than the camera
            if len(taken) == 10:
                break
    finally:
        source.close()
    assert source.dropped_frames > 10
    assert source.frames >= len(taken) + source.dropped_frames  # every captured frame is either
    indices = [f.index for f in taken]
    assert indices == sorted(indices) and indices[-1] - indices[0] > len(taken)  # gaps where frames dropped


def test_camera_that_vanishes_is_reopened(camera: MjpegCamera, caplog: pytest.LogCaptureFixture) -> None:
    config = SourceConfig(reconnect_min_s=0.1, reconnect_max_s=0.4)
    with (
        caplog.at_level(logging.INFO, logger="edge_agent.source.live"),
        LiveSource(camera.url, 160, config) as source,
    ):
        before = _take(source, 10)
        camera.unplug()
        deadline = time.monotonic() + 15
        while source.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not source.connected
        time.sleep(1.0)  # a few refused reconnects
        camera.plug()
        after = [f for f in _take(source, 60) if f.t > before[-1].t + 1.0]
    assert after, "no frames after the camera came back"
    assert source.reconnects == 1
    events = [r.message.split()[0] for r in caplog.records]
    assert events.count("source.camera_lost") == 1 and events.count("source.camera_reconnected") == 1
    assert events.index("source.camera_lost") < events.index("source.camera_reconnected")


@pytest.mark.parametrize(
    "uri",
    [
        pytest.param(
            "gst:videotestsrc num-buffers=30 ! videoconvert ! appsink",
            marks=pytest.mark.skipif(_GSTREAMER, reason="this OpenCV build has GStreamer: it opens"),
        ),
        "camera:63",  # no such V4L2 device
        "rtsp://127.0.0.1:9/none",  # nothing listens
    ],
)
def test_live_source_that_cannot_open_is_a_source_error(uri: str) -> None:
    with pytest.raises(SourceError, match="cannot open"):
        open_source(uri)


def test_camera_without_a_device_number_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="camera:<device number>"):
        open_source("camera:front")
