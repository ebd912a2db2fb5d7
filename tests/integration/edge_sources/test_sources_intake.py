"""Bad input at the intake: a recording cut short by power loss keeps the incidents it holds, a file that
cannot be read is one log line and touches nothing in the outbox, a segment folder yields its clip; the
camera state and frame counters follow what was decoded."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge_agent.clips import DeviceKey
from edge_agent.health import AgentStats, CameraMonitor, HealthMonitor
from edge_agent.intake import FileIntake
from edge_agent.outbox import Outbox, ProcessedSources, source_key
from edge_agent.settings import AgentConfig
from shared_models import CameraState
from tests.integration.edge_sources.conftest import Drive
from tests.integration.edge_sources.sources_tools import write_still_video


class Rig:
    """An intake over a real outbox in ``root`` (no broker: nothing is delivered)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.outbox = Outbox(root / "outbox")
        self.stats = AgentStats()
        self.camera = CameraMonitor()
        self.intake = FileIntake(
            "dev-1",
            AgentConfig(),
            DeviceKey.load_or_create(root),
            self.outbox,
            ProcessedSources(root / "processed.json"),
            self.stats,
            root / "work",
            camera=self.camera,
        )

    def outbox_files(self) -> dict[str, bytes]:
        files = sorted((self.root / "outbox").rglob("*"))
        return {str(p.relative_to(self.root)): p.read_bytes() for p in files if p.is_file()}


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path / "edge")


def _events(caplog: pytest.LogCaptureFixture, prefix: str) -> list[str]:
    return [r.message for r in caplog.records if r.message.startswith(prefix)]


def test_drive_is_counted_and_the_camera_is_ok(rig: Rig, gsensor_drive: Drive) -> None:
    assert rig.intake.ingest(gsensor_drive.path)
    assert rig.stats.frames == 420 and rig.stats.dropped_frames == 0
    assert rig.camera.state is CameraState.OK


def test_frozen_recording_reports_a_frozen_camera(rig: Rig, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    still = rng.integers(0, 255, (180, 320, 3), dtype=np.uint8)
    video = write_still_video(tmp_path / "stuck.mp4", still, seconds=8)
    rig.intake.ingest(video)
    assert rig.camera.state is CameraState.FROZEN
    heartbeat = HealthMonitor("dev-1", rig.root, rig.outbox, rig.stats, camera=rig.camera).snapshot()
    assert heartbeat.camera_state is CameraState.FROZEN and heartbeat.fps > 0


def test_unreadable_file_is_one_log_line_and_the_outbox_is_untouched(
    rig: Rig, gsensor_drive: Drive, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert rig.intake.ingest(gsensor_drive.path)
    before = rig.outbox_files()
    assert rig.outbox.depth() >= 1 and before
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(gsensor_drive.path.read_bytes()[:3000])  # header only: the card was pulled
    with caplog.at_level(logging.INFO):
        assert rig.intake.ingest(bad) is False
    failures = _events(caplog, "intake.failed")
    assert len(failures) == 1 and str(bad) in failures[0]
    assert rig.outbox_files() == before


def test_recording_cut_short_keeps_the_incident_it_holds(
    rig: Rig, gsensor_drive: Drive, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    damaged = tmp_path / "power_loss.mp4"
    data = gsensor_drive.path.read_bytes()
    damaged.write_bytes(data[: int(len(data) * 0.88)])  # moov is in front: the media just stops
    with caplog.at_level(logging.INFO):
        rig.intake.ingest(damaged)
    assert len(_events(caplog, "intake.source_damaged")) == 1
    assert 300 < rig.stats.frames < 420
    peaks = [e.manifest.peak_s for e in rig.outbox.pending()]
    assert any(abs(p - gsensor_drive.truth.impact_at_s) < 1.0 for p in peaks)


def test_segment_folder_gives_one_clip_across_the_boundary(
    rig: Rig, segment_folder: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "card"
    shutil.copytree(segment_folder, folder)
    assert rig.intake.ingest(folder)
    entries = rig.outbox.pending()
    assert len(entries) == 1
    manifest = entries[0].manifest
    assert abs(manifest.peak_s - 9.0) < 1.0
    clip_end = manifest.clip_start_s + manifest.clip_duration_s
    assert manifest.clip_start_s < 9.0 < clip_end  # the clip spans the boundary between two files



_FULL_DISK_RUN = """
import resource, signal, sys
from pathlib import Path
from edge_agent.clips import DeviceKey
from edge_agent.health import AgentStats
from edge_agent.intake import FileIntake
from edge_agent.outbox import Outbox, ProcessedSources
from edge_agent.settings import AgentConfig
import logging
logging.basicConfig(level=logging.INFO, format="%(message)s")
root, drive = Path(sys.argv[1]), Path(sys.argv[2])
outbox = Outbox(root / "outbox")
intake = FileIntake(
    "dev-1", AgentConfig(), DeviceKey.load_or_create(root), outbox,
    ProcessedSources(root / "processed.json"), AgentStats(), root / "work",
)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))  # no file may grow past 20 kB: the disk is full
print("ingest", intake.ingest(drive), "depth", outbox.depth())
"""


def test_full_disk_while_cutting_is_one_log_line_and_loses_nothing(
    rig: Rig, gsensor_drive: Drive, tmp_path: Path
) -> None:
    assert rig.intake.ingest(gsensor_drive.path)
    before = rig.outbox_files()
    second = tmp_path / "next_drive.mp4"  # another recording with an incident, mined on a full disk
    shutil.copy(gsensor_drive.path, second)
    run = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_RUN, str(rig.root), str(second)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=Path(__file__).resolve().parents[3],
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().endswith("ingest False depth 1")
    failures = [line for line in run.stderr.splitlines() if line.startswith("intake.clip_failed")]
    assert len(failures) == 1 and "File too large" in failures[0]
    assert rig.outbox_files() == before
    assert not ProcessedSources(rig.root / "processed.json").is_done(source_key(second))  # retried next start
