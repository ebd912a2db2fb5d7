"""``python -m edge_agent.training`` (``just train-models``): data, training, ONNX, INT8, model card.

Generated drives with seeds below 100_000 train; a disjoint seed range is held out and gives the FP32
and INT8 figures in the model card. Runs on one CPU core in a few minutes (``--jobs`` to use more).

``--models`` retrains some miners only, keeping the others' files and figures from ``--out``: the audio
CNN does not come out byte-identical on every machine (README, "Same files on another machine"), so a
change to one miner's features should not replace another miner's model with a different one.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from edge_agent.miners.plugins import audio, motion, proximity
from edge_agent.models import MODELS_DIR
from edge_agent.training.card import MINERS, write_card
from edge_agent.training.data import REAL_NEGATIVE_COPIES, gather
from edge_agent.training.export import export_fp32, metrics, predict, quantize_int8
from edge_agent.training.nets import LogMelCNN, MeanOf, WindowMLP

# The same seeds and data must give the same files, so that the committed models are what this makes.
# oneDNN picks its convolution kernels by instruction set: the audio CNN came out different with oneDNN
# capped at AVX2 than with its AVX-512 kernels on the same machine (the MLPs did not), so training uses
# torch's own convolution. torch's vectorised kernels also follow the CPU (ATEN_CPU_CAPABILITY: AVX2 and
# AVX-512 train other MLP weights), so the run records which it used; the same capability reproduces it.
torch.backends.mkldnn.enabled = False
log = logging.getLogger("edge_agent.training")
MOTION_MEMBERS = 5
REAL_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"


def fit(
    make: Callable[[], torch.nn.Module], x: np.ndarray, y: np.ndarray, epochs: int, seed: int
) -> torch.nn.Module:
    """Adam on BCE, positives up-weighted to balance each output (events are rare).

    The net is built after seeding: torch seeds its default generator randomly in each process, so a
    net built before would start from different weights on every run.
    """
    torch.manual_seed(seed)
    model = make()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    pos = yt.mean(0).clamp(min=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=((1 - pos) / pos).clamp(1.0, 30.0))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt), 128):
            idx = order[i : i + 128]
            opt.zero_grad()
            loss = loss_fn(model.logits(xt[idx]), yt[idx])  # type: ignore[operator]
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if epoch % 10 == 0 or epoch == epochs - 1:
            log.info(
                "training.epoch model=%s epoch=%d loss=%.4f", type(model).__name__, epoch, total / len(xt)
            )
    return model.eval()


def kept_figures(metrics: Path, kinds: set[str], data: dict[str, int]) -> dict[str, dict[str, object]]:
    """The figures of the models this run does not retrain, from the run that made them, each with that
    run's stamp (older files have it only in their ``_run``). The card describes one data set, so the
    kept models must come from a run with the same drive counts and epochs."""
    if not kinds:
        return {}
    if not metrics.is_file():
        raise ValueError(f"{metrics} not found: the models not retrained need their figures")
    previous = json.loads(metrics.read_text())
    run = previous.get("_run", {})
    missing = sorted(kinds - set(previous))
    if missing:
        raise ValueError(f"{metrics} has no figures for {', '.join(missing)}: retrain them too")
    differ = {k: (run.get(k), v) for k, v in data.items() if k in run and run[k] != v}
    if differ:
        raise ValueError(f"the kept models were trained with other settings (theirs, this run's): {differ}")
    default = {"utc": None, "torch": run.get("torch"), "cpu_capability": run.get("cpu_capability")}
    return {k: {"trained": default, **previous[k]} for k in sorted(kinds)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge_agent.training")
    parser.add_argument("--train-drives", type=int, default=300)  # the committed motion and proximity models
    parser.add_argument("--test-drives", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=MODELS_DIR)
    parser.add_argument("--real", type=Path, default=REAL_DATA, help="folder with labels.tsv and audio/")
    parser.add_argument(
        "--models",
        default=",".join(MINERS),
        help="comma-separated miners to retrain; the others' files and figures in --out are kept",
    )
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.models.split(",") if k.strip()]
    if not kinds or set(kinds) - set(MINERS):
        parser.error(f"--models takes a comma-separated subset of {', '.join(MINERS)}")
    settings = {"train_drives": args.train_drives, "test_drives": args.test_drives, "epochs": args.epochs}
    try:
        report = kept_figures(args.out / "metrics.json", set(MINERS) - set(kinds), settings)
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    torch.set_num_threads(1)
    started = time.monotonic()
    data = gather(args.train_drives, args.test_drives, args.jobs, args.real)
    # (model name, net, how many seeds are averaged): the motion model opens incidents on its own where
    # there is no sound, so it is the mean of several (MeanOf); the CNN costs too much per member.
    specs = {
        "motion": (motion.MODEL, lambda: WindowMLP(motion.WINDOW, motion.FEATURES), MOTION_MEMBERS),
        "proximity": (proximity.MODEL, lambda: WindowMLP(proximity.WINDOW, proximity.FEATURES), 1),
        "audio": (audio.MODEL, lambda: LogMelCNN(len(audio.CLASSES)), 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = {
        "utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }
    for kind in kinds:
        name, make, members = specs[kind]
        x, y = data.inputs(kind)
        xt, yt = data.held_out(kind)
        epochs = args.epochs if kind != "audio" else max(8, args.epochs // 4)
        nets = [fit(make, x, y, epochs, seed=seed) for seed in range(1, members + 1)]
        model = nets[0] if members == 1 else MeanOf(nets).eval()
        # The FP32 reference ships beside the INT8 model (8-88 KiB) so tests can check their agreement.
        fp32 = export_fp32(model, x[0], args.out / f"{name.removesuffix('-int8')}-fp32.onnx")
        calibration = x[np.random.default_rng(0).choice(len(x), min(400, len(x)), replace=False)]
        int8 = quantize_int8(fp32, args.out / f"{name}.onnx", calibration)
        p32, p8 = predict(fp32, xt), predict(int8, xt)
        report[kind] = {
            "model": name,
            "members": members,
            "bytes_int8": int8.stat().st_size,
            "bytes_fp32": fp32.stat().st_size,
            "train_examples": len(x),
            "train_positives": [int(v) for v in y.sum(0)],
            "test_examples": len(xt),
            "test_positives": [int(v) for v in yt.sum(0)],
            "fp32": metrics(p32, yt),
            "int8": metrics(p8, yt),
            "int8_vs_fp32_max_abs_diff": round(float(np.abs(p32 - p8).max()), 4),
            "int8_vs_fp32_agreement_at_0.5": round(float(((p32 >= 0.5) == (p8 >= 0.5)).mean()), 4),
            "trained": stamp,
        }
        log.info("training.model_done kind=%s %s", kind, json.dumps(report[kind]))
    report = {kind: report[kind] for kind in MINERS}
    report["_run"] = {
        "models": kinds,
        **settings,
        "real_audio_examples": len(data.real_sounds),
        "real_normal_clips": [clip.name for clip in data.normal_clips],
        "real_negative_examples": {kind: len(rows) for kind, rows in data.negatives.items()},
        "real_negative_copies": REAL_NEGATIVE_COPIES,
        "seconds": round(time.monotonic() - started),
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_threads": 1,
        "jobs": args.jobs,
        "cpus": os.cpu_count(),
    }
    (args.out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    write_card(args.out / "MODEL_CARD.md", report)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
