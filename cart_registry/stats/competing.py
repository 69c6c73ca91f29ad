"""Competing risks: Aalen-Johansen cumulative incidence with two variance estimators.

Typical registry use: relapse (cause 1) with death in remission (cause 2) competing.

* Estimate: F_k(t) = sum_{s <= t} S(s-) d_k(s) / n(s), with S the all-cause Kaplan-Meier.
  Tied times are handled exactly (no jitter, unlike lifelines' ``AalenJohansenFitter``).
* ``variance="aalen"``: the Aalen-type estimator of R ``cmprsk::cuminc`` (also SAS's
  default).
* ``variance="ij"``: the infinitesimal jackknife, i.e. sum over subjects of the squared
  derivative of F_k(t) with respect to the subject's case weight. This is what R
  ``survfit`` reports for multi-state curves (statistics.md found lifelines' and
  statsmodels' delta-method variances equal to it). A closed form over "exit time x exit status" classes makes it
  O(n) instead of O(n x times); see ``_ij_variance``.

Gray's (1988) K-sample test lives in ``gray.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import ArrayLike

from ._common import (
    ConfType,
    FloatArray,
    IntArray,
    StatsInputError,
    as_times,
    check_conf_type,
    opt_float,
    r_confint,
    step_index,
    z_value,
)

Variance = Literal["aalen", "ij"]


@dataclass(frozen=True, eq=False)
class CIFFit:
    """Cumulative incidence of one cause, at every distinct observed time."""

    time: FloatArray
    n_risk: IntArray
    n_event: IntArray
    n_competing: IntArray
    n_censor: IntArray
    estimate: FloatArray
    var_aalen: FloatArray
    var_ij: FloatArray
    lower: FloatArray
    upper: FloatArray
    cause: Any
    variance: Variance
    conf_type: ConfType
    alpha: float
    n: int
    events: int
    competing_events: int
    time_unit: str = "days"

    @property
    def std_err(self) -> FloatArray:
        """SE of the estimate under the chosen variance."""
        return np.sqrt(self.var_aalen if self.variance == "aalen" else self.var_ij)


@dataclass(frozen=True)
class CIFAt:
    """Cumulative incidence at requested times (None after the last follow-up time)."""

    time: tuple[float, ...]
    estimate: tuple[float | None, ...]
    variance: tuple[float | None, ...]
    std_err: tuple[float | None, ...]
    lower: tuple[float | None, ...]
    upper: tuple[float | None, ...]
    cause: Any
    variance_method: Variance
    conf_type: ConfType
    alpha: float
    time_unit: str
    n: int
    events: int
    competing_events: int


def competing_codes(time: ArrayLike, cause: ArrayLike) -> tuple[FloatArray, np.ndarray[Any, Any]]:
    """Validated times and cause codes (one code, by default 0, marks censoring)."""
    t = as_times(time)
    c = np.asarray(cause)
    if c.shape != t.shape:
        raise StatsInputError(f"cause must have the same length as time ({t.size}), got {c.shape}")
    if c.dtype.kind == "f" and np.isnan(c).any():
        raise StatsInputError("cause contains missing values")
    if t.size == 0:
        raise StatsInputError("no observations")
    return t, c


def _tabulate(
    t: FloatArray, is_k: np.ndarray[Any, Any], is_other: np.ndarray[Any, Any]
) -> tuple[FloatArray, IntArray, IntArray, IntArray, IntArray]:
    times, inv, total = np.unique(t, return_inverse=True, return_counts=True)
    dk = np.bincount(inv[is_k], minlength=times.size)
    do = np.bincount(inv[is_other], minlength=times.size)
    n_risk = t.size - np.cumsum(total) + total
    return times, n_risk, dk, do, total


def _aalen_variance(
    n_risk: FloatArray,
    dk: FloatArray,
    do: FloatArray,
    s_prev: FloatArray,
    s_now: FloatArray,
    f_now: FloatArray,
) -> FloatArray:
    """cmprsk's Aalen-type variance, vectorised.

    Each event time adds increments to three running sums v1, v2, v3; with F = F(t) the
    variance is v1 + F^2 v3 - 2 F v2. ``t5`` is the
    usual correction for tied events (hypergeometric rather than Poisson counts).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_s = np.where(s_now > 0, 1.0 / s_now, 0.0)
        # competing events: only while the all-cause survival stays positive
        t5o = np.where(do > 1, 1.0 - (do - 1.0) / (n_risk - 1.0), 1.0)
        t6o = np.where((do > 0) & (s_now > 0), s_prev**2 * t5o * do / n_risk**2, 0.0)
        a3o, a4o = inv_s, f_now * inv_s
        t5k = np.where(dk > 1, 1.0 - (dk - 1.0) / (n_risk - 1.0), 1.0)
        t6k = np.where(dk > 0, s_prev**2 * t5k * dk / n_risk**2, 0.0)
        a3k, a4k = inv_s, 1.0 + inv_s * f_now
    v1 = np.cumsum(a4o * a4o * t6o + a4k * a4k * t6k)
    v2 = np.cumsum(a3o * a4o * t6o + a3k * a4k * t6k)
    v3 = np.cumsum(a3o * a3o * t6o + a3k * a3k * t6k)
    # cmprsk recomputes this only at cause-k event times and carries it forward; doing it at
    # every time is the same, because a competing-event increment adds t6 F^2 / S^2 (1 + 1 - 2)
    # = 0 while F is unchanged.
    return cast(FloatArray, v1 + f_now**2 * v3 - 2.0 * f_now * v2)


