"""Reading a clip into a scene: scenario, severity probabilities, evidence, narrative.

``SceneReader`` is the seam for the video-LLM backends (an OpenAI-compatible endpoint, the embedded
model). ``HeuristicSceneReader`` is what exists now: no model at all, only signal thresholds over the
decoded frames and the device's miner scores, and it says so in its output.

Severity formula (heuristic-v1). Signals, each in [0, 1]:
  p   the manifest's peak incident score (device claims only);
  phi the strongest physical miner (motion, audio) within +-0.5 s of the peak, from the timelines
      (or the manifest's per-miner peak scores when there are none);
  m   the decoded frame change: the largest mean absolute grey-level difference between frames
      sampled 1/4 s apart at 64 px width, divided by 40 and capped at 1.
Intensity s = 0.5 p + 0.3 phi + 0.2 m with a manifest, s = m without one (uploads).
P(class) is proportional to exp(-(s - c)^2 / (2 * 0.15^2)) with centres NONE 0.05, LOW 0.35,
MEDIUM 0.65, HIGH 0.9, normalized to sum to 1.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Protocol

import av
import msgspec
import numpy as np

from cloud_api.domain.assessments.schemas import EvidenceOut
from shared_models import IncidentManifest, Severity

MODEL = "heuristic-v1"
PHYSICAL_MINERS = ("motion", "audio")
HAZARD_MINERS = {
    "proximity": "object closing in fast (proximity miner)",
    "audio": "impact or skid-like sound (audio miner)",
    "motion": "sudden ego-motion jolt (motion miner)",
}
CENTRES = {Severity.NONE: 0.05, Severity.LOW: 0.35, Severity.MEDIUM: 0.65, Severity.HIGH: 0.9}
SIGMA = 0.15
MOTION_FULL_SCALE = 40.0
SAMPLES_PER_S = 4
SAMPLE_WIDTH = 64
PEAK_WINDOW_S = 0.5


class DecodedMotion(msgspec.Struct, frozen=True, kw_only=True):
    frame_count: int
    duration_s: float
    fps: float
    width: int
    height: int
    mean_energy: float
    peak_energy: float
    peak_t_s: float


class SceneSignals(msgspec.Struct, frozen=True, kw_only=True):
    decoded: DecodedMotion
    motion_norm: float
    peak_score: float | None
    peak_t_s: float | None
    """Peak time from the start of the clip."""
    physical_at_peak: float | None
    miner_scores: dict[str, float]


class SceneReading(msgspec.Struct, frozen=True, kw_only=True):
    scenario: str
    severity_probabilities: dict[Severity, float]
    narrative: str
    evidence: list[EvidenceOut]
    hazards: list[str]
    signals: SceneSignals
    model: str


class SceneReader(Protocol):
    def read(self, clip: Path, manifest: IncidentManifest | None) -> SceneReading: ...


def decode_motion(clip: Path) -> DecodedMotion:
    """Decode every frame (counting them) and measure frame change on a few per second."""
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = float(stream.average_rate or 0) or 30.0
        step = max(1, round(fps / SAMPLES_PER_S))
        prev: np.ndarray | None = None
        energies: list[tuple[float, float]] = []
        count, last_t, size = 0, 0.0, (0, 0)
        for frame in container.decode(stream):
            t = float(frame.time) if frame.time is not None else count / fps
            if count % step == 0:
                height = max(1, round(SAMPLE_WIDTH * frame.height / frame.width))
                grey = frame.reformat(width=SAMPLE_WIDTH, height=height, format="gray").to_ndarray()
                grey = grey.astype(np.float32)
                if prev is not None:
                    energies.append((float(np.mean(np.abs(grey - prev))), t))
                prev, size = grey, (frame.width, frame.height)
            count, last_t = count + 1, t
    if count == 0:
        raise ValueError("no frame decoded")
    peak_energy, peak_t = max(energies, default=(0.0, 0.0))
    return DecodedMotion(
        frame_count=count,
        duration_s=round(last_t + 1 / fps, 3),
        fps=round(fps, 3),
        width=size[0],
        height=size[1],
        mean_energy=round(float(np.mean([e for e, _ in energies])) if energies else 0.0, 3),
        peak_energy=round(peak_energy, 3),
        peak_t_s=round(peak_t, 3),
    )


def physical_at_peak(manifest: IncidentManifest) -> float | None:
    """The strongest physical miner near the peak; None when the device ran no physical miner."""
    peak = manifest.peak_s - manifest.clip_start_s
    values: list[float] = []
    for timeline in manifest.timelines:
        if timeline.miner in PHYSICAL_MINERS and timeline.rate_hz > 0 and timeline.scores:
            lo = max(0, math.floor((peak - PEAK_WINDOW_S) * timeline.rate_hz))
            hi = min(len(timeline.scores), math.ceil((peak + PEAK_WINDOW_S) * timeline.rate_hz) + 1)
            values.extend(timeline.scores[lo:hi])
    if not values:
        values = [manifest.miner_scores[m] for m in PHYSICAL_MINERS if m in manifest.miner_scores]
    return round(max(values), 4) if values else None


def severity_probabilities(intensity: float) -> dict[Severity, float]:
    weights = {s: math.exp(-((intensity - c) ** 2) / (2 * SIGMA**2)) for s, c in CENTRES.items()}
    total = sum(weights.values())
    return {s: round(w / total, 4) for s, w in weights.items()}


class HeuristicSceneReader:
    """heuristic-v1: signal thresholds, not a model; scenario is always 'unclassified'."""

    def read(self, clip: Path, manifest: IncidentManifest | None) -> SceneReading:
        decoded = decode_motion(clip)
        motion = min(1.0, decoded.peak_energy / MOTION_FULL_SCALE)
        signals = SceneSignals(
            decoded=decoded,
            motion_norm=round(motion, 4),
            peak_score=manifest.score if manifest else None,
            peak_t_s=round(max(0.0, manifest.peak_s - manifest.clip_start_s), 3) if manifest else None,
            physical_at_peak=physical_at_peak(manifest) if manifest else None,
            miner_scores=dict(manifest.miner_scores) if manifest else {},
        )
        if manifest:
            intensity = 0.5 * manifest.score + 0.3 * (signals.physical_at_peak or 0.0) + 0.2 * motion
        else:
            intensity = motion
        return SceneReading(
            scenario="unclassified",
            severity_probabilities=severity_probabilities(intensity),
            narrative=_narrative(signals, intensity),
            evidence=_evidence(signals),
            hazards=[
                text for miner, text in HAZARD_MINERS.items() if signals.miner_scores.get(miner, 0.0) >= 0.5
            ],
            signals=signals,
            model=MODEL,
        )


def _evidence(signals: SceneSignals) -> list[EvidenceOut]:
    evidence = []
    if signals.peak_t_s is not None and signals.peak_score is not None:
        miners = ", ".join(f"{k} {v:.2f}" for k, v in sorted(signals.miner_scores.items()))
        evidence.append(
            EvidenceOut(
                t_s=signals.peak_t_s, what=f"device incident peak {signals.peak_score:.2f} ({miners})"
            )
        )
    d = signals.decoded
    evidence.append(
        EvidenceOut(t_s=d.peak_t_s, what=f"largest frame change: {d.peak_energy:.1f} mean grey levels")
    )
    return evidence


def _narrative(signals: SceneSignals, intensity: float) -> str:
    d = signals.decoded
    parts = [
        f"{MODEL}: signal thresholds, not a video-language model; no scene understanding.",
        f"Clip {d.duration_s:.1f} s, {d.frame_count} frames at {d.width}x{d.height}.",
        f"Largest frame change {d.peak_energy:.1f} grey levels at {d.peak_t_s:.1f} s "
        f"(normalized {signals.motion_norm:.2f}).",
    ]
    if signals.peak_score is not None:
        physical = "none" if signals.physical_at_peak is None else f"{signals.physical_at_peak:.2f}"
        parts.append(
            f"Device peak score {signals.peak_score:.2f} at {signals.peak_t_s:.1f} s; "
            f"physical signal {physical}."
        )
    parts.append(f"Combined intensity {intensity:.2f}.")
    return " ".join(parts)
