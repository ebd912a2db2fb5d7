"""What every source yields: timestamped low-resolution frames and mono audio blocks, in time order.

A source is iterated once; files, folders of segments and live cameras differ only in how they fill
this stream, so miners and the mining loop never see where the media came from.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from types import TracebackType

import msgspec
import numpy as np


class SourceError(Exception):
    """The media cannot be read: missing, not a video, corrupt or truncated. ``path`` says which."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


class SourceUriError(SourceError):
    """The source's address itself is malformed: no retry can open it (unlike a camera not up yet)."""


class VideoFrame(msgspec.Struct, frozen=True):
    """One decoded frame, downscaled for analysis. ``t`` is seconds from the start of the stream."""

    t: float
    index: int
    gray: np.ndarray  # uint8, analysis height x analysis width


class AudioBlock(msgspec.Struct, frozen=True):
    """Consecutive mono samples starting at ``t`` seconds on the same timeline as the frames."""

    t: float
    samples: np.ndarray  # float32, full scale 1.0 (lossy codecs may overshoot it slightly)
    rate: int


class AccelBlock(msgspec.Struct, frozen=True):
    """G-sensor readings from a sidecar or the device's IMU, on the same timeline as the frames."""

    t: float  # time of the first reading
    samples: np.ndarray  # float32, N x 4: t (s), ax, ay, az (m/s^2, device axes)


class SourceInfo(msgspec.Struct, frozen=True):
    """What is known before the first frame; ``duration_s`` is 0 where the source cannot tell."""

    uri: str
    width: int
    height: int
    fps: float
    duration_s: float
    analysis_width: int
    analysis_height: int
    audio_rate: int | None  # None: the source has no audio track


class Source(ABC):
    """A finite or live stream of frames, audio and G-sensor blocks in presentation order."""

    info: SourceInfo

    @property
    def dropped_frames(self) -> int:
        """Frames captured but never yielded because mining fell behind (only live sources drop)."""
        return 0

    @abstractmethod
    def __iter__(self) -> Iterator[VideoFrame | AudioBlock | AccelBlock]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
