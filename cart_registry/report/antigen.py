"""Antigen-switch and antigen-modulation tables.

The abstract says CART-B targeted a different antigen "mostly due to loss of CART-A
antigen"; these tables show the evidence: response by switch, both antigen-difference rules
(bispecific constructs make "different" a choice), the target sequences, the expression of
the CART-A target before CART-B among switchers, and expression by time point.
"""

from __future__ import annotations

from collections import defaultdict

from cart_registry.stats import fisher_exact

from .inputs import CohortInputs
from .model import Cell, Frac, PValue, ReportTable

STATUSES: tuple[str, ...] = ("positive", "partial", "dim", "negative")
UNMEASURED = ("not_measured", "not_tested", "unknown")
TIMEPOINTS: tuple[tuple[str, str], ...] = (
    ("pre_a", "before CART-A"),
    ("pre_b", "before CART-B"),
    ("relapse_b", "at relapse after CART-B"),
)
FISHER = "Fisher exact, two-sided (exploratory; the groups were not randomised)"


def switch_response_table(inp: CohortInputs) -> ReportTable:
    s = inp.switch
    diff, same = s.different_cr + s.different_no_cr, s.same_cr + s.same_no_cr
    total = diff + same
    p = fisher_exact([[s.different_cr, s.different_no_cr], [s.same_cr, s.same_no_cr]]).p_value
    return ReportTable(
        key="switch_by_response",
        group="antigen",
        title="Response to CART-B by antigen switch",
        columns=("CART-B target vs CART-A", "CR after CART-B", "No CR after CART-B", "Total", "P"),
        rows=(
            ("Different antigen", Frac(s.different_cr, diff), Frac(s.different_no_cr, diff), diff,
             PValue(p if total else None, FISHER)),
            ("Same antigen", Frac(s.same_cr, same), Frac(s.same_no_cr, same), same, None),
            ("Total", Frac(s.different_cr + s.same_cr, total),
             Frac(s.different_no_cr + s.same_no_cr, total), total, None),
        ),
        note=f"Row percentages; antigen-difference rule: {inp.antigen_rule}. P: {FISHER}.",
    )


def rule_table(inp: CohortInputs) -> ReportTable | None:
    if inp.n_sets_differ is None or inp.n_disjoint is None:
        return None
    n = inp.n_cohort

    def mark(rule: str) -> str:
        return " (study rule)" if inp.antigen_rule == rule else ""

    return ReportTable(
        key="switch_rules",
        group="antigen",
        title="Different antigen under the two rules",
        columns=("Rule", "CART-B different antigen"),
        rows=(
            ("Target sets differ" + mark("sets_differ"), Frac(inp.n_sets_differ, n)),
            ("Target sets disjoint" + mark("disjoint"), Frac(inp.n_disjoint, n)),
        ),
        note="A CD19/CD22 construct after a CD19 construct differs as a set but is not "
        "disjoint.",
    )


def sequence_table(inp: CohortInputs) -> ReportTable | None:
    if not inp.target_sequences:
        return None
    n = sum(k for _, _, k in inp.target_sequences)
    rows: tuple[tuple[Cell, ...], ...] = tuple(
        (a, b, Frac(k, n))
        for a, b, k in sorted(inp.target_sequences, key=lambda r: (-r[2], r[0], r[1]))
    )
    return ReportTable(
        key="target_sequences",
        group="antigen",
        title="Targets of CART-A and CART-B",
        columns=("CART-A target(s)", "CART-B target(s)", "Patients"),
        rows=rows,
    )


def switch_reason_table(inp: CohortInputs) -> ReportTable | None:
    if not inp.switch_reason:
        return None
    c = inp.switch_reason
    n = sum(c.values())
    rows: list[tuple[Cell, ...]] = [
        (f"CART-A target {s}", Frac(c.get(s, 0), n)) for s in ("negative", "dim", "positive")
    ]
    rows.append(("Not measured", Frac(sum(c.get(s, 0) for s in UNMEASURED), n)))
    return ReportTable(
        key="switch_reason",
        group="antigen",
        title="Expression of the CART-A target before CART-B, patients who switched antigen",
        columns=("Status before CART-B", "Patients who switched"),
        rows=tuple(rows),
        note="Worst status over the CART-A targets (negative < dim or partial < positive). "
        "Loss or dim expression of the CART-A target is the usual reason to switch.",
    )


def modulation_table(inp: CohortInputs) -> ReportTable | None:
    if not inp.antigen_status:
        return None
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for antigen, tp, status, n in inp.antigen_status:
        counts[(antigen, tp)][status] = counts[(antigen, tp)].get(status, 0) + n
    order = [t for t, _ in TIMEPOINTS]
    rows: list[tuple[Cell, ...]] = []
    for antigen, tp in sorted(counts, key=lambda k: (k[0], order.index(k[1])
                                                      if k[1] in order else len(order))):
        c = counts[(antigen, tp)]
        tested = sum(c.get(s, 0) for s in STATUSES)
        rows.append(
            (antigen, dict(TIMEPOINTS).get(tp, tp), *(Frac(c.get(s, 0), tested) for s in STATUSES),
             sum(v for k, v in c.items() if k not in STATUSES))
        )
    return ReportTable(
        key="antigen_modulation",
        group="antigen",
        title="Antigen expression on blasts by time point",
        columns=("Antigen", "Time point", *(s.capitalize() for s in STATUSES), "Not measured"),
        rows=tuple(rows),
        note="Percentages among cohort patients with a sample at that time point; at relapse, "
        "patients with a first relapse after a CART-B CR and a sample within the study's "
        "relapse window.",
    )


def transition_tables(inp: CohortInputs) -> list[ReportTable]:
    """Per antigen: status before CART-A (rows) by status before CART-B (columns)."""
    by: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    for antigen, a, b, n in inp.antigen_transitions:
        if a in STATUSES and b in STATUSES:
            by[antigen][(a, b)] = by[antigen].get((a, b), 0) + n
    out = []
    for antigen in sorted(by):
        c = by[antigen]
        rows: tuple[tuple[Cell, ...], ...] = tuple(
            (f"{s} before CART-A", *(c.get((s, t), 0) for t in STATUSES)) for s in STATUSES
        )
        out.append(
            ReportTable(
                key=f"transition_{antigen.lower()}",
                group="antigen",
                title=f"{antigen} expression before CART-A by expression before CART-B",
                columns=("", *(f"{t} before CART-B" for t in STATUSES)),
                rows=rows,
                note=f"Patients with a sample at both time points: {sum(c.values())}.",
            )
        )
    return out


def antigen_tables(inp: CohortInputs) -> list[ReportTable]:
    out = [switch_response_table(inp)]
    for t in (rule_table(inp), sequence_table(inp), switch_reason_table(inp),
              modulation_table(inp)):
        if t is not None:
            out.append(t)
    return out + transition_tables(inp)
