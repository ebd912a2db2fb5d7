"""Training examples: the exact model inputs the deployed miners compute, with labels from the drive's truth.

Each generated drive runs through a real ``MiningSession`` whose models are switched to tap mode, so
the examples come from the same feature code the vehicle runs. Labels come from the scenario: the
impact time (motion), time-to-contact with the lead car (proximity), and the onsets of impact, skid,
glass and horn sounds (audio). Real recordings from ../shared/data/real/audio are mixed into generated
cabin noise at random gains and times for the audio model (see the model card). Every other real normal
dashcam clip of ../shared/data/real (name order) gives the motion and audio models real negatives: a
filmed drive shakes, and sounds, as no renderer does; the evaluation reports the other half apart.
"""

from __future__ import annotations

import csv
import logging
import time
from collections import defaultdict
from pathlib import Path

import msgspec
import numpy as np

from edge_agent.miners.plugins import motion
from edge_agent.mining import MiningSession
from edge_agent.sample.recorded import over_cabin, read_wav
from edge_agent.sample.scenarios import Scenario, ScenarioDrive, build_scenario
from edge_agent.sample.sound import SAMPLE_RATE
from edge_agent.sample.stream import GeneratedSource
from edge_agent.settings import AgentConfig
from edge_agent.source import open_source
from edge_agent.source.base import AudioBlock, SourceInfo

KINDS = ("normal", "rear_end", "side_impact", "pedestrian", "near_miss")
AUDIO_CLASSES = ("impact", "skid", "glass", "horn")
PROXIMITY_TTC_S = 1.0
# Each real normal example counts this many times: a few minutes of filmed driving against hours of
# generated drives.
REAL_NEGATIVE_COPIES = 10
# The models a real normal clip teaches: nothing in it is a collision, and nothing ahead is under a second
# from contact either (a time to contact that short is a near collision, not a queue: a driver closing on
# one at that rate brakes hard, and the clip would be a near miss). Without filmed negatives the
# proximity model read real normal driving above 0.5 a third of the time, against 8 % of generated.
REAL_NEGATIVE_KINDS = ("motion", "audio", "proximity")
log = logging.getLogger("edge_agent.training")
# Real sound files with event onsets (s) read from labels.tsv's descriptions; a04 and a06 lack times.
REAL_SOUNDS: dict[str, dict[str, list[float]]] = {
    "a01_car_horn_honks.wav": {"horn": [1.05, 1.55]},
    "a02_crash_impact.wav": {"impact": [0.6]},
    "a03_skid_then_crash.wav": {"skid": [0.9], "impact": [2.6]},
}


class Examples(msgspec.Struct):
    """Inputs and labels per miner kind."""

    x: dict[str, list[np.ndarray]]
    y: dict[str, list[np.ndarray]]
    group: dict[str, list[int]]  # which drive an example came from (kept together in a split)


def scenario_set(seed0: int, count: int, duration_s: float = 12.0) -> list[Scenario]:
    rng = np.random.default_rng(seed0)
    out = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        event = float(rng.uniform(5.0, duration_s - 2.0)) if kind != "normal" else None
        out.append(Scenario(kind=kind, seed=seed0 + i, duration_s=duration_s, event_s=event))  # type: ignore[arg-type]
    return out


def _near(t: float, onsets: list[float], before: float, after: float) -> bool:
    return any(onset - before <= t <= onset + after for onset in onsets)


def _tapped_session(info: SourceInfo) -> tuple[MiningSession, dict[str, list[tuple[float, np.ndarray]]]]:
    session = MiningSession(info, AgentConfig())
    taps: dict[str, list[tuple[float, np.ndarray]]] = defaultdict(list)
    for miner in session.miners:
        miner.model.scoring = False  # type: ignore[attr-defined]
        miner.model.tap = lambda t, x, kind=miner.kind: taps[kind].append((t, x))  # type: ignore[attr-defined]
    return session, taps


def audio_labels(t: float, sounds: dict[str, list[float]]) -> np.ndarray:
    return np.array([_near(t, sounds.get(c, []), 0.25, 0.25) for c in AUDIO_CLASSES], np.float32)


