"""Exact 95 % bounds for the evaluation's counts: 30 crashes and an hour of driving show little.

"0 false triggers in 1.0 h" is consistent with a true rate of up to 3.0 an hour, and "30/30" with a
recall as low as 0.88; the report prints these bounds beside the counts so that nobody reads more into
them. Exact (Clopper-Pearson, Poisson) rather than normal approximations, which fail at 0 and at n/n,
where these counts sit. Found by bisection on the distribution functions: two small functions instead
of SciPy in the edge environment.
"""

from __future__ import annotations

import math
from collections.abc import Callable

CONFIDENCE = 0.95


def _solve(f: Callable[[float], float], target: float, lo: float, hi: float) -> float:
    """The x in [lo, hi] where the decreasing function f reaches target (to 1e-9 of the interval)."""
    for _ in range(100):
        mid = (lo + hi) / 2
        if f(mid) > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def _poisson_cdf(k: int, mean: float) -> float:
    return math.exp(-mean) * sum(mean**i / math.factorial(i) for i in range(k + 1))


def rate_upper(events: int, exposure: float, confidence: float = CONFIDENCE) -> float:
    """One-sided upper bound on a rate per unit of exposure (events an hour over hours driven)."""
    alpha = 1 - confidence
    hi = 10.0 * (events + 10)
    return _solve(lambda m: _poisson_cdf(events, m), alpha, 0.0, hi) / exposure


def proportion_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Two-sided Clopper-Pearson interval on a proportion (crashes found of crashes)."""
    half = (1 - confidence) / 2
    lo = 0.0 if successes == 0 else _solve(lambda p: _binomial_cdf(successes - 1, trials, p), 1 - half, 0, 1)
    hi = 1.0 if successes == trials else _solve(lambda p: _binomial_cdf(successes, trials, p), half, 0, 1)
    return lo, hi
