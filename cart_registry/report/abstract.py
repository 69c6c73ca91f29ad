"""The count and response rows of the abstract table, and the paired CR table.

Each function turns ``CohortInputs`` into ``AbstractRow``s with n/N, an exact 95% CI and,
where the abstract compares, a p-value named with its test. The survival rows live in
``survival.py``.
"""

from __future__ import annotations

from cart_registry.stats import fisher_exact, mcnemar_exact

from .binomial import proportion_ci
from .inputs import NOT_EVALUABLE, PHENOTYPES, CohortInputs, MedianRange
from .model import AbstractRow, Frac, ReportTable

COHORT, ANTIGEN, RESPONSE, RELAPSE = "Cohort", "Antigen switch", "Response", "Relapse"
CP_NOTE = "proportion n/N with exact (Clopper-Pearson) 95% CI"
MEDIAN_RANGE = "sample median (R median: mean of the two middle values), minimum and maximum"


def proportion_row(
    key: str,
    section: str,
    label: str,
    n: int,
    N: int,
    *,
    method: str = CP_NOTE,
    p: float | None = None,
    p_method: str | None = None,
    note: str | None = None,
) -> AbstractRow:
    """An n/N row with its percentage and Clopper-Pearson CI (no CI when N = 0)."""
    return AbstractRow(
        key=key,
        section=section,
        label=label,
        n=n,
        N=N,
        value=100.0 * n / N if N else None,
        unit="%",
        ci=proportion_ci(n, N) if N else None,
        method=method,
        p=p,
        p_method=p_method,
        note=note,
    )


def _median_range_row(
    key: str, label: str, mr: MedianRange, unit: str, note: str
) -> AbstractRow:
    lo, hi = mr.minimum, mr.maximum
    rng = (lo, hi) if mr.n > 0 and lo is not None and hi is not None else None
    return AbstractRow(
        key=key,
        section=COHORT,
        label=label,
        N=mr.n,
        value=mr.median if rng is not None else None,
        unit=unit,
        value_range=rng,
        method=MEDIAN_RANGE,
        note=note,
    )


def cohort_rows(inp: CohortInputs) -> list[AbstractRow]:
    return [
        AbstractRow(
            "screened",
            COHORT,
            "Patients screened",
            n=inp.n_screened,
            value=float(inp.n_screened),
            unit="count",
            method="count of registry patients (any registry status)",
            note=None if inp.n_sites is None else f"{inp.n_sites} sites",
        ),
        proportion_row(
            "constructs_ge2",
            COHORT,
            "Received \u22652 unique CAR T constructs (the cohort)",
            inp.n_cohort,
            inp.n_screened,
            note="of patients screened; a course is one unique construct",
        ),
        proportion_row(
            "constructs_gt2",
            COHORT,
            "Received >2 unique constructs",
            inp.n_more_than_two,
            inp.n_cohort,
            note="of the cohort",
        ),
        AbstractRow(
            "distinct_constructs",
            COHORT,
            "Distinct CAR T constructs given to the cohort",
            value=float(inp.n_distinct_constructs),
            unit="count",
            method="count of distinct constructs over all courses of cohort patients",
        ),
        _median_range_row(
            "age_at_a", "Age at CART-A infusion, median (range)", inp.age_at_a_years, "years",
            "at the first CART-A infusion; days / 365.25",
        ),
        _median_range_row(
            "interval_ab", "Interval CART-A to CART-B infusion, median (range)",
            inp.interval_ab_days, "days", "between first infusions",
        ),
    ]


def antigen_rows(inp: CohortInputs) -> list[AbstractRow]:
    sw = inp.switch
    rule = f"antigen-difference rule: {inp.antigen_rule}"
    return [
        proportion_row(
            "b_different_antigen",
            ANTIGEN,
            "CART-B targeted a different antigen",
            inp.n_different,
            inp.n_cohort,
            note=rule,
        ),
        proportion_row(
            "different_antigen_among_cr_b",
            ANTIGEN,
            "Different antigen among CART-B complete responders",
            sw.different_cr,
            sw.different_cr + sw.same_cr,
            note=rule,
        ),
        proportion_row(
            "same_antigen_among_nocr_b",
            ANTIGEN,
            "Same antigen among CART-B non-responders (PR/NR)",
            sw.same_no_cr,
            sw.different_no_cr + sw.same_no_cr,
            note=rule + "; non-responders include courses without a qualifying assessment",
        ),
    ]


