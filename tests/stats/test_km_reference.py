"""Kaplan-Meier against R survival 3.5-3: every dataset x CI type, to 1e-6 absolute."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cart_registry.stats import KMFit, kaplan_meier, km_quantiles, survival_at

from ._ref import CONF_TYPES, DATASETS, na_float, read_columns, read_rows, same_na

TOL = 1e-6
CASES = [(ds, ct) for ds in DATASETS for ct in CONF_TYPES]


def _fit(dataset: str, conf_type: str) -> KMFit:
    data = read_columns(f"data_{dataset}.csv")
    return kaplan_meier(data["time"], data["event"].astype(int), conf_type=conf_type)


def test_reference_files_cover_exactly_our_cases() -> None:
    for name in ("r_quantiles.csv", "r_survival.csv"):
        found = {(r["dataset"], r["conf_type"]) for r in read_rows(name)}
        assert found == set(CASES), name


@pytest.mark.parametrize(("dataset", "conf_type"), CASES)
def test_quantiles_match_r(dataset: str, conf_type: str) -> None:
    rows = [
        r
        for r in read_rows("r_quantiles.csv")
        if r["dataset"] == dataset and r["conf_type"] == conf_type
    ]
    assert len(rows) == 3
    probs = [float(r["prob"]) for r in rows]
    got = km_quantiles(_fit(dataset, conf_type), probs)
    for row, q in zip(rows, got, strict=True):
        for col, value in (("quantile", q.estimate), ("lower", q.lower), ("upper", q.upper)):
            expected = na_float(row[col])
            where = f"{dataset} {conf_type} p={row['prob']} {col}"
            if math.isnan(expected):
                assert value is None, f"{where}: R gives NA, got {value}"
            else:
                assert value is not None, f"{where}: R gives {expected}, got None"
                assert abs(value - expected) <= TOL, f"{where}: {value} != {expected}"


@pytest.mark.parametrize(("dataset", "conf_type"), CASES)
def test_survival_at_times_matches_r(dataset: str, conf_type: str) -> None:
    rows = [
        r
        for r in read_rows("r_survival.csv")
        if r["dataset"] == dataset and r["conf_type"] == conf_type
    ]
    times = np.array([float(r["time"]) for r in rows])
    got = survival_at(_fit(dataset, conf_type), times)
    assert list(got.n_risk) == [int(r["n_risk"]) for r in rows]
    for col, values in (
        ("surv", got.surv),
        ("std_err", got.std_err),
        ("lower", got.lower),
        ("upper", got.upper),
    ):
        for row, value in zip(rows, values, strict=True):
            expected = na_float(row[col])
            where = f"{dataset} {conf_type} t={row['time']} {col}"
            if same_na(expected, value):
                continue
            assert value is not None and not math.isnan(expected), f"{where}: {value} vs {expected}"
            assert abs(value - expected) <= TOL, f"{where}: {value} != {expected}"


def test_documented_headline_values() -> None:
    """Spot values quoted in statistics.md section 2.3, typed in (not read from the CSVs)."""
    lung = read_columns("data_lung_all.csv")
    fit = kaplan_meier(lung["time"], lung["event"].astype(int), conf_type="log-log")
    q = km_quantiles(fit, (0.5,))[0]
    assert (q.estimate, q.lower, q.upper) == (310, 284, 361)
    s = survival_at(fit, [365.0])
    assert s.surv[0] == pytest.approx(0.4092416245, abs=1e-9)
    assert s.std_err[0] == pytest.approx(0.0358236382, abs=1e-9)
    assert s.lower[0] == pytest.approx(0.3387142691, abs=1e-9)
    assert s.upper[0] == pytest.approx(0.4783807676, abs=1e-9)
    half = read_columns("data_exact_half_20.csv")
    for ct, (lo, hi) in {"log": (7, 16), "log-log": (5, 15), "plain": (6, 15)}.items():
        med = km_quantiles(
            kaplan_meier(half["time"], half["event"].astype(int), conf_type=ct), (0.5,)
        )[0]
        assert (med.estimate, med.lower, med.upper) == (10.5, lo, hi), ct
