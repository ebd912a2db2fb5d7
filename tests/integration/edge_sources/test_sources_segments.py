"""A folder of segment files read as one drive: continuous times and indices, spans for the clip cutter,
the incident on a boundary still found, and broken or silent segments handled without losing the drive."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge_agent.mining import mine_file
from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive
from edge_agent.settings import AgentConfig
from edge_agent.source import (
    AccelBlock,
    AudioBlock,
    SegmentFolderSource,
    SourceError,
    VideoFrame,
    open_source,
    segment_spans,
    spans_covering,
)
from edge_agent.source.gsensor import sidecar_for
from tests.integration.edge_media.media_tools import strip_audio
from tests.integration.edge_sources.conftest import Drive


def _items(source_path: Path) -> tuple[list[VideoFrame], list[AudioBlock], list[AccelBlock]]:
    frames, audio, accel = [], [], []
    with open_source(source_path, analysis_width=160) as source:
        for item in source:
            {VideoFrame: frames, AudioBlock: audio, AccelBlock: accel}[type(item)].append(item)
    return frames, audio, accel


def _copy_segments(folder: Path, dest: Path) -> list[Path]:
    shutil.copytree(folder, dest)
    return sorted(dest.glob("*.mp4"))


def test_spans_say_which_file_covers_which_time(segment_folder: Path) -> None:
    spans = segment_spans(segment_folder)
    assert [Path(s.path).name for s in spans] == ["seg_000.mp4", "seg_001.mp4", "seg_002.mp4"]
    assert [v for s in spans for v in (s.start_s, s.end_s)] == pytest.approx([0, 5, 5, 9, 9, 14], abs=0.03)
    assert [Path(s.path).name for s in spans_covering(spans, 4.0, 9.5)] == [
        "seg_000.mp4",
        "seg_001.mp4",
        "seg_002.mp4",
    ]
    assert [Path(s.path).name for s in spans_covering(spans, 5.5, 8.0)] == ["seg_001.mp4"]


def test_times_and_indices_continue_across_files(segment_folder: Path, gsensor_drive: Drive) -> None:
    frames, audio, _ = _items(segment_folder)
    whole, whole_audio, _ = _items(gsensor_drive.path)
    assert len(frames) == len(whole) == 420
    assert [f.index for f in frames] == list(range(420))
    assert np.allclose([f.t for f in frames], [f.t for f in whole], atol=1e-3)
    assert np.array_equal(frames[300].gray, whole[300].gray)  # same pictures, not just same count
    ends = [b.t + len(b.samples) / b.rate for b in audio]
    assert sum(len(b.samples) for b in audio) / audio[0].rate == pytest.approx(14.0, abs=0.1)
    assert np.diff([b.t for b in audio]).min() > 0 and ends[-1] == pytest.approx(14.0, abs=0.05)


def test_incident_on_a_boundary_is_found_like_in_the_whole_file(
    segment_folder: Path, gsensor_drive: Drive
) -> None:
    config = AgentConfig()
    from_folder = mine_file(segment_folder, config)
    from_file = mine_file(gsensor_drive.path, config)
    assert from_folder.frames == from_file.frames
    assert from_folder.duration_s == pytest.approx(from_file.duration_s, abs=0.05)
    # The frames are identical; the sound is not quite: each file's AAC stream restarts at its boundary, and
    # the boundary here is the impact itself. One timeline bin (0.1 s) of difference in the peak is allowed.
    assert len(from_folder.incidents) == len(from_file.incidents)
    for a, b in zip(from_folder.incidents, from_file.incidents, strict=True):
        assert abs(a.peak_s - b.peak_s) <= 0.1 + 1e-6
    assert any(abs(i.peak_s - 9.0) < 1.0 for i in from_folder.incidents)


def test_unreadable_segment_is_skipped_with_one_log_line(
    segment_folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    paths = _copy_segments(segment_folder, tmp_path / "drive")
    paths[1].write_bytes(b"\x00" * 5000)  # a segment the card lost: no header at all
    with caplog.at_level(logging.ERROR, logger="edge_agent.source.segments"):
        spans = segment_spans(tmp_path / "drive")
        frames, _, _ = _items(tmp_path / "drive")
    assert [Path(s.path).name for s in spans] == ["seg_000.mp4", "seg_002.mp4"]
    assert len(frames) == 150 + 150 and frames[150].t == pytest.approx(5.0, abs=0.01)
    unreadable = [r.message for r in caplog.records if r.message.startswith("source.segment_unreadable")]
    assert len(unreadable) == 2 and all("seg_001" in m for m in unreadable)  # listed once, read once


def test_segment_that_breaks_midway_keeps_later_segments_at_their_time(
    segment_folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    paths = _copy_segments(segment_folder, tmp_path / "drive")
    data = bytearray(paths[1].read_bytes())
    rng = np.random.default_rng(0)
    for pos in rng.integers(len(data) // 8, len(data) // 2, 600):
        data[pos] ^= 0xFF  # the index (moov, at the end of a dashcam file) intact, the media damaged
    paths[1].write_bytes(bytes(data))
    with caplog.at_level(logging.ERROR, logger="edge_agent.source.segments"):
        source = SegmentFolderSource(tmp_path / "drive", 160)
        frames = [i for i in source if isinstance(i, VideoFrame)]
    assert source.failed == [str(paths[1])]
    assert [r.message.split()[0] for r in caplog.records] == ["source.segment_failed"]
    last = [f for f in frames if f.t >= 9.0 - 1e-6]
    assert len(last) == 150 and last[0].t == pytest.approx(9.0, abs=0.01)


def test_segment_without_sound_is_filled_with_silence(segment_folder: Path, tmp_path: Path) -> None:
    paths = _copy_segments(segment_folder, tmp_path / "drive")
    strip_audio(paths[1], tmp_path / "silent.mp4")
    shutil.move(tmp_path / "silent.mp4", paths[1])
    _, audio, _ = _items(tmp_path / "drive")
    middle = [b for b in audio if 5.05 <= b.t < 8.9]
    assert middle and all(not b.samples.any() for b in middle)
    assert sum(len(b.samples) for b in audio) / 48000 == pytest.approx(14.0, abs=0.1)
    starts = [b.t for b in audio]
    assert starts == sorted(starts)
    assert any(np.abs(b.samples).max() > 0.05 for b in audio if 9.0 <= b.t < 9.5)  # the crash still heard


def test_each_segment_reads_its_own_sidecar_on_the_drive_clock(
    segment_folder: Path, gsensor_drive: Drive, tmp_path: Path
) -> None:
    paths = _copy_segments(segment_folder, tmp_path / "drive")
    readings = np.loadtxt(sidecar_for(gsensor_drive.path), delimiter=",", skiprows=1)
    for path, (lo, hi) in zip(paths, [(0, 5), (5, 9), (9, 14)], strict=True):
        part = readings[(readings[:, 0] >= lo) & (readings[:, 0] < hi)].copy()
        part[:, 0] -= lo  # a dashcam's sidecar counts from its own segment's start
        np.savetxt(sidecar_for(path), part, fmt="%.4f", delimiter=",", header="t,ax,ay,az", comments="")
    _, _, accel = _items(tmp_path / "drive")
    t = np.concatenate([b.samples[:, 0] for b in accel])
    assert len(t) == len(readings) and np.allclose(t, readings[:, 0], atol=1e-3)
    joined = np.concatenate([b.samples for b in accel])
    strongest = joined[np.argmax(np.abs(joined[:, 1]))]
    assert strongest[0] == pytest.approx(9.05, abs=0.1)  # the crash pulse: third file, drive time 9 s


def test_folder_without_segments_is_a_source_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no video here")
    with pytest.raises(SourceError, match="no readable segment files"):
        open_source(tmp_path)


def test_segment_of_another_size_is_left_out_with_one_log_line(
    segment_folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _copy_segments(segment_folder, tmp_path / "drive")
    other = SampleDriveSpec(seed=5, impact_at_s=None, duration_s=2.0, width=640, height=480, fps=30)
    write_sample_drive(tmp_path / "drive" / "seg_001b.mp4", other)  # another camera's file, 4:3
    with caplog.at_level(logging.ERROR, logger="edge_agent.source.segments"):
        spans = SegmentFolderSource(tmp_path / "drive", 160).spans
    assert [Path(s.path).name for s in spans] == ["seg_000.mp4", "seg_001.mp4", "seg_002.mp4"]
    mismatches = [r.message for r in caplog.records if r.message.startswith("source.segment_mismatch")]
    assert len(mismatches) == 1 and "seg_001b.mp4" in mismatches[0] and "analysis size" in mismatches[0]