def response_rows(inp: CohortInputs) -> list[AbstractRow]:
    t = inp.cr_paired
    n = t.n
    mc = mcnemar_exact(t.a_only, t.b_only)
    fi = fisher_exact([[t.a, n - t.a], [t.b, n - t.b]])
    return [
        proportion_row("cr_after_a", RESPONSE, "CR/CRi after CART-A", t.a, n),
        proportion_row(
            "cr_after_b",
            RESPONSE,
            "CR/CRi after CART-B",
            t.b,
            n,
            p=mc.p_value,
            p_method=(
                f"exact McNemar, paired (discordant pairs: {t.a_only} CR after A only vs "
                f"{t.b_only} after B only; {t.both} both, {t.neither} neither); "
                f"mid-p {mc.mid_p_value:.4f}"
            ),
        ),
        AbstractRow(
            "cr_a_vs_b_fisher",
            RESPONSE,
            "CR after CART-A vs CART-B: unpaired alternative (not the primary test)",
            p=fi.p_value,
            p_method=(
                f"Fisher exact on [[{t.a}, {n - t.a}], [{t.b}, {n - t.b}]] treats the same "
                "patients as two independent samples"
            ),
            method="Fisher exact test, two-sided (R fisher.test)",
            note="shown for comparison; the paired exact McNemar P is the primary comparison",
        ),
    ]


def paired_cr_table(inp: CohortInputs) -> ReportTable:
    t = inp.cr_paired
    mc = mcnemar_exact(t.a_only, t.b_only)
    return ReportTable(
        key="paired_cr",
        group="response",
        title="CR after CART-A by CR after CART-B (paired)",
        columns=("", "CR after CART-B", "No CR after CART-B", "Total"),
        rows=(
            ("CR after CART-A", t.both, t.a_only, t.a),
            ("No CR after CART-A", t.b_only, t.neither, t.b_only + t.neither),
            ("Total", t.b, t.a_only + t.neither, t.n),
        ),
        note=(
            f"Exact McNemar test on the discordant pairs ({t.a_only} vs {t.b_only}): "
            f"P = {mc.p_value:.4f} (mid-p {mc.mid_p_value:.4f}). CR includes CRi when the "
            "study settings count CRi as CR."
        ),
    )


def relapse_rows(inp: CohortInputs) -> list[AbstractRow]:
    ph = inp.phenotype_b
    n_ne = ph.get(NOT_EVALUABLE, 0)
    n_eval = sum(v for k, v in ph.items() if k != NOT_EVALUABLE)
    rows = [
        proportion_row(
            "relapse_after_cr_b",
            RELAPSE,
            "Relapse among CART-B complete responders",
            inp.n_relapsed_b,
            inp.n_cr_b,
            note="first relapse after the CART-B CR date, up to the cutoff",
        )
    ]
    for code, name in PHENOTYPES:
        rows.append(
            proportion_row(
                f"phenotype_{code}",
                RELAPSE,
                f"Relapse phenotype: {name.lower()}",
                ph.get(code, 0),
                n_eval,
                note="of relapses with an evaluable phenotype, relative to the CART-B targets"
                + (f"; {n_ne} not evaluable" if n_ne else ""),
            )
        )
    return rows


def phenotype_table(inp: CohortInputs) -> ReportTable:
    ph = inp.phenotype_b
    n_eval = sum(v for k, v in ph.items() if k != NOT_EVALUABLE)
    rows: list[tuple[str, Frac | int]] = [
        (name, Frac(ph.get(code, 0), n_eval)) for code, name in PHENOTYPES
    ]
    rows.append(("Not evaluable (no immunophenotype at relapse)", ph.get(NOT_EVALUABLE, 0)))
    return ReportTable(
        key="relapse_phenotype",
        group="relapse",
        title="Phenotype of the first relapse after CART-B CR",
        columns=("Phenotype", "n/N evaluable (%)"),
        rows=tuple(rows),
        note="Phenotype is judged against the targets of CART-B; lineage switch overrides the "
        "antigen categories.",
    )
