"""Miners on synthetic input: camera jolts vs pans and cuts, broadband bangs vs thuds and tones,
looming vs static and panning views; and the plugin registry."""

from __future__ import annotations

import logging
import math
import re
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_agent.miners import EgoMotion, Miner, build_miners, default_miner_configs, miner_classes, registry
from edge_agent.miners.logmel import mel_filterbank
from edge_agent.miners.plugins.audio import AudioConfig, AudioMiner
from edge_agent.miners.plugins.motion import MotionConfig, MotionMiner
from edge_agent.miners.plugins.proximity import ProximityConfig, ProximityMiner
from edge_agent.source import AudioBlock, VideoFrame

FPS = 30
RATE_HZ = 10.0
BLANK = np.zeros((18, 32), np.uint8)


def texture(seed: int, shape: tuple[int, int] = (180, 320), blur: float = 2.0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    img = cv2.GaussianBlur(noise, (0, 0), blur)
    return np.clip(128 + img / img.std() * 45, 0, 255).astype(np.uint8)


def peak(miner: Miner, lo_s: float, hi_s: float) -> float:
    return max(miner.track.at(i) for i in range(int(lo_s * RATE_HZ), int(hi_s * RATE_HZ) + 1))


# -- registry -----------------------------------------------------------------------------------
def test_every_registered_miner_builds_and_scores_nothing_without_input() -> None:
    classes = miner_classes()
    assert set(classes) == {"audio", "motion", "proximity"}
    miners = build_miners(default_miner_configs(), RATE_HZ)
    assert [m.kind for m in miners] == sorted(classes)
    for miner in miners:
        assert re.search(r"-int8-\d+$", miner.version) and miner.inputs
        assert miner.timeline(5).scores == [0.0] * 5


def test_disabled_miner_is_not_built() -> None:
    configs = default_miner_configs() | {"audio": AudioConfig(enabled=False)}
    assert "audio" not in [m.kind for m in build_miners(configs, RATE_HZ)]


def test_broken_plugin_disables_only_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "broken.py").write_text("import no_such_module_here\n")
    monkeypatch.setattr(registry.plugins, "__path__", [*registry.plugins.__path__, str(tmp_path)])
    registry.miner_classes.cache_clear()
    try:
        with caplog.at_level(logging.WARNING):
            classes = registry.miner_classes()
        assert set(classes) == {"audio", "motion", "proximity"}
        assert "miner.disabled module=edge_agent.miners.plugins.broken" in caplog.text
    finally:
        registry.miner_classes.cache_clear()
        sys.modules.pop("edge_agent.miners.plugins.broken", None)


# -- motion ---------------------------------------------------------------------------------------
TICK = 1 / RATE_HZ  # the mining loop runs miners at the timeline rate


def feed_motion(miner: MotionMiner, motions: list[EgoMotion]) -> None:
    for i, ego in enumerate(motions):
        miner.on_video(VideoFrame(t=i * TICK, index=i, gray=BLANK), ego)


def moving(n: int, dx: float, rng: np.random.Generator | None = None) -> list[EgoMotion]:
    jitter = rng.normal(0, 0.001, (n, 2)) if rng is not None else np.zeros((n, 2))  # road vibration
    return [EgoMotion(t=i * TICK, dx=dx + jitter[i, 0], dy=jitter[i, 1], valid=True) for i in range(n)]


def ringing(t: float, t0: float, amplitude: float) -> float:
    """Camera offset of a mount knocked at ``t0``: a decaying 3 Hz ring, as a collision leaves it."""
    dt = t - t0
    return amplitude * math.exp(-dt / 0.12) * math.cos(2 * math.pi * 3 * dt) if dt >= 0 else 0.0


