"""Learned miners on generated drives: each scores impacts above normal driving; a hit heard but hardly
felt is found by its sound; cuts reset; the G-sensor feature; a running session takes a pushed config
(fusion thresholds, weights, miners switched off)."""

from __future__ import annotations

import logging
import re
from functools import cache

import msgspec
import numpy as np
import pytest

from edge_agent.fusion import FusionConfig, FusionEngine
from edge_agent.miners import EgoMotion, build_miners, default_miner_configs, miner_classes
from edge_agent.miners.plugins.motion import DELAY, AccelPeaks, MotionMiner
from edge_agent.mining import MiningResult, MiningSession
from edge_agent.sample.scenarios import Scenario, build_scenario
from edge_agent.sample.stream import GeneratedSource
from edge_agent.settings import AgentConfig, merge_config
from edge_agent.source import AccelBlock, AudioBlock, VideoFrame
from tests.support.fusion import fused

RATE_HZ = 10.0
IMPACT_S = 7.0


@cache
def mined(kind: str, seed: int) -> MiningResult:
    event = IMPACT_S if kind != "normal" else None
    drive = build_scenario(Scenario(kind=kind, seed=seed, duration_s=12.0, event_s=event))  # type: ignore[arg-type]
    source = GeneratedSource([drive], accel=False)
    session = MiningSession(source.info, AgentConfig())
    for item in source:
        session.feed(item)
    return session.finish()


def peak(result: MiningResult, miner: str, lo_s: float = 0.0, hi_s: float = 1e9) -> float:
    scores = result.timelines[miner].scores
    return max(scores[max(0, int(lo_s * RATE_HZ)) : int(hi_s * RATE_HZ) + 1])


def test_every_registered_miner_builds_with_a_model_version_and_scores_a_drive() -> None:
    assert set(miner_classes()) == {"audio", "motion", "proximity"}
    for miner in build_miners(default_miner_configs(), RATE_HZ):
        assert re.search(r"-int8-\d+$", miner.version)
    result = mined("rear_end", 900_001)
    assert result.versions == {
        "audio": "audio-cnn-int8-4",
        "motion": "motion-mlp-int8-6",
        "proximity": "proximity-mlp-int8-6",
    }
    for timeline in result.timelines.values():
        assert len(timeline.scores) == 120 and all(0.0 <= s <= 1.0 for s in timeline.scores)
        assert max(timeline.scores) > 0.0


@pytest.mark.parametrize(
    "seed",
    [
        pytest.param(
            900_001,
            marks=pytest.mark.xfail(
                strict=True,
                reason="known gap: sun flicker through trees from 3.1 s to 7.3 s (25 % gain steps between frames) "
                "breaks Lucas-Kanade, and its lost corners count as scene cuts at 7 of the 11 ticks within 0.5 s "
                "of the impact, so motion-mlp-int8-6 scores the jolt 0.0; it scores 0.87 at 7.0 s of normal "
                "drive 900011, where nothing happens (README 'still missed')",
            ),
        ),
        900_003,
        pytest.param(
            900_002,
            marks=pytest.mark.xfail(
                strict=True,
                reason="known gap: sun flicker (3.4-7.3 s) breaks the tracker as in 900001: 7 of the 11 ticks "
                "within 0.5 s of the impact are cuts that clear the motion window (README 'still missed')",
            ),
        ),
    ],
)
def test_each_model_scores_a_generated_impact_above_normal_driving(seed: int) -> None:
    crash, normal = mined("rear_end", seed), mined("normal", seed + 10)
    assert peak(crash, "motion", IMPACT_S - 0.5, IMPACT_S + 0.8) > max(0.5, peak(normal, "motion"))
    assert peak(crash, "audio", IMPACT_S - 0.5, IMPACT_S + 0.8) > max(0.5, peak(normal, "audio"))
    assert peak(crash, "proximity", IMPACT_S - 1.5, IMPACT_S + 0.2) > peak(normal, "proximity")
    assert len(crash.incidents) == 1 and normal.incidents == []
    assert abs(crash.incidents[0].peak_s - IMPACT_S) <= 1.0


@pytest.mark.parametrize(
    ("kind", "seed"), [("pedestrian", 900_030), ("pedestrian", 900_041), ("side_impact", 900_024)]
)
def test_a_hit_that_barely_moves_the_camera_is_found_by_its_sound(kind: str, seed: int) -> None:
    crash = mined(kind, seed)
    assert peak(crash, "motion", IMPACT_S - 0.5, IMPACT_S + 0.8) < 0.5  # no jolt to speak of
    [incident] = crash.incidents
    assert abs(incident.peak_s - IMPACT_S) <= 0.5 and incident.score >= 0.9
    # The same scores fused without a sustained bang counting alone: the jolt and the looming open nothing.
    weights = {kind: AgentConfig().miners[kind].weight for kind in crash.timelines}
    engine = FusionEngine(FusionConfig(alone_miners=frozenset()), weights, RATE_HZ)
    scores = {kind: timeline.scores for kind, timeline in crash.timelines.items()}
    bins = ({k: s[b] for k, s in scores.items()} for b in range(len(scores["audio"])))
    assert fused(engine, bins) == []


