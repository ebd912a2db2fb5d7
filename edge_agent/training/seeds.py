"""``python -m edge_agent.training.seeds``: how much of the motion model's real-clip result is its seeds.

The shipped motion model is the mean of ``MOTION_MEMBERS`` nets (seeds 1-5). This trains more ensembles
on exactly the same data (seeds 6-10, 11-15, ...) and prints, for each, its held-out AUC and its motion
score on every real dashcam clip that training does not learn from: at the impact of an ego crash
(the ticks judged from 0.4 s before it to 1 s after) and its highest anywhere on the other clips (held-out
normal drives, witnessed crashes, the near miss). A clip that one ensemble finds and the next misses is
the seeds' luck, not the data's. The scores are the FP32 ensemble's through the miner's two-tick
agreement: the motion miner's score before fusion. ``*`` marks a score that would open an incident on
its own where neither sound nor G-sensor is there. Real clips check; nothing here picks a model.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import torch

from edge_agent.evaluation.sets import Job, real_jobs
from edge_agent.miners.learned import Agreement
from edge_agent.miners.plugins import motion
from edge_agent.settings import AgentConfig
from edge_agent.training.__main__ import MOTION_MEMBERS, REAL_DATA, fit
from edge_agent.training.data import clip_inputs, gather
from edge_agent.training.export import metrics
from edge_agent.training.nets import MeanOf, WindowMLP

IMPACT_BEFORE_S, IMPACT_AFTER_S = 0.4, 1.0


def is_ego_crash(job: Job) -> bool:
    return job.kind == "crash" and job.ego_involved == "yes"


def checked_clips(real: Path) -> list[Job]:
    """The evaluation's real dashcam clips that training does not learn from: crashes first."""
    kept = [job for job in real_jobs(real) if job.view == "dashcam" and not job.trained]
    return sorted(kept, key=lambda job: (not is_ego_crash(job), job.kind != "crash", job.name))


def agreed(times: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """The miner's scores: two ticks in a row must agree; a gap in the ticks (a cut) starts afresh."""
    agreement, out = Agreement(), np.zeros(len(probs))
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.1
    for i, p in enumerate(probs):
        if i and times[i] - times[i - 1] > 2.5 * step:
            agreement.reset()
        out[i] = agreement(float(p))
    return out


def motion_inputs(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """The score times and model inputs of the motion miner on a filmed clip (None: it scored nothing)."""
    taps = clip_inputs(path)["motion"]
    return np.array([t for t, _ in taps]), np.stack([w for _, w in taps]) if taps else None


def clip_score(job: Job, times: np.ndarray, scores: np.ndarray) -> float | None:
    """At the impact of an ego crash, the highest anywhere else; None where no tick was judged."""
    if is_ego_crash(job) and job.impact_s is not None:
        impact = job.impact_s
        scores = scores[(times >= impact - IMPACT_BEFORE_S) & (times <= impact + IMPACT_AFTER_S)]
    return float(scores.max()) if len(scores) else None


def alone_threshold(config: AgentConfig) -> float:
    """The motion score that opens an incident by itself without sound: the weights renormalise over
    the miners that have a track (motion and proximity, a precursor that adds nothing when quiet)."""
    weight = config.miners["motion"].weight
    return config.fusion.enter_threshold * (weight + config.miners["proximity"].weight) / weight


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge_agent.training.seeds")
    parser.add_argument("--ensembles", type=int, default=3)
    parser.add_argument("--train-drives", type=int, default=300)
    parser.add_argument("--test-drives", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--real", type=Path, default=REAL_DATA, help="folder with labels.tsv")
    args = parser.parse_args(argv)
    if not (args.real / "labels.tsv").is_file():
        parser.error(f"{args.real / 'labels.tsv'} not found: the real dashcam clips are what this checks")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    torch.set_num_threads(1)
    data = gather(args.train_drives, args.test_drives, args.jobs, args.real)
    x, y = data.inputs("motion")
    xt, yt = data.held_out("motion")
    clips = [(job, *motion_inputs(Path(str(job.path)))) for job in checked_clips(args.real)]
    columns = []
    for e in range(args.ensembles):
        seeds = range(1 + e * MOTION_MEMBERS, 1 + (e + 1) * MOTION_MEMBERS)
        nets = [
            fit(lambda: WindowMLP(motion.WINDOW, motion.FEATURES), x, y, args.epochs, seed) for seed in seeds
        ]
        model = MeanOf(nets).eval()
        with torch.no_grad():
            auc = metrics(model(torch.from_numpy(xt)).numpy(), yt)["c0_auc"]
            scores = {
                job.name: None
                if windows is None
                else clip_score(job, times, agreed(times, model(torch.from_numpy(windows)).numpy()[:, 0]))
                for job, times, windows in clips
            }
        columns.append((f"seeds {seeds[0]}-{seeds[-1]}", auc, scores))
    alone = alone_threshold(AgentConfig())
    print(
        f"\nMotion score per ensemble (* opens an incident alone without sound or G-sensor: >= {alone:.3f})\n"
    )
    print("| clip | what | " + " | ".join(name for name, _, _ in columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    print("| held-out generated | AUC | " + " | ".join(f"{auc:.3f}" for _, auc, _ in columns) + " |")
    for job, _, _ in clips:
        what = (
            "at impact"
            if is_ego_crash(job)
            else f"{job.kind}{' (witnessed)' if job.kind == 'crash' else ''}, max"
        )
        cells = []
        for _, _, scores in columns:
            s = scores[job.name]
            cells.append("-" if s is None else f"{s:.2f}{' *' if s >= alone else ''}")
        print(f"| {job.name} | {what} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
