"""Gray's (1988) K-sample test for equality of cumulative incidence functions.

Written from Gray, R. J. (1988) "A class of K-sample tests for comparing the cumulative
incidence of a competing risk", Ann. Statist. 16:1141-1154, in the form used by R
``cmprsk::cuminc`` (whose results it reproduces), but restated in vector form.

Score. For group g at an event time, with Y_g at risk, S_g(t-) the all-cause KM and
F_g(t-) the cause-k incidence (both left-continuous), the subdistribution risk set is
R_g = Y_g (1 - F_g(t-)) / S_g(t-). The score compares cause-k events with their expectation
under a common subdistribution hazard, weighted by (1 - F(t-))^rho:
    s_g = sum_t w(t) [d_kg(t) - d_k(t) R_g(t) / sum_h R_h(t)].

Variance. The score is written as a sum of martingale increments, one per group, event
time and cause (k, or competing), each with a coefficient vector b and a variance weight
t3 (with the usual tied-event correction t5). Then V = sum t3 b b'. With h_g = Y_g / S_g(t-),
tr = sum h, A(t) = w (diag(h) - h h' / tr), the running sum c(t) = sum_{u <= t} A(u) d_k(u) /
(tr (1 - F(u-))) and its final value C, where F is the pooled incidence F(t) = F(t-) + d_k / tr:
    cause k, group j:    b_.j = A_.j + t4 (C_.j - c_.j(t)),  t4 = 1 - (1 - F(t)) / S_j(t)
    competing, group j:  b_.j = t4 (C_.j - c_.j(t)),        t4 = (1 - F(t)) / S_j(t)
The statistic s' V^-1 s uses the first K - 1 groups and has K - 1 degrees of freedom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._common import FloatArray, StatsInputError, as_labels
from .competing import competing_codes


@dataclass(frozen=True)
class GrayTest:
    """Gray's test for one cause across groups."""

    statistic: float
    df: int
    p_value: float
    cause: Any
    groups: tuple[Any, ...]
    #: score for every group but the last, and its variance matrix
    score: tuple[float, ...]
    variance: tuple[tuple[float, ...], ...]
    rho: float
    n: int
    method: str = "Gray (1988) K-sample test, as R cmprsk::cuminc"


