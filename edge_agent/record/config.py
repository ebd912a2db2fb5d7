"""The ``[recorder]`` section: loop recording of a live source, so its incidents have footage to cut."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

X264Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"]


class RecorderConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = True  # record live sources (files and segment folders are recordings already)
    segment_s: Annotated[float, msgspec.Meta(ge=1, le=600)] = 30.0  # closes at the keyframe after this
    quota_bytes: Annotated[int, msgspec.Meta(ge=65_536)] = 4 * 1024**3  # segments kept; oldest go first
    encode_frames: bool = True  # a source without H.264 packets (camera:N, gst:, MJPEG): encode its frames
    encode_preset: X264Preset = "ultrafast"  # libx264 preset for those frames (CPU against bytes)
    encode_crf: Annotated[int, msgspec.Meta(ge=0, le=51)] = 23  # libx264 quality (lower: better, bigger)

    def rolls_over(self, age_s: float) -> bool:
        """A segment this old closes at this keyframe (a millisecond early, for float time)."""
        return age_s >= self.segment_s - 1e-3
