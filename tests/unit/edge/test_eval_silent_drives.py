"""Clips mined a second time without sound: which ones, the replay itself, and how they are reported."""

from __future__ import annotations

import msgspec

from edge_agent.evaluation.__main__ import segment
from edge_agent.evaluation.metrics import Clip
from edge_agent.evaluation.sets import Job, generated_jobs, mine_with_silent_replay, run_job
from edge_agent.mining import MiningSession, mine_source
from edge_agent.sample.scenarios import Scenario, build_scenario
from edge_agent.sample.stream import GeneratedSource
from edge_agent.settings import load_config
from edge_agent.source.base import AudioBlock


def test_crashes_and_the_first_silent_hours_of_normal_driving_are_replayed_without_sound() -> None:
    jobs = generated_jobs(1, 1, normal_hours=0.2, cuts=1, silent_hours=0.1)
    assert [j.silent_replay for j in jobs if j.kind == "crash"] == [True] * 3
    assert [j.silent_replay for j in jobs if j.kind == "normal"] == [True] * 3 + [False] * 3
    assert not any(j.silent_replay for j in jobs if j.kind in ("nearmiss", "cut"))
    assert not any(j.silent_replay for j in generated_jobs(0, 0, normal_hours=0.2, cuts=0))


def test_the_two_sessions_of_one_render_do_not_disturb_each_other() -> None:
    """Each reads the same frame objects: what one miner keeps must not change the other's input."""
    config = load_config(None)
    drive = build_scenario(Scenario(kind="side_impact", seed=900_003, duration_s=12.0, event_s=7.0))
    loud, quiet = mine_with_silent_replay(GeneratedSource([drive]), config, replay=True)
    source = GeneratedSource([drive])
    alone = MiningSession(msgspec.structs.replace(source.info, audio_rate=None), config)
    for item in source:
        if not isinstance(item, AudioBlock):
            alone.feed(item)
    assert quiet == alone.finish()
    assert loud == mine_source(GeneratedSource([drive]), config)
    assert any(loud.timelines["audio"].scores) and not any(quiet.timelines["audio"].scores)
    # the clips keep each incident's miner scores, the silent one without an audio score to lean on
    assert loud.incidents and quiet.incidents
    job = Job(name="s", kind="crash", view="dashcam", scenarios=[drive.scenario], silent_replay=True)
    with_sound, without = run_job(job, config)
    assert with_sound.scores == [i.miner_scores for i in loud.incidents]
    assert without.scores == [i.miner_scores for i in quiet.incidents]
    assert all("audio" not in s for s in without.scores)
    assert quiet.versions == loud.versions


def test_a_replayed_job_gives_two_clips_and_the_replay_its_own_segment() -> None:
    job = Job(
        name="gen_normal_1",
        kind="normal",
        view="dashcam",
        scenarios=[Scenario(kind="normal", seed=1, duration_s=3.0)],
        silent_replay=True,
    )
    clips = run_job(job, load_config(None))
    assert [c.name for c in clips] == ["gen_normal_1", "gen_normal_1_silent"]
    assert [c.silent for c in clips] == [False, True]
    assert clips[0].duration_s == clips[1].duration_s > 2.5
    clip = Clip(name="n", group="generated", kind="normal", view="dashcam", duration_s=120.0)
    assert segment(clip) == "generated/normal/dashcam"
    assert segment(msgspec.structs.replace(clip, silent=True)) == "generated/normal/dashcam/silent/video-only"
    crash = msgspec.structs.replace(clip, name="gen_side_impact_2_gsensor_silent", kind="crash", silent=True)
    assert (
        segment(msgspec.structs.replace(crash, gsensor=True)) == "generated/crash/dashcam/side/silent/gsensor"
    )


def test_the_g_sensor_of_a_drive_is_named_and_kept_in_its_clips() -> None:
    jobs = generated_jobs(0, 0, normal_hours=0.1, cuts=0, silent_hours=0.1)
    assert [j.accel for j in jobs] == ["_gsensor" in j.name for j in jobs] and any(j.accel for j in jobs)
    job = next(j for j in jobs if j.accel)
    short = msgspec.structs.replace(job, scenarios=[Scenario(kind="normal", seed=2, duration_s=2.0)])
    assert [c.gsensor for c in run_job(short, load_config(None))] == [True, True]
