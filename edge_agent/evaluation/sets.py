"""The clips to evaluate: real ones listed in labels.tsv, and generated ones played without encoding.

Generated seeds start at 200_000, apart from training's, so no evaluated drive was trained on. Every other
real normal dashcam clip is one training learned from (as a negative): it is marked and reported apart.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import msgspec
import numpy as np

from edge_agent.evaluation.metrics import Clip
from edge_agent.mining import mine_file, mine_source
from edge_agent.sample.scenarios import Scenario, build_scenario
from edge_agent.sample.stream import GeneratedSource
from edge_agent.settings import AgentConfig
from edge_agent.source.base import SourceError
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
    silent: bool = False  # a generated drive played without its sound track


def real_jobs(folder: Path) -> list[Job]:
    trained = set(real_normal_training_clips(folder))
    jobs = []
    with (folder / "labels.tsv").open(newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["kind"] not in ("crash", "nearmiss", "normal"):
                continue
            impact = float(row["impact_s"]) if row["impact_s"] else None
            jobs.append(
                Job(
                    name=Path(row["file"]).stem,
                    kind=row["kind"],
                    view=row["view"],
                    ego_involved=row["ego_involved"],
                    impact_s=impact,
                    path=str(folder / row["file"]),
                    trained=folder / row["file"] in trained,
                )
            )
    return jobs


def generated_jobs(
    crashes_per_kind: int, near_misses: int, normal_hours: float, cuts: int, silent_hours: float = 0.0
) -> list[Job]:
    """Crashes, near misses, normal drives and cut clips; the first ``silent_hours`` of the normal drives
    are also played without sound (a dashcam without a microphone, or with it switched off), where the
    motion model has to decide alone."""
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
        normal = Job(
            name=f"gen_normal_{seed}", kind="normal", view="dashcam", scenarios=[s], accel=seed % 2 == 0
        )
        jobs.append(normal)
        if k < silent:
            jobs.append(msgspec.structs.replace(normal, name=f"{normal.name}_silent", silent=True))
    for _ in range(cuts):
        parts = [Scenario(kind="normal", seed=seed + k + 1, duration_s=10.0) for k in range(2)]
        seed += 2
        jobs.append(Job(name=f"gen_cut_{seed}", kind="cut", view="dashcam", scenarios=parts))
    return jobs


def run_job(job: Job, config: AgentConfig) -> Clip:
    """Mine one clip; an unreadable real file becomes a clip with a note instead of stopping the run."""
    import cv2

    cv2.setNumThreads(1)
    note = ""
    try:
        if job.path is not None:
            result = mine_file(Path(job.path), config)
        else:
            drives = [build_scenario(s) for s in job.scenarios]
            result = mine_source(
                GeneratedSource(drives, width=config.analysis.width, accel=job.accel, sound=not job.silent),
                config,
            )
        peaks = [i.peak_s for i in result.incidents]
        starts = [i.start_s for i in result.incidents]
        windows = [i.clip_window(config.clip.pre_roll_s, config.clip.post_roll_s) for i in result.incidents]
        duration = result.duration_s
    except SourceError as exc:
        peaks, starts, windows, duration, note = [], [], [], 0.0, f"unreadable: {exc.detail}"
    return Clip(
        name=job.name,
        group="real" if job.path else "generated",
        kind=job.kind,
        view=job.view,
        ego_involved=job.ego_involved,
        duration_s=duration,
        impact_s=job.impact_s,
        peaks=peaks,
        starts=starts,
        windows=windows,
        note=note,
        trained=job.trained,
        silent=job.silent,
    )
