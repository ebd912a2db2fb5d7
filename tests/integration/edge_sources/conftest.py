"""Generated drives with G-sensor sidecars, and the same drive split into dashcam segment files."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.sample.drive import SampleDriveSpec, SampleDriveTruth, write_sample_drive
from tests.integration.edge_sources.sources_tools import split_segments

SMALL = {"width": 320, "height": 180, "fps": 30}
SEGMENT_CUTS_S = [5.0, 9.0]  # the impact at 9.0 s sits on the second boundary


class Drive:
    def __init__(self, path: Path, truth: SampleDriveTruth) -> None:
        self.path = path
        self.truth = truth


@pytest.fixture(scope="session")
def sources_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("edge_sources")


@pytest.fixture(scope="session")
def gsensor_drive(sources_dir: Path) -> Drive:
    """14 s, impact at 9 s, with ``impact.gsensor.csv`` beside it."""
    path = sources_dir / "impact.mp4"
    spec = SampleDriveSpec(seed=11, impact_at_s=9.0, duration_s=14.0, gsensor=True, **SMALL)
    return Drive(path, write_sample_drive(path, spec))


@pytest.fixture(scope="session")
def quiet_drive(sources_dir: Path) -> Drive:
    path = sources_dir / "quiet.mp4"
    spec = SampleDriveSpec(seed=21, impact_at_s=None, duration_s=14.0, gsensor=True, **SMALL)
    return Drive(path, write_sample_drive(path, spec))


@pytest.fixture(scope="session")
def segment_folder(gsensor_drive: Drive, sources_dir: Path) -> Path:
    """The impact drive as three files: 0-5 s, 5-9 s, 9-14 s (no sidecars)."""
    folder = sources_dir / "segments"
    split_segments(gsensor_drive.path, SEGMENT_CUTS_S, folder)
    return folder
