"""Conformal coverage on held-out generated data, then assessment seconds per 20-s 720p clip on one core
with the reader the app is configured with (ASSESSMENT_BACKEND, ``local`` by default), split into stages.

Coverage: each method calibrated on the initial generated set (2000 pairs, as version 1 in the app) and
measured on 20000 held-out pairs from another seed, against the uncalibrated "most probable classes up
to 1 - alpha of probability" sets; the same for a simulated overconfident reader.

The clip is a generated drive (``edge-agent sample``, 1280x720, 30 fps, an impact at 12 s), assessed
as a device claim (a manifest with the peak) and as an upload (no manifest). Timed: the clip work the
worker runs in a thread (scene reading, key-frame hashes, sha256, signature) and the rest of the
pipeline (fault, fraud, conformal set, priority); database round trips are not included.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cloud_api.domain.assessments.calibration import (
    INITIAL_SEED,
    INITIAL_SIZE,
    MODEL_PAIRS,
    LoadedCalibration,
    read_heldout,
)
from cloud_api.domain.assessments.conformal import ConformalConfig, Method, coverage, fit, generated_pairs
from cloud_api.domain.assessments.fingerprint import keyframe_hashes
from cloud_api.domain.assessments.fraud import FraudEvidence
from cloud_api.domain.assessments.pipeline import analyse, conclude, file_sha256
from cloud_api.server.runtime import Runtime
from cloud_api.settings import Settings
from edge_agent.sample.drive import SampleDriveSpec, write_sample_drive
from shared_models import IncidentManifest

RUNS = 5
IMPACT_AT_S = 12.0
TARGET_S = 1.0


def _manifest(clip: Path) -> IncidentManifest:
    data = clip.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    return IncidentManifest(
        device_id="bench",
        incident_id="bench-1",
        recorded_at=time.time() - 60,
        start_s=IMPACT_AT_S - 1,
        peak_s=IMPACT_AT_S,
        end_s=IMPACT_AT_S + 1,
        clip_start_s=0.0,
        clip_duration_s=20.0,
        score=0.9,
        miner_scores={"motion": 0.8, "audio": 0.6},
        size_bytes=len(data),
        sha256=sha,
        chunk_size=len(data),
        chunk_sha256=[sha],
    )


def _timed(fn: Callable[..., object], *args: object) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def _uncalibrated(p: np.ndarray, labels: np.ndarray, alpha: float) -> tuple[float, float]:
    order = np.argsort(-p, axis=1)
    kept = (np.cumsum(np.take_along_axis(p, order, axis=1), axis=1) < 1 - alpha).sum(axis=1) + 1
    rank = np.argsort(order, axis=1)[np.arange(len(labels)), labels]
    return float((rank < kept).mean()), float(kept.mean())


def coverage_figures(alpha: float = 0.1, held_out: int = 20_000) -> None:
    readers = {"generated reader": {}, "overconfident reader": {"noise": 0.16, "reader_sigma": 0.08}}
    for name, shape in readers.items():
        p_cal, y_cal = generated_pairs(INITIAL_SIZE, INITIAL_SEED, **shape)
        p_test, y_test = generated_pairs(held_out, INITIAL_SEED + 1, **shape)
        covered, size = _uncalibrated(p_test, y_test, alpha)
        print(f"coverage, {name}, alpha {alpha}, {held_out} held-out pairs:")
        print(f"  {'uncalibrated top-mass':<28} coverage {covered:.4f}  mean set size {size:.2f}")
        for method in Method:
            for conditional in (False, True):
                thresholds = fit(
                    p_cal, y_cal, ConformalConfig(alpha=alpha, method=method, class_conditional=conditional)
                )
                covered, size = coverage(p_test, y_test, thresholds)
                per_class = [
                    coverage(p_test[y_test == k], y_test[y_test == k], thresholds)[0] for k in range(4)
                ]
                label = f"{method.value}{' class-conditional' if conditional else ''}"
                print(
                    f"  {label:<28} coverage {covered:.4f}  mean set size {size:.2f}  "
                    f"per class NONE/LOW/MEDIUM/HIGH {'/'.join(f'{c:.3f}' for c in per_class)}"
                )


def model_coverage(alpha: float = 0.1, splits: int = 200) -> None:
    """The local model on its held-out generated clips: random halves calibrate, the other half measures."""
    if not MODEL_PAIRS.exists():
        print(f"coverage, local model: {MODEL_PAIRS} missing (run `just train-models`)")
        return
    p, labels = read_heldout(MODEL_PAIRS)
    rng = np.random.default_rng(0)
    print(
        f"coverage, local model on its {len(labels)} held-out clips, alpha {alpha}, {splits} random halves:"
    )
    for method in Method:
        for conditional in (False, True):
            results = []
            for _ in range(splits):
                order = rng.permutation(len(labels))
                cal, test = order[: len(order) // 2], order[len(order) // 2 :]
                config = ConformalConfig(alpha=alpha, method=method, class_conditional=conditional)
                results.append(coverage(p[test], labels[test], fit(p[cal], labels[cal], config)))
            covered, size = np.mean(results, axis=0)
            low = np.quantile([c for c, _ in results], 0.05)
            label = f"{method.value}{' class-conditional' if conditional else ''}"
            print(
                f"  {label:<28} coverage {covered:.4f} (5th percentile {low:.3f})  mean set size {size:.2f}"
            )


def main() -> None:
    coverage_figures()
    model_coverage()
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clip = root / "drive-720p.mp4"
        write_sample_drive(
            clip, SampleDriveSpec(seed=7, duration_s=20, width=1280, height=720, impact_at_s=IMPACT_AT_S)
        )
        runtime = Runtime(Settings(data_dir=root / "cloud", worker_enabled=False, ingest_enabled=False))
        reader = runtime.assessments.reader
        p, labels = generated_pairs(2000, 0)
        calibration = LoadedCalibration(
            version=1, source="generated", thresholds=fit(p, labels, ConformalConfig()), reviews_seen=0
        )
        print(
            f"clip: {clip.stat().st_size / 1e6:.1f} MB, 20 s, 1280x720, 30 fps; one core (cpu {core}); "
            f"reader {type(reader).__name__} (ASSESSMENT_BACKEND={runtime.settings.assessment_backend})"
        )
        for label, manifest in (("device claim", _manifest(clip)), ("upload", None)):
            totals, reads, hashes, digests, model = [], [], [], [], ""
            for _ in range(RUNS):
                started = time.perf_counter()
                analysis = analyse(reader, clip, manifest, None)
                result = conclude("bench", analysis, FraudEvidence(), calibration)
                totals.append(time.perf_counter() - started)
                reads.append(_timed(reader.read, clip, manifest)[0])
                hashes.append(_timed(keyframe_hashes, clip)[0])
                digests.append(_timed(file_sha256, clip)[0])
                model = result.model
            median = statistics.median(totals)
            print(
                f"{label:>12}: {median:.3f} s per clip (median of {RUNS}; min {min(totals):.3f}) "
                f"[{'meets' if median <= TARGET_S else 'misses'} the {TARGET_S:.0f} s target] "
                f"scene read {statistics.median(reads):.3f} s, "
                f"key-frame hashes {statistics.median(hashes):.3f} s, "
                f"sha256 {statistics.median(digests):.3f} s; model {model}"
            )
