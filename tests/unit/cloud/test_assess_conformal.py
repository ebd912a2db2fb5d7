"""Split-conformal severity sets: coverage >= 1 - alpha on held-out generated data (LAC, APS, and
class-conditional per class), the scores as defined, and the edge cases (small n, empty LAC sets)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cloud_api.domain.assessments.conformal import (
    ConformalConfig,
    Method,
    Thresholds,
    coverage,
    fit,
    generated_pairs,
    prediction_set,
    quantile,
    scores,
)
from shared_models import Severity
from shared_models.enums import SEVERITY_ORDER

N_CAL, N_TEST = 2000, 20000


def tolerance(n: int, alpha: float) -> float:
    """Three standard deviations of the coverage a calibration of size n reaches (Beta spread)."""
    return 3 * math.sqrt(alpha * (1 - alpha) / n) + 3 * math.sqrt(alpha * (1 - alpha) / N_TEST)


@pytest.mark.parametrize("method", list(Method))
@pytest.mark.parametrize("alpha", [0.1, 0.2])
def test_marginal_coverage_on_held_out_generated_data(method: Method, alpha: float) -> None:
    p_cal, y_cal = generated_pairs(N_CAL, seed=1)
    p_test, y_test = generated_pairs(N_TEST, seed=2)
    thresholds = fit(p_cal, y_cal, ConformalConfig(alpha=alpha, method=method))
    covered, size = coverage(p_test, y_test, thresholds)
    assert covered >= 1 - alpha - tolerance(N_CAL, alpha)
    assert covered <= 1 - alpha + tolerance(N_CAL, alpha) + 0.02  # not trivially everything
    assert 1 <= size < 3


@pytest.mark.parametrize("method", list(Method))
def test_class_conditional_covers_every_severity(method: Method) -> None:
    alpha = 0.1
    p_cal, y_cal = generated_pairs(N_CAL, seed=3)
    p_test, y_test = generated_pairs(N_TEST, seed=4)
    thresholds = fit(p_cal, y_cal, ConformalConfig(alpha=alpha, method=method, class_conditional=True))
    assert len(thresholds.qhat) == 4
    for k in range(4):
        covered, _ = coverage(p_test[y_test == k], y_test[y_test == k], thresholds)
        assert covered >= 1 - alpha - tolerance(int((y_cal == k).sum()), alpha), SEVERITY_ORDER[k]


def test_an_overconfident_reader_undercovers_without_calibration_but_not_with_it() -> None:
    alpha = 0.1
    p_cal, y_cal = generated_pairs(N_CAL, seed=5, noise=0.16, reader_sigma=0.08)
    p_test, y_test = generated_pairs(N_TEST, seed=6, noise=0.16, reader_sigma=0.08)
    # Uncalibrated: most probable classes until their probabilities reach 1 - alpha.
    order = np.argsort(-p_test, axis=1)
    mass = np.cumsum(np.take_along_axis(p_test, order, axis=1), axis=1)
    kept = (mass < 1 - alpha).sum(axis=1) + 1
    rank = np.argsort(order, axis=1)[np.arange(N_TEST), y_test]
    assert (rank < kept).mean() < 1 - alpha - 0.03
    conformal = fit(p_cal, y_cal, ConformalConfig(alpha=alpha, method=Method.APS))
    assert coverage(p_test, y_test, conformal)[0] >= 1 - alpha - tolerance(N_CAL, alpha)


def test_scores_as_defined() -> None:
    p = np.array([[0.1, 0.6, 0.25, 0.05]])
    assert scores(p, Method.LAC)[0].tolist() == pytest.approx([0.9, 0.4, 0.75, 0.95])
    # APS: the mass of the classes ranked at or above the label.
    assert scores(p, Method.APS)[0].tolist() == pytest.approx([0.95, 0.6, 0.85, 1.0])


def test_quantile_rank_and_too_few_samples() -> None:
    values = np.arange(1, 20) / 20  # n = 19: rank ceil(20 * 0.9) = 18
    assert quantile(values, 0.1) == pytest.approx(18 / 20)
    assert math.isinf(quantile(values[:8], 0.1))  # rank 9 of 8: every class goes in
    thresholds = Thresholds(config=ConformalConfig(), qhat=(math.inf,), n=8)
    assert prediction_set({Severity.LOW: 0.9, Severity.NONE: 0.1}, thresholds) == [
        Severity.LOW,
        Severity.NONE,
        Severity.MEDIUM,
        Severity.HIGH,
    ]


def test_sets_are_ordered_and_never_empty() -> None:
    probabilities = {Severity.NONE: 0.05, Severity.LOW: 0.15, Severity.MEDIUM: 0.5, Severity.HIGH: 0.3}
    aps = Thresholds(config=ConformalConfig(method=Method.APS), qhat=(0.85,), n=100)
    assert prediction_set(probabilities, aps) == [Severity.MEDIUM, Severity.HIGH]
    lac = Thresholds(config=ConformalConfig(method=Method.LAC), qhat=(0.1,), n=100)
    assert prediction_set(probabilities, lac) == [Severity.MEDIUM]  # empty -> the most probable


def test_alpha_must_be_a_probability() -> None:
    with pytest.raises(ValueError, match="ALPHA"):
        ConformalConfig(alpha=0)
    with pytest.raises(ValueError, match="ALPHA"):
        ConformalConfig(alpha=1.5)


def test_generated_pairs_are_reproducible_distributions() -> None:
    p1, y1 = generated_pairs(500, seed=9)
    p2, y2 = generated_pairs(500, seed=9)
    assert np.array_equal(p1, p2) and np.array_equal(y1, y2)
    assert np.allclose(p1.sum(axis=1), 1) and set(np.unique(y1)) == {0, 1, 2, 3}
