"""What every scene backend answers: a ``SceneReading`` in the fixed vocabularies of taxonomy.py.

The reading is the only thing fault, fraud, conformal and the review pages see of the video, so it
carries its own provenance: which backend and model answered, and why a fallback was taken.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

import msgspec

from cloud_api.domain.assessments.schemas import EvidenceOut
from cloud_api.domain.assessments.taxonomy import Fact, Scenario
from shared_models import IncidentManifest, Severity

Backend = Literal["local", "openai"]


class DecodedMotion(msgspec.Struct, frozen=True, kw_only=True):
    """What decoding the window around the peak measured; energies are over that window only."""

    frame_count: int
    """Frames in the whole clip, from the container (not all are decoded)."""
    duration_s: float
    fps: float
    width: int
    height: int
    mean_energy: float
    """Mean absolute grey-level change between frames 0.1 s apart at 64x36, over the window."""
    peak_energy: float
    peak_t_s: float
    """Where that change is largest, seconds from the clip start: the centre of the reading."""


class SceneSignals(msgspec.Struct, frozen=True, kw_only=True):
    decoded: DecodedMotion
    motion_norm: float
    """peak_energy on a 0-1 scale (``frames.MOTION_FULL_SCALE`` grey levels is 1)."""
    peak_score: float | None
    """The device's fused incident score (None for uploads)."""
    peak_t_s: float | None
    """The device's peak time from the start of the clip (None for uploads)."""
    physical_at_peak: float | None
    """The strongest physical miner (motion, audio) within 0.5 s of the peak; None without one."""
    miner_scores: dict[str, float]


class FactSeen(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A fault-relevant observation and the clip times (seconds) that show it."""

    fact: Fact
    t_s: list[float]


class SceneReading(msgspec.Struct, frozen=True, kw_only=True):
    scenario: Scenario
    scenario_probabilities: dict[Scenario, float]
    """Over the scenarios the backend can tell apart; the local model knows only a subset."""
    severity_probabilities: dict[Severity, float]
    """Softmax-like, summing to 1: conformal prediction sets are built on these."""
    narrative: str
    evidence: list[EvidenceOut]
    facts: list[FactSeen]
    other_parties: list[str]
    hazards: list[str]
    signals: SceneSignals
    model: str
    backend: Backend
    fallback_reason: str | None = None
    """Set when the configured backend failed and the local model answered instead, with the why."""
    caveats: list[str] = []
    """Why this reading deserves less trust than usual (input unlike the local model's training clips)."""


class SceneReader(Protocol):
    def read(self, clip: Path, manifest: IncidentManifest | None) -> SceneReading: ...
