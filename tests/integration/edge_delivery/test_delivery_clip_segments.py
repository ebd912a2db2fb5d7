"""A clip window across two consecutive segment files: one playable clip remuxed from both, no re-encode."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from edge_agent.clips import cut_clip
from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive
from edge_agent.source.segments import SegmentSpan, segment_spans
from tests.integration.edge_media.media_tools import box_order, decoded_frames

FPS = 30


@pytest.fixture(scope="module")
def segments(tmp_path_factory: pytest.TempPathFactory) -> list[SegmentSpan]:
    folder = tmp_path_factory.mktemp("segments")
    for name, seed in (("20250101_120000.mp4", 41), ("20250101_120006.mp4", 42)):
        spec = SampleDriveSpec(seed=seed, impact_at_s=None, duration_s=6.0, width=320, height=180, fps=FPS)
        write_sample_drive(folder / name, spec)
    return segment_spans(folder)


def _packets(path: str | Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def test_window_across_the_boundary_is_one_clip_of_both_files(
    segments: list[SegmentSpan], tmp_path: Path
) -> None:
    first, second = segments
    assert second.start_s == pytest.approx(6.0, abs=0.05)
    out = tmp_path / "across.mp4"
    clip = cut_clip(segments, 3.4, 9.0, out)

    assert clip.clip_start_s == 3.0  # keyframe before 3.4 s in the first file
    # The end is by decode time: the reference frame decoded before 9 s may be shown after it, and comes
    # along with the B-frames shown before it (up to 3 with x264's default), so the clip ends without a gap.
    assert 6.0 <= clip.duration_s <= 6.0 + 5 / FPS
    # Packets are the originals: the first file's from 3 s on, then the second file's up to ~3 s.
    copied = _packets(out)
    tail = len(copied) - 3 * FPS
    assert 3 * FPS <= tail <= 3 * FPS + 5
    assert copied == _packets(first.path)[3 * FPS :] + _packets(second.path)[:tail]
    frames = decoded_frames(out)
    assert len(frames) == len(copied)
    steps = [b - a for a, b in zip(frames, frames[1:])]
    assert min(steps) > 0 and max(steps) < 1.5 / FPS  # one timeline across the files, no gap
    assert clip.duration_s == pytest.approx(len(frames) / FPS, abs=1e-3)
    assert frames[0] == 0.0 and frames == sorted(frames)
    with av.open(str(out)) as container:
        rate = container.streams.audio[0].codec_context.sample_rate
        audio_s = sum(f.samples for f in container.decode(audio=0)) / rate
    assert audio_s == pytest.approx(clip.duration_s, abs=0.2)
    boxes = box_order(out)
    assert boxes.index(b"moov") < boxes.index(b"mdat")  # faststart: plays while it streams


def test_window_inside_the_second_file_uses_it_alone(segments: list[SegmentSpan], tmp_path: Path) -> None:
    clip = cut_clip(segments, 7.5, 10.0, tmp_path / "second.mp4")
    assert clip.clip_start_s == pytest.approx(7.0, abs=1e-3)  # drive time: 1 s into the second file
    copied = _packets(clip.path)
    assert 3 * FPS <= len(copied) <= 3 * FPS + 5
    assert copied == _packets(segments[1].path)[FPS : FPS + len(copied)]
