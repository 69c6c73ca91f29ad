"""Kaplan-Meier with log-log (exponential Greenwood) bands, for pinning the preset's medians.

The generator needs to know, for a candidate order of events and censorings, where the curve
and its 95% bands first reach 0.5. This is the same estimator lifelines uses (bands
``exp(-exp(log(-log S) -/+ z*se/log S))``), written with the deterministic ``det_log``/``det_exp``
so that a decision taken near 0.5 is the same on every machine. It is not the registry's
statistics code (cart_registry.stats); it only steers the generator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cart_registry.synth.prng import det_exp, det_log

Z_975 = 1.959963984540054


@dataclass(frozen=True)
class Step:
    time: float
    surv: float
    lower: float
    upper: float


def km_steps(times: Sequence[float], events: Sequence[bool]) -> list[Step]:
    """One step per distinct event time (censorings at an event time are still at risk)."""
    pairs = sorted(zip(times, events, strict=True))
    n = len(pairs)
    steps: list[Step] = []
    surv = 1.0
    greenwood = 0.0
    i = 0
    at_risk = n
    while i < n:
        t = pairs[i][0]
        d = c = 0
        while i < n and pairs[i][0] == t:
            if pairs[i][1]:
                d += 1
            else:
                c += 1
            i += 1
        if d:
            surv *= (at_risk - d) / at_risk
            if at_risk > d:
                greenwood += d / (at_risk * (at_risk - d))
            if surv > 0.0:
                v = det_log(surv)
                se = math.sqrt(greenwood)
                lo = det_exp(-det_exp(det_log(-v) - Z_975 * se / v))
                hi = det_exp(-det_exp(det_log(-v) + Z_975 * se / v))
            else:
                lo = hi = 0.0
            steps.append(Step(t, surv, lo, hi))
        at_risk -= d + c
    return steps


@dataclass(frozen=True)
class MedianCI:
    median: float | None
    lower: float | None
    upper: float | None
    #: smallest distance of the curve or a band to 0.5 at any step (a plateau guard)
    margin: float


def median_ci(times: Sequence[float], events: Sequence[bool]) -> MedianCI:
    """First time the curve, lower band and upper band reach 0.5 or below (None if never)."""
    steps = km_steps(times, events)

    def first(values: list[float]) -> float | None:
        for s, v in zip(steps, values, strict=True):
            if v <= 0.5:
                return s.time
        return None

    margin = min(
        (min(abs(s.surv - 0.5), abs(s.lower - 0.5), abs(s.upper - 0.5)) for s in steps),
        default=1.0,
    )
    return MedianCI(
        first([s.surv for s in steps]),
        first([s.lower for s in steps]),
        first([s.upper for s in steps]),
        margin,
    )
