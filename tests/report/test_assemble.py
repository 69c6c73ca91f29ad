"""Statistics of the report from hand-made inputs (no warehouse)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from cart_registry.report.assemble import assemble_report_data
from cart_registry.report.inputs import PairedCounts
from cart_registry.report.survival import cif_rows, followup_row, km_rows
from cart_registry.stats import mcnemar_exact
from tests.report._handmade import SETTINGS, assembled, cohort_inputs, tte_cir, tte_os, tte_rfs


def test_response_rows_use_the_paired_test() -> None:
    data = assembled()
    cr_b = data.row("cr_after_b")
    assert cr_b.p == mcnemar_exact(3, 1).p_value
    assert "mid-p" in (cr_b.p_method or "")
    fisher = data.row("cr_a_vs_b_fisher")
    assert fisher.p is not None and "unpaired" in fisher.label


def test_abstract_sample_counts_give_p_0043() -> None:
    inp = replace(
        cohort_inputs(), n_screened=135, n_cohort=61, cr_paired=PairedCounts(36, 18, 4, 3)
    )
    data = assemble_report_data(inp, SETTINGS, as_of="x", data_cutoff=None)
    assert f"{data.row('cr_after_b').p:.4f}" == "0.0043"
    assert f"{data.row('cr_a_vs_b_fisher').p:.4f}" == "0.0046"
    assert data.row("cr_after_a").n == 54 and data.row("cr_after_b").n == 40
    assert not [m for m in data.missing if "paired" in m]


def test_paired_table_disagreeing_with_cohort_is_reported() -> None:
    inp = replace(cohort_inputs(), n_cohort=12)
    data = assemble_report_data(inp, SETTINGS, as_of="x", data_cutoff=None)
    assert any(m.startswith("consistency: the paired CR table") for m in data.missing)


def test_km_rows_in_months() -> None:
    rows = {r.key: r for r in km_rows(tte_rfs(), "rfs_b", "RFS")}
    med = rows["median_rfs_b"]
    assert (med.n, med.N, med.unit) == (6, 10, "months")
    assert med.value == pytest.approx(250 / 30.4375)
    assert rows["rfs_b_at_24m"].value is None  # beyond the last follow-up: not extrapolated
    assert rows["rfs_b_at_6m"].ci is not None and rows["rfs_b_at_6m"].unit == "%"


def test_cif_rows_both_causes() -> None:
    rows = {r.key: r for r in cif_rows(tte_cir(), "cir_b", "relapse")}
    assert set(rows) == {"cir_b_at_12m", "cir_b_competing_at_12m"}
    assert rows["cir_b_at_12m"].n == 4 and rows["cir_b_competing_at_12m"].n == 2
    with pytest.raises(ValueError):
        cif_rows(tte_os(), "x", "y")


def test_followup_is_reverse_km() -> None:
    row = followup_row(tte_os(), "fu", "Median follow-up")
    assert row.value is not None and "reverse Kaplan-Meier" in row.method


def test_missing_time_to_event_is_listed() -> None:
    inp = replace(cohort_inputs(), time_to_event=(), toxicity_paired=(), toxicity_course=())
    data = assemble_report_data(inp, SETTINGS, as_of="x", data_cutoff=dt.date(2023, 6, 30))
    assert not [r for r in data.abstract if r.section == "Survival"]
    assert any(m.startswith("RFSB") for m in data.missing)
    assert any(m.startswith("toxicity") for m in data.missing)


def test_tables_cover_toxicity_and_antigen() -> None:
    keys = {t.key for t in assembled().tables}
    assert {"paired_cr", "relapse_phenotype", "tox_paired", "tox_by_course",
            "switch_by_response", "switch_rules", "target_sequences", "switch_reason",
            "antigen_modulation", "transition_cd19", "best_response", "interval_therapy",
            "hsct_after_cr_b", "status_by_constructs"} <= keys


def test_days_per_month_setting_is_honoured() -> None:
    base = assembled().row("median_os_b")
    settings = {**SETTINGS, "days_per_month": 30.0}
    data = assemble_report_data(cohort_inputs(), settings, as_of="x", data_cutoff=None)
    med = data.row("median_os_b")
    assert med.value is not None and base.value is not None
    assert med.value == pytest.approx(base.value * 30.4375 / 30.0)
    assert med.method.endswith("months = days / 30")


def test_per_scale_rows_split_the_any_scale_row() -> None:
    table = next(t for t in assembled().tables if t.key == "tox_by_course")
    rows = {(r[0], r[1]): r for r in table.rows}
    lee = rows[("CRS", "As reported: Lee 2014")]
    # every cell over all 10 cohort courses; no Lee-graded course after CART-B shows as 0/10
    assert [c.N for c in lee[2:6]] == [10, 10, 10, 10]  # type: ignore[union-attr]
    assert [c.n for c in lee[4:6]] == [0, 0]  # type: ignore[union-attr]
