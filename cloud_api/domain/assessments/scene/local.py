"""The embedded scene reader: the repo's own small INT8 ONNX CNN over the frames around the peak.

It needs no server and answers in about a tenth of a second, but it is a classifier of motion
patterns trained on generated clips (cloud_api/models/MODEL_CARD.md), not a video-language model:
scenario and severity come from the network, facts and other parties follow from the scenario class
and from measured frame change, and the narrative is a template that says so.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TypeVar

import numpy as np
import onnxruntime as ort

from cloud_api.domain.assessments.scene import features
from cloud_api.domain.assessments.scene.frames import Observation, observe, timeline_peaks
from cloud_api.domain.assessments.scene.reading import FactSeen, SceneReading
from cloud_api.domain.assessments.schemas import EvidenceOut
from cloud_api.domain.assessments.taxonomy import Fact, Scenario
from shared_models import IncidentManifest, Severity
from shared_models.enums import SEVERITY_ORDER

log = logging.getLogger(__name__)
_K = TypeVar("_K", Severity, Scenario)

MODEL = "scene-cnn-int8-v1"
MODEL_PATH = Path(__file__).resolve().parents[3] / "models" / "scene_local_int8.onnx"
JOLT_HAZARD = 0.75  # motion_norm above a road bump's (about 0.6), below an impact's (1.0)
STATIONARY_CHANGE = 2.0  # mean grey-level change before the peak below which the ego is not moving
HAZARD_MINERS = {
    "proximity": "object closing in fast (proximity miner)",
    "audio": "impact or skid-like sound (audio miner)",
    "motion": "sudden ego-motion jolt (motion miner)",
}
OTHER_PARTIES: dict[Scenario, list[str]] = {
    Scenario.REAR_END_STRIKING: ["vehicle ahead, hit by the ego vehicle"],
    Scenario.REAR_END_STRUCK: ["vehicle behind (out of the forward camera's view)"],
    Scenario.LANE_CHANGE: ["vehicle that cut in from the adjacent lane"],
    Scenario.NEAR_MISS: ["vehicle ahead (no contact)"],
}


class LocalSceneReader:
    """scene-cnn-int8-v1 on onnxruntime CPU, one thread (the worker pool gives the parallelism)."""

    backend = "local"

    def __init__(self, model_path: Path = MODEL_PATH) -> None:
        if not model_path.exists():
            raise FileNotFoundError(f"{model_path} is missing: run `just train-models`")
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])

    def predict(self, window: np.ndarray) -> tuple[dict[Severity, float], dict[Scenario, float]]:
        """Severity and scenario probabilities for a features.WINDOW stack of 64x36 grey frames."""
        severity, scenario = self.session.run(None, {"frames": features.model_input(window)})
        return _distribution(SEVERITY_ORDER, severity[0]), _distribution(
            features.MODEL_SCENARIOS, scenario[0]
        )

    def read(self, clip: Path, manifest: IncidentManifest | None) -> SceneReading:
        return self.read_observed(observe(clip, manifest), manifest)

    def read_observed(self, seen: Observation, manifest: IncidentManifest | None) -> SceneReading:
        severity_p, scenario_p = self.predict(seen.window)
        scenario = max(scenario_p, key=scenario_p.__getitem__)
        return SceneReading(
            scenario=scenario,
            scenario_probabilities=scenario_p,
            severity_probabilities=severity_p,
            narrative=_narrative(seen, scenario, scenario_p, severity_p),
            evidence=evidence(seen, manifest),
            facts=_facts(seen, scenario),
            other_parties=list(OTHER_PARTIES.get(scenario, [])),
            hazards=hazards(seen, manifest),
            signals=seen.signals,
            model=MODEL,
            backend="local",
            caveats=seen.caveats,
        )


def _distribution(classes: tuple[_K, ...], p: np.ndarray) -> dict[_K, float]:
    """Softmax outputs as a dict, renormalised after float32 rounding so they sum to 1."""
    p = np.asarray(p, np.float64)
    p = p / p.sum()
    return {c: round(float(v), 4) for c, v in zip(classes, p, strict=True)}


def evidence(seen: Observation, manifest: IncidentManifest | None) -> list[EvidenceOut]:
    """Timestamped measurements any backend can cite: the device peak, the miners' peaks, the jolt."""
    items = []
    signals = seen.signals
    if manifest and signals.peak_t_s is not None:
        miners = ", ".join(f"{k} {v:.2f}" for k, v in sorted(signals.miner_scores.items()))
        items.append(
            EvidenceOut(t_s=signals.peak_t_s, what=f"device incident peak {manifest.score:.2f} ({miners})")
        )
        for miner, score, t in timeline_peaks(manifest):
            items.append(EvidenceOut(t_s=t, what=f"{miner} miner's highest score in the clip: {score:.2f}"))
    items.append(
        EvidenceOut(
            t_s=seen.peak_t_s,
            what=f"largest frame change around the peak: {signals.decoded.peak_energy:.1f} grey levels"
            " in 0.1 s",
        )
    )
    return sorted(items, key=lambda e: e.t_s)


def hazards(seen: Observation, manifest: IncidentManifest | None) -> list[str]:
    scores = manifest.miner_scores if manifest else {}
    found = [text for miner, text in HAZARD_MINERS.items() if scores.get(miner, 0.0) >= 0.5]
    if seen.signals.motion_norm >= JOLT_HAZARD:
        found.append(f"hard camera jolt at {seen.peak_t_s:.1f} s (frame change)")
    return found


def _facts(seen: Observation, scenario: Scenario) -> list[FactSeen]:
    facts = []
    before = features.frame_change(seen.window[: round(features.PRE_S * features.RATE_HZ) - 4])
    if float(before.mean()) < STATIONARY_CHANGE:  # the road is not flowing past: the ego stands still
        facts.append(
            FactSeen(fact=Fact.EGO_STATIONARY, t_s=[round(max(0.0, seen.peak_t_s - features.PRE_S), 2)])
        )
    if scenario is Scenario.LANE_CHANGE:  # the only lane change the model was trained on: a cut-in
        facts.append(
            FactSeen(
                fact=Fact.OTHER_CHANGED_LANE, t_s=[round(max(0.0, seen.peak_t_s - 1.0), 2), seen.peak_t_s]
            )
        )
    return facts


def _narrative(
    seen: Observation,
    scenario: Scenario,
    scenario_p: dict[Scenario, float],
    severity_p: dict[Severity, float],
) -> str:
    d, signals = seen.signals.decoded, seen.signals
    severity = max(severity_p, key=severity_p.__getitem__)
    parts = [
        f"{MODEL}: a small CNN over frame changes around the peak, not a video-language model.",
        f"Most likely {scenario.value.replace('_', ' ')} ({scenario_p[scenario]:.0%}),"
        f" severity {severity.value} ({severity_p[severity]:.0%}).",
        f"Clip {d.duration_s:.1f} s at {d.width}x{d.height}; peak at {seen.peak_t_s:.1f} s"
        f" with a frame change of {d.peak_energy:.1f} grey levels.",
    ]
    if signals.peak_score is not None:
        physical = "none" if signals.physical_at_peak is None else f"{signals.physical_at_peak:.2f}"
        parts.append(f"Device score {signals.peak_score:.2f}; physical signal at the peak {physical}.")
    parts.extend(f"Caveat: {caveat}." for caveat in seen.caveats)
    return " ".join(parts)