def _counts(
    t: FloatArray, gi: np.ndarray[Any, Any], m: np.ndarray[Any, Any], n_groups: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """At-risk, cause-k and competing counts per (distinct time, group)."""
    times, inv = np.unique(t, return_inverse=True)
    nt = times.size
    cell = inv * n_groups + gi

    def count(mask: np.ndarray[Any, Any]) -> FloatArray:
        return (
            np.bincount(cell[mask], minlength=nt * n_groups)
            .reshape(nt, n_groups)
            .astype(np.float64)
        )

    total = count(np.ones(t.size, dtype=np.bool_))
    at_risk = total[::-1].cumsum(axis=0)[::-1]
    return at_risk, count(m == 1), count(m == 2)


def _score_and_variance(
    y: FloatArray, d1: FloatArray, d2: FloatArray, rho: float
) -> tuple[FloatArray, FloatArray]:
    """Score (K) and variance (K x K) for one stratum; rows are distinct times."""
    event_rows = (d1 + d2).sum(axis=1) > 0
    y, d1, d2 = y[event_rows], d1[event_rows], d2[event_rows]
    present = y > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        # per-group all-cause KM and cause-k incidence; empty groups keep their last value
        factor = np.where(present, 1.0 - (d1 + d2) / y, 1.0)
        s_now = np.cumprod(factor, axis=0)
        s_prev = np.vstack([np.ones((1, y.shape[1])), s_now[:-1]])
        f1_now = np.cumsum(np.where(present, s_prev * d1 / y, 0.0), axis=0)
        f1_prev = np.vstack([np.zeros((1, y.shape[1])), f1_now[:-1]])
        h = np.where(present, y / s_prev, 0.0)
        tr = h.sum(axis=1)
        risk = h * (1.0 - f1_prev)
        tq = risk.sum(axis=1)
        nd1 = d1.sum(axis=1)
        f_now = np.cumsum(nd1 / tr)
        f_prev = f_now - nd1 / tr
        w = (1.0 - f_prev) ** rho

        score = (w[:, None] * (d1 - nd1[:, None] * risk / tq[:, None])).sum(axis=0)

        a = w[:, None, None] * (
            h[:, :, None] * np.eye(h.shape[1])[None]
            - h[:, :, None] * h[:, None, :] / tr[:, None, None]
        )
        dc = a * np.where(f_prev < 1, nd1 / (tr * (1.0 - f_prev)), 0.0)[:, None, None]
        c_run = np.cumsum(dc, axis=0)
        c_rest = c_run[-1][None] - c_run  # C - c(t)

        # cause-k increments
        t4k = np.where(s_now > 0, 1.0 - (1.0 - f_now[:, None]) / s_now, 1.0)
        t5k = np.where(
            nd1[:, None] > 1, 1.0 - (nd1[:, None] - 1.0) / (tr[:, None] * s_prev - 1.0), 1.0
        )
        t3k = np.where(
            present & (nd1[:, None] > 0), t5k * s_prev * nd1[:, None] / (tr[:, None] * y), 0.0
        )
        bk = a + t4k[:, None, :] * c_rest
        # competing increments
        ok2 = (s_now > 0) & (d2 > 0)
        t4o = np.where(ok2, (1.0 - f_now[:, None]) / s_now, 0.0)
        t5o = np.where(d2 > 1, 1.0 - (d2 - 1.0) / (y - 1.0), 1.0)
        t3o = np.where(ok2, t5o * s_prev**2 * d2 / y**2, 0.0)
        bo = t4o[:, None, :] * c_rest
    var = np.einsum("tik,tjk,tk->ij", bk, bk, t3k) + np.einsum("tik,tjk,tk->ij", bo, bo, t3o)
    return score, var


def gray_test(
    time: ArrayLike,
    cause: ArrayLike,
    group: ArrayLike,
    *,
    cause_of_interest: Any = 1,
    censor_code: Any = 0,
    rho: float = 0.0,
    strata: ArrayLike | None = None,
) -> GrayTest:
    """Gray's test that the cumulative incidence of ``cause_of_interest`` is equal across
    ``group`` (optionally stratified: scores and variances are summed over strata)."""
    from scipy.stats import chi2  # lazy: scipy is slow to import

    t, c = competing_codes(time, cause)
    gi, groups = as_labels(group, t.size)
    if len(groups) < 2:
        raise StatsInputError("Gray's test needs at least two groups")
    m = np.where(c == cause_of_interest, 1, np.where(c == censor_code, 0, 2))
    si, _ = (np.zeros(t.size, dtype=np.intp), [0]) if strata is None else as_labels(strata, t.size)
    k = len(groups)
    score = np.zeros(k)
    var = np.zeros((k, k))
    for s in np.unique(si):
        sel = si == s
        y, d1, d2 = _counts(t[sel], gi[sel], m[sel], k)
        s_s, v_s = _score_and_variance(y, d1, d2, rho)
        score += s_s
        var += v_s
    sc, vv = score[:-1], var[:-1, :-1]
    if np.linalg.matrix_rank(vv) < k - 1:
        raise StatsInputError("singular variance matrix: a group has no informative events")
    stat = float(sc @ np.linalg.solve(vv, sc))
    return GrayTest(
        statistic=stat,
        df=k - 1,
        p_value=float(chi2.sf(stat, k - 1)),
        cause=cause_of_interest.item() if hasattr(cause_of_interest, "item") else cause_of_interest,
        groups=tuple(groups),
        score=tuple(float(x) for x in sc),
        variance=tuple(tuple(float(x) for x in row) for row in vv),
        rho=float(rho),
        n=int(t.size),
    )
