"""Kaplan-Meier estimator with Greenwood SE, R-compatible CIs, survival at times and quantiles.

Everything is vectorised numpy. The conventions follow R ``survival`` 3.5 (``survfit``,
``summary.survfit``, ``quantile.survfit``) so numbers can be checked against R to ~1e-15:

* ties: events and censorings at the same time are all at risk at that time (censorings are
  taken to happen just after the events);
* the Greenwood variance of log S is infinite where everyone at risk fails (S = 0), so the SE
  and the CI there are NA (``None``), as in R, not 0 as in lifelines;
* log-log CIs are NA where S = 1 (R ``survfit_confint``); the band before the first observed
  time is [1, 1] (R's ``survfit0`` time-zero row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
from numpy.typing import ArrayLike

from ._common import (
    DAYS_PER_MONTH,
    SQRT_EPS,
    BoolArray,
    ConfType,
    FloatArray,
    IntArray,
    StatsInputError,
    as_events,
    as_times,
    check_conf_type,
    opt_float,
    r_confint,
    step_index,
    z_value,
)
from ._quantile import find_quantiles


@dataclass(frozen=True, eq=False)
class KMFit:
    """A Kaplan-Meier curve at every distinct observed time (events and censorings)."""

    time: FloatArray
    n_risk: IntArray
    n_event: IntArray
    n_censor: IntArray
    surv: FloatArray
    #: cumulative Greenwood sum, i.e. Var(log S); inf where S = 0
    greenwood: FloatArray
    #: Greenwood SE of S (NaN where S = 0)
    std_err: FloatArray
    lower: FloatArray
    upper: FloatArray
    conf_type: ConfType
    alpha: float
    n: int
    events: int
    time_unit: str = "days"


@dataclass(frozen=True)
class SurvivalAt:
    """S(t) at requested times with R ``summary(fit, times=)`` semantics (None = NA)."""

    time: tuple[float, ...]
    n_risk: tuple[int, ...]
    surv: tuple[float | None, ...]
    std_err: tuple[float | None, ...]
    lower: tuple[float | None, ...]
    upper: tuple[float | None, ...]
    conf_type: ConfType
    alpha: float
    time_unit: str
    n: int
    events: int


@dataclass(frozen=True)
class QuantileEstimate:
    """Survival-time quantile: the time where S first reaches 1 - prob (None = not reached)."""

    prob: float
    estimate: float | None
    lower: float | None
    upper: float | None
    conf_type: ConfType
    alpha: float
    time_unit: str
    n: int
    events: int
    method: str = "R quantile.survfit (midpoint rule, approx order)"


def _tabulate(t: FloatArray, e: BoolArray) -> tuple[FloatArray, IntArray, IntArray]:
    """Distinct times with the number of subjects and of events at each.

    Integer-valued times over a modest range (the registry case: days) are counted with
    ``bincount``, which is linear; anything else is sorted. Sorting ``t`` and the event
    times separately is cheaper than an ``argsort`` followed by gathers.
    """
    n = t.size
    if n == 0:
        raise StatsInputError("no observations")
    tmin, tmax = float(t.min()), float(t.max())
    span = tmax - tmin
    if span <= max(4 * n, 1 << 16) and np.array_equal(t, np.floor(t)):
        off = (t - tmin).astype(np.intp)
        total = np.bincount(off)
        deaths = np.bincount(off[e], minlength=total.size)
        nz = np.flatnonzero(total)
        return nz.astype(np.float64) + tmin, total[nz], deaths[nz]
    if tmin >= 0:
        # Non-negative doubles order like their bit patterns read as unsigned integers, and
        # the sign bit is free: pack (time bits << 1 | event) into one uint64 and sort once
        # (half the cost of sorting times and event times separately). -0.0 maps to 0.0.
        key = (t.view(np.uint64) << np.uint64(1)) | e.view(np.uint8).astype(np.uint64)
        key.sort()
        tbits = key >> np.uint64(1)
        starts = np.flatnonzero(np.concatenate(([True], tbits[1:] != tbits[:-1])))
        deaths = np.add.reduceat((key & np.uint64(1)).astype(np.int64), starts)
        return tbits[starts].view(np.float64), np.diff(np.append(starts, n)), deaths
    ts = np.sort(t)
    starts = np.flatnonzero(np.concatenate(([True], ts[1:] != ts[:-1])))
    times = ts[starts]
    te = np.sort(t[e])
    deaths = np.bincount(np.searchsorted(times, te), minlength=times.size)
    return times, np.diff(np.append(starts, n)), deaths


def confidence_band(
    surv: FloatArray, greenwood: FloatArray, conf_type: ConfType, alpha: float
) -> tuple[FloatArray, FloatArray]:
    """Pointwise (1 - alpha) CI of S from the Greenwood variance of log S."""
    with np.errstate(invalid="ignore"):
        se_log = np.sqrt(greenwood)
    return r_confint(surv, se_log, check_conf_type(conf_type), z_value(alpha))


def kaplan_meier(
    time: ArrayLike,
    event: ArrayLike,
    *,
    conf_type: str = "log-log",
    alpha: float = 0.05,
    time_unit: str = "days",
) -> KMFit:
    """Kaplan-Meier estimate with Greenwood SE and a pointwise CI.

    ``conf_type``: "log-log" (default; = SAS LIFETEST and lifelines), "log" (R's default) or
    "plain" (linear, Brookmeyer-Crowley 1982).
    """
    ct = check_conf_type(conf_type)
    t = as_times(time)
    e = as_events(event, t.size)
    times, total, deaths = _tabulate(t, e)
    # number at risk at each distinct time = those whose time is >= it
    n_risk = t.size - np.cumsum(total) + total
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = cast(FloatArray, np.cumprod(1.0 - deaths / n_risk))
        # d / (n (n - d)) is +inf where n == d: R's Greenwood is infinite there too
        greenwood = np.cumsum(deaths / (n_risk * (n_risk - deaths).astype(np.float64)))
        std_err = np.where(surv > 0, surv * np.sqrt(greenwood), np.nan)
    lower, upper = confidence_band(surv, greenwood, ct, alpha)
    return KMFit(
        time=times,
        n_risk=n_risk.astype(np.int64),
        n_event=deaths.astype(np.int64),
        n_censor=(total - deaths).astype(np.int64),
        surv=surv,
        greenwood=greenwood,
        std_err=std_err,
        lower=lower,
        upper=upper,
        conf_type=ct,
        alpha=float(alpha),
        n=int(t.size),
        events=int(deaths.sum()),
        time_unit=time_unit,
    )


def with_conf_type(fit: KMFit, conf_type: str, alpha: float | None = None) -> KMFit:
    """The same curve with another CI transform or level (no refit needed)."""
    ct = check_conf_type(conf_type)
    a = fit.alpha if alpha is None else float(alpha)
    lower, upper = confidence_band(fit.surv, fit.greenwood, ct, a)
    return replace(fit, lower=lower, upper=upper, conf_type=ct, alpha=a)


def survival_at(fit: KMFit, times: ArrayLike, *, extend: bool = False) -> SurvivalAt:
    """S(t), its SE and CI at ``times`` (step function, right-continuous).

    Before the first observed time S = 1 with SE 0 and CI [1, 1]. After the last observed
    time R drops the row unless ``extend=TRUE``; here the row is kept, with None values
    unless ``extend`` is set, in which case the last values are carried forward and the
    number at risk is 0 (R ``extend=TRUE``).
    """
    tq = as_times(times, "times")
    idx = step_index(fit.time, tq)
    before = idx < 0
    safe = np.maximum(idx, 0)
    surv = np.where(before, 1.0, fit.surv[safe])
    se = np.where(before, 0.0, fit.std_err[safe])
    lower = np.where(before, 1.0, fit.lower[safe])
    upper = np.where(before, 1.0, fit.upper[safe])
    # at risk at t = subjects with time >= t (R: n.risk at the first fit time >= t, else 0)
    nxt = np.searchsorted(fit.time, tq, side="left")
    n_risk = np.where(nxt < fit.time.size, fit.n_risk[np.minimum(nxt, fit.time.size - 1)], 0)
    if not extend:
        beyond = tq > fit.time[-1]
        for arr in (surv, se, lower, upper):
            arr[beyond] = np.nan
    return SurvivalAt(
        time=tuple(float(x) for x in tq),
        n_risk=tuple(int(x) for x in n_risk),
        surv=tuple(opt_float(x) for x in surv),
        std_err=tuple(opt_float(x) for x in se),
        lower=tuple(opt_float(x) for x in lower),
        upper=tuple(opt_float(x) for x in upper),
        conf_type=fit.conf_type,
        alpha=fit.alpha,
        time_unit=fit.time_unit,
        n=fit.n,
        events=fit.events,
    )


def km_quantiles(
    fit: KMFit, probs: Sequence[float] = (0.25, 0.5, 0.75), *, tol: float = SQRT_EPS
) -> tuple[QuantileEstimate, ...]:
    """Quantiles of survival time with CIs, following R ``quantile.survfit`` exactly.

    ``prob`` is the fraction that has failed (0.5 = median). The CI is where the horizontal
    line at 1 - prob meets each band (Brookmeyer-Crowley inversion with the fit's
    transform). A flat stretch of the curve equal to 1 - prob within ``tol`` gives the
    midpoint of that stretch; "not reached" and bands that are NA at S = 0 give None.
    R's ``approx()`` sorting of non-monotone bands is emulated (see ``_quantile``).
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise StatsInputError("probs must be a non-empty sequence of values in [0, 1]")
    # R prepends the start time 0 with S = 1 (``firstx``), then works on 1 - S
    x = np.concatenate(([0.0], fit.time))
    rows = [
        find_quantiles(x, np.concatenate(([0.0], 1.0 - band)), p, tol)
        for band in (fit.surv, fit.lower, fit.upper)
    ]
    return tuple(
        QuantileEstimate(
            prob=float(p[i]),
            estimate=opt_float(rows[0][i]),
            lower=opt_float(rows[1][i]),
            upper=opt_float(rows[2][i]),
            conf_type=fit.conf_type,
            alpha=fit.alpha,
            time_unit=fit.time_unit,
            n=fit.n,
            events=fit.events,
        )
        for i in range(p.size)
    )


def km_median(fit: KMFit, *, tol: float = SQRT_EPS) -> QuantileEstimate:
    """Median survival time with its CI (None where not reached)."""
    return km_quantiles(fit, (0.5,), tol=tol)[0]


def rescale_fit(fit: KMFit, divisor: float, time_unit: str) -> KMFit:
    """Express a fit in another time unit (times divided by ``divisor``)."""
    if not divisor > 0:
        raise StatsInputError("divisor must be positive")
    return replace(fit, time=fit.time / divisor, time_unit=time_unit)


def to_months(fit: KMFit) -> KMFit:
    """A fit in days re-expressed in months of 30.4375 days (365.25 / 12)."""
    if fit.time_unit != "days":
        raise StatsInputError(f"to_months expects a fit in days, got {fit.time_unit!r}")
    return rescale_fit(fit, DAYS_PER_MONTH, "months")


def days_to_months(days: float | None) -> float | None:
    """Days to months (30.4375 days each); None stays None."""
    return None if days is None else days / DAYS_PER_MONTH
