"""The G-sensor sidecar of a generated drive: a crash pulse at the impact only, read beside the video
and slotted into the decoded stream in time order; a broken sidecar leaves the video running alone."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge_agent.source import AccelBlock, VideoFrame, open_source
from edge_agent.source.gsensor import read_gsensor_csv, sidecar_for
from tests.integration.edge_sources.conftest import Drive

G = 9.81


def _horizontal(readings: np.ndarray) -> np.ndarray:
    return np.hypot(readings[:, 1], readings[:, 2])


def test_sample_sidecar_has_a_crash_pulse_at_the_impact(gsensor_drive: Drive) -> None:
    readings = read_gsensor_csv(sidecar_for(gsensor_drive.path))
    impact = gsensor_drive.truth.impact_at_s
    assert readings[0, 0] == 0.0 and readings[-1, 0] == pytest.approx(14.0, abs=0.02)
    assert np.median(readings[:, 3]) == pytest.approx(G, abs=0.3)  # gravity on z
    peak = readings[np.argmax(_horizontal(readings))]
    assert impact <= peak[0] <= impact + 0.12
    assert peak[1] < -2 * G  # a hard deceleration: forward axis, negative, beyond 2 g
    elsewhere = readings[(readings[:, 0] < impact - 1.0)]
    assert _horizontal(elsewhere).max() < 0.6 * G


def test_quiet_drive_sidecar_stays_below_half_a_g(quiet_drive: Drive) -> None:
    readings = read_gsensor_csv(sidecar_for(quiet_drive.path))
    assert _horizontal(readings).max() < 0.6 * G
    assert np.abs(readings[:, 3] - G).max() < 0.6 * G  # bumps and vibration, no crash


def test_file_source_slots_the_sidecar_in_by_time(gsensor_drive: Drive) -> None:
    readings = read_gsensor_csv(sidecar_for(gsensor_drive.path))
    with open_source(gsensor_drive.path, analysis_width=160) as source:
        items = [i for i in source if isinstance(i, (VideoFrame, AccelBlock))]
    accel = [i for i in items if isinstance(i, AccelBlock)]
    assert sum(len(b.samples) for b in accel) == len(readings)
    assert sum(isinstance(i, VideoFrame) for i in items) == 420
    assert [b.t for b in accel] == sorted(b.t for b in accel)
    newest_frame = -1.0
    for item in items:  # no block waits behind a frame later than itself
        if isinstance(item, VideoFrame):
            newest_frame = item.t
        else:
            assert newest_frame <= item.t


def test_explicit_sidecar_path_is_used(gsensor_drive: Drive, tmp_path: Path) -> None:
    video = tmp_path / "drive.mp4"
    shutil.copy(gsensor_drive.path, video)
    other = shutil.copy(sidecar_for(gsensor_drive.path), tmp_path / "imu_log.csv")
    with open_source(video, gsensor=Path(other)) as source:
        assert any(isinstance(i, AccelBlock) for i in source)


def test_broken_sidecar_leaves_the_video_running(
    gsensor_drive: Drive, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    video = tmp_path / "drive.mp4"
    shutil.copy(gsensor_drive.path, video)
    sidecar_for(video).write_text("t,ax,ay,az\n0.0,0.1,0.0,9.8\n0.0,0.1,0.0,9.8\n")
    with caplog.at_level(logging.WARNING), open_source(video, analysis_width=160) as source:
        items = list(source)
    assert sum(isinstance(i, VideoFrame) for i in items) == 420
    assert not any(isinstance(i, AccelBlock) for i in items)
    assert [r.message.split()[0] for r in caplog.records] == ["source.gsensor_rejected"]
