"""Per-clip outcomes and the totals the targets are stated in: recall, false triggers per hour, share of
footage uploaded, time to detection, triggers on scene cuts, with exact 95 % bounds on recall and on the
false-trigger rate. Pure arithmetic, tested on constructed cases."""

from __future__ import annotations

import statistics
from collections.abc import Iterable

import msgspec

from edge_agent.evaluation.bounds import proportion_interval, rate_upper


class Clip(msgspec.Struct, frozen=True, kw_only=True):
    """One evaluated clip and what fusion reported on it (times in seconds from the clip's start)."""

    name: str
    group: str  # "real" or "generated"
    kind: str  # crash / nearmiss / normal / cut
    view: str  # dashcam / cctv / other
    ego_involved: str = ""  # yes / no / "" (unknown or not a crash)
    duration_s: float
    impact_s: float | None = None
    peaks: list[float] = []
    starts: list[float] = []
    windows: list[tuple[float, float]] = []  # each incident's clip (``Incident.clip_window``), unclamped
    scores: list[dict[str, float]] = []  # each incident's held score per miner at its peak (``--json``)
    note: str = ""
    trained: bool = False  # a real normal clip the motion and audio models learned from
    silent: bool = False  # a replay of a clip mined without its sound track
    cabin_sound: bool = False  # a replay of a generated crash with a normal drive's sound track
    gsensor: bool = False  # the drive had a G-sensor log (generated drives only: no real clip has one)
    rest_dropped: int = 0  # incidents the rest check dropped (nothing heard, the vehicle drove on)

    @property
    def replay(self) -> str:
        """The segment a replay is reported in ("silent", "cabin-sound"); "" for the clip as recorded."""
        return "silent" if self.silent else "cabin-sound" if self.cabin_sound else ""


def found_index(clip: Clip) -> int | None:
    """The first incident whose uploaded clip window holds the impact, if any."""
    if clip.impact_s is None:
        return None
    for i, (lo, hi) in enumerate(clip.windows):
        if lo <= clip.impact_s <= hi:
            return i
    return None


def uploaded_s(clip: Clip) -> float:
    """Seconds of the clip inside the union of its incidents' windows."""
    spans = sorted((max(0.0, lo), min(clip.duration_s, hi)) for lo, hi in clip.windows)
    total, end = 0.0, 0.0
    for lo, hi in spans:
        lo = max(lo, end)
        if hi > lo:
            total += hi - lo
            end = hi
    return total


class Totals(msgspec.Struct, frozen=True, kw_only=True):
    clips: int
    hours: float
    crashes: int = 0
    found: int = 0
    recall: float | None = None
    recall_interval: tuple[float, float] | None = None  # exact 95 % (``bounds``)
    incidents: int = 0
    false_triggers_per_hour: float | None = None  # only for normal driving
    false_triggers_per_hour_upper: float | None = None  # exact one-sided 95 % upper bound
    uploaded_share: float = 0.0
    median_detection_s: float | None = None  # incident start minus impact, found crashes only
    cut_clips_triggered: int | None = None
    rest_dropped: int = 0  # incidents the rest check dropped: on crashes a loss, on normal driving a save


def totals(clips: Iterable[Clip]) -> Totals:
    clips = list(clips)
    seconds = sum(c.duration_s for c in clips)
    crashes = [c for c in clips if c.kind == "crash"]
    found = [(c, found_index(c)) for c in crashes]
    hits = [(c, i) for c, i in found if i is not None]
    delays = [c.starts[i] - c.impact_s for c, i in hits if c.impact_s is not None]
    normal = [c for c in clips if c.kind == "normal"]
    normal_hours = sum(c.duration_s for c in normal) / 3600
    false_triggers = sum(len(c.peaks) for c in normal)
    cuts = [c for c in clips if c.kind == "cut"]
    return Totals(
        clips=len(clips),
        hours=round(seconds / 3600, 4),
        crashes=len(crashes),
        found=len(hits),
        recall=round(len(hits) / len(crashes), 3) if crashes else None,
        recall_interval=(_rounded(proportion_interval(len(hits), len(crashes))) if crashes else None),
        incidents=sum(len(c.peaks) for c in clips),
        false_triggers_per_hour=round(false_triggers / normal_hours, 2) if normal_hours > 0 else None,
        false_triggers_per_hour_upper=(
            round(rate_upper(false_triggers, normal_hours), 2) if normal_hours > 0 else None
        ),
        uploaded_share=round(sum(uploaded_s(c) for c in clips) / seconds, 4) if seconds else 0.0,
        median_detection_s=round(statistics.median(delays), 2) if delays else None,
        cut_clips_triggered=sum(1 for c in cuts if c.peaks) if cuts else None,
        rest_dropped=sum(c.rest_dropped for c in clips),
    )


def _rounded(interval: tuple[float, float]) -> tuple[float, float]:
    return round(interval[0], 3), round(interval[1], 3)
