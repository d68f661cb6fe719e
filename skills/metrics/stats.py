"""Small numeric helpers (pure Python, float64) used by the metric calculators.

No numpy: the summary runs in the orchestrator environment, and these few formulas are exact
enough (the conformance data is compared at 1e-6). ``sample_std`` matches ``numpy.std(ddof=1)``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import List, Sequence, Tuple


@lru_cache(maxsize=None)
def pass_at_k_table(n: int) -> Tuple[Tuple[float, ...], ...]:
    """``table[c][k-1]`` = unbiased pass@k = 1 - C(n-c, k) / C(n, k) for c correct of n samples.

    Precomputed once per n because it is the hot path (one lookup per problem and score method).
    """
    rows = []
    for c in range(n + 1):
        rows.append(tuple(1.0 - math.comb(n - c, k) / math.comb(n, k) for k in range(1, n + 1)))
    return tuple(rows)


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def sample_std(values: Sequence[float]) -> float:
    """Sample standard deviation (ddof=1), two-pass like numpy; 0.0 for fewer than 2 values."""
    k = len(values)
    if k < 2:
        return 0.0
    m = math.fsum(values) / k
    return math.sqrt(math.fsum((v - m) * (v - m) for v in values) / (k - 1))


def prefix_sample_stds(values: Sequence[float]) -> List[float]:
    """``[std(values[:k], ddof=1) for k in 2..len(values)]``; exact integer arithmetic for ints.

    Token counts are ints: with exact sums the variance is correctly rounded, so this one-pass
    form is as accurate as numpy's two-pass one and much cheaper than re-scanning each prefix.
    """
    out: List[float] = []
    if all(type(v) is int or type(v) is bool for v in values):
        s = sq = 0
        for i, v in enumerate(values):
            v = int(v)
            s += v
            sq += v * v
            k = i + 1
            if k >= 2:
                out.append(math.sqrt((k * sq - s * s) / (k * (k - 1))))
        return out
    return [sample_std(values[:k]) for k in range(2, len(values) + 1)]


def _t_two_sided_coverage(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with integer ``df`` (closed form, Abramowitz & Stegun 26.7)."""
    theta = math.atan(t / math.sqrt(df))
    s, c = math.sin(theta), math.cos(theta)
    if df == 1:
        return 2.0 * theta / math.pi
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for j in range(2, df - 1, 2):  # terms cos^j with coefficients (1*3*..*(j-1))/(2*4*..*j)
            term *= (j - 1) / j * c * c
            total += term
        return s * total
    term, total = c, c
    for j in range(3, df - 1, 2):  # terms cos^j with coefficients (2*4*..*(j-1))/(3*5*..*j)
        term *= (j - 1) / j * c * c
        total += term
    return 2.0 / math.pi * (theta + s * total)


@lru_cache(maxsize=None)
def t_critical(df: int, level: float = 0.95) -> float:
    """Two-sided critical value of Student's t (e.g. 12.706 for df=1, 2.365 for df=7)."""
    if df < 1:
        raise ValueError("df must be >= 1")
    lo, hi = 0.0, 1.0
    while _t_two_sided_coverage(hi, df) < level:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if _t_two_sided_coverage(mid, df) < level:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13:
            break
    return (lo + hi) / 2.0


def t_interval(run_means: Sequence[float], level: float = 0.95) -> Tuple[float, float]:
    """Confidence interval of the mean of ``k >= 2`` per-run means: mean +- t(k-1) * std / sqrt(k)."""
    k = len(run_means)
    m = mean(run_means)
    half = t_critical(k - 1, level) * sample_std(run_means) / math.sqrt(k)
    return m - half, m + half
