"""Small hand-made report inputs for fast renderer tests (no warehouse, no synth)."""

from __future__ import annotations

import datetime as dt

from cart_registry.report.assemble import assemble_report_data
from cart_registry.report.inputs import (
    CohortInputs,
    HsctAfterCR,
    MedianRange,
    PairedCounts,
    SwitchCounts,
    ToxicityCourse,
    ToxicityPaired,
)
from cart_registry.report.model import (
    AbstractRow,
    EndpointReportData,
    Frac,
    Interval,
    PValue,
    ReportMeta,
    ReportTable,
    TimeToEvent,
)

EVIL = "<script>alert(1)</script>"

SETTINGS = {
    "study_id": "CARTREG",
    "data_cutoff_date": dt.date(2023, 6, 30),
    "response_window_days": 42,
    "cri_counts_as_cr": True,
    "rfs_origin": "cr_date",
    "antigen_difference_rule": "sets_differ",
}


def tte_rfs() -> TimeToEvent:
    return TimeToEvent(
        "RFSB", "RFS after CART-B CR", "CART-B CR", "km",
        time_days=(30, 60, 90, 120, 150, 200, 250, 300, 400, 500),
        status=(1, 1, 0, 1, 1, 0, 1, 0, 1, 0),
        event_label="relapse or death",
    )


def tte_os() -> TimeToEvent:
    return TimeToEvent(
        "OSB", "OS from CART-B", "CART-B infusion", "km",
        time_days=(40, 100, 180, 250, 330, 365, 420, 500, 610, 700, 800, 900),
        status=(1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1),
        event_label="death",
    )


def tte_cir() -> TimeToEvent:
    return TimeToEvent(
        "CIRB", "Relapse after CART-B CR", "CART-B CR", "competing",
        time_days=(30, 60, 90, 120, 150, 200, 250, 300, 400, 500),
        status=(1, 2, 0, 1, 1, 0, 1, 0, 2, 0),
        event_label="relapse", competing_label="death without relapse",
    )


def meta(title: str = "Hand-made report") -> ReportMeta:
    return ReportMeta(
        title=title, tool_version="0.0.test", as_of="2023-06-30",
        data_cutoff=dt.date(2023, 6, 30), registry_name="test registry", source="hand-made",
    )


def minimal_data(label: str = "CR after CART-B") -> EndpointReportData:
    """Hand-written rows: the renderers must show exactly these."""
    rows = (
        AbstractRow("screened", "Cohort", "Patients screened", n=20, value=20.0, unit="count",
                    method="count"),
        AbstractRow("cr_after_b", "Response", label, n=6, N=10, value=60.0, unit="%",
                    ci=Interval(26.2, 87.8, method="exact (Clopper-Pearson)"),
                    p=0.0043, p_method="exact McNemar", method="n/N"),
        AbstractRow("median_rfs_b", "Survival", "Median RFS", n=5, N=10, value=9.4,
                    unit="months", ci=Interval(6.1, 13.2), method="Kaplan-Meier"),
        AbstractRow("median_os_b", "Survival", "Median OS", n=3, N=10, value=None,
                    unit="months", ci=Interval(2.0, None), method="Kaplan-Meier"),
    )
    tables = (
        ReportTable("t1", "antigen", "A table", ("Row", "Count", "P"),
                    ((label, Frac(3, 4), PValue(0.5, "Fisher")), ("x|y", 2, None))),
    )
    return EndpointReportData(
        meta=meta(), settings=SETTINGS, abstract=rows,
        time_to_event=(tte_rfs(), tte_os(), tte_cir()), tables=tables,
    )


