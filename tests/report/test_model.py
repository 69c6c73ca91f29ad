"""The data model refuses what a renderer could not show honestly."""

from __future__ import annotations

import math

import pytest

from cart_registry.report.binomial import clopper_pearson, proportion_ci
from cart_registry.report.model import (
    AbstractRow,
    EndpointReportData,
    Interval,
    ReportTable,
    TimeToEvent,
)
from tests.report._handmade import meta


def test_nan_and_inf_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        AbstractRow("k", "s", "label", value=math.nan)
    with pytest.raises(ValueError, match="finite"):
        AbstractRow("k", "s", "label", p=math.inf)
    with pytest.raises(ValueError, match="finite"):
        Interval(0.1, math.inf)


def test_n_must_not_exceed_denominator() -> None:
    with pytest.raises(ValueError, match="not within"):
        AbstractRow("k", "s", "label", n=5, N=4)
    assert AbstractRow("k", "s", "label", n=3, N=4).percent == 75.0
    assert AbstractRow("k", "s", "label", n=3).percent is None


def test_duplicate_row_keys_are_refused() -> None:
    row = AbstractRow("k", "s", "label")
    with pytest.raises(ValueError, match="duplicate"):
        EndpointReportData(meta=meta(), settings={}, abstract=(row, row))


def test_table_rows_must_match_columns() -> None:
    with pytest.raises(ValueError, match="cells"):
        ReportTable("t", "g", "T", ("a", "b"), (("only one",),))


def test_time_to_event_codes_are_checked() -> None:
    with pytest.raises(ValueError, match="status codes"):
        TimeToEvent("OSB", "OS", "x", "km", (1.0, 2.0), (0, 2))
    with pytest.raises(ValueError, match="length"):
        TimeToEvent("OSB", "OS", "x", "km", (1.0,), (0, 1))
    with pytest.raises(ValueError, match=">= 0"):
        TimeToEvent("OSB", "OS", "x", "km", (-1.0,), (1,))
    cir = TimeToEvent("CIRB", "CIR", "x", "competing", (1.0, 2.0, 3.0), (1, 2, 0))
    assert (cir.n, cir.events, cir.competing_events) == (3, 1, 1)


def test_clopper_pearson_matches_r_binom_test() -> None:
    # R: binom.test(682, 925)$conf.int -> 0.7076683 0.7654066
    lo, hi = clopper_pearson(682, 925)
    assert lo == pytest.approx(0.7076683, abs=5e-8)
    assert hi == pytest.approx(0.7654066, abs=5e-8)



@pytest.mark.parametrize(("x", "n"), [(54, 61), (40, 61), (8, 21), (1, 21), (29, 40)])
def test_clopper_pearson_inverts_the_binomial_tails(x: int, n: int) -> None:
    # the defining equations: P(X >= x | lower) = P(X <= x | upper) = alpha / 2
    from scipy.stats import binom

    lo, hi = clopper_pearson(x, n)
    assert binom.sf(x - 1, n, lo) == pytest.approx(0.025, rel=1e-9)
    assert binom.cdf(x, n, hi) == pytest.approx(0.025, rel=1e-9)


def test_clopper_pearson_edges() -> None:
    assert clopper_pearson(0, 10)[0] == 0.0
    assert clopper_pearson(10, 10)[1] == 1.0
    # x = 0: upper = 1 - (alpha/2)^(1/n)
    assert clopper_pearson(0, 10)[1] == pytest.approx(1 - 0.025 ** (1 / 10))
    ci = proportion_ci(40, 61)
    assert ci.method.startswith("exact") and 0 < ci.lower < 65.6 < ci.upper < 100
    for bad in ((5, 4), (-1, 4), (1, 0)):
        with pytest.raises(ValueError):
            clopper_pearson(*bad)
