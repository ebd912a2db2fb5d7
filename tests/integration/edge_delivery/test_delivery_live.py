"""The real agent (``edge-agent run --source tcp://...``) on a live H.264 camera, against a real Mosquitto.

The camera is a local server streaming a generated impact drive as MPEG-TS in real time. The agent mines
the stream through OpenCV and records it through PyAV; the test checks what the scripted cloud received:
a clip of the impact cut from the loop recording, made of the stream's own slices (no re-encode), that
plays in a browser; after the camera vanished and came back, footage requested by wall clock, cut from
the recording, with the agent still running.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import av
import msgspec
import pytest
from delivery_support import CloudCommands, ScriptedCloud, agent_run_args, cloud_for_agent, wait_until

from deploy.localstack import MosquittoBroker
from edge_agent.clips.recordings import Recording
from edge_agent.sample.drive import SampleDriveSpec, SampleDriveTruth, write_sample_drive
from shared_models import FootageRequest
from tests.integration.edge_media.media_tools import box_order
from tests.integration.edge_sources.sources_tools import h264_slices, position_in
from tests.integration.edge_sources.ts_server import TsCamera

DEVICE_ID = "dev-live-1"
FPS = 30
CONFIG = """
[fusion]
cooldown_s = 2.0
[clip]
pre_roll_s = 3.0
post_roll_s = 6.0
[source]
reconnect_min_s = 0.2
reconnect_max_s = 0.5
[recorder]
segment_s = 2.0
"""
# Footage only (no incident clips), in 1 s segments.
QUIET = CONFIG.replace("cooldown_s = 2.0", "max_incidents_per_hour = 0").replace(
    "segment_s = 2.0", "segment_s = 1.0"
)


class Drive(msgspec.Struct):
    path: Path
    truth: SampleDriveTruth


@pytest.fixture(scope="module")
def drive(tmp_path_factory: pytest.TempPathFactory) -> Drive:
    path = tmp_path_factory.mktemp("live") / "impact.mp4"
    spec = SampleDriveSpec(seed=11, impact_at_s=9.0, duration_s=18.0, width=320, height=180, fps=FPS)
    return Drive(path, write_sample_drive(path, spec))


@pytest.fixture
def camera(drive: Drive) -> Iterator[TsCamera]:
    cam = TsCamera(drive.path)
    yield cam
    cam.unplug()


@pytest.fixture
def cloud(broker: MosquittoBroker, data_dir: Path) -> Iterator[ScriptedCloud]:
    with cloud_for_agent(broker.url, data_dir, DEVICE_ID) as scripted:
        yield scripted


class Agent:
    """``edge-agent run`` as a process, its log in a file."""

    def __init__(self, url: str, data_dir: Path, broker: MosquittoBroker, config: str) -> None:
        path = data_dir.parent / "agent.toml"
        path.write_text(config)
        self.log_path = data_dir.parent / "agent.log"
        args = [*agent_run_args(url, DEVICE_ID, broker.url, data_dir), "--config", str(path)]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "edge_agent.cli", *args], stderr=log)
        self.data_dir = data_dir

    def events(self, name: str) -> list[str]:
        return [line for line in self.log_path.read_text().splitlines() if f" {name} " in line]

    def recordings(self) -> list[Recording]:
        index = self.data_dir / "recordings.json"
        return msgspec.json.decode(index.read_bytes(), type=list[Recording]) if index.exists() else []

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Live(msgspec.Struct):
    """What each test here uses: the drive a camera streams, the broker and scripted cloud, the agents."""

    drive: Drive
    camera: TsCamera
    data_dir: Path
    broker: MosquittoBroker
    cloud: ScriptedCloud
    tmp_path: Path
    agents: list[Agent]

    def start(self, config: str) -> Agent:
        agent = Agent(self.camera.url, self.data_dir, self.broker, config)
        self.agents.append(agent)
        return agent


@pytest.fixture
def live(
    drive: Drive,
    camera: TsCamera,
    data_dir: Path,
    broker: MosquittoBroker,
    cloud: ScriptedCloud,
    tmp_path: Path,
) -> Iterator[Live]:
    rig = Live(drive, camera, data_dir, broker, cloud, tmp_path, [])
    yield rig
    for agent in rig.agents:
        agent.stop()


def _check_playable(data: bytes, tmp_path: Path) -> tuple[Path, int]:
    """Write the clip; it is browser-ready H.264 MP4 that decodes whole. Returns it and its frame count."""
    path = tmp_path / f"{uuid.uuid4().hex}.mp4"
    path.write_bytes(data)
    boxes = box_order(path)
    assert boxes.index(b"moov") < boxes.index(b"mdat")  # faststart: plays while it streams
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.width, video.height) == ("h264", 320, 180)
        frames = sum(1 for _ in container.decode(video))
    return path, frames


def test_live_incident_is_cut_from_the_loop_recording_and_delivered(live: Live) -> None:
    agent = live.start(CONFIG)
    wait_until(lambda: bool(live.cloud.completed), timeout_s=90, what="the live incident's clip at the cloud")
    assert agent.proc.poll() is None
    [(incident_id, data)] = live.cloud.completed.items()
    manifest = live.cloud.manifests[incident_id]
    assert manifest.reason == "incident" and manifest.clip_start_s == 0.0

    path, frames = _check_playable(data, live.tmp_path)
    slices = h264_slices(path)
    assert frames == len(slices)
    start = position_in(slices, h264_slices(live.drive.path))
    assert start >= 0, "the clip's slices are not a run of the stream's own: it was re-encoded"
    first_s, last_s = start / FPS, (start + len(slices)) / FPS  # the drive's time the clip covers
    impact = live.drive.truth.impact_at_s
    assert impact is not None
    # The window [peak - 3 s, peak + 6 s], from the keyframe before: the impact inside, with its lead-up.
    assert first_s + 2.0 <= impact <= last_s - 5.5
    # The capture clock was mapped onto the recording: the peak lands on the impact in the clip.
    assert first_s + manifest.peak_s == pytest.approx(impact, abs=0.6)
    assert manifest.clip_duration_s == pytest.approx(len(slices) / FPS, abs=0.05)
    assert {t.miner for t in manifest.timelines} == {"audio", "motion", "proximity"}
    assert all(abs(len(t.scores) - manifest.clip_duration_s * 10) <= 1 for t in manifest.timelines)
    assert abs(manifest.recorded_at + manifest.clip_duration_s - time.time()) < 30
    # Reported after a 2 s cooldown, seconds before its 6 s post-roll was over (the incident's own length
    # plus the cooldown stays well under it): the clip waited for the recording, and came out whole.
    [queued] = agent.events("live.clip_queued")
    assert float(queued.split("waited_s=")[1].split()[0]) > 0.5
    assert not agent.events("live.clip_partial") and not agent.events("live.clip_waited")
    assert len(agent.recordings()) >= 4  # the loop recording the clip came from, indexed


def test_footage_request_is_answered_from_the_live_recording_after_the_stream_came_back(live: Live) -> None:
    agent = live.start(QUIET)
    commands = CloudCommands(live.broker.url, DEVICE_ID)
    try:
        wait_until(lambda: len(agent.recordings()) >= 2, timeout_s=60, what="recording under way")
        live.camera.unplug()
        time.sleep(3.0)
        live.camera.plug()
        back_at = time.time()
        wait_until(
            lambda: sum(r.recorded_at > back_at - 1.5 for r in agent.recordings()) >= 2,
            timeout_s=60,
            what="recording again after the stream came back",
        )
        assert agent.proc.poll() is None  # the agent survived the stream vanishing
        after = [r for r in agent.recordings() if r.recorded_at > back_at - 1.5]
        start_at, end_at = after[0].recorded_at + 0.5, after[1].ends_at - 0.2  # across two segments
        request = FootageRequest(
            command_id=uuid.uuid4().hex[:12], issued_at=time.time(), start_at=start_at, end_at=end_at
        )
        result = commands.send(request)
    finally:
        commands.close()
    assert result.ok and "partial" not in result.detail, result.detail
    incident_id = result.detail.split("incident=")[1].split()[0]
    wait_until(lambda: incident_id in live.cloud.completed, timeout_s=60, what="the footage at the cloud")
    manifest = live.cloud.manifests[incident_id]
    assert manifest.reason == "footage_request"
    clip_at = manifest.recorded_at + manifest.clip_start_s
    assert start_at - 1.05 <= clip_at <= start_at  # from the keyframe before the asked start
    path, frames = _check_playable(live.cloud.completed[incident_id], live.tmp_path)
    slices = h264_slices(path)
    assert frames == len(slices) and position_in(slices, h264_slices(live.drive.path)) >= 0
    assert len(slices) >= (end_at - start_at) * FPS - 2
    for event in ("recorder.stream_lost", "recorder.reconnected", "source.camera_lost"):
        assert len(agent.events(event)) == 1, event


def test_live_incident_found_before_a_kill_9_is_cut_after_the_restart(live: Live) -> None:
    """A crash often cuts the power while the incident's clip still waits for its segment to close: the
    incident is on disk, the open segment is salvaged, and the next start cuts and delivers the clip."""
    slow = CONFIG.replace("segment_s = 2.0", "segment_s = 60.0")  # the clip waits for a 60 s segment
    first = live.start(slow)
    pending = live.data_dir / "live_pending"
    wait_until(lambda: any(pending.glob("*.json")), timeout_s=60, what="the live incident kept on disk")
    [entry] = pending.glob("*.json")
    time.sleep(3.0)  # the post-roll recorded into the open segment, not yet closed
    first.proc.kill()
    first.proc.wait()
    assert not live.cloud.completed and not first.events("live.clip_queued")

    second = live.start(slow.replace("cooldown_s = 2.0", "max_incidents_per_hour = 0"))
    incident_id = entry.stem
    wait_until(
        lambda: incident_id in live.cloud.completed, timeout_s=60, what="the resumed clip at the cloud"
    )
    assert (
        len(second.events("live.clip_resumed")) == 1 and len(second.events("recorder.partial_salvaged")) == 1
    )
    assert list(live.cloud.completed) == [incident_id] and not list(pending.glob("*.json"))
    path, frames = _check_playable(live.cloud.completed[incident_id], live.tmp_path)
    slices = h264_slices(path)
    start = position_in(slices, h264_slices(live.drive.path))
    assert frames == len(slices) and start >= 0  # the stream's own slices, from the salvaged segment
    first_s, last_s = start / FPS, (start + len(slices)) / FPS
    impact = live.drive.truth.impact_at_s
    assert impact is not None and first_s + 2.0 <= impact <= last_s - 2.0
    manifest = live.cloud.manifests[incident_id]
    assert first_s + manifest.peak_s == pytest.approx(impact, abs=0.6)  # the first run's clock, kept
    assert all(max(t.scores) > 0 for t in manifest.timelines if t.miner == "motion")  # its scores, kept
