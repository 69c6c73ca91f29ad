"""Secondary-objective tables: best response per course, therapy between the courses, HSCT
after a CART-B CR, and status at last contact by number of constructs."""

from __future__ import annotations

from collections import defaultdict

from .inputs import CohortInputs
from .model import Cell, Frac, Num, ReportTable

BEST_RESPONSE: tuple[tuple[str, str], ...] = (
    ("cr_mrd_neg", "CR, MRD negative"),
    ("cr_mrd_pos_or_unknown", "CR, MRD positive or not known"),
    ("cri", "CRi"),
    ("pr", "PR"),
    ("nr", "NR"),
    ("pd", "PD"),
    ("ne", "Not evaluable"),
    ("no_assessment", "No assessment in the response window"),
)
THERAPY_NAMES = {
    "chemotherapy": "Chemotherapy",
    "blinatumomab": "Blinatumomab",
    "inotuzumab": "Inotuzumab ozogamicin",
    "tki": "Tyrosine kinase inhibitor",
    "radiotherapy": "Radiotherapy",
    "intrathecal_only": "Intrathecal therapy only",
    "hsct": "HSCT",
    "other": "Other",
}
STATUS_NAMES = (
    ("alive_in_cr", "Alive in CR"),
    ("alive_not_cr", "Alive, not in CR"),
    ("alive_unknown", "Alive, disease status not known"),
    ("dead", "Dead"),
)


def best_response_table(inp: CohortInputs) -> ReportTable | None:
    if not inp.best_response:
        return None
    by: dict[str, dict[str, int]] = defaultdict(dict)
    for course, cat, n in inp.best_response:
        by[course][cat] = n
    courses = [c for c in ("A", "B") if c in by]
    rows: list[tuple[Cell, ...]] = [
        (name, *(Frac(by[c].get(cat, 0), by[c].get("n", 0)) for c in courses))
        for cat, name in BEST_RESPONSE
    ]
    rows.append(("CR or CRi (counted as CR)", *(Frac(by[c].get("cr", 0), by[c].get("n", 0))
                                               for c in courses)))
    return ReportTable(
        key="best_response",
        group="response",
        title="Best response within the response window, by course",
        columns=("Best response", *(f"CART-{c}" for c in courses)),
        rows=tuple(rows),
        note="Best marrow response from the first infusion to the end of the response window "
        "(before the next course, HSCT or non-bridging therapy). 'CR or CRi' follows the "
        "study's cri_counts_as_cr setting.",
    )


def interval_therapy_table(inp: CohortInputs) -> ReportTable | None:
    if not inp.interval_therapy:
        return None
    n = inp.n_cohort
    rows: tuple[tuple[Cell, ...], ...] = tuple(
        (THERAPY_NAMES.get(t, t), Frac(k, n))
        for t, k in sorted(inp.interval_therapy, key=lambda r: (-r[1], r[0]))
    )
    return ReportTable(
        key="interval_therapy",
        group="secondary",
        title="Therapy between CART-A and CART-B",
        columns=("Therapy", "Cohort patients"),
        rows=rows,
        note="A patient can appear under several therapies.",
    )


def hsct_table(inp: CohortInputs) -> ReportTable | None:
    h = inp.hsct_after_cr_b
    if h is None:
        return None
    iv = h.cr_to_hsct_days
    rng = (
        f"{iv.minimum:.0f}\u2013{iv.maximum:.0f}"
        if iv.minimum is not None and iv.maximum is not None else ""
    )
    return ReportTable(
        key="hsct_after_cr_b",
        group="secondary",
        title="HSCT after a CART-B CR",
        columns=("", "Value"),
        rows=(
            ("HSCT after the CART-B CR", Frac(h.n_hsct, h.n_cr)),
            ("of which before any relapse (consolidation)", Frac(h.n_hsct_before_relapse, h.n_cr)),
            ("Days from CR to HSCT, median",
             Num(iv.median, 0 if iv.median is None or iv.median.is_integer() else 1)),
            ("Days from CR to HSCT, range", rng),
        ),
        note="Denominator: cohort patients in CR after CART-B.",
    )


def status_table(inp: CohortInputs) -> ReportTable | None:
    if not inp.status_by_constructs:
        return None
    by: dict[str, dict[str, int]] = defaultdict(dict)
    for group, status, n in inp.status_by_constructs:
        by[group][status] = by[group].get(status, 0) + n
    groups = [g for g in ("2", "3+") if g in by]
    totals = {g: sum(by[g].values()) for g in groups}
    rows: tuple[tuple[Cell, ...], ...] = tuple(
        (name, *(Frac(by[g].get(code, 0), totals[g]) for g in groups))
        for code, name in STATUS_NAMES
        if any(by[g].get(code) for g in groups)
    )
    return ReportTable(
        key="status_by_constructs",
        group="secondary",
        title="Status at last contact by number of unique constructs",
        columns=("Status", *(f"{g} constructs" for g in groups)),
        rows=rows,
        note="Last contact up to the data cutoff.",
    )


def secondary_tables(inp: CohortInputs) -> list[ReportTable]:
    made = (best_response_table(inp), interval_therapy_table(inp), hsct_table(inp),
            status_table(inp))
    return [t for t in made if t is not None]
