"""Follow-up, landmark, log-rank / Peto-Peto, Cox, McNemar and Fisher."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cart_registry.stats import (
    StatsInputError,
    cox_ph,
    fisher_exact,
    kaplan_meier,
    km_median,
    landmark,
    logrank_test,
    mcnemar_exact,
    median_followup,
    median_followup_survivors,
    paired_counts,
    survival_at,
)

from ._ref import na_float, read_columns, read_rows

#: lifelines cannot fit Breslow ties (removed in 0.24), so R's Breslow rows stay unmatched
UNSUPPORTED = {
    "cox_breslow_age",
    "cox_breslow_sex",
    "cox_breslow_loglik",
    "cox_breslow_concordance",
}


@pytest.fixture(scope="module")
def reference() -> dict[str, tuple[float, float, float]]:
    return {
        r["what"]: (na_float(r["value"]), na_float(r["lower"]), na_float(r["upper"]))
        for r in read_rows("r_followup_cox_logrank.csv")
    }


@pytest.fixture(scope="module")
def lung() -> dict[str, np.ndarray]:
    return read_columns("data_lung_full.csv")


def _close(got: float | None, expected: float, tol: float) -> bool:
    if math.isnan(expected):
        return got is None
    return got is not None and abs(got - expected) <= tol


def test_every_reference_row_is_checked(reference: dict[str, tuple[float, float, float]]) -> None:
    checked = {
        "revKM_median_sex12", "revKM_median_sex1", "revKM_median_sex2",
        "logrank_chisq_sex", "survdiff_rho1_chisq_sex",
        "cox_efron_age", "cox_efron_sex", "cox_efron_loglik", "cox_efron_concordance",
        "landmark180_median_loglog", "landmark180_S365_loglog",
    }  # fmt: skip
    assert set(reference) == checked | UNSUPPORTED


@pytest.mark.parametrize(
    ("what", "sex"),
    [("revKM_median_sex12", None), ("revKM_median_sex1", 1), ("revKM_median_sex2", 2)],
)
def test_reverse_km_median_followup(
    reference: dict[str, tuple[float, float, float]],
    lung: dict[str, np.ndarray],
    what: str,
    sex: int | None,
) -> None:
    sel = np.ones(lung["time"].size, bool) if sex is None else lung["sex"] == sex
    # R's reference uses its default "log" band
    q = median_followup(lung["time"][sel], lung["event"][sel].astype(int), conf_type="log")
    value, lower, upper = reference[what]
    assert _close(q.estimate, value, 1e-6)
    assert _close(q.lower, lower, 1e-6)
    assert _close(q.upper, upper, 1e-6)
    assert "reverse Kaplan-Meier" in q.method


@pytest.mark.parametrize(
    ("what", "rho"), [("logrank_chisq_sex", 0), ("survdiff_rho1_chisq_sex", 1)]
)
def test_logrank_and_peto_peto(
    reference: dict[str, tuple[float, float, float]],
    lung: dict[str, np.ndarray],
    what: str,
    rho: int,
) -> None:
    res = logrank_test(lung["time"], lung["event"].astype(int), lung["sex"], rho=rho)
    chisq, _, p = reference[what]
    assert res.statistic == pytest.approx(chisq, abs=1e-9)
    assert res.p_value == pytest.approx(p, abs=1e-12)
    assert res.df == 1 and res.groups == (1, 2)


def test_cox_efron(
    reference: dict[str, tuple[float, float, float]], lung: dict[str, np.ndarray]
) -> None:
    res = cox_ph(lung["time"], lung["event"].astype(int), {"age": lung["age"], "sex": lung["sex"]})
    for name in ("age", "sex"):
        coef, se, p = reference[f"cox_efron_{name}"]
        term = res.term(name)
        # R's own fit stopped at its default eps; our tight fit is the converged MLE
        assert term.coef == pytest.approx(coef, abs=1e-8)
        assert term.se == pytest.approx(se, abs=1e-8)
        assert term.p_value == pytest.approx(p, abs=1e-8)
        assert term.hazard_ratio == pytest.approx(math.exp(term.coef), rel=1e-12)
        assert term.hr_lower < term.hazard_ratio < term.hr_upper
    assert res.log_likelihood == pytest.approx(reference["cox_efron_loglik"][0], abs=1e-8)
    assert res.concordance == pytest.approx(reference["cox_efron_concordance"][0], abs=1e-9)
    assert (res.n, res.events, res.ties) == (228, 165, "efron")


def test_cox_rejects_missing_covariates() -> None:
    with pytest.raises(StatsInputError):
        cox_ph([1, 2, 3], [1, 0, 1], {"x": [1.0, float("nan"), 0.0]})


def test_landmark(
    reference: dict[str, tuple[float, float, float]], lung: dict[str, np.ndarray]
) -> None:
    lm = landmark(lung["time"], lung["event"].astype(int), 180)
    fit = kaplan_meier(lm.time, lm.event, conf_type="log-log")
    med = km_median(fit)
    assert (med.estimate, med.lower, med.upper) == reference["landmark180_median_loglog"]
    s = survival_at(fit, [365.0])
    value, lower, upper = reference["landmark180_S365_loglog"]
    assert s.surv[0] == pytest.approx(value, abs=1e-9)
    assert s.lower[0] == pytest.approx(lower, abs=1e-9)
    assert s.upper[0] == pytest.approx(upper, abs=1e-9)
    # the patient who died on day 180 is not in the landmark set
    assert lm.n_excluded == int((lung["time"] <= 180).sum())


def test_logrank_two_groups_by_hand() -> None:
    # Two groups, one event time each, no ties across groups:
    #   t=1: group A has 1 event; at risk A=2, B=2 (n=4, d=1) -> E_A = 1/2, V = 1*3/(4*3)*2*2/4 = 1/4
    #   t=2: group B has 1 event; at risk A=1, B=2 (n=3, d=1) -> E_A = 1/3, V = 1*2/(3*2)*1*2/3 = 2/9
    # O_A - E_A = 1 - 5/6 = 1/6;  V = 1/4 + 2/9 = 17/36;  chi2 = (1/36) / (17/36) = 1/17
    res = logrank_test([1, 3, 2, 4], [1, 0, 1, 0], ["A", "A", "B", "B"])
    assert res.statistic == pytest.approx(1 / 17, abs=1e-14)
    assert res.expected[0] == pytest.approx(5 / 6)


def test_logrank_three_groups_against_lifelines(lung: dict[str, np.ndarray]) -> None:
    # lifelines is an independent implementation of the K-group log-rank test
    from lifelines.statistics import multivariate_logrank_test

    groups = lung["ph_ecog"].copy()
    keep = ~np.isnan(groups) & (groups < 3)
    t, e, g = lung["time"][keep], lung["event"][keep].astype(int), groups[keep]
    ours = logrank_test(t, e, g)
    theirs = multivariate_logrank_test(t, g, e)
    assert ours.df == 2
    assert ours.statistic == pytest.approx(theirs.test_statistic, rel=1e-10)
    assert ours.p_value == pytest.approx(theirs.p_value, rel=1e-8)


def test_mcnemar_paper_table() -> None:
    # CR after both 36, after CART-A only 18, after CART-B only 4, neither 3: P = .0043
    res = mcnemar_exact(18, 4)
    assert round(res.p_value, 4) == 0.0043
    assert res.p_value == pytest.approx(0.004344, abs=5e-7)
    assert res.mid_p_value == pytest.approx(0.00260, abs=5e-6)
    # by hand: 2 * sum_{i<=4} C(22, i) / 2^22 = 2 * 9109 / 4194304
    assert res.p_value == pytest.approx(2 * (1 + 22 + 231 + 1540 + 7315) / 2**22, rel=1e-15)


@pytest.mark.parametrize(
    ("a_only", "b_only", "exact", "mid"),
    # statistics.md section 1, table of the eight candidate paired tables (5 d.p.)
    [
        (14, 0, 0.00012, 0.00006),
        (16, 2, 0.00131, 0.00073),
        (19, 5, 0.00661, 0.00408),
        (21, 7, 0.01254, 0.00813),
    ],
)
def test_mcnemar_table_from_notes(a_only: int, b_only: int, exact: float, mid: float) -> None:
    res = mcnemar_exact(a_only, b_only)
    assert res.p_value == pytest.approx(exact, abs=5e-6)
    assert res.mid_p_value == pytest.approx(mid, abs=5e-6)


def test_mcnemar_small_by_hand() -> None:
    assert mcnemar_exact(0, 5).p_value == pytest.approx(2 / 32)  # both tails: 2 * (1/2)^5
    assert mcnemar_exact(3, 3).p_value == 1.0 and mcnemar_exact(3, 3).mid_p_value == 1.0
    assert mcnemar_exact(0, 0).p_value == 1.0
    with pytest.raises(StatsInputError):
        mcnemar_exact(-1, 3)


def test_paired_counts() -> None:
    a = [True] * 54 + [False] * 7
    b = [True] * 36 + [False] * 18 + [True] * 4 + [False] * 3
    assert paired_counts(a, b) == (36, 18, 4, 3)


def test_fisher() -> None:
    assert fisher_exact([[54, 7], [40, 21]]).p_value == pytest.approx(0.004565, abs=5e-7)
    # [[3,0],[0,3]]: only the two extreme tables are as unlikely: 2 / C(6,3) = 0.1
    assert fisher_exact([[3, 0], [0, 3]]).p_value == pytest.approx(0.1, abs=1e-15)
    assert fisher_exact([[1, 1], [1, 1]]).p_value == 1.0
    with pytest.raises(StatsInputError):
        fisher_exact([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(StatsInputError):
        fisher_exact([[1.5, 2.0], [3.0, 4.0]])


def test_median_followup_survivors() -> None:
    assert median_followup_survivors([1, 5, 7, 9], [1, 0, 0, 1]) == 6.0
    assert median_followup_survivors([1, 2], [1, 1]) is None