def cohort_inputs() -> CohortInputs:
    """A small cohort with every optional part filled."""
    tox_paired = (
        ToxicityPaired("crs", "any_grade", PairedCounts(5, 2, 1, 2)),
        ToxicityPaired("crs", "grade_3_plus_reported", PairedCounts(1, 1, 0, 8)),
        ToxicityPaired("crs", "grade_3_plus_astct", PairedCounts(1, 1, 0, 6)),
        ToxicityPaired("icans", "any_grade", PairedCounts(0, 1, 1, 8)),
        ToxicityPaired("icans", "grade_3_plus_reported", PairedCounts(0, 1, 0, 9)),
        ToxicityPaired("icans", "grade_3_plus_astct", PairedCounts(0, 1, 0, 9)),
    )
    tox_course = (
        ToxicityCourse("A", "crs", "any", "any", 10, 7, 2),
        ToxicityCourse("B", "crs", "any", "any", 10, 6, 1),
        ToxicityCourse("A", "crs", "reported", "astct_2019", 4, 4, 2),
        ToxicityCourse("A", "crs", "reported", "lee_2014", 3, 3, 0),
        ToxicityCourse("B", "crs", "reported", "astct_2019", 6, 6, 1),
        ToxicityCourse("A", "crs", "astct_recomputed", "astct_2019", 10, 6, 2, 1, 0),
        ToxicityCourse("B", "crs", "astct_recomputed", "astct_2019", 10, 6, 1, 0, 1),
        ToxicityCourse("A", "icans", "any", "any", 10, 1, 1),
        ToxicityCourse("B", "icans", "any", "any", 10, 1, 0),
    )
    return CohortInputs(
        n_screened=20,
        n_cohort=10,
        n_more_than_two=2,
        n_distinct_constructs=5,
        n_sites=2,
        age_at_a_years=MedianRange(10, 12.8, 3.3, 30.4),
        interval_ab_days=MedianRange(10, 302.0, 53.0, 1183.0),
        antigen_rule="sets_differ",
        n_different=8,
        n_sets_differ=8,
        n_disjoint=6,
        cr_paired=PairedCounts(both=5, a_only=3, b_only=1, neither=1),
        switch=SwitchCounts(different_cr=5, different_no_cr=3, same_cr=1, same_no_cr=1),
        n_cr_b=6,
        n_relapsed_b=3,
        phenotype_b={"antigen_negative": 1, "antigen_dim": 1, "not_evaluable": 1},
        time_to_event=(tte_rfs(), tte_os(), tte_cir()),
        toxicity_paired=tox_paired,
        toxicity_course=tox_course,
        target_sequences=(("CD19", "CD22", 6), ("CD19", "CD19+CD22", 2), ("CD19", "CD19", 2)),
        switch_reason={"negative": 3, "dim": 3, "positive": 1, "not_measured": 1},
        antigen_status=(
            ("CD19", "pre_a", "positive", 9), ("CD19", "pre_a", "not_measured", 1),
            ("CD19", "pre_b", "negative", 3), ("CD19", "pre_b", "dim", 3),
            ("CD19", "pre_b", "positive", 3), ("CD19", "pre_b", "not_measured", 1),
            ("CD22", "pre_b", "positive", 10),
            ("CD19", "relapse_b", "negative", 1), ("CD19", "relapse_b", "dim", 1),
            ("CD19", "relapse_b", "not_measured", 1),
        ),
        antigen_transitions=(
            ("CD19", "positive", "negative", 3), ("CD19", "positive", "dim", 3),
            ("CD19", "positive", "positive", 2),
        ),
        best_response=(
            ("A", "n", 10), ("A", "cr", 8), ("A", "cr_mrd_neg", 6), ("A", "cri", 2),
            ("A", "nr", 2), ("B", "n", 10), ("B", "cr", 6), ("B", "cr_mrd_neg", 5),
            ("B", "cr_mrd_pos_or_unknown", 1), ("B", "pr", 2), ("B", "no_assessment", 2),
        ),
        interval_therapy=(("chemotherapy", 4), ("blinatumomab", 2), ("hsct", 1)),
        hsct_after_cr_b=HsctAfterCR(6, 2, 2, MedianRange(2, 50.5, 27.0, 74.0)),
        status_by_constructs=(("2", "dead", 5), ("2", "alive_in_cr", 3), ("3+", "dead", 2)),
    )


def assembled() -> EndpointReportData:
    return assemble_report_data(
        cohort_inputs(), SETTINGS, as_of="2023-06-30", data_cutoff=dt.date(2023, 6, 30),
        registry_name="test registry", source="hand-made",
    )
