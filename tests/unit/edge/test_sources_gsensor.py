"""G-sensor sidecar: CSV parsing, clear rejections, blocks on the video's clock, interleaving by time."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from edge_agent.source.base import AccelBlock, AudioBlock, VideoFrame
from edge_agent.source.gsensor import (
    GSensorError,
    accel_blocks,
    interleave,
    load_sidecar,
    read_gsensor_csv,
    sidecar_for,
)

GOOD = "t,ax,ay,az\n0.00,0.1,0.0,9.8\n0.01,0.2,0.0,9.7\n\n0.02,-30.5,4.0,12.0\n"


def test_sidecar_sits_beside_the_video() -> None:
    assert sidecar_for(Path("/cards/drive_0001.mp4")) == Path("/cards/drive_0001.gsensor.csv")


def test_reads_rows_as_float32(tmp_path: Path) -> None:
    path = tmp_path / "a.gsensor.csv"
    path.write_text(GOOD)
    readings = read_gsensor_csv(path)
    assert readings.dtype == np.float32 and readings.shape == (3, 4)
    assert readings[2].tolist() == pytest.approx([0.02, -30.5, 4.0, 12.0])


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("", "line 1: header"),
        ("time,x,y,z\n0,1,2,3\n", "line 1: header"),
        ("t,ax,ay,az\n0,1,2\n", "line 2: not four finite"),
        ("t,ax,ay,az\n0,1,2,3\n0.1,one,2,3\n", "line 3: not four numbers"),
        ("t,ax,ay,az\n0,1,nan,3\n", "line 2: not four finite"),
        ("t,ax,ay,az\n0.1,1,2,3\n0.1,1,2,3\n", "line 3: time 0.1 does not increase"),
        ("t,ax,ay,az\n0,1,2,3\n0.1,1,2,9000\n", "line 3: acceleration beyond"),
        ("t,ax,ay,az\n", "no readings"),
    ],
)
def test_bad_csv_is_rejected_with_the_line(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "bad.gsensor.csv"
    path.write_text(text)
    with pytest.raises(GSensorError, match=where) as info:
        read_gsensor_csv(path)
    assert str(path) in str(info.value)


def test_bad_sidecar_is_one_log_line_and_no_blocks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    video = tmp_path / "drive.mp4"
    sidecar_for(video).write_text("t,ax,ay,az\n0,1,2,oops\n")
    with caplog.at_level(logging.WARNING):
        assert load_sidecar(video) == []
    assert [r.message.split()[0] for r in caplog.records] == ["source.gsensor_rejected"]
    assert "line 2" in caplog.records[0].message


def test_missing_sidecar_is_silent_but_a_missing_explicit_one_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert load_sidecar(tmp_path / "drive.mp4") == []
        assert caplog.records == []
        assert load_sidecar(tmp_path / "drive.mp4", explicit=tmp_path / "other.csv") == []
    assert "cannot read" in caplog.records[0].message


def test_blocks_cover_every_reading_in_order_and_shift_by_the_offset() -> None:
    t = np.arange(0, 1.0, 0.01)
    readings = np.c_[t, np.zeros((len(t), 2)), np.full(len(t), 9.81)].astype(np.float32)
    blocks = accel_blocks(readings, offset_s=5.0, block_s=0.1)
    assert len(blocks) == 10
    joined = np.concatenate([b.samples for b in blocks])
    assert np.allclose(joined[:, 0], t + 5.0, atol=1e-4)
    assert all(b.t == pytest.approx(b.samples[0, 0]) for b in blocks)
    assert readings[0, 0] == 0.0  # the caller's array is not shifted in place


def test_interleave_puts_each_block_before_the_first_later_item() -> None:
    gray = np.zeros((2, 2), np.uint8)
    items = [VideoFrame(t=i * 0.1, index=i, gray=gray) for i in range(5)]
    items.insert(2, AudioBlock(t=0.15, samples=np.zeros(4, np.float32), rate=40))
    blocks = [AccelBlock(t=t, samples=np.array([[t, 0, 0, 9.8]], np.float32)) for t in (0.05, 0.2, 0.9)]
    merged = list(interleave(items, blocks))
    assert len(merged) == len(items) + len(blocks)
    assert [round(i.t, 2) for i in merged] == [0.0, 0.05, 0.1, 0.15, 0.2, 0.2, 0.3, 0.4, 0.9]
    assert isinstance(merged[4], AccelBlock)  # a block at the same time as a frame goes first
