"""Aalen-Johansen cumulative incidence and Gray's test against R cmprsk / survfit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cart_registry.stats import (
    StatsInputError,
    cif_at,
    cumulative_incidence,
    gray_test,
    kaplan_meier,
)

from ._ref import read_columns, read_rows

TIMES = [100.0, 365.0, 730.0, 1000.0, 1500.0]


def _bmt() -> dict[str, np.ndarray]:
    return read_columns("data_bmt_cr.csv")


@pytest.mark.parametrize("prefix", ["r_cuminc_all", "r_cuminc"])
def test_cuminc_estimates_and_aalen_variances_match_cmprsk(prefix: str) -> None:
    d = _bmt()
    est, var = read_rows(f"{prefix}_est.csv"), read_rows(f"{prefix}_var.csv")
    assert [r["curve"] for r in est] == [r["curve"] for r in var]
    for row_e, row_v in zip(est, var, strict=True):
        group, cause = (int(x) for x in row_e["curve"].split())
        sel = np.ones(d["time"].size, bool) if prefix == "r_cuminc_all" else d["group"] == group
        fit = cumulative_incidence(d["time"][sel], d["cause"][sel], cause_of_interest=cause)
        at = cif_at(fit, TIMES)
        for k, t in enumerate(TIMES):
            col = f"X{int(t)}"
            assert at.estimate[k] == pytest.approx(float(row_e[col]), abs=1e-10), (row_e, t)
            assert at.variance[k] == pytest.approx(float(row_v[col]), abs=1e-10), (row_v, t)


def test_ij_variance_and_log_ci_match_r_survfit() -> None:
    d = _bmt()
    ref = read_columns("r_survfit_aj.csv")
    for cause, name in ((1, "relapse"), (2, "death")):
        fit = cumulative_incidence(
            d["time"], d["cause"], cause_of_interest=cause, variance="ij", conf_type="log"
        )
        at = cif_at(fit, ref["time"])
        assert np.array(at.estimate) == pytest.approx(ref[name], abs=1e-10)
        assert np.array(at.std_err) == pytest.approx(ref[f"se_{name}"], abs=1e-10)
        if name == "relapse":
            assert np.array(at.lower) == pytest.approx(ref["lo_relapse"], abs=1e-10)
            assert np.array(at.upper) == pytest.approx(ref["hi_relapse"], abs=1e-10)


@pytest.mark.parametrize(
    ("filename", "groups"), [("r_gray_tests.csv", (1, 2, 3)), ("r_gray_tests_2grp.csv", (1, 3))]
)
def test_gray_test_matches_cmprsk(filename: str, groups: tuple[int, ...]) -> None:
    # the 2-group file compares ALL (group 1) with AML high risk (group 3)
    d = _bmt()
    sel = np.isin(d["group"], groups)
    for row in read_rows(filename):
        res = gray_test(
            d["time"][sel], d["cause"][sel], d["group"][sel], cause_of_interest=int(row["cause"])
        )
        assert res.df == int(row["df"]) == len(groups) - 1
        assert res.statistic == pytest.approx(float(row["stat"]), abs=1e-6, rel=0)
        assert res.p_value == pytest.approx(float(row["pv"]), abs=1e-6, rel=0)


def test_gray_documented_values() -> None:
    """statistics.md section 3, typed in."""
    d = _bmt()
    res = gray_test(d["time"], d["cause"], d["group"], cause_of_interest=1)
    assert res.statistic == pytest.approx(11.9228820486, abs=1e-9)
    assert res.p_value == pytest.approx(0.00257619693, abs=1e-10)


def test_gray_test_is_invariant_to_group_labels_and_strata_add_up() -> None:
    d = _bmt()
    a = gray_test(d["time"], d["cause"], d["group"])
    relabelled = np.array(["c", "a", "b"])[d["group"].astype(int) - 1]
    b = gray_test(d["time"], d["cause"], relabelled)
    assert b.statistic == pytest.approx(a.statistic, rel=1e-12)
    # one stratum holding everything is the unstratified test
    c = gray_test(d["time"], d["cause"], d["group"], strata=np.zeros(d["time"].size))
    assert c.statistic == pytest.approx(a.statistic, rel=1e-12)


# Small case by hand: times 1, 2, 2, 3, 4, 5 with causes 1, 2, 1, 0, 1, 0.
#   t=1: n=6, d1=1          S(1-)=1      F1 += 1 * 1/6 = 1/6;  S = 5/6
#   t=2: n=5, d1=1, d2=1    S(2-)=5/6    F1 += 5/6 * 1/5 = 1/6 -> 1/3;  S = 5/6 * 3/5 = 1/2
#   t=3: censored                                                    n=3 -> 2 at t=4
#   t=4: n=2, d1=1          S(4-)=1/2    F1 += 1/2 * 1/2 = 1/4 -> 7/12;  S = 1/4
# F2 jumps only at t=2 by 5/6 * 1/5 = 1/6.  F1 + F2 + S = 7/12 + 1/6 + 1/4 = 1 at t = 4.
# cmprsk Aalen variance at t=1 (only the cause-1 step contributes): with S(1-)=1, S(1)=5/6,
# t6 = 1/36, a3 = 1/S(1) = 6/5, a4 = 1 + a3 F = 6/5, so v1 = v2 = v3 = (36/25)(1/36) = 1/25
# and V = v1 + F^2 v3 - 2 F v2 = (1/25)(1 + 1/36 - 1/3) = 1/36. (Not the binomial 5/216:
# the Aalen form treats the event count as Poisson.)
T6 = [1, 2, 2, 3, 4, 5]
C6 = [1, 2, 1, 0, 1, 0]


def test_small_case_by_hand() -> None:
    f1 = cumulative_incidence(T6, C6, cause_of_interest=1)
    f2 = cumulative_incidence(T6, C6, cause_of_interest=2)
    assert f1.estimate.tolist() == pytest.approx([1 / 6, 1 / 3, 1 / 3, 7 / 12, 7 / 12])
    assert f2.estimate.tolist() == pytest.approx([0, 1 / 6, 1 / 6, 1 / 6, 1 / 6])
    assert f1.var_aalen[0] == pytest.approx(1 / 36, abs=1e-15)
    assert (f1.n, f1.events, f1.competing_events) == (6, 3, 1)
    assert f1.n_risk.tolist() == [6, 5, 3, 2, 1]


def test_ij_variance_first_step_is_binomial() -> None:
    # Before any censoring the AJ estimate at the first time is a sample proportion; its
    # jackknife variance is p(1-p)/n: here (1/6)(5/6)/6 = 5/216.
    f1 = cumulative_incidence(T6, C6, cause_of_interest=1, variance="ij")
    assert f1.var_ij[0] == pytest.approx(5 / 216, abs=1e-15)


def test_ij_variance_brute_force_derivative() -> None:
    # Independent check of the closed form: numerically differentiate F(t) with respect to
    # each subject's case weight, using a direct weighted AJ written out in the test.
    rng = np.random.default_rng(3)
    t = rng.integers(1, 15, 40).astype(float)
    c = rng.choice([0, 1, 2], 40, p=[0.3, 0.4, 0.3])

    def weighted_aj(w: np.ndarray, at: float) -> float:
        s, f = 1.0, 0.0
        for u in np.unique(t[t <= at]):
            y = w[t >= u].sum()
            d1 = w[(t == u) & (c == 1)].sum()
            d = w[(t == u) & (c > 0)].sum()
            f += s * d1 / y
            s *= 1 - d / y
        return f

    fit = cumulative_incidence(t, c, cause_of_interest=1, variance="ij")
    h = 1e-6
    for at in (3.0, 7.0, 14.0):
        base = np.ones(t.size)
        grads = []
        for i in range(t.size):
            wp, wm = base.copy(), base.copy()
            wp[i] += h
            wm[i] -= h
            grads.append((weighted_aj(wp, at) - weighted_aj(wm, at)) / (2 * h))
        expected = float(np.sum(np.square(grads)))
        got = cif_at(fit, [at]).variance[0]
        assert got == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_cif_before_first_and_after_last_time() -> None:
    fit = cumulative_incidence(T6, C6)
    at = cif_at(fit, [0.5, 5.0, 6.0])
    assert at.estimate[0] == 0.0 and at.lower[0] is None  # log-log band is NA at F = 0
    assert at.estimate[1] == pytest.approx(7 / 12)
    assert at.estimate[2] is None and at.variance[2] is None


def test_bad_input() -> None:
    with pytest.raises(StatsInputError):
        cumulative_incidence([1, 2], [1])
    with pytest.raises(StatsInputError):
        cumulative_incidence([1, 2], [1, 0], variance="delta")
    with pytest.raises(StatsInputError):
        gray_test([1, 2, 3], [1, 0, 1], [1, 1, 1])


samples = st.lists(
    st.tuples(st.integers(0, 30), st.sampled_from([0, 1, 2])), min_size=1, max_size=50
)


@settings(max_examples=120, deadline=None)
@given(samples)
def test_incidences_and_survival_add_up_to_one(data: list[tuple[int, int]]) -> None:
    t = np.array([x for x, _ in data], dtype=float)
    c = np.array([k for _, k in data])
    f1 = cumulative_incidence(t, c, cause_of_interest=1)
    f2 = cumulative_incidence(t, c, cause_of_interest=2)
    km = kaplan_meier(t, c > 0)
    assert f1.estimate + f2.estimate + km.surv == pytest.approx(np.ones(km.surv.size), abs=1e-12)
    assert (np.diff(f1.estimate) >= -1e-15).all()
    for var in (f1.var_aalen, f1.var_ij):
        assert (var >= 0).all() and not np.isnan(var).any()
    assert not any(math.isinf(v) for v in f1.var_ij)
