"""Tidy outputs: JSON-safe (None for NA), with the method recorded."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from cart_registry.stats import (
    DAYS_PER_MONTH,
    StatsInputError,
    cumulative_incidence,
    fisher_exact,
    gray_test,
    kaplan_meier,
    logrank_test,
    mcnemar_exact,
    tidy_cif,
    tidy_km,
    tidy_result,
    to_json,
)

# Median not reached, S = 0 at the end of another curve: both produce NA values
T = [3, 5, 7, 11, 13, 20]
E = [1, 0, 1, 0, 0, 0]


def _loads(obj: object) -> object:
    # allow_nan=False in to_json means any NaN/inf would have raised
    return json.loads(to_json(obj))


def test_tidy_km_records_method_and_uses_none() -> None:
    out = tidy_km(kaplan_meier(T, E), times=[0, 7, 30], data_cutoff=date(2023, 6, 30), label="RFS")
    back = _loads(out)
    assert back == out
    m = out["method"]
    assert m["conf_type"] == "log-log" and m["alpha"] == 0.05 and m["conf_level"] == 0.95
    assert (m["n"], m["events"], m["time_unit"]) == (6, 2, "days")
    assert m["data_cutoff"] == "2023-06-30" and m["variance"] == "Greenwood"
    assert out["quantiles"][1] == {"prob": 0.5, "estimate": None, "lower": 3.0, "upper": None}
    assert out["survival"][2]["surv"] is None  # after the last time
    assert out["survival"][0]["n_risk"] == 6


def test_tidy_km_in_months() -> None:
    fit = kaplan_meier([30.4375, 60.875, 91.3125, 121.75], [1, 1, 1, 1])
    out = tidy_km(fit, times=[2.0], unit="months")
    assert out["method"]["time_unit"] == "months"
    assert out["method"]["days_per_month"] == DAYS_PER_MONTH
    assert out["quantiles"][1]["estimate"] == pytest.approx(2.5)
    assert out["survival"][0]["surv"] == pytest.approx(0.5)
    with pytest.raises(StatsInputError):
        tidy_km(fit, unit="years")


def test_tidy_cif() -> None:
    fit = cumulative_incidence([1, 2, 2, 3, 4, 5], [1, 2, 1, 0, 1, 0], variance="ij")
    out = tidy_cif(fit, times=[0.5, 4, 9], label="relapse")
    assert _loads(out) == out
    assert out["method"]["variance"].startswith("infinitesimal jackknife")
    assert out["method"]["cause"] == 1 and out["method"]["competing_events"] == 1
    rows = out["incidence"]
    assert rows[0]["estimate"] == 0.0 and rows[0]["lower"] is None
    assert rows[1]["estimate"] == pytest.approx(7 / 12)
    assert rows[2]["estimate"] is None


def test_tidy_results_of_tests() -> None:
    results = [
        mcnemar_exact(18, 4),
        fisher_exact([[54, 7], [40, 21]]),
        logrank_test([1, 3, 2, 4], [1, 0, 1, 0], ["A", "A", "B", "B"]),
        gray_test([1, 2, 3, 4, 5, 6], [1, 2, 1, 0, 1, 2], ["a", "a", "a", "b", "b", "b"]),
    ]
    for res in results:
        out = tidy_result(res, data_cutoff="2023-06-30")
        assert _loads(out) == out
        assert out["data_cutoff"] == "2023-06-30"
        assert "method" in out and "p_value" in out


def test_tidy_cox_result() -> None:
    from cart_registry.stats import cox_ph

    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, 40)
    t = np.ceil(rng.exponential(100, 40) * np.where(x == 1, 0.6, 1.0))
    out = tidy_result(cox_ph(t, np.ones(40, dtype=int), {"x": x}), data_cutoff=date(2023, 6, 30))
    assert _loads(out) == out
    assert out["ties"] == "efron" and out["terms"][0]["name"] == "x"
    assert out["data_cutoff"] == "2023-06-30"


def test_to_json_refuses_unknown_objects() -> None:
    with pytest.raises(TypeError):
        to_json({"x": object()})
    assert to_json({"x": float("inf"), "y": float("nan")}) == '{"x": null, "y": null}'
