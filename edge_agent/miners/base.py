"""The miner plugin contract: consume frames and/or audio, keep a score timeline in [0, 1].

A miner is fed in presentation order and writes each score at the source time the evidence belongs
to (not the time it was computed), so timelines of different miners line up bin for bin.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Sequence
from typing import Annotated, ClassVar

import msgspec

from edge_agent.miners.ego_motion import EgoMotion
from edge_agent.source.base import AccelBlock, AudioBlock, VideoFrame
from shared_models import MinerTimeline

VIDEO = "video"
AUDIO = "audio"


class MinerConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Settings every miner has; each plugin extends it with its own tuning."""

    enabled: bool = True
    weight: Annotated[float, msgspec.Meta(ge=0)] = 1.0  # share of this miner in the fused score


def padded_window(scores: Sequence[float], start: int, count: int) -> list[float]:
    """``count`` values of ``scores`` from index ``start`` (which may be negative or past the end); 0
    wherever there is none. A clip's timeline is sliced this way whether it comes from a miner's track
    or from a live incident's journal entry."""
    return [scores[i] if 0 <= i < len(scores) else 0.0 for i in range(start, start + count)]


class ScoreTrack:
    """A growable timeline at ``rate_hz``; a bin keeps the highest score written into it.

    A file's track keeps every bin. A live source runs for days, so its session forgets bins older
    than anything a clip can still ask for (``forget_before``); a forgotten bin reads 0.
    """

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        # (index of the first kept bin, the kept bins): replaced as one, so a reader on another thread
        # (a live clip's timeline) never pairs a new list with an old offset.
        self._kept: tuple[int, list[float]] = (0, [])

    @property
    def first(self) -> int:
        return self._kept[0]

    @property
    def scores(self) -> list[float]:
        """The kept bins, from bin ``first`` (0 unless older bins were forgotten)."""
        return self._kept[1]

    def put(self, t: float, score: float) -> None:
        first, scores = self._kept
        i = max(0, int(t * self.rate_hz)) - first
        if i < 0:
            return  # a bin already forgotten
        if i >= len(scores):
            scores.extend([0.0] * (i + 1 - len(scores)))
        scores[i] = max(scores[i], min(1.0, max(0.0, score)))

    def at(self, i: int) -> float:
        first, scores = self._kept
        j = i - first
        return scores[j] if 0 <= j < len(scores) else 0.0

    def window(self, first: int, bins: int) -> list[float]:
        """``bins`` scores from bin ``first`` on; bins never scored or forgotten read 0."""
        kept_first, scores = self._kept
        return padded_window(scores, first - kept_first, bins)

    def forget_before(self, i: int) -> None:
        """Drop bins before ``i``; done in one copy once they outnumber the kept ones (amortised O(1))."""
        first, scores = self._kept
        drop = min(i - first, len(scores))
        if drop > 0 and 2 * drop >= len(scores):
            self._kept = (first + drop, scores[drop:])


class Miner(ABC):
    """One signal turned into a score over time. Subclasses set the class attributes below."""

    kind: ClassVar[str]
    version: ClassVar[str]
    inputs: ClassVar[frozenset[str]]  # VIDEO and/or AUDIO: a miner whose inputs are missing sits out
    config_type: ClassVar[type[MinerConfig]]

    def __init__(self, config: MinerConfig, rate_hz: float) -> None:
        self.config = config
        self.track = ScoreTrack(rate_hz)

    def reconfigure(self, config: MinerConfig) -> None:
        """Take new tuning mid-stream (a pushed config); the score history is kept."""
        if not isinstance(config, self.config_type):
            raise TypeError(f"{self.kind}: expected {self.config_type.__name__}, got {type(config).__name__}")
        self.config = config

    def on_video(self, frame: VideoFrame, ego: EgoMotion) -> None:
        """A decoded frame with the camera motion measured from the previous one."""

    def on_audio(self, block: AudioBlock) -> None:
        """The next mono samples."""

    def on_accel(self, block: AccelBlock) -> None:
        """The next G-sensor readings, where the device or a sidecar has them."""

    def senses_contact(self) -> bool:
        """Whether this miner witnesses contact itself (a microphone hears the bang), not only a jolt (the
        camera's picture and a G-sensor jolt on a pothole too); fusion asks for the vehicle to slow after
        an incident none of these miners confirmed (``FusionEngine.hearing``)."""
        return VIDEO not in self.inputs

    def timeline(self, bins: int, first: int = 0) -> MinerTimeline:
        """``bins`` scores from bin ``first`` on, as the wire type; bins never scored (past the end, or
        before the source began) are 0."""
        scores = [round(score, 4) for score in self.track.window(first, bins)]
        return MinerTimeline(miner=self.kind, rate_hz=self.track.rate_hz, scores=scores)
