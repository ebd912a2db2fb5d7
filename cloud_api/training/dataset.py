"""The generated splits as arrays, cached under data/training/ so that retraining skips rendering."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import msgspec
import numpy as np

from cloud_api.domain.assessments.scene import features
from cloud_api.training.scenarios import EDGE_SEED_BASE, TRAINED_SCENARIOS, Case, generated
from shared_models.enums import SEVERITY_ORDER

log = logging.getLogger(__name__)

CACHE_DIR = Path("data/training")
CACHE_VERSION = 3  # bump when scenarios.py or features.py change what a case looks like
# Disjoint seed ranges: train, validation (temperature + INT8 calibration), held-out test.
SPLITS: dict[str, tuple[int, int]] = {"train": (0, 1100), "val": (50_000, 200), "test": (100_000, 400)}
# Plus edge_agent.sample's own impact drives (scenarios.EDGE_SEED_BASE): the demo records those.
EDGE_SPLITS: dict[str, tuple[int, int]] = {
    "train": (EDGE_SEED_BASE, 160),
    "val": (EDGE_SEED_BASE + 100_000, 30),
    "test": (EDGE_SEED_BASE + 200_000, 60),
}


class Split(msgspec.Struct, frozen=True):
    x: np.ndarray  # (n, CHANNELS, 36, 64) float32
    severity: np.ndarray  # (n,) index into SEVERITY_ORDER
    scenario: np.ndarray  # (n,) index into TRAINED_SCENARIOS
    cases: list[Case]


def load(name: str, cache_dir: Path = CACHE_DIR) -> Split:
    parts = [_part(name, *seeds, cache_dir) for seeds in (SPLITS[name], EDGE_SPLITS[name])]
    return Split(
        x=np.concatenate([p.x for p in parts]),
        severity=np.concatenate([p.severity for p in parts]),
        scenario=np.concatenate([p.scenario for p in parts]),
        cases=[c for p in parts for c in p.cases],
    )


def _part(name: str, first: int, count: int, cache_dir: Path) -> Split:
    path = cache_dir / f"scene_{name}_v{CACHE_VERSION}_{first}_{count}.npz"
    if not path.exists():
        _build(path, first, count)
    with np.load(path) as data:
        cases = msgspec.json.decode(data["cases"].tobytes(), type=list[Case])
        return Split(x=data["x"], severity=data["severity"], scenario=data["scenario"], cases=cases)


def _build(path: Path, first: int, count: int) -> None:
    started = time.perf_counter()
    x = np.empty((count, features.CHANNELS, features.SMALL_SIZE[1], features.SMALL_SIZE[0]), np.float32)
    cases: list[Case] = []
    for i, (case, window) in enumerate(generated(count, first)):
        x[i] = features.model_input(window)[0]
        cases.append(case)
    severity = np.array([SEVERITY_ORDER.index(c.severity) for c in cases], np.int64)
    scenario = np.array([TRAINED_SCENARIOS.index(c.scenario) for c in cases], np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part.npz")
    np.savez_compressed(
        tmp,
        x=x,
        severity=severity,
        scenario=scenario,
        cases=np.frombuffer(msgspec.json.encode(cases), np.uint8),
    )
    tmp.replace(path)
    log.info(
        "training.split_rendered path=%s cases=%d seconds=%.1f", path, count, time.perf_counter() - started
    )
