"""An incident as fusion reports it: when it started, peaked and ended, and how sure each miner was."""

from __future__ import annotations

import msgspec


class Incident(msgspec.Struct, frozen=True):
    """Times are seconds on the source's timeline; ``miner_scores`` are each miner's score at the peak."""

    start_s: float
    peak_s: float
    end_s: float
    score: float
    miner_scores: dict[str, float]

    def to_json(self) -> str:
        """One JSON line (keys start_s, peak_s, end_s, score, miner_scores)."""
        return msgspec.json.encode(self).decode()

    def clip_window(self, pre_roll_s: float, post_roll_s: float) -> tuple[float, float]:
        """The footage its clip holds: pre- and post-roll around the peak, widened to the whole incident
        (one that merged later triggers spans them all). Not clamped to the recording."""
        return min(self.peak_s - pre_roll_s, self.start_s), max(self.peak_s + post_roll_s, self.end_s)

    def describe(self) -> str:
        miners = " ".join(f"{k}={v:.2f}" for k, v in self.miner_scores.items())
        return (
            f"incident peak={self.peak_s:.2f}s span={self.start_s:.2f}-{self.end_s:.2f}s "
            f"score={self.score:.2f} {miners}"
        )
