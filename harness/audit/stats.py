"""Pearson's chi-square test of homogeneity, and the effect size beside it.

Small and dependency-free: the audit compares a handful of count tables, so
the p-value comes from the regularised upper incomplete gamma function
(Numerical Recipes' series and continued fraction), not from SciPy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["Comparison", "chi2_sf", "compare"]

_EPSILON: Final = 1e-15
_ITERATIONS: Final = 1000
MIN_EXPECTED: Final = 5.0  # cells expected below this are pooled into one category


@dataclass(frozen=True)
class Comparison:
    """Two samples' counts over the same categories, tested for the same distribution."""

    statistic: float
    df: int
    p_value: float
    effect: float  # total variation distance between the two proportions, 0..1
    categories: tuple[str, ...]  # after pooling


def _upper_gamma_series(a: float, x: float) -> float:
    term = total = 1.0 / a
    n = a
    for _ in range(_ITERATIONS):
        n += 1.0
        term *= x / n
        total += term
        if abs(term) < abs(total) * _EPSILON:
            break
    return 1.0 - total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _upper_gamma_fraction(a: float, x: float) -> float:
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, _ITERATIONS):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        step = d * c
        h *= step
        if abs(step - 1.0) < _EPSILON:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def chi2_sf(statistic: float, df: int) -> float:
    """P(X >= statistic) for X chi-square distributed with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("df must be at least 1")
    if statistic <= 0:
        return 1.0
    a, x = df / 2.0, statistic / 2.0
    if x < a + 1.0:
        return min(1.0, max(0.0, _upper_gamma_series(a, x)))
    return min(1.0, max(0.0, _upper_gamma_fraction(a, x)))


def _pooled(
    first: Mapping[str, int], second: Mapping[str, int]
) -> tuple[list[str], list[int], list[int]]:
    """Categories in a stable order; those too rare for the test pooled as ``other``."""
    names = sorted(set(first) | set(second))
    total_a, total_b = sum(first.values()), sum(second.values())
    grand = total_a + total_b
    keep: list[str] = []
    rare: list[str] = []
    for name in names:
        column = first.get(name, 0) + second.get(name, 0)
        smallest = min(total_a, total_b) * column / grand if grand else 0.0
        (keep if smallest >= MIN_EXPECTED else rare).append(name)
    a = [first.get(n, 0) for n in keep]
    b = [second.get(n, 0) for n in keep]
    if rare:
        keep.append("other")
        a.append(sum(first.get(n, 0) for n in rare))
        b.append(sum(second.get(n, 0) for n in rare))
    return keep, a, b


def compare(first: Mapping[str, int], second: Mapping[str, int]) -> Comparison | None:
    """Chi-square test of homogeneity on a 2 x k table; None when it cannot be
    computed (an empty sample, or fewer than two categories with counts)."""
    if any(v < 0 for v in (*first.values(), *second.values())):
        raise ValueError("counts must not be negative")
    total_a, total_b = sum(first.values()), sum(second.values())
    if total_a == 0 or total_b == 0:
        return None
    names, a, b = _pooled(first, second)
    cells = [(x, y) for x, y in zip(a, b, strict=True) if x + y > 0]
    if len(cells) < 2:
        return None
    grand = total_a + total_b
    statistic = 0.0
    for x, y in cells:
        column = x + y
        for observed, total in ((x, total_a), (y, total_b)):
            expected = total * column / grand
            statistic += (observed - expected) ** 2 / expected
    df = len(cells) - 1
    effect = 0.5 * sum(abs(x / total_a - y / total_b) for x, y in zip(a, b, strict=True))
    return Comparison(statistic, df, chi2_sf(statistic, df), effect, tuple(names))
