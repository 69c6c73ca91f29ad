"""Tidy, JSON-ready summaries of every estimator and test.

Every output is built from plain ``dict``/``list``/``float``/``int``/``str``/``None``: NA is
``None`` (never NaN or inf, which break JSON and Parquet statistics), and each carries the
method that produced it (CI transform, alpha, variance estimator, time unit, n, events and
the data cutoff when given) so a number can always be traced back to how it was computed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from numpy.typing import ArrayLike

from ._common import DAYS_PER_MONTH, StatsInputError, json_safe
from .competing import CIFFit, cif_at
from .km import KMFit, km_quantiles, rescale_fit, survival_at

_QUANTILE_RULE = (
    "R quantile.survfit: first time S <= 1 - p; midpoint of a flat at exactly 1 - p "
    "(tolerance sqrt(eps)); CI by inverting the pointwise band, in R's approx() order"
)


def _unit(fit_unit: str, unit: str | None) -> tuple[float, str]:
    if unit is None or unit == fit_unit:
        return 1.0, fit_unit
    if fit_unit == "days" and unit == "months":
        return DAYS_PER_MONTH, "months"
    raise StatsInputError(f"cannot convert {fit_unit!r} to {unit!r}")


def _method(fit: KMFit | CIFFit, unit: str, cutoff: date | str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "conf_type": fit.conf_type,
        "alpha": fit.alpha,
        "conf_level": 1 - fit.alpha,
        "time_unit": unit,
        "n": fit.n,
        "events": fit.events,
        "data_cutoff": cutoff,
    }
    if unit == "months":
        out["days_per_month"] = DAYS_PER_MONTH
    return out


def tidy_km(
    fit: KMFit,
    *,
    times: ArrayLike | None = None,
    probs: Sequence[float] = (0.25, 0.5, 0.75),
    unit: str | None = None,
    data_cutoff: date | str | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """Quantiles (with CIs) and, if ``times`` are given, S(t) at those times.

    ``unit="months"`` converts a fit in days first; ``times`` are then in months.
    """
    scale, unit_name = _unit(fit.time_unit, unit)
    f = rescale_fit(fit, scale, unit_name) if scale != 1.0 else fit
    method = _method(f, unit_name, data_cutoff)
    method.update(estimator="Kaplan-Meier", variance="Greenwood", quantile_rule=_QUANTILE_RULE)
    out: dict[str, Any] = {
        "label": label,
        "method": method,
        "quantiles": [
            {"prob": q.prob, "estimate": q.estimate, "lower": q.lower, "upper": q.upper}
            for q in km_quantiles(f, probs)
        ],
    }
    if times is not None:
        s = survival_at(f, times)
        out["survival"] = [
            {"time": t, "n_risk": nr, "surv": sv, "std_err": se, "lower": lo, "upper": up}
            for t, nr, sv, se, lo, up in zip(
                s.time, s.n_risk, s.surv, s.std_err, s.lower, s.upper, strict=True
            )
        ]
    return json_safe(out)


def tidy_cif(
    fit: CIFFit,
    *,
    times: ArrayLike,
    unit: str | None = None,
    data_cutoff: date | str | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """Cumulative incidence of one cause at ``times`` with variance, SE and CI."""
    scale, unit_name = _unit(fit.time_unit, unit)
    f = replace(fit, time=fit.time / scale, time_unit=unit_name) if scale != 1.0 else fit
    method = _method(f, unit_name, data_cutoff)
    method.update(
        estimator="Aalen-Johansen",
        cause=f.cause,
        competing_events=f.competing_events,
        variance=(
            "Aalen (R cmprsk::cuminc)"
            if f.variance == "aalen"
            else "infinitesimal jackknife (R survfit)"
        ),
    )
    a = cif_at(f, times)
    rows = [
        {"time": t, "estimate": e, "variance": v, "std_err": se, "lower": lo, "upper": up}
        for t, e, v, se, lo, up in zip(
            a.time, a.estimate, a.variance, a.std_err, a.lower, a.upper, strict=True
        )
    ]
    return json_safe({"label": label, "method": method, "incidence": rows})


def tidy_result(result: Any, *, data_cutoff: date | str | None = None) -> dict[str, Any]:
    """Any test or model result dataclass (log-rank, Gray, McNemar, Fisher, Cox, quantile)
    as a JSON-safe dict, with the data cutoff recorded."""
    out = json_safe(result)
    if not isinstance(out, dict):
        raise StatsInputError(f"expected a result dataclass, got {type(result).__name__}")
    out["data_cutoff"] = json_safe(data_cutoff)
    return out


def to_json(obj: Any) -> str:
    """Serialise a tidy output; refuses NaN/inf rather than writing invalid JSON."""
    return json.dumps(json_safe(obj), allow_nan=False, sort_keys=False)
