"""Shared helpers: input checks, normal quantiles, R-compatible confidence bands, JSON safety.

Only numpy and the standard library are imported here, so that ``import cart_registry.stats``
stays cheap (lifelines alone takes over a second to import).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from statistics import NormalDist
from typing import Any, Literal, TypeAlias, cast, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.int64]
BoolArray: TypeAlias = NDArray[np.bool_]

ConfType = Literal["log-log", "log", "plain"]
CONF_TYPES: tuple[str, ...] = get_args(ConfType)

#: Average Gregorian month (365.25 / 12). Fit in days and convert at output time; KM and
#: Aalen-Johansen estimates are equivariant under rescaling of time, so nothing is lost.
DAYS_PER_MONTH = 30.4375

#: R's default tolerance in ``quantile.survfit`` (``sqrt(.Machine$double.eps)``).
SQRT_EPS = math.sqrt(np.finfo(np.float64).eps)


class StatsInputError(ValueError):
    """Input data an estimator cannot use (wrong shape, missing values, bad codes)."""


def z_value(alpha: float) -> float:
    """Two-sided normal critical value for a (1 - alpha) interval.

    ``statistics.NormalDist`` (Wichura's AS241, ~1e-16) avoids importing scipy for this.
    """
    if not 0.0 < alpha < 1.0:
        raise StatsInputError(f"alpha must be in (0, 1), got {alpha!r}")
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


def check_conf_type(conf_type: str) -> ConfType:
    if conf_type not in CONF_TYPES:
        raise StatsInputError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    return cast(ConfType, conf_type)


def as_times(time: ArrayLike, name: str = "time") -> FloatArray:
    """1-D finite float64 times (integer days are exact in float64 up to 2**53)."""
    arr = np.asarray(time)
    if arr.ndim != 1:
        raise StatsInputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind not in "iuf":
        raise StatsInputError(f"{name} must be numeric, got dtype {arr.dtype}")
    out = arr.astype(np.float64, copy=False)
    if not np.isfinite(out).all():
        raise StatsInputError(f"{name} contains missing or infinite values")
    return out


def as_events(event: ArrayLike, n: int, name: str = "event") -> BoolArray:
    """Event indicator as bool; accepts bool or 0/1 codes only (a 2 is a coding error)."""
    arr = np.asarray(event)
    if arr.shape != (n,):
        raise StatsInputError(f"{name} must have the same length as time ({n}), got {arr.shape}")
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "iuf":
        raise StatsInputError(f"{name} must be boolean or 0/1, got dtype {arr.dtype}")
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise StatsInputError(f"{name} must be coded 0 (censored) / 1 (event)")
    return arr.astype(np.bool_)


def as_labels(group: ArrayLike, n: int, name: str = "group") -> tuple[NDArray[Any], list[Any]]:
    """Group labels and their sorted distinct values (R's factor level order)."""
    arr = np.asarray(group)
    if arr.shape != (n,):
        raise StatsInputError(f"{name} must have the same length as time ({n}), got {arr.shape}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise StatsInputError(f"{name} contains missing values")
    if arr.dtype == object and any(v is None for v in arr):
        raise StatsInputError(f"{name} contains missing values")
    levels = np.unique(arr)
    return np.searchsorted(levels, arr), [lv.item() if hasattr(lv, "item") else lv for lv in levels]


def r_confint(
    p: FloatArray, se_log: FloatArray, conf_type: ConfType, z: float
) -> tuple[FloatArray, FloatArray]:
    """Pointwise CI of a probability, transcribing the rules of R ``survfit_confint``.

    ``se_log`` is the standard error of log(p). NaN marks R's NA: p = 0 for every type (the
    Greenwood term is infinite there) and p = 1 for log-log (log(-log 1) is undefined).
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half = se_log * p * z
            return np.maximum(p - half, 0.0), np.minimum(p + half, 1.0)
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            half = z * se_log
            return np.exp(np.log(xx) - half), np.minimum(np.exp(np.log(xx) + half), 1.0)
        xx = np.where((p == 0) | (p == 1), np.nan, p)
        half = z * se_log / np.log(xx)
        loglog = np.log(-np.log(xx))
        return np.exp(-np.exp(loglog - half)), np.exp(-np.exp(loglog + half))


def opt_float(x: float | np.floating[Any] | None) -> float | None:
    """A float for JSON, or None for NA (NaN, inf): never let inf or NaN reach an output."""
    if x is None:
        return None
    xf = float(x)
    return xf if math.isfinite(xf) else None


def json_safe(obj: Any) -> Any:
    """Recursively convert to plain JSON types; NaN/inf become None, dates ISO strings."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return opt_float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, np.ndarray):
        return [json_safe(v) for v in obj.tolist()]
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: json_safe(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, Sequence | set | frozenset):
        return [json_safe(v) for v in obj]
    raise TypeError(f"cannot convert {type(obj).__name__} to JSON")


def step_index(knots: FloatArray, times: FloatArray) -> NDArray[np.intp]:
    """Index of the last knot <= t (R ``findInterval`` minus one); -1 before the first."""
    return np.searchsorted(knots, times, side="right") - 1