def _ij_variance(
    n_risk: FloatArray,
    dk: FloatArray,
    do: FloatArray,
    total: FloatArray,
    s_prev: FloatArray,
    f_now: FloatArray,
) -> FloatArray:
    """Infinitesimal-jackknife variance of F_k at each distinct time, in O(times).

    With case weights w_i, dF(u) = S(u-) d_k(u) / Y(u) and d log S(v) = log(1 - d/Y). For a
    subject still at risk after t the derivative of F(t) is the same for everyone:
        B(t) = sum_{u <= t} dF(u) (C(u-) - 1 / Y(u)),   C(u-) = sum_{v < u} d / (Y (Y - d)),
    and a subject that left at tau <= t has derivative a + b F(t), with
        b = C(tau) - [event] / (Y - d),   a = B(tau) + [cause k] S(tau-) / Y - b F(tau).
    Summing squares over subjects grouped by (exit time, status) needs only cumulative sums.
    """
    d = dk + do
    left_alive = n_risk > d  # where Y == d nobody remains, so these terms multiply dF = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(left_alive, d / (n_risk * (n_risk - d)), 0.0)
        inv_rest = np.where(left_alive, 1.0 / (n_risk - d), 0.0)
        inv_y = 1.0 / n_risk
    cum_c = np.cumsum(c)
    cum_c_strict = cum_c - c
    df = s_prev * dk * inv_y
    b_risk = np.cumsum(df * (cum_c_strict - inv_y))
    # three exit classes at each time: cause k, competing cause, censored
    b_evt = cum_c - inv_rest
    a_k = b_risk + s_prev * inv_y - b_evt * f_now
    a_o = b_risk - b_evt * f_now
    b_cen = cum_c
    a_c = b_risk - b_cen * f_now
    n_cen = total - d
    sum_aa = np.cumsum(dk * a_k**2 + do * a_o**2 + n_cen * a_c**2)
    sum_ab = np.cumsum(dk * a_k * b_evt + do * a_o * b_evt + n_cen * a_c * b_cen)
    sum_bb = np.cumsum(dk * b_evt**2 + do * b_evt**2 + n_cen * b_cen**2)
    still_at_risk = n_risk - total
    var = still_at_risk * b_risk**2 + sum_aa + 2.0 * f_now * sum_ab + f_now**2 * sum_bb
    return np.maximum(var, 0.0)  # clip round-off below zero at F = 0


