"""Generated normal drives replayed without sound: the set, the source, and how they are reported."""

from __future__ import annotations

from edge_agent.evaluation.__main__ import segment
from edge_agent.evaluation.metrics import Clip
from edge_agent.evaluation.sets import generated_jobs
from edge_agent.sample.scenarios import Scenario, build_scenario
from edge_agent.sample.stream import GeneratedSource
from edge_agent.source.base import AudioBlock, VideoFrame


def test_the_first_silent_hours_of_normal_driving_are_replayed_without_sound() -> None:
    jobs = generated_jobs(0, 0, normal_hours=0.2, cuts=0, silent_hours=0.1)
    normal = [j for j in jobs if not j.silent]
    silent = [j for j in jobs if j.silent]
    assert len(normal) == 6 and len(silent) == 3
    assert [j.scenarios for j in silent] == [j.scenarios for j in normal[:3]]  # the same drives
    assert all(j.name.endswith("_silent") for j in silent)
    assert generated_jobs(0, 0, normal_hours=0.2, cuts=0) == normal  # none unless asked for


def test_a_silent_source_has_no_audio_track_and_the_same_frames() -> None:
    drive = build_scenario(Scenario(kind="normal", seed=4, duration_s=2.0))
    loud, quiet = list(GeneratedSource([drive])), list(GeneratedSource([drive], sound=False))
    assert GeneratedSource([drive], sound=False).info.audio_rate is None
    assert any(isinstance(i, AudioBlock) for i in loud) and not any(isinstance(i, AudioBlock) for i in quiet)
    frames = [(i.t, i.gray.tobytes()) for i in loud if isinstance(i, VideoFrame)]
    assert frames == [(i.t, i.gray.tobytes()) for i in quiet if isinstance(i, VideoFrame)]


def test_silent_drives_are_their_own_segment() -> None:
    clip = Clip(name="n", group="generated", kind="normal", view="dashcam", duration_s=120.0, silent=True)
    assert segment(clip) == "generated/normal/dashcam/silent"
