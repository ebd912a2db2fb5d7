"""Generated sample drives, made once per test session at a small size to keep the suite fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.sample.drive import SampleDriveSpec, SampleDriveTruth, write_sample_drive
from tests.integration.edge_media.media_tools import splice, strip_audio

SMALL = {"width": 320, "height": 180, "fps": 30}


class Drive:
    def __init__(self, path: Path, truth: SampleDriveTruth) -> None:
        self.path = path
        self.truth = truth


def _write(folder: Path, name: str, spec: SampleDriveSpec) -> Drive:
    path = folder / f"{name}.mp4"
    return Drive(path, write_sample_drive(path, spec))


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("edge_media")


@pytest.fixture(scope="session")
def impact_drive(media_dir: Path) -> Drive:
    return _write(media_dir, "impact", SampleDriveSpec(seed=11, impact_at_s=9.0, duration_s=14.0, **SMALL))


@pytest.fixture(scope="session", params=[21, 22, 23])
def normal_drive(request: pytest.FixtureRequest, media_dir: Path) -> Drive:
    spec = SampleDriveSpec(seed=request.param, impact_at_s=None, duration_s=14.0, **SMALL)
    return _write(media_dir, f"normal{request.param}", spec)


@pytest.fixture(scope="session")
def silent_impact_drive(impact_drive: Drive, media_dir: Path) -> Drive:
    """The impact drive with its audio track removed."""
    return Drive(strip_audio(impact_drive.path, media_dir / "impact_no_audio.mp4"), impact_drive.truth)


@pytest.fixture(scope="session")
def cut_drive(media_dir: Path) -> Path:
    """Two normal drives of different seeds joined by one hard scene cut at 6 s."""
    a = _write(media_dir, "cut_a", SampleDriveSpec(seed=31, impact_at_s=None, duration_s=10.0, **SMALL))
    b = _write(media_dir, "cut_b", SampleDriveSpec(seed=32, impact_at_s=None, duration_s=10.0, **SMALL))
    return splice(a.path, b.path, 6.0, media_dir / "cut.mp4")
