"""Evaluation arithmetic on constructed clips: found, upload share, false triggers per hour, delays, cuts,
and the exact bounds on recall and on the false-trigger rate."""

from __future__ import annotations

import math

import msgspec
import pytest

from edge_agent.evaluation.bounds import proportion_interval, rate_upper
from edge_agent.evaluation.metrics import Clip, found_index, totals, uploaded_s


def windows(peaks: list[float]) -> list[tuple[float, float]]:
    """Single-trigger incidents: the clip is [peak - 10, peak + 5] (the default rolls)."""
    return [(p - 10.0, p + 5.0) for p in peaks]


def crash(name: str, impact: float, peaks: list[float], starts: list[float] | None = None) -> Clip:
    return Clip(
        name=name,
        group="real",
        kind="crash",
        view="dashcam",
        duration_s=60.0,
        impact_s=impact,
        peaks=peaks,
        starts=starts if starts is not None else [p - 0.5 for p in peaks],
        windows=windows(peaks),
    )


def test_impact_is_found_only_inside_an_upload_window() -> None:
    assert found_index(crash("a", 20.0, [25.0])) == 0  # impact 5 s before the peak: inside pre-roll
    assert found_index(crash("b", 20.0, [15.0])) == 0  # 5 s after: the edge of post-roll
    assert found_index(crash("c", 20.0, [14.9])) is None  # just past the post-roll
    assert found_index(crash("d", 20.0, [30.1])) is None  # just before the pre-roll
    assert found_index(crash("e", 20.0, [5.0, 21.0])) == 1  # the second incident holds it
    assert found_index(crash("f", 20.0, [])) is None
    merged = msgspec.structs.replace(crash("g", 20.0, [2.0]), windows=[(0.0, 22.0)])
    assert found_index(merged) == 0  # a merged incident's clip runs to its last trigger's end


def test_upload_share_merges_overlapping_windows_and_clips_to_the_clip() -> None:
    clip = crash("a", 20.0, [5.0, 8.0, 50.0])
    # [0, 10] and [0, 13] merge to 13 s (clipped at 0); [40, 55] adds 15 s.
    assert uploaded_s(clip) == 28.0
    assert uploaded_s(crash("b", 20.0, [58.0])) == 12.0  # [48, 60]


def test_totals_recall_delay_and_false_triggers() -> None:
    clips = [
        crash("hit", 20.0, [21.0], starts=[20.4]),
        crash("late", 30.0, [33.0], starts=[31.0]),
        crash("miss", 20.0, []),
        Clip(
            name="n1",
            group="real",
            kind="normal",
            view="dashcam",
            duration_s=1800.0,
            peaks=[100.0],
            windows=windows([100.0]),
        ),
        Clip(name="n2", group="real", kind="normal", view="dashcam", duration_s=1800.0, peaks=[]),
    ]
    t = totals(clips)
    assert (t.crashes, t.found, t.recall) == (3, 2, 0.667)
    assert t.recall_interval == (0.094, 0.992)  # three crashes say little
    assert t.false_triggers_per_hour == 1.0  # one incident over one hour of normal driving
    assert t.false_triggers_per_hour_upper == 4.74
    assert t.median_detection_s == 0.7  # median of +0.4 and +1.0
    assert t.incidents == 3
    expected_upload = (15.0 + 15.0 + 15.0) / (3 * 60.0 + 3600.0)
    assert abs(t.uploaded_share - round(expected_upload, 4)) < 1e-9
    assert t.cut_clips_triggered is None


def test_scene_cut_clips_count_when_they_trigger() -> None:
    cut = [
        Clip(
            name="c1",
            group="generated",
            kind="cut",
            view="dashcam",
            duration_s=20.0,
            peaks=[10.2],
            windows=windows([10.2]),
        ),
        Clip(name="c2", group="generated", kind="cut", view="dashcam", duration_s=20.0),
    ]
    t = totals(cut)
    assert t.cut_clips_triggered == 1 and t.recall is None and t.false_triggers_per_hour is None


def test_totals_count_what_the_rest_check_dropped() -> None:
    saved = Clip(name="n", group="generated", kind="normal", view="dashcam", duration_s=120.0, rest_dropped=3)
    lost = msgspec.structs.replace(crash("c", 20.0, []), rest_dropped=1)
    assert totals([saved, lost]).rest_dropped == 4
    assert totals([crash("d", 20.0, [21.0])]).rest_dropped == 0


def test_exact_bounds_match_their_closed_forms_and_mirror() -> None:
    assert rate_upper(0, 1.0) == pytest.approx(-math.log(0.05), abs=1e-6)  # 0 events: e^-m = 0.05
    assert rate_upper(0, 3.0) == pytest.approx(-math.log(0.05) / 3.0, abs=1e-6)  # 3 h: 1.0 an hour
    assert rate_upper(1, 1.0) > rate_upper(0, 1.0)
    lo, hi = proportion_interval(30, 30)
    assert (lo, hi) == (pytest.approx(0.025 ** (1 / 30), abs=1e-6), 1.0)  # p^30 = 0.025
    lo, hi = proportion_interval(24, 30)
    mirror_lo, mirror_hi = proportion_interval(6, 30)
    assert (lo, hi) == (pytest.approx(1 - mirror_hi, abs=1e-6), pytest.approx(1 - mirror_lo, abs=1e-6))
    assert lo < 24 / 30 < hi
