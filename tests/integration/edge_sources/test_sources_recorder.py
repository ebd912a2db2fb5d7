"""Loop recording of live sources against real streams served by the test: an H.264 drive as MPEG-TS over
TCP in real time (remuxed, never re-encoded), and an MJPEG camera (its frames encoded to H.264).

Checked on the files themselves: each segment holds the drive's own slices back to back and starts on a
keyframe, the index places consecutive segments end to end on the wall clock, the quota deletes the
oldest but spares what a cut holds, and a stream that vanishes is one log line, then recorded again.
"""

from __future__ import annotations

import itertools
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from edge_agent.clips.recordings import RecordingIndex, cut_recorded
from edge_agent.record import LiveRecorder, RecorderConfig
from edge_agent.record.store import SegmentStore
from edge_agent.source.live import LiveSource, SourceConfig
from tests.integration.edge_media.media_tools import box_order
from tests.integration.edge_sources.conftest import Drive
from tests.integration.edge_sources.mjpeg_server import MjpegCamera
from tests.integration.edge_sources.sources_tools import h264_slices, position_in
from tests.integration.edge_sources.ts_server import TsCamera

FAST_RECONNECT = SourceConfig(reconnect_min_s=0.1, reconnect_max_s=0.3)


class Rig:
    """A recorder of ``url`` writing into ``root``, its threads running until ``close``."""

    def __init__(self, url: str, root: Path, config: RecorderConfig) -> None:
        self.config = config
        self.index = RecordingIndex(root / "recordings.json")
        self.folder = root / "recordings"
        self.recorder = LiveRecorder(url, lambda: self.config, FAST_RECONNECT, self.index, self.folder)
        self.stop = threading.Event()
        self.threads = self.recorder.threads(self.stop)
        for thread in self.threads:
            thread.start()

    def wait_segments(self, count: int, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.recorder.store.segments < count:
            assert time.monotonic() < deadline, f"only {self.recorder.store.segments} of {count} segments"
            time.sleep(0.05)

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(10)


@pytest.fixture
def camera(gsensor_drive: Drive) -> Iterator[TsCamera]:
    cam = TsCamera(gsensor_drive.path)
    yield cam
    cam.unplug()


def test_stream_is_recorded_as_its_own_packets_in_rolling_segments(
    camera: TsCamera, gsensor_drive: Drive, tmp_path: Path
) -> None:
    rig = Rig(camera.url, tmp_path, RecorderConfig(segment_s=2.0))
    try:
        rig.wait_segments(3)
    finally:
        rig.close()
    recordings = rig.index.recordings()
    assert len(recordings) >= 3 and all(Path(r.path).parent == rig.folder for r in recordings)
    drive = h264_slices(gsensor_drive.path)
    positions = []
    for recording in recordings[:3]:
        with av.open(recording.path) as container:
            video, audio = container.streams.video[0], container.streams.audio[0]
            assert (video.codec_context.name, video.width, video.height) == ("h264", 320, 180)
            assert audio.codec_context.name == "aac" and audio.codec_context.extradata  # ADTS made MP4 AAC
            first = next(p for p in container.demux(video) if p.size)
            assert first.is_keyframe
        slices = h264_slices(Path(recording.path))
        positions.append(position_in(slices, drive))
        assert positions[-1] >= 0, "a segment's slices are not a run of the drive's own"
        assert box_order(Path(recording.path)).count(b"moov") == 1
    # Whole segments of a 1 s GOP: 2 s each (the first may be the end of a GOP a viewer joins into).
    assert [r.duration_s for r in recordings[1:3]] == [2.0, 2.0]
    assert positions[2] - positions[1] == 60  # back to back: 2 s of 30 fps, nothing lost between them
    for earlier, later in itertools.pairwise(recordings):
        assert later.recorded_at == pytest.approx(earlier.ends_at, abs=0.1)  # one run on the wall clock
    assert abs(recordings[-1].ends_at - time.time()) < 5


def test_loop_recording_deletes_the_oldest_but_not_a_segment_being_cut(
    camera: TsCamera, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent.record")
    rig = Rig(camera.url, tmp_path, RecorderConfig(segment_s=1.0, quota_bytes=120_000))
    try:
        rig.wait_segments(1)
        [first] = rig.index.recordings()
        with rig.index.holding(first.recorded_at + 0.2, first.recorded_at + 0.4) as found:
            assert found is not None and [s.path for s in found.spans] == [first.path]
            rig.wait_segments(6)
            assert Path(first.path).exists()  # held by the cut: spared, however old
            assert "recorder.segment_spared" in caplog.text
        rig.wait_segments(7)  # the next pass, with the hold released
    finally:
        rig.close()
    assert not Path(first.path).exists()
    kept = sorted(rig.folder.glob("*.mp4"))
    sizes = [p.stat().st_size for p in kept]
    assert sum(sizes[:-1]) <= 120_000  # within the quota, but for the newest
    assert [Path(r.path) for r in rig.index.recordings()] == kept  # deleted files left the index too
    deleted = [r.message for r in caplog.records if r.message.startswith("recorder.segment_deleted")]
    assert len(deleted) >= 4 and first.path in "".join(deleted)


def test_stream_that_vanishes_is_one_log_line_then_recorded_again(
    camera: TsCamera, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent.record")
    rig = Rig(camera.url, tmp_path, RecorderConfig(segment_s=1.0))
    try:
        rig.wait_segments(2)
        camera.unplug()
        unplugged_at = time.time()
        time.sleep(3.0)  # several refused reconnects
        store = rig.recorder.store
        assert store.settled(unplugged_at + 0.5)  # nothing can arrive for a moment the stream was down
        camera.plug()
        before = store.segments
        rig.wait_segments(before + 2)
    finally:
        rig.close()
    events = [r.message.split()[0] for r in caplog.records]
    assert events.count("recorder.stream_lost") == 1 and events.count("recorder.reconnected") == 1
    recordings = rig.index.recordings()
    gaps = [b.recorded_at - a.ends_at for a, b in itertools.pairwise(recordings)]
    assert max(gaps) > 1.5  # the outage (less the GOP a camera resends) is a gap on the wall clock
    assert sum(g > 0.5 for g in gaps) == 1


def test_frames_of_an_mjpeg_camera_are_encoded_to_h264_segments(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent.record")
    mjpeg = MjpegCamera(fps=20)
    rig = Rig(mjpeg.url, tmp_path, RecorderConfig(segment_s=1.5))
    try:
        with LiveSource(mjpeg.url, 160, FAST_RECONNECT, on_frame=rig.recorder.offer_frame):
            rig.wait_segments(2)
    finally:
        rig.close()
        mjpeg.unplug()
    assert "recorder.encoding reason=video codec mjpeg is not H.264" in caplog.text
    recording = rig.index.recordings()[1]
    with av.open(recording.path) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.width, video.height) == ("h264", 320, 180)
        frames = [f for f in container.decode(video)]
    assert frames[0].key_frame
    assert 1.4 <= recording.duration_s < 1.5 + 0.2  # rolled at the first frame 1.5 s in
    assert (
        0.8 * 20 * recording.duration_s <= len(frames) <= 20 * recording.duration_s + 1
    )  # about every frame


_RECORD_UNTIL_KILLED = """
import sys, threading
from pathlib import Path
from edge_agent.clips.recordings import RecordingIndex, cut_recorded
from edge_agent.record import LiveRecorder, RecorderConfig
from edge_agent.record.store import SegmentStore
from edge_agent.source.live import SourceConfig
root = Path(sys.argv[2])
recorder = LiveRecorder(sys.argv[1], lambda: RecorderConfig(segment_s=60.0), SourceConfig(),
                        RecordingIndex(root / "recordings.json"), root / "recordings")
for thread in recorder.threads(threading.Event()):
    thread.start()
threading.Event().wait()
"""


def test_segment_open_at_a_kill_9_is_salvaged_at_the_next_start(
    camera: TsCamera, gsensor_drive: Drive, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A power cut mid-segment (the crash is usually in it): its whole fragments are kept, not lost."""
    caplog.set_level(logging.INFO, logger="edge_agent.record")
    folder = tmp_path / "recordings"
    started = time.time()
    writer = subprocess.Popen([sys.executable, "-c", _RECORD_UNTIL_KILLED, camera.url, str(tmp_path)])
    try:
        deadline = time.monotonic() + 30
        while not any(p.stat().st_size > 200_000 for p in folder.glob(".*.part")):  # a few GOPs in
            assert time.monotonic() < deadline and writer.poll() is None, "the recorder wrote no segment"
            time.sleep(0.1)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
    killed_at = time.time()
    assert not list(folder.glob("*.mp4"))  # nothing closed: the 60 s segment was still open

    store = SegmentStore(folder, RecordingIndex(tmp_path / "recordings.json"), 10**9)
    [recording] = store.index.recordings()
    assert "recorder.partial_salvaged" in caplog.text and not list(folder.glob(".*"))
    assert started - 1 <= recording.recorded_at <= killed_at and 1.0 <= recording.duration_s
    assert recording.ends_at <= killed_at + 1.0
    with av.open(recording.path) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert audio.codec_context.extradata  # the AAC decoder config made it into the salvaged index
        frames = sum(1 for _ in container.decode(video))
    assert frames == pytest.approx(30 * recording.duration_s, abs=2)
    assert position_in(h264_slices(Path(recording.path)), h264_slices(gsensor_drive.path)) >= 0
    mid = recording.recorded_at + recording.duration_s / 2  # footage requests and clips cut from it
    found, clip = cut_recorded(store.index, mid - 1.0, mid + 1.0, tmp_path / "clip.mp4")
    assert found.spans[0].path == recording.path and 2.0 <= clip.duration_s <= 3.2  # from the keyframe before
