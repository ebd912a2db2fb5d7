"""Held-out figures for the model card (FP32 vs INT8), the card itself and the labelled held-out readings."""

from __future__ import annotations

import time
from pathlib import Path

import msgspec
import numpy as np

from cloud_api.domain.assessments.taxonomy import Scenario
from cloud_api.training.dataset import EDGE_SPLITS, SPLITS, Split
from cloud_api.training.scenarios import EDGE_SEED_BASE, LOW_MAX_DV, MEDIUM_MAX_DV, MIX, TRAINED_SCENARIOS
from cloud_api.training.train import run_onnx
from shared_models import Severity
from shared_models.enums import SEVERITY_ORDER


class Scores(msgspec.Struct, frozen=True):
    severity_accuracy: float
    severity_nll: float
    severity_ece: float
    scenario_accuracy: float
    confusion: list[list[int]]
    """Rows true severity, columns predicted, in SEVERITY_ORDER."""
    groups: list[tuple[str, int, float, float]]
    """(group, clips, scenario accuracy, severity accuracy) per true scenario and for the edge drives."""


class HeldoutReading(msgspec.Struct, frozen=True):
    """One held-out generated clip as the INT8 model read it; the server's first conformal calibration
    (cloud_api/domain/assessments/calibration.py) is built from these."""

    seed: int
    scenario: Scenario
    severity: Severity
    delta_v: float
    severity_probabilities: dict[Severity, float]


def scores(severity_p: np.ndarray, scenario_p: np.ndarray, split: Split) -> Scores:
    pred = severity_p.argmax(1)
    confusion = np.zeros((4, 4), int)
    np.add.at(confusion, (split.severity, pred), 1)
    return Scores(
        severity_accuracy=round(float((pred == split.severity).mean()), 4),
        severity_nll=round(float(-np.log(severity_p[np.arange(len(pred)), split.severity] + 1e-9).mean()), 4),
        severity_ece=round(_ece(severity_p, split.severity), 4),
        scenario_accuracy=round(float((scenario_p.argmax(1) == split.scenario).mean()), 4),
        confusion=confusion.tolist(),
        groups=_groups(pred == split.severity, scenario_p.argmax(1) == split.scenario, split),
    )


def _groups(
    severity_hit: np.ndarray, scenario_hit: np.ndarray, split: Split
) -> list[tuple[str, int, float, float]]:
    masks = [(s.value, split.scenario == i) for i, s in enumerate(TRAINED_SCENARIOS)]
    masks.append(("edge sample drives", np.array([c.seed >= EDGE_SEED_BASE for c in split.cases])))
    return [
        (name, int(m.sum()), round(float(scenario_hit[m].mean()), 3), round(float(severity_hit[m].mean()), 3))
        for name, m in masks
        if m.any()
    ]


def _ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the top class over equal-width confidence bins."""
    conf, hit = p.max(1), p.argmax(1) == y
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(conf[inside].mean() - hit[inside].mean())
    return float(total)


def latency_ms(model: Path, x: np.ndarray, runs: int = 200) -> float:
    """Median single-clip inference time on one thread."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model), sess_options=so, providers=["CPUExecutionProvider"])
    times = []
    for i in range(runs):
        started = time.perf_counter()
        session.run(None, {"frames": x[i % len(x) : i % len(x) + 1]})
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def heldout_readings(model: Path, split: Split) -> list[HeldoutReading]:
    severity_p, _ = run_onnx(model, split.x)
    return [
        HeldoutReading(
            seed=case.seed,
            scenario=case.scenario,
            severity=case.severity,
            delta_v=round(case.delta_v, 3),
            severity_probabilities={s: round(float(p), 6) for s, p in zip(SEVERITY_ORDER, row, strict=True)},
        )
        for case, row in zip(split.cases, severity_p, strict=True)
    ]


