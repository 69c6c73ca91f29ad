"""Cox proportional hazards through lifelines (Efron ties, as R ``coxph``'s default).

lifelines cannot fit Breslow ties (SAS PHREG's default); say "Efron" when reporting. Its
default convergence criteria agree with R to ~1e-6; we tighten them so coefficients agree
to ~1e-12 at a cost of a few extra Newton steps (statistics.md section 4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._common import StatsInputError, as_events, as_times

_TIGHT_FIT = {"precision": 1e-12, "r_precision": 1e-14, "max_steps": 500}


@dataclass(frozen=True)
class CoxTerm:
    name: str
    coef: float
    se: float
    hazard_ratio: float
    hr_lower: float
    hr_upper: float
    z: float
    p_value: float


@dataclass(frozen=True)
class CoxResult:
    terms: tuple[CoxTerm, ...]
    log_likelihood: float
    concordance: float
    n: int
    events: int
    alpha: float
    ties: str = "efron"
    method: str = "Cox PH, Efron ties, Wald CI and p (lifelines CoxPHFitter)"

    def term(self, name: str) -> CoxTerm:
        for t in self.terms:
            if t.name == name:
                return t
        raise KeyError(name)


def cox_ph(
    time: ArrayLike,
    event: ArrayLike,
    covariates: Mapping[str, ArrayLike],
    *,
    alpha: float = 0.05,
    strata: ArrayLike | None = None,
    tight: bool = True,
) -> CoxResult:
    """Fit a Cox model of (time, event) on numeric ``covariates`` (name -> values).

    Categorical covariates must be coded by the caller (e.g. 0/1 indicators), which keeps
    the reference level explicit in the report. Rows with missing covariates are an error,
    not silently dropped.
    """
    import pandas as pd  # lazy: only Cox needs pandas, and lifelines pulls in much more
    from lifelines import CoxPHFitter

    t = as_times(time)
    e = as_events(event, t.size)
    if not covariates:
        raise StatsInputError("at least one covariate is required")
    reserved = {"_time", "_event", "_strata"}
    cols: dict[str, Any] = {"_time": t, "_event": e.astype(np.int8)}
    for name, values in covariates.items():
        if name in reserved:
            raise StatsInputError(f"covariate name {name!r} is reserved")
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape != t.shape:
            raise StatsInputError(f"covariate {name!r} must have length {t.size}")
        if not np.isfinite(arr).all():
            raise StatsInputError(f"covariate {name!r} has missing or infinite values")
        cols[name] = arr
    strata_cols: Sequence[str] | None = None
    if strata is not None:
        cols["_strata"] = np.asarray(strata)
        strata_cols = ["_strata"]
    df = pd.DataFrame(cols)
    cph = CoxPHFitter(alpha=alpha)
    cph.fit(
        df,
        duration_col="_time",
        event_col="_event",
        strata=strata_cols,
        fit_options=dict(_TIGHT_FIT) if tight else None,
    )
    s = cph.summary
    pct = round((1 - alpha) * 100)
    terms = tuple(
        CoxTerm(
            name=str(name),
            coef=float(s.loc[name, "coef"]),
            se=float(s.loc[name, "se(coef)"]),
            hazard_ratio=float(s.loc[name, "exp(coef)"]),
            hr_lower=float(s.loc[name, f"exp(coef) lower {pct}%"]),
            hr_upper=float(s.loc[name, f"exp(coef) upper {pct}%"]),
            z=float(s.loc[name, "z"]),
            p_value=float(s.loc[name, "p"]),
        )
        for name in covariates
    )
    return CoxResult(
        terms=terms,
        log_likelihood=float(cph.log_likelihood_),
        concordance=float(cph.concordance_index_),
        n=int(t.size),
        events=int(e.sum()),
        alpha=float(alpha),
    )
