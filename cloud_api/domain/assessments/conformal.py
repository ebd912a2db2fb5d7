"""Split-conformal prediction sets over severity (NONE, LOW, MEDIUM, HIGH).

A calibration set of (probabilities, true label) pairs gives a score per pair; the threshold is the
ceil((n + 1)(1 - alpha))-th smallest score, and a new claim's set holds every class whose score is within
it. If the calibration pairs and new claims are exchangeable, the set holds the true severity with
probability >= 1 - alpha, whatever the reader's probabilities are worth (they only change the set sizes).

Scores: LAC (least ambiguous classifier) 1 - p_y: smallest sets on average. APS (adaptive prediction
sets), non-randomized: the probability mass of the classes ranked at or above y: sets that grow when the
reader is unsure. Class-conditional: one threshold per true class, from that class's pairs alone, so
the coverage holds for each severity (HIGH included), at the price of needing enough pairs of each.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import StrEnum

import msgspec
import numpy as np

from shared_models import Severity
from shared_models.enums import SEVERITY_ORDER

K = len(SEVERITY_ORDER)


class Method(StrEnum):
    APS = "aps"
    LAC = "lac"


class ConformalConfig(msgspec.Struct, frozen=True, kw_only=True):
    alpha: float = 0.1
    method: Method = Method.LAC
    class_conditional: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"ALPHA={self.alpha} must be in (0, 1)")


class Thresholds(msgspec.Struct, frozen=True, kw_only=True):
    config: ConformalConfig
    qhat: tuple[float, ...]
    """One threshold, or one per true class (NONE..HIGH); inf: too few pairs, every class is in."""
    n: int


def as_array(probabilities: Mapping[Severity, float] | Mapping[str, float]) -> np.ndarray:
    """Probabilities in SEVERITY_ORDER (missing classes 0), normalized to sum to 1."""
    p = np.array([float(probabilities.get(s, 0.0)) for s in SEVERITY_ORDER])  # type: ignore[call-overload]
    total = p.sum()
    if not math.isfinite(total) or total <= 0 or (p < 0).any():
        raise ValueError(f"severity probabilities {dict(probabilities)} are not a distribution")
    return p / total


def scores(p: np.ndarray, method: Method) -> np.ndarray:
    """(n, K) probabilities -> (n, K) conformity scores of every candidate label (lower: more plausible)."""
    if method is Method.LAC:
        return 1.0 - p
    # APS: mass of the classes at least as probable as y (ties count as above: sets never split a tie).
    above = p[:, None, :] >= p[:, :, None]  # [i, y, j]: class j ranks at or above y
    return (above * p[:, None, :]).sum(axis=2)


def quantile(values: np.ndarray, alpha: float) -> float:
    """The ceil((n + 1)(1 - alpha))-th smallest value; inf when n is too small for that rank."""
    n = len(values)
    rank = math.ceil((n + 1) * (1 - alpha))
    return math.inf if rank > n else float(np.sort(values)[rank - 1])


def fit(p: np.ndarray, labels: np.ndarray, config: ConformalConfig) -> Thresholds:
    """Thresholds from calibration pairs: ``p`` (n, K) probabilities, ``labels`` (n,) class indices."""
    if len(p) != len(labels):
        raise ValueError("probabilities and labels differ in length")
    true_scores = scores(p, config.method)[np.arange(len(labels)), labels]
    if config.class_conditional:
        qhat = tuple(quantile(true_scores[labels == k], config.alpha) for k in range(K))
    else:
        qhat = (quantile(true_scores, config.alpha),)
    return Thresholds(config=config, qhat=qhat, n=len(labels))


def prediction_sets(p: np.ndarray, thresholds: Thresholds) -> np.ndarray:
    """(n, K) boolean membership; a set is never empty (an empty one gets its most probable class)."""
    qhat = np.array(thresholds.qhat if len(thresholds.qhat) == K else thresholds.qhat * K)
    member = scores(p, thresholds.config.method) <= qhat[None, :] + 1e-12
    empty = ~member.any(axis=1)
    member[empty, p[empty].argmax(axis=1)] = True
    return member


def prediction_set(probabilities: Mapping[Severity, float], thresholds: Thresholds) -> list[Severity]:
    """One claim's set, most probable class first."""
    p = as_array(probabilities)
    member = prediction_sets(p[None, :], thresholds)[0]
    order = np.argsort(-p, kind="stable")
    return [SEVERITY_ORDER[k] for k in order if member[k]]


def coverage(p: np.ndarray, labels: np.ndarray, thresholds: Thresholds) -> tuple[float, float]:
    """Empirical coverage and mean set size of ``thresholds`` on labelled pairs."""
    member = prediction_sets(p, thresholds)
    return float(member[np.arange(len(labels)), labels].mean()), float(member.sum(axis=1).mean())


def split_pairs(pairs: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Stored pairs ``[p_NONE, p_LOW, p_MEDIUM, p_HIGH, label_index]`` -> (probabilities, labels)."""
    data = np.asarray(pairs, dtype=np.float64).reshape(-1, K + 1)
    return data[:, :K], data[:, K].astype(np.int64)


# --- the initial calibration set -------------------------------------------------------------------
# Before any claim is reviewed there are no real labels. The repo then makes a labelled set by
# simulation, documented here: a true severity drawn with the class mix below; a latent intensity that
# scatters NOISE around that class's centre; the reader's probabilities from that intensity by the
# Gaussian class kernel of width READER_SIGMA around the same centres (the heuristic reader's own
# formula). The guarantee holds for real claims only once reviewed claims replace this set
# (recalibration); /metrics shows the coverage actually reached on reviewed claims.
CLASS_MIX = (0.30, 0.35, 0.25, 0.10)
CENTRES = (0.05, 0.35, 0.65, 0.90)
NOISE = 0.12
READER_SIGMA = 0.15


def generated_pairs(
    n: int, seed: int, noise: float = NOISE, reader_sigma: float = READER_SIGMA
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` simulated (probabilities, label) pairs; the same arguments give the same set.

    ``reader_sigma`` below ``noise`` simulates an overconfident reader.
    """
    rng = np.random.default_rng(seed)
    labels = rng.choice(K, size=n, p=CLASS_MIX)
    intensity = np.clip(np.array(CENTRES)[labels] + rng.normal(0, noise, n), 0, 1)
    logits = -((intensity[:, None] - np.array(CENTRES)[None, :]) ** 2) / (2 * reader_sigma**2)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True), labels