def write_card(
    out: Path,
    fp32: Scores,
    int8: Scores,
    sizes: tuple[int, int],
    latency: tuple[float, float],
    temperatures: tuple[float, float],
    train_seconds: float,
) -> None:
    counts = {name: n + EDGE_SPLITS[name][1] for name, (_, n) in SPLITS.items()}
    edge = {name: n for name, (_, n) in EDGE_SPLITS.items()}
    mix = ", ".join(f"{s.value} {share:.0%}" for s, share in MIX.items())
    header = "| | FP32 | INT8 |\n|---|---|---|\n"
    rows = "".join(
        f"| {label} | {getattr(fp32, key)} | {getattr(int8, key)} |\n"
        for label, key in (
            ("severity accuracy", "severity_accuracy"),
            ("severity NLL", "severity_nll"),
            ("severity ECE (10 bins)", "severity_ece"),
            ("scenario accuracy", "scenario_accuracy"),
        )
    )
    rows += f"| size (bytes) | {sizes[0]} | {sizes[1]} |\n"
    rows += f"| latency, 1 clip, 1 thread (ms, median) | {latency[0]:.2f} | {latency[1]:.2f} |\n"
    confusion = (
        "| true \\ predicted | " + " | ".join(s.value for s in SEVERITY_ORDER) + " |\n|---|---|---|---|---|\n"
    )
    confusion += "".join(
        f"| {s.value} | " + " | ".join(str(v) for v in row) + " |\n"
        for s, row in zip(SEVERITY_ORDER, int8.confusion, strict=True)
    )
    groups = "| true scenario | clips | scenario accuracy | severity accuracy |\n|---|---|---|---|\n"
    groups += "".join(f"| {name} | {n} | {sc} | {sv} |\n" for name, n, sc, sv in int8.groups)
    out.write_text(
        _CARD.format(
            groups=groups,
            counts=counts,
            edge=edge,
            mix=mix,
            scenarios=", ".join(s.value for s in TRAINED_SCENARIOS),
            low=LOW_MAX_DV,
            medium=MEDIUM_MAX_DV,
            table=header + rows,
            confusion=confusion,
            severity_t=temperatures[0],
            scenario_t=temperatures[1],
            train_seconds=train_seconds,
        )
    )


_CARD = """# scene-cnn-int8-v1: the local scene reader's model

Written by `python -m cloud_api.training` (`just train-models`); every figure below comes from that run.

**What it is:** a small convolutional classifier (about 60 k parameters) over 31 grey frames at 64x36
sampled at 10 Hz from 2 s before to 1 s after the incident peak (30 signed frame changes and 4 stills).
Two heads: severity (NONE / LOW / MEDIUM / HIGH) and scenario. **It is not a video-language model**:
it does not recognise objects, read signs, see right of way or judge intent; it matches the motion
patterns of the generated incidents it was trained on. Its narrative is a template filled from its outputs.

## Data
Generated by `cloud_api/training/scenarios.py` with edge_agent.sample's renderer (a straight road, cars
seen from behind): train {counts[train]}, validation {counts[val]} (temperature scaling and INT8 calibration),
held-out test {counts[test]} clips, disjoint seeds. Mix: {mix}; plus edge_agent.sample's own impact
drives (what its demo records; rear-end striking, labelled by the delta-v their plan implies):
{edge[train]} / {edge[val]} / {edge[test]} of the clips above.
Severity is the ego's delta-v at contact: NONE without contact, LOW < {low} m/s (10 km/h),
MEDIUM < {medium} m/s (20 km/h), HIGH above; the camera jolt grows with delta-v times a random mount
stiffness (0.7-1.3), so severity near a threshold is genuinely uncertain. Peak times are jittered by up to
0.3 s and re-centred on the largest frame change, as at serving time.

## Held-out accuracy (test split)
{table}
INT8 by group:

{groups}
INT8 severity confusion (rows: truth):

{confusion}
Temperatures fitted on validation: severity {severity_t}, scenario {scenario_t} (baked into the exported
softmax). Training took {train_seconds:.0f} s on one CPU thread (rendering excluded).

## Scenarios it can answer
{scenarios}. Never: head_on, intersection, parking (the renderer cannot draw them).

## Limits
- Trained on rendered clips only; real dashcam footage (weather, night, city clutter, other camera
  mounts) is out of distribution, and a spot check on real clips (`python -m cloud_api.training.real`)
  shows it reading ordinary real traffic as incidents. Readings whose input is unlike the training clips
  carry caveats (`SceneReading.caveats`).
- Struck-from-behind at low delta-v is nearly invisible to a forward camera; so are kerb strikes.
- Severity is the ego's delta-v class, not damage cost or injury.
- The miners' timelines are not model inputs (they would tie the model to the edge miners' version);
  the reader uses them to place the peak and cites them as evidence.
"""
