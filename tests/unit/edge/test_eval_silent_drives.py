"""Clips mined again without sound, or with a cabin sound instead of their own: which ones, the replays
themselves, and how they are reported."""

from __future__ import annotations

import msgspec

from edge_agent.evaluation.__main__ import segment
from edge_agent.evaluation.metrics import Clip
from edge_agent.evaluation.sets import Job, cabin_sound, generated_jobs, mine_with_replays, run_job
from edge_agent.fusion import FusionConfig
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
    assert [j.kind for j in jobs if j.cabin_replay] == ["crash"] * 3


def test_the_two_sessions_of_one_render_do_not_disturb_each_other() -> None:
    """Each reads the same frame objects: what one miner keeps must not change the other's input."""
    config = load_config(None)
    drive = build_scenario(Scenario(kind="side_impact", seed=900_003, duration_s=12.0, event_s=7.0))
    replays = mine_with_replays(GeneratedSource([drive]), config, silent=True)
    loud, quiet = replays[""], replays["silent"]
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


def test_a_crash_whose_microphone_recognises_nothing_is_still_opened_by_its_jolt() -> None:
    """The cabin replay swaps the crash's sound for a normal drive's: the audio miner hears no crash, and
    with ``unheard_jolt_opens`` the jolt opens the incident as it does with no microphone at all; by
    default the quiet sound track vetoes it."""
    drive = build_scenario(Scenario(kind="side_impact", seed=900_003, duration_s=12.0, event_s=7.0))
    cabin = cabin_sound([drive])
    assert len(cabin) == len(drive.audio)
    default = load_config(None)
    config = msgspec.structs.replace(default, fusion=FusionConfig(unheard_jolt_opens=True))
    replays = mine_with_replays(GeneratedSource([drive]), config, silent=True, cabin=cabin)
    loud, quiet, dubbed = replays[""], replays["silent"], replays["cabin"]
    assert max(loud.timelines["audio"].scores) >= 0.9  # its own crash sound, recognised
    assert max(dubbed.timelines["audio"].scores) < 0.3  # the cabin's: nothing like a crash
    assert [i.peak_s for i in dubbed.incidents] == [i.peak_s for i in quiet.incidents] != []
    vetoed = mine_with_replays(GeneratedSource([drive]), default, silent=False, cabin=cabin)["cabin"]
    assert vetoed.incidents == []
    clip = Clip(
        name="gen_side_impact_3_cabin", group="generated", kind="crash", view="dashcam", duration_s=12.0
    )
    assert segment(msgspec.structs.replace(clip, cabin_sound=True)) == (
        "generated/crash/dashcam/side/cabin-sound/video-only"
    )


def test_the_g_sensor_of_a_drive_is_named_and_kept_in_its_clips() -> None:
    jobs = generated_jobs(0, 0, normal_hours=0.1, cuts=0, silent_hours=0.1)
    assert [j.accel for j in jobs] == ["_gsensor" in j.name for j in jobs] and any(j.accel for j in jobs)
    job = next(j for j in jobs if j.accel)
    short = msgspec.structs.replace(job, scenarios=[Scenario(kind="normal", seed=2, duration_s=2.0)])
    assert [c.gsensor for c in run_job(short, load_config(None))] == [True, True]
