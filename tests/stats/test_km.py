"""Kaplan-Meier: small cases worked by hand, edge cases, and property tests."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cart_registry.stats import (
    DAYS_PER_MONTH,
    StatsInputError,
    days_to_months,
    kaplan_meier,
    km_median,
    km_quantiles,
    survival_at,
    to_months,
    with_conf_type,
)

Z = 1.959963984540054  # qnorm(0.975)

# Five subjects: times 2, 3, 3, 5, 8 with events 1, 1, 0, 1, 0 (a censoring tied with the
# event at t = 3 is still at risk there).
#   t = 2: n = 5, d = 1  ->  S = 4/5           = 0.8;  Greenwood sum 1/(5*4) = 0.05
#   t = 3: n = 4, d = 1  ->  S = 0.8 * 3/4     = 0.6;  + 1/(4*3)  -> 0.05 + 1/12
#   t = 5: n = 2, d = 1  ->  S = 0.6 * 1/2     = 0.3;  + 1/(2*1)  -> 0.05 + 1/12 + 1/2
#   t = 8: n = 1, d = 0  ->  S = 0.3 (censored)
# SE(S(5)) = 0.3 * sqrt(0.05 + 1/12 + 0.5) = 0.3 * sqrt(0.633333...) = 0.238746728...
# log CI at t = 2: 0.8 * exp(-Z * sqrt(0.05)) = 0.8 * 0.645149... = 0.516119...; upper 1 (cap)
# Median: first S <= 0.5 is at t = 5; 25th percentile: first S <= 0.75 is t = 3;
# 75th percentile: S never reaches 0.25 -> not reached (None).
T5 = [2, 3, 3, 5, 8]
E5 = [1, 1, 0, 1, 0]


def test_five_subjects_by_hand() -> None:
    fit = kaplan_meier(T5, E5, conf_type="log")
    assert fit.time.tolist() == [2, 3, 5, 8]
    assert fit.n_risk.tolist() == [5, 4, 2, 1]
    assert fit.n_event.tolist() == [1, 1, 1, 0]
    assert fit.n_censor.tolist() == [0, 1, 0, 1]
    assert fit.surv == pytest.approx([0.8, 0.6, 0.3, 0.3], abs=1e-15)
    assert fit.std_err[2] == pytest.approx(0.3 * math.sqrt(0.05 + 1 / 12 + 0.5), abs=1e-15)
    assert fit.lower[0] == pytest.approx(0.8 * math.exp(-Z * math.sqrt(0.05)), abs=1e-12)
    assert fit.upper[0] == 1.0
    assert (fit.n, fit.events, fit.conf_type, fit.alpha) == (5, 3, "log", 0.05)
    q25, q50, q75 = km_quantiles(fit)
    assert (q25.estimate, q50.estimate, q75.estimate) == (3, 5, None)


def test_log_log_band_by_hand() -> None:
    # at t = 5: S = 0.3, se(log S) = sqrt(0.633333); log-log half-width on log(-log S) scale
    fit = kaplan_meier(T5, E5)  # default log-log
    s, v = 0.3, 0.05 + 1 / 12 + 0.5
    half = Z * math.sqrt(v) / abs(math.log(s))
    lower = math.exp(-math.exp(math.log(-math.log(s)) + half))
    upper = math.exp(-math.exp(math.log(-math.log(s)) - half))
    assert fit.lower[2] == pytest.approx(lower, abs=1e-12)
    assert fit.upper[2] == pytest.approx(upper, abs=1e-12)


def test_plain_band_clipped_to_unit_interval() -> None:
    fit = kaplan_meier(T5, E5, conf_type="plain")
    se = 0.3 * math.sqrt(0.05 + 1 / 12 + 0.5)
    assert fit.lower[2] == pytest.approx(max(0.0, 0.3 - Z * se), abs=1e-12)
    assert fit.upper[2] == pytest.approx(0.3 + Z * se, abs=1e-12)
    assert (fit.lower >= 0).all() and (fit.upper <= 1).all()


def test_integer_and_float_times_agree() -> None:
    rng = np.random.default_rng(7)
    t = rng.integers(1, 400, 500)
    e = rng.random(500) < 0.6
    a, b = kaplan_meier(t, e), kaplan_meier(t.astype(float) + 0.25, e)
    assert np.array_equal(a.surv, b.surv)
    assert np.array_equal(a.time + 0.25, b.time)
    # and the sort-based path (negative times force it) gives the same counts
    c = kaplan_meier(t.astype(float) - 1000.5, e)
    assert np.array_equal(c.n_event, a.n_event) and np.allclose(c.surv, a.surv, atol=0)


def test_all_events_at_last_time_gives_none_ci() -> None:
    # the last subject fails: S = 0, Greenwood infinite -> SE and CI are NA, as in R
    fit = kaplan_meier([1, 2, 3], [1, 0, 1], conf_type="plain")
    assert fit.surv[-1] == 0
    at = survival_at(fit, [3.0])
    assert at.surv == (0.0,) and at.std_err == (None,) and at.lower == (None,)


def test_median_not_reached_is_none_not_inf() -> None:
    fit = kaplan_meier([1, 2, 3, 4, 5, 6], [1, 0, 0, 0, 0, 0])
    med = km_median(fit)
    assert med.estimate is None and med.upper is None
    json.dumps(med.__dict__, allow_nan=False)


def test_plateau_at_half_takes_midpoint() -> None:
    # 4 subjects, events at 1 and 2, then S = 0.5 exactly from 2 until the next event at 6
    fit = kaplan_meier([1, 2, 6, 9], [1, 1, 1, 0])
    assert km_median(fit).estimate == 4.0  # (2 + 6) / 2
    # a plateau at 0.5 that lasts to the end: midpoint with the last observed time
    fit = kaplan_meier([1, 2, 6, 9], [1, 1, 0, 0])
    assert km_median(fit).estimate == 5.5  # (2 + 9) / 2


def test_survival_at_before_first_and_after_last() -> None:
    fit = kaplan_meier(T5, E5)
    at = survival_at(fit, [0.0, 1.0, 8.0, 9.0])
    assert at.surv[:2] == (1.0, 1.0) and at.lower[:2] == (1.0, 1.0)
    assert at.n_risk == (5, 5, 1, 0)
    assert at.surv[3] is None  # R drops times after the last one unless extend=TRUE
    ext = survival_at(fit, [9.0], extend=True)
    assert ext.surv == (pytest.approx(0.3),) and ext.n_risk == (0,)


def test_with_conf_type_equals_refit() -> None:
    a = with_conf_type(kaplan_meier(T5, E5), "plain", alpha=0.1)
    b = kaplan_meier(T5, E5, conf_type="plain", alpha=0.1)
    assert np.array_equal(a.lower, b.lower) and np.array_equal(a.upper, b.upper)
    assert a.conf_type == "plain" and a.alpha == 0.1


def test_months() -> None:
    fit = kaplan_meier([30.4375 * k for k in (1, 2, 3, 4)], [1, 1, 1, 1])
    m = to_months(fit)
    assert m.time_unit == "months" and m.time == pytest.approx([1, 2, 3, 4])
    assert km_median(m).estimate == pytest.approx(2.5)  # plateau at 0.5 from 2 to 3
    assert DAYS_PER_MONTH == 365.25 / 12
    assert days_to_months(None) is None and days_to_months(60.875) == 2.0


@pytest.mark.parametrize(
    ("time", "event"),
    [([1, 2], [1]), ([1, float("nan")], [1, 0]), ([1, 2], [1, 2]), ([[1, 2]], [[1, 0]]), ([], [])],
)
def test_bad_input_is_rejected(time: list[float], event: list[int]) -> None:
    with pytest.raises(StatsInputError):
        kaplan_meier(time, event)


def test_bad_options_are_rejected() -> None:
    with pytest.raises(StatsInputError):
        kaplan_meier(T5, E5, conf_type="logit")
    with pytest.raises(StatsInputError):
        kaplan_meier(T5, E5, alpha=1.5)
    with pytest.raises(StatsInputError):
        km_quantiles(kaplan_meier(T5, E5), (1.5,))


# ---- properties -------------------------------------------------------------------------

samples = st.lists(
    st.tuples(st.integers(min_value=0, max_value=60), st.booleans()), min_size=1, max_size=60
)


@settings(max_examples=150, deadline=None)
@given(samples)
def test_survival_is_a_nonincreasing_probability(data: list[tuple[int, bool]]) -> None:
    t, e = zip(*data, strict=True)
    fit = kaplan_meier(list(t), list(e))
    assert ((fit.surv >= 0) & (fit.surv <= 1)).all()
    assert (np.diff(fit.surv) <= 0).all()
    ok = ~np.isnan(fit.lower)
    assert (fit.lower[ok] <= fit.surv[ok] + 1e-12).all()
    assert (fit.upper[ok] >= fit.surv[ok] - 1e-12).all()


@settings(max_examples=150, deadline=None)
@given(samples)
def test_no_censoring_equals_empirical_survival(data: list[tuple[int, bool]]) -> None:
    t = np.array([x for x, _ in data], dtype=float)
    fit = kaplan_meier(t, np.ones(t.size, dtype=bool))
    empirical = np.array([(t > u).mean() for u in fit.time])
    assert fit.surv == pytest.approx(empirical, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(
    samples,
    st.sampled_from([0.5, 2.0, 7.0, 1 / 30.4375]),
    st.sampled_from(["log", "log-log", "plain"]),
)
def test_rescaling_time_rescales_quantiles(
    data: list[tuple[int, bool]], scale: float, conf_type: str
) -> None:
    t, e = zip(*data, strict=True)
    base = km_quantiles(kaplan_meier(list(t), list(e), conf_type=conf_type))
    scaled = km_quantiles(kaplan_meier([x * scale for x in t], list(e), conf_type=conf_type))
    for a, b in zip(base, scaled, strict=True):
        for x, y in ((a.estimate, b.estimate), (a.lower, b.lower), (a.upper, b.upper)):
            assert (x is None) == (y is None)
            if x is not None and y is not None:
                assert y == pytest.approx(x * scale, rel=1e-12, abs=1e-12)