@pytest.mark.parametrize("sound", [False, True])
def test_only_a_sound_track_spares_an_incident_the_rest_check(sound: bool) -> None:
    """A G-sensor jolts on a pothole as the camera does: without sound, its incidents must be followed by
    a stop too; a microphone hears the bang itself."""
    drive = build_scenario(Scenario(kind="normal", seed=900_011, duration_s=3.0))
    source = GeneratedSource([drive], accel=True)
    info = source.info if sound else msgspec.structs.replace(source.info, audio_rate=None)
    session = MiningSession(info, AgentConfig())
    for item in source:
        if sound or not isinstance(item, AudioBlock):
            session.feed(item)
    session.finish()
    motion = next(m for m in session.miners if isinstance(m, MotionMiner))
    assert motion.accel.present  # the G-sensor was read
    assert session.fusion.hearing == ({"audio"} if sound else set())


def test_a_cut_clears_the_motion_window() -> None:
    miner = MotionMiner(default_miner_configs()["motion"], RATE_HZ)
    gray = np.zeros((18, 32), np.uint8)
    for i in range(20):
        miner.on_video(
            VideoFrame(t=i / RATE_HZ, index=i, gray=gray), EgoMotion(t=i / RATE_HZ, dx=0.01, valid=True)
        )
    assert miner.window.full
    miner.on_video(VideoFrame(t=2.0, index=20, gray=gray), EgoMotion(t=2.0, cut=True))
    assert (
        miner.window.filled == 0 and len(miner.track.scores) == round((1.9 - DELAY / RATE_HZ) * RATE_HZ) + 1
    )


def test_accel_peak_is_the_deviation_from_the_running_median_in_g() -> None:
    peaks = AccelPeaks()
    t = np.arange(0, 3.0, 0.01)
    az = np.full_like(t, 9.81)
    az[(t >= 2.0) & (t < 2.1)] += 5 * 9.81  # a 5 g spike
    samples = np.stack([t, np.zeros_like(t), np.zeros_like(t), az], axis=1).astype(np.float32)
    peaks.add(AccelBlock(t=0.0, samples=samples))
    assert peaks.peak_until(1.9) < 0.01
    assert 4.9 < peaks.peak_until(2.2) < 5.1
    assert peaks.peak_until(2.3) < 0.01  # each reading counts once


def test_fusion_reconfigure_changes_thresholds_mid_stream() -> None:
    engine = FusionEngine(FusionConfig(corroboration_s=0.0, cooldown_s=0.0), {"motion": 1.0}, RATE_HZ)
    bins = [{"motion": 0.0}] * 10 + [{"motion": 0.6}] * 5 + [{"motion": 0.0}] * 10
    assert sum(len(engine.push(b)) for b in bins) == 1
    engine.reconfigure(
        FusionConfig(corroboration_s=0.0, cooldown_s=0.0, enter_threshold=0.7), {"motion": 1.0}
    )
    assert sum(len(engine.push(b)) for b in bins) + len(engine.finish()) == 0


def test_session_reconfigure_applies_a_pushed_config(caplog: pytest.LogCaptureFixture) -> None:
    drive = build_scenario(Scenario(kind="rear_end", seed=900_003, duration_s=12.0, event_s=IMPACT_S))
    source = GeneratedSource([drive])
    session = MiningSession(source.info, AgentConfig())
    pushed = merge_config(
        AgentConfig(),
        {
            # the crash still opens an incident (fused 0.91 without proximity), which the budget of 0 drops
            "fusion": {"enter_threshold": 0.85, "exit_threshold": 0.8, "max_incidents_per_hour": 0},
            "miners": {"proximity": {"enabled": False}},
            "analysis": {"width": 640},
        },
    )
    with caplog.at_level(logging.INFO):
        for i, item in enumerate(source):
            if i == 50:
                session.reconfigure(pushed)
            session.feed(item)
    result = session.finish()
    assert result.incidents == []  # the same drive gives one incident under the defaults (test above)
    assert "fusion.suppressed reason=budget" in caplog.text
    assert [m.kind for m in session.active] == ["audio", "motion"]
    assert session.fusion.config.enter_threshold == 0.85 and set(session.fusion.weights) == {
        "audio",
        "motion",
    }
    assert "mining.reconfigure_deferred analysis_changed=True" in caplog.text
    assert "fusion.reconfigured enter=0.850" in caplog.text
    back = msgspec.structs.replace(pushed, fusion=FusionConfig())
    session.reconfigure(back)
    assert session.fusion.config == FusionConfig()
