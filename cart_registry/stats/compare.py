"""Group comparisons: log-rank / Peto-Peto (R ``survdiff``), exact McNemar, Fisher's exact.

The exact tests use integer arithmetic (``math.comb``), so their p-values are exact up to
the final division, and they need neither scipy nor an iterative algorithm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._common import StatsInputError, as_events, as_labels, as_times

#: R's relative tolerance when collecting "tables at least as extreme" (binom.test,
#: fisher.test): probabilities within 1e-7 of the observed one count as equal.
_REL_ERR_NUM, _REL_ERR_DEN = 10_000_001, 10_000_000


@dataclass(frozen=True)
class LogRankResult:
    """K-sample weighted log-rank test (weights S(t-)^rho of the pooled KM)."""

    statistic: float
    df: int
    p_value: float
    rho: float
    groups: tuple[Any, ...]
    n: tuple[int, ...]
    observed: tuple[float, ...]
    expected: tuple[float, ...]
    method: str


@dataclass(frozen=True)
class McNemarResult:
    """Exact (binomial) McNemar test on the discordant pairs of a paired 2x2 table."""

    a_only: int
    b_only: int
    p_value: float
    mid_p_value: float
    method: str = "exact McNemar: two-sided binomial test on discordant pairs (R binom.test)"


@dataclass(frozen=True)
class FisherResult:
    """Fisher's exact test on a 2x2 table, two-sided by R's rule."""

    table: tuple[tuple[int, int], tuple[int, int]]
    p_value: float
    method: str = (
        "Fisher exact, two-sided: sum of tables no more likely than observed (R fisher.test)"
    )


def _group_counts(
    t: np.ndarray[Any, Any], e: np.ndarray[Any, Any], gi: np.ndarray[Any, Any], k: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """At-risk and event counts per (distinct time, group), float64."""
    times, inv = np.unique(t, return_inverse=True)
    cell = inv * k + gi
    size = times.size * k
    total = np.bincount(cell, minlength=size).reshape(times.size, k)
    deaths = np.bincount(cell[e], minlength=size).reshape(times.size, k)
    at_risk = total[::-1].cumsum(axis=0)[::-1]
    return at_risk.astype(np.float64), deaths.astype(np.float64)


def logrank_test(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    *,
    rho: float = 0.0,
    strata: ArrayLike | None = None,
) -> LogRankResult:
    """R ``survdiff``: rho = 0 is the log-rank test, rho = 1 the Peto-Peto modification of
    the Gehan-Wilcoxon test (= lifelines ``fleming-harrington`` p=1, q=0; lifelines'
    ``"peto"`` weighting is a different test).

    Weights are the left-continuous pooled KM to the power rho, within stratum. Groups with
    no expected events are dropped before the chi-square, as R does.
    """
    from scipy.stats import chi2  # lazy: scipy is slow to import

    t = as_times(time)
    e = as_events(event, t.size)
    gi, groups = as_labels(group, t.size)
    k = len(groups)
    if k < 2:
        raise StatsInputError("the log-rank test needs at least two groups")
    si = np.zeros(t.size, dtype=np.intp) if strata is None else as_labels(strata, t.size)[0]
    obs, exp = np.zeros(k), np.zeros(k)
    var = np.zeros((k, k))
    for s in np.unique(si):
        sel = si == s
        y, d = _group_counts(t[sel], e[sel], gi[sel], k)
        ny, nd = y.sum(axis=1), d.sum(axis=1)
        km_prev = np.concatenate(([1.0], np.cumprod(1.0 - nd / ny)[:-1]))
        w = km_prev**rho if rho != 0 else np.ones_like(ny)
        obs += (w[:, None] * d).sum(axis=0)
        exp += (w[:, None] * nd[:, None] * y / ny[:, None]).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            kt = np.where(ny > 1, w**2 * nd * (ny - nd) / (ny * (ny - 1.0)), 0.0)
        frac = y / ny[:, None]
        var += np.einsum("t,ti->i", kt, y)[:, None] * np.eye(k) - np.einsum(
            "t,ti,tj->ij", kt, y, frac
        )
    keep = np.flatnonzero(exp > 0)
    if keep.size < 2:
        stat, df = 0.0, 0
    else:
        diff = (obs - exp)[keep][1:]
        vv = var[np.ix_(keep, keep)][1:, 1:]
        stat, df = float(diff @ np.linalg.solve(vv, diff)), int(keep.size - 1)
    name = "log-rank (R survdiff rho=0)" if rho == 0 else f"Fleming-Harrington rho={rho:g}"
    if rho == 1:
        name = "Peto-Peto (R survdiff rho=1)"
    return LogRankResult(
        statistic=stat,
        df=df,
        p_value=float(chi2.sf(stat, df)) if df > 0 else 1.0,
        rho=float(rho),
        groups=tuple(groups),
        n=tuple(int(x) for x in np.bincount(gi, minlength=k)),
        observed=tuple(float(x) for x in obs),
        expected=tuple(float(x) for x in exp),
        method=name,
    )


def _two_sided_exact(weights: list[int], observed: int) -> float:
    """Sum of the weights no larger than the observed one (x (1 + 1e-7)), over the total.

    Weights are exact integers proportional to the null probabilities, so the comparison is
    exact; int / int division in Python is correctly rounded even for huge integers.
    """
    w_obs = weights[observed]
    tail = sum(w for w in weights if w * _REL_ERR_DEN <= w_obs * _REL_ERR_NUM)
    return min(1.0, tail / sum(weights))


def _check_count(name: str, value: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise StatsInputError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


#: above this many discordant pairs the exact big-integer sums are quadratic in n (seconds at
#: 10^4); the binomial distribution function of scipy is then exact to double precision
_EXACT_INTEGER_MAX_N = 2000


def _mcnemar_large(b: int, c: int) -> McNemarResult:
    from scipy.stats import binom

    n, x = b + c, min(b, c)
    # Binomial(n, 1/2) is symmetric, so R's two-sided rule (all outcomes no more likely than
    # the observed one) is 2 P(X <= x), or 1 when x is the mode.
    p = 1.0 if 2 * x == n else min(1.0, 2.0 * float(binom.cdf(x, n, 0.5)))
    mid = min(1.0, 2.0 * float(binom.cdf(x, n, 0.5)) - float(binom.pmf(x, n, 0.5)))
    return McNemarResult(a_only=b, b_only=c, p_value=p, mid_p_value=mid)


def mcnemar_exact(a_only: int, b_only: int) -> McNemarResult:
    """Exact McNemar test from the discordant pairs (e.g. CR after A only / after B only).

    p is R ``binom.test(b_only, a_only + b_only)`` two-sided; the mid-p is 2 P(X <= min) -
    P(X = min), capped at 1 (Fagerland et al. 2013). Concordant pairs do not enter.
    """
    b, c = _check_count("a_only", a_only), _check_count("b_only", b_only)
    n = b + c
    if n == 0:
        return McNemarResult(a_only=b, b_only=c, p_value=1.0, mid_p_value=1.0)
    x = min(b, c)
    if n > _EXACT_INTEGER_MAX_N:
        return _mcnemar_large(b, c)
    weights = [math.comb(n, i) for i in range(n + 1)]
    p = _two_sided_exact(weights, x)
    total = 1 << n
    mid = min(1.0, (2 * sum(weights[: x + 1]) - weights[x]) / total)
    return McNemarResult(a_only=b, b_only=c, p_value=p, mid_p_value=mid)


def paired_counts(a: ArrayLike, b: ArrayLike) -> tuple[int, int, int, int]:
    """(both, a only, b only, neither) from two paired boolean outcomes."""
    aa, bb = np.asarray(a, dtype=np.bool_), np.asarray(b, dtype=np.bool_)
    if aa.shape != bb.shape or aa.ndim != 1:
        raise StatsInputError("paired outcomes must be 1-D arrays of the same length")
    return (
        int((aa & bb).sum()),
        int((aa & ~bb).sum()),
        int((~aa & bb).sum()),
        int((~aa & ~bb).sum()),
    )


def fisher_exact(table: ArrayLike) -> FisherResult:
    """Fisher's exact test on [[a, b], [c, d]], two-sided as R ``fisher.test``: the sum of
    the hypergeometric probabilities of all tables with the same margins that are no more
    likely than the observed one (relative tolerance 1e-7)."""
    arr = np.asarray(table)
    if arr.shape != (2, 2):
        raise StatsInputError(f"table must be 2x2, got shape {arr.shape}")
    (a, b), (c, d) = [[_check_count("table cell", v) for v in row] for row in arr.tolist()]
    col1, col2, row1 = a + c, b + d, a + b
    lo, hi = max(0, row1 - col2), min(row1, col1)
    weights = [math.comb(col1, i) * math.comb(col2, row1 - i) for i in range(lo, hi + 1)]
    p = _two_sided_exact(weights, a - lo)
    return FisherResult(table=((a, b), (c, d)), p_value=p)
