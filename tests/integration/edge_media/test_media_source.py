"""Decoding recordings: timestamps, analysis size, audio blocks; missing audio; bad files get SourceError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_agent.source import AudioBlock, SourceError, VideoFrame, open_source
from tests.integration.edge_media.conftest import Drive


def test_frames_and_audio_in_time_order(impact_drive: Drive) -> None:
    frames, blocks = [], []
    with open_source(impact_drive.path, analysis_width=160) as source:
        assert (source.info.width, source.info.height, source.info.fps) == (320, 180, 30.0)
        assert (source.info.analysis_width, source.info.analysis_height) == (160, 90)
        assert source.info.duration_s == pytest.approx(14.0, abs=0.05)
        for item in source:
            (frames if isinstance(item, VideoFrame) else blocks).append(item)
    assert len(frames) == 420
    times = [f.t for f in frames]
    assert times[0] == 0.0 and times == sorted(times)
    assert np.allclose(np.diff(times), 1 / 30, atol=1e-3)
    assert frames[0].gray.shape == (90, 160) and frames[0].gray.dtype == np.uint8
    assert all(
        isinstance(b, AudioBlock) and b.samples.dtype == np.float32 and b.samples.ndim == 1 for b in blocks
    )
    audio_s = sum(len(b.samples) for b in blocks) / blocks[0].rate
    assert audio_s == pytest.approx(14.0, abs=0.1)
    starts = [b.t for b in blocks]
    assert starts == sorted(starts) and starts[0] < 0.05
    loudness = dict.fromkeys(range(15), 0.0)
    for b in blocks:
        loudness[int(b.t)] = max(loudness[int(b.t)], float(np.abs(b.samples).max()))
    assert loudness[9] > 3 * float(np.median(list(loudness.values())))  # the crash at 9 s is heard


def test_file_without_audio(silent_impact_drive: Drive) -> None:
    with open_source(silent_impact_drive.path) as source:
        assert source.info.audio_rate is None
        items = list(source)
    assert items and all(isinstance(i, VideoFrame) for i in items)


def _truncated(src: Path, out: Path, keep: float) -> Path:
    data = src.read_bytes()
    out.write_bytes(data[: int(len(data) * keep)])
    return out


def _corrupted(src: Path, out: Path) -> Path:
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(0)
    for pos in rng.integers(len(data) // 10, len(data), 400):
        data[pos] ^= 0xFF
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("kind", ["missing", "not_video", "header_only", "truncated", "corrupt"])
def test_bad_files_raise_source_error(kind: str, impact_drive: Drive, tmp_path: Path) -> None:
    path = {
        "missing": lambda: tmp_path / "absent.mp4",
        "not_video": lambda: (tmp_path / "x.mp4").write_text("hello") and tmp_path / "x.mp4",
        "header_only": lambda: _truncated(impact_drive.path, tmp_path / "h.mp4", 0.002),
        "truncated": lambda: _truncated(impact_drive.path, tmp_path / "t.mp4", 0.5),
        "corrupt": lambda: _corrupted(impact_drive.path, tmp_path / "c.mp4"),
    }[kind]()
    with pytest.raises(SourceError) as info, open_source(path) as source:
        for _ in source:
            pass
    assert str(path) in str(info.value)
