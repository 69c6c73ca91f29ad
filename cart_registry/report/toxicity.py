"""CRS / ICANS tables: course A vs course B, by reported grade and by recomputed ASTCT grade.

Grades on different scales are never converted into one another (domain.md 3.3): "any
grade" counts occurrence whatever the scale, "grade >= 3 as reported" counts each course on
its own scale (and says so), the per-scale rows show which scales those were, and the ASTCT
rows use only grades recomputed from the recorded components. Paired comparisons (the same
patients after A and after B) use the exact McNemar test on the discordant pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

from cart_registry.stats import mcnemar_exact

from .inputs import ToxicityCourse, ToxicityPaired
from .model import Cell, Frac, PValue, ReportTable

TOX_NAMES = {"crs": "CRS", "icans": "ICANS", "iec_hs": "IEC-HS"}
TOX_ORDER = ("crs", "icans", "iec_hs")
SCALE_NAMES = {
    "any": "any scale",
    "astct_2019": "ASTCT 2019",
    "lee_2014": "Lee 2014",
    "penn": "Penn",
    "mskcc": "MSKCC",
    "cartox": "CARTOX",
    "ctcae_v4": "CTCAE v4",
    "ctcae_v5": "CTCAE v5",
    "other": "other scale",
    "unknown": "scale not stated",
    "mixed": "more than one scale",
}
MEASURES = {
    "any_grade": "any grade (any scale)",
    "grade_3_plus_reported": "grade \u22653 as reported (site's own scale)",
    "grade_3_plus_astct": "grade \u22653, recomputed ASTCT 2019",
}
BASIS = {"any": "Any scale (occurrence)", "reported": "As reported", "astct_recomputed":
         "Recomputed ASTCT 2019"}
MCNEMAR = "exact McNemar (paired, discordant pairs)"


def _tox(t: str) -> str:
    return TOX_NAMES.get(t, t)


def _order(key: str, order: Sequence[str]) -> int:
    return order.index(key) if key in order else len(order)


def paired_table(rows: Sequence[ToxicityPaired]) -> ReportTable | None:
    """Toxicity after A vs after B in the same patients, one row per type and measure."""
    if not rows:
        return None
    ordered = sorted(
        rows, key=lambda r: (_order(r.tox_type, TOX_ORDER), _order(r.measure, list(MEASURES)))
    )
    out: list[tuple[Cell, ...]] = []
    for r in ordered:
        c = r.counts
        p = mcnemar_exact(c.a_only, c.b_only).p_value if c.n else None
        out.append(
            (
                f"{_tox(r.tox_type)}, {MEASURES.get(r.measure, r.measure)}",
                Frac(c.a, c.n),
                Frac(c.b, c.n),
                f"{c.a_only} / {c.b_only}",
                PValue(p, MCNEMAR),
            )
        )
    return ReportTable(
        key="tox_paired",
        group="toxicity",
        title="CRS and ICANS after CART-A and after CART-B in the same patients",
        columns=("Toxicity", "After CART-A", "After CART-B", "A only / B only", "P"),
        rows=tuple(out),
        note=(
            "Worst episode per patient and course. N = cohort patients with both courses; for "
            "recomputed ASTCT grades, patients whose episodes could be recomputed after both "
            "courses. Grade \u22653 as reported pools each site's scale; grades are never "
            f"converted between scales. P: {MCNEMAR}."
        ),
    )


def course_table(rows: Sequence[ToxicityCourse]) -> ReportTable | None:
    """Per toxicity and grading basis/scale: any grade and grade >= 3 after A and after B."""
    if not rows:
        return None
    cells: dict[tuple[str, str, str], dict[str, ToxicityCourse]] = {}
    for r in rows:
        cells.setdefault((r.tox_type, r.basis, r.grading_scale), {})[r.course_label] = r
    scales = list(SCALE_NAMES)
    keys = sorted(
        cells,
        key=lambda k: (_order(k[0], TOX_ORDER), _order(k[1], list(BASIS)), _order(k[2], scales)),
    )
    # all cohort courses per toxicity and course: the 'any' rows' denominator. Per-scale rows
    # use it too, so they split the 'any scale' row by the site's scale (and add up to it)
    # instead of showing 100% of the courses graded on each scale.
    cohort = {(r.tox_type, r.course_label): r.n_courses for r in rows if r.basis == "any"}
    out: list[tuple[Cell, ...]] = []
    for tox, basis, scale in keys:
        by = cells[(tox, basis, scale)]
        grading = BASIS.get(basis, basis)
        if basis == "reported":
            grading = f"As reported: {SCALE_NAMES.get(scale, scale)}"
        row: list[Cell] = [_tox(tox), grading]
        for course in ("A", "B"):
            cr = by.get(course)
            n_all = cohort.get((tox, course))
            if cr is None:
                # no course of this label was graded on this scale: zero of all courses
                zero: Cell = Frac(0, n_all) if basis == "reported" and n_all else None
                row += [zero, zero]
                continue
            n = n_all or cr.n_courses
            row += [Frac(cr.n_any_grade, n), Frac(cr.n_grade_3_plus, n)]
        nr = [by[c].n_not_recomputable for c in ("A", "B") if c in by]
        row.append(
            " / ".join("" if x is None else str(x) for x in nr) if basis == "astct_recomputed"
            else None
        )
        out.append(tuple(row))
    return ReportTable(
        key="tox_by_course",
        group="toxicity",
        title="CRS and ICANS by course and grading basis",
        columns=(
            "Toxicity",
            "Grading",
            "CART-A any grade",
            "CART-A grade \u22653",
            "CART-B any grade",
            "CART-B grade \u22653",
            "Not recomputable A / B",
        ),
        rows=tuple(out),
        note=(
            "Denominator: all cohort courses with that label. 'Any scale' counts an episode "
            "whatever its scale (grade \u22653 on the site's scale or by recomputation); the "
            "'as reported' rows split it by the scale the site graded on (a course with "
            "episodes on several scales is 'more than one scale'); recomputed ASTCT rows use "
            "only recomputed grades, and a course whose episodes could not be recomputed "
            "counts in the denominator but not as a grade (last column)."
        ),
    )


def toxicity_tables(
    paired: Sequence[ToxicityPaired], by_course: Sequence[ToxicityCourse]
) -> list[ReportTable]:
    return [t for t in (paired_table(paired), course_table(by_course)) if t is not None]
