"""Turn warehouse inputs into the report's data: all statistics are computed here.

``assemble_report_data`` is pure (no I/O, no clock): the same ``CohortInputs``, settings and
``as_of`` always give the same ``EndpointReportData``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from cart_registry import __version__
from cart_registry.stats import DAYS_PER_MONTH

from .abstract import (
    antigen_rows,
    cohort_rows,
    paired_cr_table,
    phenotype_table,
    relapse_rows,
    response_rows,
)
from .antigen import antigen_tables
from .inputs import CohortInputs
from .model import AbstractRow, EndpointReportData, ReportMeta, ReportTable
from .secondary import secondary_tables
from .survival import cif_rows, followup_row, km_rows
from .toxicity import toxicity_tables

TITLE = "Sequential CAR T (CART-A then CART-B): study endpoints"

#: ADTTE parameters the survival rows are built from, with the words used in labels
TTE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("RFSB", "rfs_b", "RFS after CART-B CR"),
    ("OSB", "os_b", "OS from CART-B infusion"),
)


def days_per_month(settings: Mapping[str, Any]) -> float:
    """The study's month length (setting ``days_per_month``; default 365.25 / 12)."""
    return float(settings.get("days_per_month") or DAYS_PER_MONTH)


def _survival_rows(inp: CohortInputs, dpm: float) -> tuple[list[AbstractRow], list[str]]:
    by = {t.paramcd: t for t in inp.time_to_event}
    rows: list[AbstractRow] = []
    missing: list[str] = []
    for paramcd, key, name in TTE_ROWS:
        if paramcd in by:
            rows += km_rows(by[paramcd], key, name, days_per_month=dpm)
        else:
            missing.append(f"{paramcd}: no time-to-event rows, so no {name} estimates")
    if "CIRB" in by:
        rows += cif_rows(by["CIRB"], "cir_b", "relapse", days_per_month=dpm)
    else:
        missing.append("CIRB: no competing-risks rows, so no cumulative incidence of relapse")
    if "OSB" in by:
        rows.append(
            followup_row(by["OSB"], "followup_b", "Median follow-up from CART-B",
                         days_per_month=dpm)
        )
    return rows, missing


def assemble_report_data(
    inp: CohortInputs,
    settings: Mapping[str, Any],
    *,
    as_of: str,
    data_cutoff: date | None,
    registry_name: str = "cart_registry",
    source: str = "",
    notes: tuple[str, ...] = (),
) -> EndpointReportData:
    """Compute every abstract row and table from ``inp``.

    ``settings`` is the study settings as a plain mapping, shown in the report as given.
    """
    surv, missing = _survival_rows(inp, days_per_month(settings))
    rows = cohort_rows(inp) + antigen_rows(inp) + response_rows(inp) + relapse_rows(inp) + surv
    tables: list[ReportTable] = [paired_cr_table(inp), phenotype_table(inp)]
    tables += antigen_tables(inp)
    tables += toxicity_tables(inp.toxicity_paired, inp.toxicity_course)
    tables += secondary_tables(inp)
    if not (inp.toxicity_paired or inp.toxicity_course):
        missing.append("toxicity: no per-course CRS/ICANS counts were available")
    if not inp.antigen_status:
        missing.append("antigen modulation: no antigen expression by time point was available")
    if inp.cr_paired.n != inp.n_cohort:
        # the views disagree on who is in the cohort (e.g. a patient row quarantined while
        # the infusions were kept); say so rather than print two denominators silently
        missing.append(
            f"consistency: the paired CR table counts {inp.cr_paired.n} patients but the cohort "
            f"count is {inp.n_cohort}; response proportions use the paired table's N"
        )
    meta = ReportMeta(
        title=TITLE,
        tool_version=__version__,
        as_of=as_of,
        data_cutoff=data_cutoff,
        registry_name=registry_name,
        source=source,
        notes=notes,
    )
    return EndpointReportData(
        meta=meta,
        settings=dict(settings),
        abstract=tuple(rows),
        time_to_event=inp.time_to_event,
        tables=tuple(tables),
        missing=(*inp.missing, *missing),
    )
