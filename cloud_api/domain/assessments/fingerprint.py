"""Perceptual fingerprints of a clip, for finding the same footage re-encoded under another claim.

One 64-bit difference hash (dHash: a 9x8 grey thumbnail, one bit per horizontal neighbour pair) per
key frame. Only key frames are decoded (``skip_frame=NONKEY``): dashcams write one about every second
and edge cuts start on one, so this costs a few percent of a full decode (0.18 s for a 20-s 720p clip
against 2.3 s for every frame). What it catches: the same footage remuxed, cut at another window, or
re-encoded at another size or quality with key frames at the same instants. What it misses: a re-encode
whose key frames land elsewhere (half a second of driving moves a dHash as far as unrelated footage);
catching that needs hashes on a dense time grid, i.e. a full decode per claim.
Flat frames (night, lens cap) carry no identity and are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av
import msgspec
import numpy as np

NEAR_BITS = 10
"""Two frame hashes this close (Hamming) show the same picture."""
MIN_CONTRAST = 2.0
"""Thumbnails with a grey-level standard deviation below this are skipped as flat."""
BANDS = 4
BAND_BITS = 16


class FrameHash(msgspec.Struct, frozen=True):
    t_s: float
    value: int
    """The 64-bit dHash as an unsigned int."""

    @property
    def hex(self) -> str:
        return f"{self.value:016x}"

    @property
    def bands(self) -> tuple[int, ...]:
        """Four 16-bit slices: hashes within 3 bits always share one, within NEAR_BITS usually."""
        mask = (1 << BAND_BITS) - 1
        return tuple((self.value >> (BAND_BITS * i)) & mask for i in range(BANDS))


def dhash(thumbnail: np.ndarray) -> int:
    """dHash of an 8 x 9 grey thumbnail: bit set where a pixel is brighter than its right neighbour."""
    bits = (thumbnail[:, :-1] > thumbnail[:, 1:]).flatten()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def keyframe_hashes(clip: Path) -> list[FrameHash]:
    hashes: list[FrameHash] = []
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        for frame in container.decode(stream):
            thumb = frame.reformat(width=9, height=8, format="gray", interpolation="AREA").to_ndarray()
            thumb = thumb.astype(np.float32)
            if frame.time is None or float(thumb.std()) < MIN_CONTRAST:
                continue
            hashes.append(FrameHash(t_s=round(float(frame.time), 3), value=dhash(thumb)))
    return hashes


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def matched_frames(ours: Sequence[FrameHash], theirs: Sequence[FrameHash]) -> int:
    """How many of our frames have a frame of theirs within NEAR_BITS."""
    return sum(any(hamming(a.value, b.value) <= NEAR_BITS for b in theirs) for a in ours)


def near_duplicate_matches(ours: Sequence[FrameHash], theirs: Sequence[FrameHash]) -> int:
    """Frames matched when the clips are near-duplicates, else 0.

    Near-duplicates: at least 3 matching frames, and at least half of the shorter clip's frames.
    """
    matched = matched_frames(ours, theirs)
    return matched if matched >= 3 and matched >= 0.5 * min(len(ours), len(theirs)) else 0