@pytest.mark.xfail(
    strict=True,
    reason="known gap of motion-mlp-int8-2: a clean, fully tracked ring with no forward zoom (a parked car "
    "knocked) scores ~0; generated crashes are found through the tracking loss and G-sensor, README 'still missed'",
)
def test_sudden_camera_jolt_scores_above_steady_pan_and_vibration() -> None:
    steady = MotionMiner(MotionConfig(), RATE_HZ)
    feed_motion(steady, moving(60, 0.02, np.random.default_rng(0)))
    motions = moving(60, 0.0, np.random.default_rng(1))
    for i in range(29, 40):  # per-tick change of the ringing offset: shift x / y and roll
        t = i * TICK
        dx, dy, roll = (ringing(t, 3.0, a) - ringing(t - TICK, 3.0, a) for a in (0.025, 0.05, 0.04))
        motions[i] = EgoMotion(t=t, dx=motions[i].dx + dx, dy=motions[i].dy + dy, droll=roll, valid=True)
    jolted = MotionMiner(MotionConfig(), RATE_HZ)
    feed_motion(jolted, motions)
    assert peak(jolted, 2.8, 3.4) > 0.5
    assert peak(steady, 0, 6) < 0.5 and peak(jolted, 0, 2.5) < 0.5


def test_a_cut_resets_instead_of_scoring() -> None:
    motions = moving(60, 0.0)
    motions[50] = EgoMotion(t=5.0, cut=True)  # what the estimator reports for an edit
    miner = MotionMiner(MotionConfig(), RATE_HZ)
    feed_motion(miner, motions)
    assert peak(miner, 0, 6) < 0.5
    assert miner.window.filled == 9  # refilled since the cut, not carried across it


# -- audio ----------------------------------------------------------------------------------------
SR = 16_000


