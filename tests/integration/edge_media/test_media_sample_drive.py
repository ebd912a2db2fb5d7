"""The generated sample drive is a real H.264 + AAC MP4 with the promised structure and ground truth."""

from __future__ import annotations

from pathlib import Path

import av
import msgspec
import numpy as np
import pytest

from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive
from tests.integration.edge_media.conftest import Drive
from tests.integration.edge_media.media_tools import box_order, video_packets


def test_streams_codecs_and_faststart(impact_drive: Drive) -> None:
    with av.open(str(impact_drive.path)) as c:
        video, audio = c.streams.video[0], c.streams.audio[0]
        assert video.codec_context.name == "h264" and video.codec_context.pix_fmt == "yuv420p"
        assert (video.codec_context.width, video.codec_context.height) == (320, 180)
        assert float(video.average_rate) == 30.0
        assert video.frames == 14 * 30
        assert audio.codec_context.name == "aac" and audio.codec_context.sample_rate in (44100, 48000)
        assert audio.codec_context.channels in (1, 2)
    boxes = box_order(impact_drive.path)
    assert boxes.index(b"moov") < boxes.index(b"mdat")


def test_one_keyframe_per_second(impact_drive: Drive) -> None:
    keyframes = sorted(t for t, key in video_packets(impact_drive.path) if key)
    assert keyframes == pytest.approx([float(s) for s in range(14)], abs=1e-6)


def test_truth_json(impact_drive: Drive) -> None:
    truth = msgspec.json.decode(impact_drive.truth.to_json())
    assert truth == {
        "impact_at_s": 9.0,
        "duration_s": 14.0,
        "width": 320,
        "height": 180,
        "fps": 30,
        "seed": 11,
    }


def _frame_at(path: Path, index: int) -> np.ndarray:
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i == index:
                return frame.to_ndarray(format="gray")
    raise AssertionError("frame missing")


def test_same_seed_same_drive_other_seed_differs(tmp_path: Path) -> None:
    spec = SampleDriveSpec(seed=5, impact_at_s=4.0, duration_s=5.0, width=160, height=90)
    a, b = write_sample_drive(tmp_path / "a.mp4", spec), write_sample_drive(tmp_path / "b.mp4", spec)
    assert a == b
    other = write_sample_drive(tmp_path / "c.mp4", msgspec.structs.replace(spec, seed=6))
    assert other.seed == 6
    frame_a, frame_b = _frame_at(tmp_path / "a.mp4", 60), _frame_at(tmp_path / "b.mp4", 60)
    assert np.array_equal(frame_a, frame_b)
    assert not np.array_equal(frame_a, _frame_at(tmp_path / "c.mp4", 60))


def test_impact_must_leave_room_for_approach(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="impact_at_s"):
        write_sample_drive(
            tmp_path / "x.mp4", SampleDriveSpec(impact_at_s=1.0, duration_s=5.0, width=160, height=90)
        )
    with pytest.raises(ValueError, match="multiple of 2"):
        write_sample_drive(tmp_path / "x.mp4", SampleDriveSpec(width=161, height=90))
