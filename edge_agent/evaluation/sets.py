"""The clips to evaluate: real ones listed in labels.tsv, and generated ones played without encoding.

Generated seeds start at 200_000, apart from training's, so no evaluated drive was trained on. Every other
real normal dashcam clip is one training learned from (as a negative): it is marked and reported apart.
A job can also be mined as a dashcam without a microphone records it (a second mining session fed the
same decoded frames, no audio track), and a generated crash as one whose microphone heard no crash it
recognises (a third session, its sound track swapped for a normal drive's cabin sound: the audio model
reads real crash recordings at 0.13 at most): the drive is rendered or decoded once for all.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import msgspec
import numpy as np

from edge_agent.evaluation.metrics import Clip
from edge_agent.mining import MiningResult, MiningSession
from edge_agent.sample.scenarios import Scenario, ScenarioDrive, build_scenario
from edge_agent.sample.stream import GeneratedSource
from edge_agent.settings import AgentConfig
from edge_agent.source import open_source
from edge_agent.source.base import AudioBlock, Source, SourceError
from edge_agent.training.data import real_normal_training_clips

_SEED0 = 200_000
_LONG_DRIVE_S = 120.0


class Job(msgspec.Struct, frozen=True, kw_only=True):
    """One clip to mine: a real file, or generated scenarios (several of them spliced: a scene cut)."""

    name: str
    kind: str
    view: str
    ego_involved: str = ""
    impact_s: float | None = None
    path: str | None = None
    scenarios: list[Scenario] = []
    accel: bool = False
    trained: bool = False  # a real clip the models learned from (as a negative)
    silent_replay: bool = False  # also mined without its sound track (reported as a clip of its own)
    cabin_replay: bool = False  # generated: also mined with a normal drive's cabin sound instead of its own


def real_jobs(folder: Path) -> list[Job]:
    trained = set(real_normal_training_clips(folder))
    jobs = []
    with (folder / "labels.tsv").open(newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["kind"] not in ("crash", "nearmiss", "normal"):
                continue
            impact = float(row["impact_s"]) if row["impact_s"] else None
            sound = row["has_audio_track"] == "yes"
            jobs.append(
                Job(
                    name=Path(row["file"]).stem,
                    kind=row["kind"],
                    view=row["view"],
                    ego_involved=row["ego_involved"],
                    impact_s=impact,
                    path=str(folder / row["file"]),
                    trained=folder / row["file"] in trained,
                    silent_replay=sound and row["kind"] == "normal",
                )
            )
    return jobs


def generated_jobs(
    crashes_per_kind: int, near_misses: int, normal_hours: float, cuts: int, silent_hours: float = 0.0
) -> list[Job]:
    """Crashes, near misses, normal drives and cut clips. Every crash and the first ``silent_hours`` of
    the normal drives are also mined without sound (a dashcam without a microphone, or with it switched
    off), where the motion model has to decide alone."""
    rng = np.random.default_rng(_SEED0)
    seed = _SEED0
    jobs: list[Job] = []
    for kind in ("rear_end", "side_impact", "pedestrian"):
        for i in range(crashes_per_kind):
            seed += 1
            event = round(float(rng.uniform(8.0, 16.0)), 2)
            s = Scenario(kind=kind, seed=seed, duration_s=20.0, event_s=event)  # type: ignore[arg-type]
            accel = i % 2 == 1
            name = f"gen_{kind}_{seed}" + ("_gsensor" if accel else "")
            jobs.append(
                Job(
                    name=name,
                    kind="crash",
                    view="dashcam",
                    ego_involved="yes",
                    impact_s=event,
                    scenarios=[s],
                    accel=accel,
                    silent_replay=True,
                    cabin_replay=True,
                )
            )
    for _ in range(near_misses):
        seed += 1
        event = round(float(rng.uniform(8.0, 16.0)), 2)
        s = Scenario(kind="near_miss", seed=seed, duration_s=20.0, event_s=event)
        jobs.append(
            Job(name=f"gen_near_miss_{seed}", kind="nearmiss", view="dashcam", impact_s=event, scenarios=[s])
        )
    count = math.ceil(normal_hours * 3600 / _LONG_DRIVE_S)
    silent = math.ceil(min(silent_hours, normal_hours) * 3600 / _LONG_DRIVE_S)
    for k in range(count):
        seed += 1
        s = Scenario(kind="normal", seed=seed, duration_s=round(normal_hours * 3600 / count, 1))
        accel = seed % 2 == 0
        jobs.append(
            Job(
                name=f"gen_normal_{seed}" + ("_gsensor" if accel else ""),
                kind="normal",
                view="dashcam",
                scenarios=[s],
                accel=accel,
                silent_replay=k < silent,
            )
        )
    for _ in range(cuts):
        parts = [Scenario(kind="normal", seed=seed + k + 1, duration_s=10.0) for k in range(2)]
        seed += 2
        jobs.append(Job(name=f"gen_cut_{seed}", kind="cut", view="dashcam", scenarios=parts))
    return jobs


def cabin_sound(drives: list[ScenarioDrive]) -> np.ndarray:
    """The sound track of the same drives with nothing crash-like in it: normal drives of the same seeds
    and lengths (engine, road, now and then a horn or a cabin knock)."""
    tracks = [
        build_scenario(Scenario(kind="normal", seed=d.scenario.seed, duration_s=d.scenario.duration_s)).audio
        for d in drives
    ]
    return np.concatenate(tracks)


def mine_with_replays(
    source: Source, config: AgentConfig, silent: bool, cabin: np.ndarray | None = None
) -> dict[str, MiningResult]:
    """The source mined as it is (replay ""), and as its replays: "silent" (no audio track) and, given a
    ``cabin`` track on the source's timeline and rate, "cabin" (that track's blocks instead of its own)."""
    sessions = [("", MiningSession(source.info, config))]
    if silent:
        sessions.append(
            ("silent", MiningSession(msgspec.structs.replace(source.info, audio_rate=None), config))
        )
    if cabin is not None:
        sessions.append(("cabin", MiningSession(source.info, config)))
    for item in source:
        for replay, session in sessions:
            if not isinstance(item, AudioBlock) or replay == "":
                session.feed(item)
            elif replay == "cabin" and cabin is not None:
                session.feed(_same_span(item, cabin))
    return {replay: session.finish() for replay, session in sessions}


def _same_span(block: AudioBlock, track: np.ndarray) -> AudioBlock:
    """The samples of ``track`` (same timeline and rate) that ``block`` spans, zero past its end."""
    start = round(block.t * block.rate)
    samples = np.zeros(len(block.samples), np.float32)
    part = track[start : start + len(samples)]
    samples[: len(part)] = part
    return AudioBlock(t=block.t, samples=samples, rate=block.rate)


def run_job(job: Job, config: AgentConfig) -> list[Clip]:
    """Mine one clip (and its replays); an unreadable real file becomes a clip with a note instead of
    stopping the run."""
    import cv2

    cv2.setNumThreads(1)
    try:
        if job.path is not None:
            with open_source(Path(job.path), config.analysis.width) as source:
                results = mine_with_replays(source, config, job.silent_replay)
        else:
            drives = [build_scenario(s) for s in job.scenarios]
            source = GeneratedSource(drives, width=config.analysis.width, accel=job.accel)
            cabin = cabin_sound(drives) if job.cabin_replay else None
            results = mine_with_replays(source, config, job.silent_replay, cabin)
    except SourceError as exc:
        return [_clip(job, None, config, note=f"unreadable: {exc.detail}")]
    return [_clip(job, r, config, replay) for replay, r in results.items()]


def _clip(
    job: Job, result: MiningResult | None, config: AgentConfig, replay: str = "", note: str = ""
) -> Clip:
    incidents = result.incidents if result is not None else []
    return Clip(
        name=job.name + (f"_{replay}" if replay else ""),
        group="real" if job.path else "generated",
        kind=job.kind,
        view=job.view,
        ego_involved=job.ego_involved,
        duration_s=result.duration_s if result is not None else 0.0,
        impact_s=job.impact_s,
        peaks=[i.peak_s for i in incidents],
        starts=[i.start_s for i in incidents],
        windows=[i.clip_window(config.clip.pre_roll_s, config.clip.post_roll_s) for i in incidents],
        scores=[i.miner_scores for i in incidents],
        note=note,
        trained=job.trained,
        silent=replay == "silent",
        cabin_sound=replay == "cabin",
        gsensor=job.accel,
        rest_dropped=result.dropped.get("kept_moving", 0) if result is not None else 0,
    )
