"""Key-frame perceptual hashes on real decoded video: a re-encoded, rescaled copy of a drive and the same
recording cut at another window are near-duplicates, another drive is not; flat frames are skipped."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from cloud_api.domain.assessments.fingerprint import (
    FrameHash,
    dhash,
    hamming,
    keyframe_hashes,
    near_duplicate_matches,
)
from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive


def reencode(src: Path, dst: Path, width: int, height: int, crf: int, skip_s: float = 0.0) -> None:
    """Another encoder pass: new size and quality, one key frame a second, from ``skip_s`` on."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf), "g": "30", "sc_threshold": "0"}
        for frame in inp.decode(video=0):
            if frame.time is not None and frame.time < skip_s - 1e-6:
                continue
            image = frame.to_ndarray(format="rgb24")
            for packet in stream.encode(
                av.VideoFrame.from_ndarray(image, format="rgb24").reformat(width, height)
            ):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.fixture(scope="module")
def drives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("drives")
    paths = {name: root / f"{name}.mp4" for name in ("a", "b", "a_copy", "a_later")}
    for name, seed in (("a", 11), ("b", 12)):
        write_sample_drive(
            paths[name], SampleDriveSpec(seed=seed, duration_s=6, width=320, height=180, impact_at_s=4)
        )
    reencode(paths["a"], paths["a_copy"], 256, 144, crf=34)
    reencode(paths["a"], paths["a_later"], 320, 180, crf=23, skip_s=2.0)
    return paths


def test_reencoded_copy_is_a_near_duplicate(drives: dict[str, Path]) -> None:
    a, copy = keyframe_hashes(drives["a"]), keyframe_hashes(drives["a_copy"])
    assert len(a) == len(copy) == 6  # one key frame a second
    assert near_duplicate_matches(copy, a) >= 5


def test_the_same_recording_cut_later_is_a_near_duplicate(drives: dict[str, Path]) -> None:
    a, later = keyframe_hashes(drives["a"]), keyframe_hashes(drives["a_later"])
    assert near_duplicate_matches(later, a) >= 3  # its 4 s match the last 4 s of the first cut


def test_another_drive_is_not(drives: dict[str, Path]) -> None:
    a, b = keyframe_hashes(drives["a"]), keyframe_hashes(drives["b"])
    assert near_duplicate_matches(a, b) == 0


def test_dhash_bits_and_bands() -> None:
    ramp = np.tile(np.arange(9, 0, -1, dtype=np.float32), (8, 1))  # every pixel brighter than its right
    assert dhash(ramp) == (1 << 64) - 1 and dhash(ramp[:, ::-1]) == 0
    h = FrameHash(t_s=0.0, value=0x0123_4567_89AB_CDEF)
    assert h.hex == "0123456789abcdef" and h.bands == (0xCDEF, 0x89AB, 0x4567, 0x0123)
    assert hamming(h.value, h.value ^ 0b1011) == 3


def test_flat_frames_carry_no_identity(tmp_path: Path) -> None:
    from tests.integration.cloud.support import write_mp4

    write_mp4(tmp_path / "flat.mp4", lambda _: 40, seconds=2.0, size=64)
    hashes = keyframe_hashes(tmp_path / "flat.mp4")
    assert hashes == [] or all(h.value != 0 for h in hashes)
