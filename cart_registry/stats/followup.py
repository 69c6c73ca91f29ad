"""Follow-up summaries and landmark data.

Two different "median follow-up" figures circulate; we name which one is given:

* ``median_followup`` is the reverse Kaplan-Meier (Schemper & Smith 1996): the KM median
  with the event indicator flipped, i.e. deaths censor follow-up. This is the usual one.
* ``median_followup_survivors`` is the plain median of follow-up among patients without
  the event; it is smaller and ignores the follow-up of those who died.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike

from ._common import FloatArray, StatsInputError, as_events, as_times
from .km import QuantileEstimate, kaplan_meier, km_median


@dataclass(frozen=True)
class LandmarkData:
    """Subjects still event-free and in follow-up beyond the landmark; time reset to 0 there."""

    time: FloatArray
    event: np.ndarray
    landmark: float
    n_excluded: int


def median_followup(
    time: ArrayLike,
    event: ArrayLike,
    *,
    conf_type: str = "log-log",
    alpha: float = 0.05,
    time_unit: str = "days",
) -> QuantileEstimate:
    """Reverse-KM median follow-up with its CI (None where not reached)."""
    t = as_times(time)
    e = as_events(event, t.size)
    fit = kaplan_meier(t, ~e, conf_type=conf_type, alpha=alpha, time_unit=time_unit)
    return replace(km_median(fit), method="reverse Kaplan-Meier median (Schemper & Smith 1996)")


def median_followup_survivors(time: ArrayLike, event: ArrayLike) -> float | None:
    """Median follow-up among subjects without the event (None if there are none)."""
    t = as_times(time)
    e = as_events(event, t.size)
    alive = t[~e]
    return float(np.median(alive)) if alive.size else None


def landmark(time: ArrayLike, event: ArrayLike, at: float) -> LandmarkData:
    """Landmark data set at time ``at``: keep subjects whose time is strictly beyond it
    (an event on the landmark day happened before the landmark) and measure time from it.
    This reproduces R ``subset(time > L)``; a KM on it equals a left-truncated KM at L."""
    t = as_times(time)
    e = as_events(event, t.size)
    if not np.isfinite(at):
        raise StatsInputError("landmark time must be finite")
    keep = t > at
    return LandmarkData(
        time=t[keep] - at, event=e[keep], landmark=float(at), n_excluded=int((~keep).sum())
    )