def background(seconds: float, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    hum = sum(np.sin(2 * np.pi * 45 * k * t) / k for k in range(1, 6)) * 0.05
    return (hum + np.random.default_rng(seed).normal(0, 0.01, len(t))).astype(np.float32)


def feed_audio(samples: np.ndarray, block: int = 1024) -> AudioMiner:
    miner = AudioMiner(AudioConfig(), RATE_HZ)
    for start in range(0, len(samples), block):
        miner.on_audio(AudioBlock(t=start / SR, samples=samples[start : start + block], rate=SR))
    return miner


def add_at(samples: np.ndarray, at_s: float, sound: np.ndarray) -> np.ndarray:
    out = samples.copy()
    i = int(at_s * SR)
    out[i : i + len(sound)] += sound[: len(out) - i]
    return out


def decaying(seconds: float, tau: float) -> np.ndarray:
    return np.exp(-np.arange(int(seconds * SR)) / SR / tau).astype(np.float32)


# Onsets are placed at every 10 ms phase of a 100 ms tick: the score must not depend on where a sound
# falls against the tick grid (a tone's onset read 0.01-0.72 by its phase alone before ``Agreement``).
PHASES_S = [k * 0.01 for k in range(10)]


@pytest.mark.parametrize("phase", PHASES_S)
def test_broadband_bang_scores_at_its_onset(phase: float) -> None:
    bang = np.random.default_rng(5).normal(0, 0.5, int(0.4 * SR)).astype(np.float32) * decaying(0.4, 0.1)
    miner = feed_audio(add_at(background(5.0), 3.0 + phase, bang))
    assert peak(miner, 2.7, 3.5) > 0.5
    assert peak(miner, 0, 2.6) < 0.3


@pytest.mark.parametrize("phase", PHASES_S)
def test_low_thud_and_pure_tone_score_below_a_bang(phase: float) -> None:
    t = np.arange(int(0.5 * SR)) / SR
    thud = (0.6 * np.sin(2 * np.pi * 55 * t) * decaying(0.5, 0.08)).astype(np.float32)
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    miner = feed_audio(add_at(add_at(background(6.0), 2.0 + phase, thud), 4.0 + phase, tone))
    assert peak(miner, 0, 6) < 0.5


@pytest.mark.parametrize("block", [160, 1024, 4096, 16000])
def test_audio_scores_do_not_depend_on_how_the_stream_is_cut(block: int) -> None:
    bang = np.random.default_rng(5).normal(0, 0.5, int(0.4 * SR)).astype(np.float32) * decaying(0.4, 0.1)
    samples = add_at(background(5.0), 3.0, bang)
    assert feed_audio(samples, block).track.scores == feed_audio(samples, 1024).track.scores


def test_silence_then_sound_waits_for_a_background() -> None:
    samples = np.concatenate([np.zeros(int(0.5 * SR), np.float32), background(3.0)])
    assert peak(feed_audio(samples), 0, 3.5) < 0.3


def test_mel_filterbank_covers_the_band() -> None:
    fb = mel_filterbank(16_000, 1024, 32, 60.0, 8000.0)
    assert fb.shape == (32, 513)
    assert (fb.max(axis=1) > 0.5).all()


# -- proximity ------------------------------------------------------------------------------------
def looming_frames(expansion_per_s: float, seconds: float, pan_px_per_s: float = 0.0) -> list[np.ndarray]:
    """A textured scene with an object in the middle that grows at ``expansion_per_s``."""
    scene, obj = texture(7, (180, 320), 3.0), texture(8, (60, 80), 1.5)
    frames = []
    for i in range(int(seconds * FPS)):
        t = i / FPS
        frame = np.roll(scene, int(pan_px_per_s * t), axis=1).copy()
        s = 0.5 * np.exp(expansion_per_s * t)
        size = (max(4, int(80 * s)), max(4, int(60 * s)))
        patch = cv2.resize(obj, size, interpolation=cv2.INTER_LINEAR)
        y0, x0 = 95 - size[1] // 2, 160 - size[0] // 2
        ys, xs = slice(max(0, y0), min(180, y0 + size[1])), slice(max(0, x0), min(320, x0 + size[0]))
        frame[ys, xs] = patch[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
        frames.append(frame)
    return frames


def feed_proximity(frames: list[np.ndarray]) -> ProximityMiner:
    miner = ProximityMiner(ProximityConfig(), RATE_HZ)
    for i, frame in enumerate(frames[::3]):  # 30 fps frames, analysed at the timeline rate
        miner.on_video(VideoFrame(t=i * 3 / FPS, index=i, gray=frame), EgoMotion(t=i * 3 / FPS, valid=True))
    return miner


def test_fast_looming_object_scores() -> None:
    frames = looming_frames(0.0, 3.0) + looming_frames(3.0, 0.8)[:24]
    miner = feed_proximity(frames)
    assert peak(miner, 3.2, 3.8) > 0.5
    assert peak(miner, 0.5, 2.9) < 0.5  # the same view before it starts to loom
    assert peak(miner, 3.2, 3.8) > peak(miner, 0.5, 2.9) + 0.2


def test_proximity_measures_every_other_tick_and_holds_its_score_between() -> None:
    frames = (looming_frames(0.0, 2.0) + looming_frames(3.0, 0.8)[:24])[::3]
    scored: list[float] = []
    miner = ProximityMiner(ProximityConfig(), RATE_HZ)
    miner.model.tap = lambda t, x: scored.append(t)
    for i, frame in enumerate(frames):
        t = (i + 0.5) / RATE_HZ  # mid-bin: tick i writes bin i
        miner.on_video(VideoFrame(t=t, index=i, gray=frame), EgoMotion(t=t, valid=True))
    assert len(scored) == (len(frames) - 1) // 2  # the first tick has nothing to compare with
    assert np.allclose(np.diff(scored), 2 / RATE_HZ)
    measured = [round(t * RATE_HZ - 0.5) for t in scored]
    assert all(miner.track.at(i + 1) == miner.track.at(i) for i in measured[:-1])  # held until the next
    assert max(miner.track.at(i) for i in measured) > 0.5


def test_static_view_does_not_score() -> None:
    assert peak(feed_proximity(looming_frames(0.0, 3.0)), 0, 3) < 0.5


@pytest.mark.xfail(
    strict=True,
    reason="known gap of proximity-mlp-int8-2 to -6: a 40 px/s pan scores ~0.7-0.8; proximity is a fusion precursor "
    "(it cannot open an incident), README 'still missed'",
)
def test_panning_view_does_not_score() -> None:
    assert peak(feed_proximity(looming_frames(0.0, 3.0, pan_px_per_s=40.0)), 0, 3) < 0.5