def turning(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same window as if the road curved or climbed: a steady, slowly changing camera velocity.

    The generated road is straight and flat, but a turn at yaw rate r shifts the image by about
    0.6 * r * 0.1 of its width per tick (0.3 rad/s: 1.8 %), and hills pitch it a little; these add a
    smooth offset to the shift channels wherever the tracking held.
    """
    out = x.copy()
    ramp = np.linspace(0.0, 1.0, len(x), dtype=np.float32)
    yaw = rng.uniform(-0.6, 0.6) + rng.uniform(-0.3, 0.3) * ramp
    pitch = rng.uniform(-0.1, 0.1) + rng.uniform(-0.05, 0.05) * ramp
    valid = x[:, 4]
    # The window holds compressed velocities (motion.compress): add the turn in linear velocity.
    out[:, 0] = motion.compress(motion.expand(x[:, 0]) + (yaw * valid).astype(np.float32))
    out[:, 1] = motion.compress(motion.expand(x[:, 1]) + (pitch * valid).astype(np.float32))
    return out


def drive_examples(drive: ScenarioDrive, accel: bool) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    quality = int(np.random.default_rng(drive.scenario.seed + 5).integers(20, 80))  # recorders differ
    source = GeneratedSource([drive], accel=accel, jpeg_quality=quality)
    session, taps = _tapped_session(source.info)
    for item in source:
        session.feed(item)
    impacts = [drive.impact_at_s] if drive.impact_at_s is not None else []
    fps = drive.plan.fps
    out: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    rng = np.random.default_rng(drive.scenario.seed)
    for t, x in taps["motion"]:
        label = np.array([_near(t, impacts, 0.15, 0.25)], np.float32)
        out["motion"].append((x, label))
        out["motion"].append((turning(x, rng), label))
    for t, x in taps["proximity"]:
        ttc = float(drive.ttc[min(len(drive.ttc) - 1, round(t * fps))])
        out["proximity"].append((x, np.array([ttc < PROXIMITY_TTC_S], np.float32)))
    for t, x in taps["audio"]:
        out["audio"].append((x, audio_labels(t, drive.sounds)))
    return out


def real_sound_examples(folder: Path, seed: int, copies: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Real horn / crash / skid recordings over generated cabin noise, each at several gains and times."""
    rng = np.random.default_rng(seed)
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for name, onsets in REAL_SOUNDS.items():
        path = folder / name
        if not path.is_file():
            continue
        sound, rate = read_wav(path)
        length_s = float(np.ceil(len(sound) * SAMPLE_RATE / rate)) / SAMPLE_RATE  # as resampled
        for k in range(copies):
            at = float(rng.uniform(3.5, 9.5 - length_s)) if length_s < 5.5 else 3.5
            mix32 = over_cabin(sound, rate, seed * 100 + k, at, float(rng.uniform(0.3, 1.5)), 10.0)
            sounds = {c: [at + o for o in onsets.get(c, [])] for c in AUDIO_CLASSES}
            session, taps = _tapped_session(
                SourceInfo("real-audio", 320, 180, 10.0, 10.0, 320, 180, SAMPLE_RATE)
            )
            audio_miner = next(m for m in session.miners if m.kind == "audio")
            for a in range(0, len(mix32), 4800):
                audio_miner.on_audio(
                    AudioBlock(t=a / SAMPLE_RATE, samples=mix32[a : a + 4800], rate=SAMPLE_RATE)
                )
            out += [(x, audio_labels(t, sounds)) for t, x in taps["audio"]]
    return out


def real_normal_training_clips(folder: Path) -> list[Path]:
    """Every other ``kind = normal``, ``view = dashcam`` clip of ``folder/labels.tsv``, in name order:
    the ones training learns from. The evaluation reports the rest as held out."""
    with (folder / "labels.tsv").open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    names = sorted(r["file"] for r in rows if r["kind"] == "normal" and r["view"] == "dashcam")
    return [folder / name for name in names[::2]]


def clip_inputs(path: Path) -> dict[str, list[tuple[float, np.ndarray]]]:
    """Every model input the miners compute on a filmed clip, per miner kind, with its score time."""
    config = AgentConfig()
    with open_source(path, config.analysis.width) as source:
        session, taps = _tapped_session(source.info)
        for item in source:
            session.feed(item)
    return taps


def real_normal_examples(path: Path) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """The motion, audio and proximity inputs of a filmed normal drive, every one labelled "no collision"
    (the horn label too: an unheard honk in the clip is taught as none; the miner scores impact and
    glass), and "time to contact over a second"."""
    taps = clip_inputs(path)
    negatives = {
        "motion": np.zeros(1, np.float32),
        "audio": np.zeros(len(AUDIO_CLASSES), np.float32),
        "proximity": np.zeros(1, np.float32),
    }
    return {kind: [(x, negatives[kind]) for _, x in taps[kind]] for kind in REAL_NEGATIVE_KINDS}


class TrainingData(msgspec.Struct):
    """Everything the models learn from and are held out on."""

    train: Examples
    test: Examples
    real_sounds: list[tuple[np.ndarray, np.ndarray]]
    negatives: dict[str, list[tuple[np.ndarray, np.ndarray]]]  # filmed normal driving, per miner kind
    normal_clips: list[Path]

    def inputs(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """One miner's training inputs and labels: generated drives, then the real examples."""
        x, y = np.stack(self.train.x[kind]), np.stack(self.train.y[kind])
        extra = (self.real_sounds if kind == "audio" else []) + self.negatives.get(kind, [])
        if extra:
            x = np.concatenate([x, np.stack([r[0] for r in extra])])
            y = np.concatenate([y, np.stack([r[1] for r in extra])])
        return x, y

    def held_out(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        return np.stack(self.test.x[kind]), np.stack(self.test.y[kind])


def gather(train_drives: int, test_drives: int, jobs: int, real: Path) -> TrainingData:
    """Generated drives (seeds from 1 train, from 100_001 held out) and what ``real`` adds, logged."""
    started = time.monotonic()
    train = collect(scenario_set(1, train_drives), jobs)
    test = collect(scenario_set(100_001, test_drives), jobs)
    audio_folder = real / "audio"
    real_sounds = real_sound_examples(audio_folder, 7, 6) if audio_folder.is_dir() else []
    if not real_sounds:
        log.warning(
            "training.no_real_audio folder=%s: the audio model trains on generated sounds only", audio_folder
        )
    normal_clips = real_normal_training_clips(real) if (real / "labels.tsv").is_file() else []
    if not normal_clips:
        log.warning("training.no_real_normal folder=%s: no filmed negatives for motion and audio", real)
    negatives: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {k: [] for k in REAL_NEGATIVE_KINDS}
    for clip in normal_clips:
        for kind, rows in real_normal_examples(clip).items():
            negatives[kind] += rows * REAL_NEGATIVE_COPIES
    log.info(
        "training.data_ready seconds=%.0f real_audio_examples=%d real_normal_clips=%d",
        time.monotonic() - started,
        len(real_sounds),
        len(normal_clips),
    )
    return TrainingData(train, test, real_sounds, negatives, normal_clips)


def collect(scenarios: list[Scenario], jobs: int) -> Examples:
    """Examples from every scenario; every other drive has a G-sensor, as fleets mix devices."""
    from multiprocessing import get_context

    args = [(s, i % 2 == 0) for i, s in enumerate(scenarios)]
    if jobs > 1:
        with get_context("spawn").Pool(jobs) as pool:
            results = pool.starmap(_one, args)
    else:
        results = [_one(*a) for a in args]
    ex = Examples(x=defaultdict(list), y=defaultdict(list), group=defaultdict(list))
    for g, result in enumerate(results):
        for kind, rows in result.items():
            for x, y in rows:
                ex.x[kind].append(x)
                ex.y[kind].append(y)
                ex.group[kind].append(g)
    return ex


def _one(scenario: Scenario, accel: bool) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    import cv2

    cv2.setNumThreads(1)
    return drive_examples(build_scenario(scenario), accel)