def cumulative_incidence(
    time: ArrayLike,
    cause: ArrayLike,
    *,
    cause_of_interest: Any = 1,
    censor_code: Any = 0,
    variance: str = "aalen",
    conf_type: str = "log-log",
    alpha: float = 0.05,
    time_unit: str = "days",
) -> CIFFit:
    """Aalen-Johansen cumulative incidence of ``cause_of_interest``; other codes compete.

    Defaults (Aalen variance, log-log CI) follow SAS LIFETEST and tidycmprsk; for R
    ``survfit`` parity use ``variance="ij", conf_type="log"``. Both variances are always
    computed and stored; ``variance`` only picks the one used for the CI.
    """
    if variance not in ("aalen", "ij"):
        raise StatsInputError(f"variance must be 'aalen' or 'ij', got {variance!r}")
    ct = check_conf_type(conf_type)
    t, c = competing_codes(time, cause)
    is_k = c == cause_of_interest
    is_other = ~is_k & (c != censor_code)
    times, n_risk_i, dk_i, do_i, total_i = _tabulate(t, is_k, is_other)
    n_risk = n_risk_i.astype(np.float64)
    dk, do, total = dk_i.astype(np.float64), do_i.astype(np.float64), total_i.astype(np.float64)
    s_now = cast(FloatArray, np.cumprod(1.0 - (dk + do) / n_risk))
    s_prev = np.concatenate(([1.0], s_now[:-1]))
    f_now = np.cumsum(s_prev * dk / n_risk)
    # Round-off can leave -1e-16 where the true variance is 0 (e.g. F = 1 at the last time):
    # clip, so a standard error is never the square root of a negative number.
    var_aalen = np.maximum(_aalen_variance(n_risk, dk, do, s_prev, s_now, f_now), 0.0)
    var_ij = _ij_variance(n_risk, dk, do, total, s_prev, f_now)
    chosen = var_aalen if variance == "aalen" else var_ij
    with np.errstate(divide="ignore", invalid="ignore"):
        se_log = np.where(chosen == 0, 0.0, np.sqrt(chosen) / f_now)
    lower, upper = r_confint(f_now, se_log, ct, z_value(alpha))
    return CIFFit(
        time=times,
        n_risk=n_risk_i.astype(np.int64),
        n_event=dk_i.astype(np.int64),
        n_competing=do_i.astype(np.int64),
        n_censor=(total_i - dk_i - do_i).astype(np.int64),
        estimate=f_now,
        var_aalen=var_aalen,
        var_ij=var_ij,
        lower=lower,
        upper=upper,
        cause=cause_of_interest.item() if hasattr(cause_of_interest, "item") else cause_of_interest,
        variance=cast(Variance, variance),
        conf_type=ct,
        alpha=float(alpha),
        n=int(t.size),
        events=int(dk_i.sum()),
        competing_events=int(do_i.sum()),
        time_unit=time_unit,
    )


def cif_at(fit: CIFFit, times: ArrayLike) -> CIFAt:
    """F_k(t) with variance and CI at ``times`` (R ``cmprsk::timepoints`` semantics).

    Before the first observed time F = 0 with variance 0; after the last follow-up time the
    values are None (cmprsk and R ``summary`` both refuse to extrapolate).
    """
    tq = as_times(times, "times")
    idx = step_index(fit.time, tq)
    safe = np.maximum(idx, 0)
    before, beyond = idx < 0, tq > fit.time[-1]
    var = fit.var_aalen if fit.variance == "aalen" else fit.var_ij

    def pick(arr: FloatArray, at_zero: float) -> tuple[float | None, ...]:
        vals = np.where(before, at_zero, arr[safe])
        vals[beyond] = np.nan
        return tuple(opt_float(v) for v in vals)

    # at F = 0 R's log and log-log limits are NA and plain limits are [0, 0]
    zero_ci = 0.0 if fit.conf_type == "plain" else np.nan
    return CIFAt(
        time=tuple(float(x) for x in tq),
        estimate=pick(fit.estimate, 0.0),
        variance=pick(var, 0.0),
        std_err=pick(np.sqrt(var), 0.0),
        lower=pick(fit.lower, zero_ci),
        upper=pick(fit.upper, zero_ci),
        cause=fit.cause,
        variance_method=fit.variance,
        conf_type=fit.conf_type,
        alpha=fit.alpha,
        time_unit=fit.time_unit,
        n=fit.n,
        events=fit.events,
        competing_events=fit.competing_events,
    )
