"""A display view of the report (strings only), shared by the HTML and Markdown renderers.

Renderers receive strings that are already formatted, so the template needs no logic beyond
loops, and every value passes through the template engine's escaping as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from . import fmt
from .model import AbstractRow, EndpointReportData, ReportTable

SECTION_TITLES: tuple[tuple[str, str], ...] = (
    ("response", "Response"),
    ("relapse", "Relapse"),
    ("toxicity", "Toxicity: CRS and ICANS after CART-A and CART-B"),
    ("antigen", "Antigen switch and antigen modulation"),
    ("secondary", "Secondary objectives"),
)

ABSTRACT_COLUMNS = ("Measure", "n/N", "Estimate", "95% CI", "P", "Method and notes")


@dataclass(frozen=True)
class RowView:
    key: str
    #: measure, n/N, estimate, CI, P, notes
    cells: tuple[str, ...]
    #: footnote letter of the row's method ("" when it has none)
    mark: str = ""


@dataclass(frozen=True)
class SectionView:
    title: str
    rows: tuple[RowView, ...]


@dataclass(frozen=True)
class AbstractView:
    sections: tuple[SectionView, ...]
    #: (letter, method text): each distinct method once, in order of first use
    footnotes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class TableView:
    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str | None
    #: per column: True when it holds numbers (right-aligned)
    numeric: tuple[bool, ...]


def _letter(i: int) -> str:
    """a, b, ..., z, aa, ab, ... (a table never needs more, but never fail)."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(97 + r) + out
    return out


def _notes(r: AbstractRow) -> str:
    parts = [r.note] if r.note else []
    if r.p_method:
        parts.append(f"P: {r.p_method}")
    return "; ".join(parts)


def abstract_view(data: EndpointReportData) -> AbstractView:
    """Abstract rows grouped by section (first-seen order), methods as footnotes."""
    order: list[str] = []
    by: dict[str, list[RowView]] = {}
    marks: dict[str, str] = {}
    for r in data.abstract:
        if r.method and r.method not in marks:
            marks[r.method] = _letter(len(marks))
        if r.section not in by:
            order.append(r.section)
            by[r.section] = []
        by[r.section].append(
            RowView(
                key=r.key,
                cells=(
                    r.label,
                    fmt.NA if r.unit == "count" else fmt.row_n_over_n(r),
                    fmt.row_estimate(r),
                    fmt.fmt_interval(r.ci, r.unit),
                    fmt.fmt_p(r.p) if r.p is not None else "",
                    _notes(r),
                ),
                mark=marks.get(r.method, ""),
            )
        )
    return AbstractView(
        sections=tuple(SectionView(s, tuple(by[s])) for s in order),
        footnotes=tuple((m, text) for text, m in marks.items()),
    )


def table_view(t: ReportTable) -> TableView:
    numeric = tuple(
        i > 0 and all(not isinstance(row[i], str) for row in t.rows)
        for i in range(len(t.columns))
    )
    return TableView(
        key=t.key,
        title=t.title,
        columns=t.columns,
        rows=tuple(tuple(fmt.fmt_cell(c) for c in row) for row in t.rows),
        note=t.note,
        numeric=numeric,
    )


def grouped_tables(data: EndpointReportData) -> list[tuple[str, str, list[TableView]]]:
    """(group key, section title, tables) for every group that has tables."""
    out = []
    known = {g for g, _ in SECTION_TITLES}
    for group, title in SECTION_TITLES:
        tabs = [table_view(t) for t in data.tables_in(group)]
        if tabs:
            out.append((group, title, tabs))
    others = [t for t in data.tables if t.group not in known]
    if others:
        out.append(("other", "Other tables", [table_view(t) for t in others]))
    return out


def setting_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def settings_rows(data: EndpointReportData) -> list[tuple[str, str]]:
    return [(str(k), setting_text(v)) for k, v in data.settings.items()]


def meta_rows(data: EndpointReportData) -> list[tuple[str, str]]:
    m = data.meta
    return [
        ("Registry", m.registry_name),
        ("Data cutoff", m.data_cutoff.isoformat() if m.data_cutoff else "not set"),
        ("Report as of", m.as_of),
        ("Tool", f"cart_registry {m.tool_version}"),
        ("Source", m.source or "not recorded"),
        ("Months", f"days / {float(data.settings.get('days_per_month') or 30.4375):g}"),
    ]


METHODS_TEXT: tuple[str, ...] = (
    "Proportions are given as n/N with exact (Clopper-Pearson) 95% confidence intervals.",
    "CR after CART-A and after CART-B are compared as paired outcomes in the same patients "
    "with the exact McNemar test (two-sided binomial test on the discordant pairs, as R "
    "binom.test); the mid-p is given beside it. Fisher's exact test, which treats the two "
    "proportions as independent samples, is shown only as the unpaired alternative.",
    "Time-to-event endpoints are estimated by Kaplan-Meier with Greenwood variance and "
    "log-log pointwise 95% confidence intervals (as SAS LIFETEST and lifelines; R's default "
    "is 'log'). Median CIs invert the band (Brookmeyer-Crowley) with R quantile.survfit "
    "rules; a median that is not reached is reported as NR, never extrapolated.",
    "Cumulative incidence of relapse treats death without relapse as a competing event "
    "(Aalen-Johansen, Aalen variance as R cmprsk, log-log CI). Median follow-up is the reverse "
    "Kaplan-Meier median (deaths censor follow-up).",
    "Times are computed in days and reported in months (days / the study's days_per_month "
    "setting, 365.25 / 12 by default). Grades on different toxicity scales are never "
    "converted into one another.",
)
