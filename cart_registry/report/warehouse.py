"""Read the report's inputs from the warehouse views (DuckDB).

Every number comes from a view the warehouse defines (``endpoints.*`` for counts,
``adam.adtte`` for time-to-event rows, ``study.settings`` for the definitions the views were
built with); this module only selects and, for two small tables, groups. Who is counted is
decided once, in SQL. The exact relations and columns read are listed in ``READS`` so the
contract with the warehouse is visible in one place (and tested).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from cart_registry.errors import ProjectError

from .inputs import (
    CohortInputs,
    HsctAfterCR,
    MedianRange,
    PairedCounts,
    SwitchCounts,
    ToxicityCourse,
    ToxicityPaired,
)
from .model import TimeToEvent, TTEKind

if TYPE_CHECKING:
    import duckdb

#: relation -> columns read. Required relations must exist; the others fill optional tables.
READS: dict[str, tuple[str, ...]] = {
    "study.settings": ("settings_json", "settings_hash"),
    "endpoints.cohort_counts": (
        "screened", "cohort", "more_than_two", "distinct_constructs", "sites",
    ),
    "endpoints.age_at_cart_a": ("n", "median_years", "min_years", "max_years"),
    "endpoints.interval_a_b": ("n", "median_days", "min_days", "max_days"),
    "endpoints.antigen_switch": ("rule", "n_different", "n_sets_differ", "n_disjoint"),
    "endpoints.cr_paired": ("both", "a_only", "b_only", "neither"),
    "endpoints.cr_by_switch": ("cart_b_response", "n_different_antigen", "n_same_antigen"),
    "endpoints.relapse_after_cr": ("course_label", "n_cr", "n_relapsed"),
    "endpoints.relapse_phenotype": ("course_label", "phenotype", "n"),
    "adam.adtte": ("PARAMCD", "AVAL", "CNSR", "EVENTTYP", "STARTORG"),
    "endpoints.toxicity_paired": ("tox_type", "measure", "both", "a_only", "b_only", "neither"),
    "endpoints.toxicity_by_course": (
        "course_label", "tox_type", "basis", "grading_scale", "n_courses", "n_any_grade",
        "n_grade_3_plus", "n_not_recomputable", "n_approximate",
    ),
    "endpoints.switch_reason": ("cart_a_antigen_before_b", "n"),
    "endpoints.antigen_modulation": ("antigen", "timepoint", "status", "n"),
    "endpoints.response_by_course": (
        "course_label", "n", "n_cr", "best_cr_mrd_neg", "best_cr_mrd_pos_or_unknown", "best_cri",
        "best_pr", "best_nr", "best_pd", "best_ne", "no_assessment",
    ),
    "endpoints.interval_therapy": ("therapy", "n_patients"),
    "endpoints.hsct_after_cart_b_cr": (
        "n_cr", "n_hsct", "n_hsct_before_relapse", "median_cr_to_hsct_days",
        "min_cr_to_hsct_days", "max_cr_to_hsct_days",
    ),
    "endpoints.status_by_constructs": ("constructs", "status", "n"),
    "derived.cart_ab": ("cart_a_targets", "cart_b_targets"),
    "derived.antigen_status": ("antigen", "status_pre_a", "status_pre_b"),
}
REQUIRED = (
    "study.settings",
    "endpoints.cohort_counts",
    "endpoints.age_at_cart_a",
    "endpoints.interval_a_b",
    "endpoints.antigen_switch",
    "endpoints.cr_paired",
    "endpoints.cr_by_switch",
    "endpoints.relapse_after_cr",
    "endpoints.relapse_phenotype",
    "adam.adtte",
)

#: ADTTE parameters the report uses: kind, label, event, competing event
TTE_PARAMS: dict[str, tuple[TTEKind, str, str, str | None]] = {
    "RFSB": ("km", "RFS after CART-B CR", "relapse or death", None),
    "OSB": ("km", "Overall survival from CART-B infusion", "death", None),
    "CIRB": ("competing", "Relapse after CART-B CR", "relapse", "death without relapse"),
}
ORIGINS = {"cr_date": "CART-B CR", "infusion_date": "CART-B infusion"}
#: the origin a parameter has by definition, used when it has no rows to say
DEFAULT_ORIGIN = {"RFSB": "cr_date", "OSB": "infusion_date", "CIRB": "cr_date"}


def relation_columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """Every table and view of the default catalog with its (lower-cased) columns."""
    rows = con.execute(
        "SELECT schema_name || '.' || table_name, lower(column_name) FROM duckdb_columns() "
        "WHERE database_name = current_database()"
    ).fetchall()
    out: dict[str, set[str]] = {}
    for rel, col in rows:
        out.setdefault(str(rel), set()).add(str(col))
    return out


def check_contract(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str]]:
    """(problems with required relations, problems with optional ones), one line each."""
    have = relation_columns(con)
    hard: list[str] = []
    soft: list[str] = []
    for rel, cols in READS.items():
        target = hard if rel in REQUIRED else soft
        if rel not in have:
            target.append(f"{rel} does not exist")
            continue
        lacking = [c for c in cols if c.lower() not in have[rel]]
        if lacking:
            target.append(f"{rel} lacks column(s) {', '.join(lacking)}")
    return hard, soft


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    row = con.execute(sql).fetchone()
    if row is None:
        raise ProjectError(f"warehouse query returned no row: {sql}")
    return tuple(row)


def _int(x: Any) -> int:
    return 0 if x is None else int(x)


def _opt_float(x: Any) -> float | None:
    return None if x is None else float(x)


def _median_range(row: tuple[Any, ...]) -> MedianRange:
    return MedianRange(_int(row[0]), _opt_float(row[1]), _opt_float(row[2]), _opt_float(row[3]))


def _tte(con: duckdb.DuckDBPyConnection) -> tuple[tuple[TimeToEvent, ...], list[str]]:
    """The three parameters as arrays, and a note per parameter with unusable rows."""
    rows = con.execute(
        # ordered by value, never by patient, so the arrays carry no identity
        "SELECT PARAMCD, AVAL, CNSR, EVENTTYP, STARTORG FROM adam.adtte "
        "WHERE PARAMCD IN ('RFSB', 'OSB', 'CIRB') ORDER BY PARAMCD, AVAL, CNSR, EVENTTYP"
    ).fetchall()
    # an end before the origin (or no time at all) is a data error the validation report
    # names; the estimate leaves such rows out and the report says how many
    bad: dict[str, int] = {}
    good = []
    for r in rows:
        if r[1] is None or float(r[1]) < 0:
            bad[str(r[0])] = bad.get(str(r[0]), 0) + 1
        else:
            good.append(r)
    rows = good
    notes = [
        f"{code}: {k} row(s) with a missing or negative time left out of the estimates "
        "(see the validation report)"
        for code, k in sorted(bad.items())
    ]
    out = []
    for code, (kind, label, event, competing) in TTE_PARAMS.items():
        mine = [r for r in rows if r[0] == code]
        # STARTORG follows the rfs_origin setting; all rows of a parameter share it
        origin_code = str(mine[0][4]) if mine else DEFAULT_ORIGIN[code]
        origin = ORIGINS.get(origin_code, origin_code)
        if kind == "km":
            # CNSR 0 is the event; any positive code (or a missing one) censors
            status = tuple(1 if r[2] is not None and int(r[2]) == 0 else 0 for r in mine)
        else:
            status = tuple(_int(r[3]) for r in mine)
        out.append(
            TimeToEvent(
                paramcd=code,
                label=label,
                origin=origin,
                kind=kind,
                time_days=tuple(float(r[1]) for r in mine),
                status=status,
                event_label=event,
                competing_label=competing,
            )
        )
    return tuple(out), notes


def read_settings(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, Any], str]:
    """The study settings the views were built with, and their hash."""
    from cart_registry.settings import StudySettings

    settings_json, digest = _one(con, "SELECT settings_json, settings_hash FROM study.settings")
    raw = dict(json.loads(settings_json))
    # the JSON is key-sorted; show the settings in the order the study file declares them
    order = list(StudySettings.model_fields)
    keys = sorted(raw, key=lambda k: (order.index(k) if k in order else len(order), k))
    return {k: raw[k] for k in keys}, str(digest)


def read_cohort_inputs(con: duckdb.DuckDBPyConnection) -> CohortInputs:
    """Read every input; raise ``ProjectError`` naming what is missing when a required view
    or column is absent, and list absent optional ones in ``missing``."""
    hard, soft = check_contract(con)
    if hard:
        raise ProjectError(
            "the warehouse lacks what the endpoint report reads: " + "; ".join(hard),
            hint="build the views with 'cart-registry load' (or 'run') first",
        )
    screened, cohort, gt2, distinct, sites = _one(
        con,
        "SELECT screened, cohort, more_than_two, distinct_constructs, sites "
        "FROM endpoints.cohort_counts",
    )
    age = _median_range(
        _one(con, "SELECT n, median_years, min_years, max_years FROM endpoints.age_at_cart_a")
    )
    interval = _median_range(
        _one(con, "SELECT n, median_days, min_days, max_days FROM endpoints.interval_a_b")
    )
    rule, n_diff, n_sets, n_disj = _one(
        con, "SELECT rule, n_different, n_sets_differ, n_disjoint FROM endpoints.antigen_switch"
    )
    paired = PairedCounts(*(_int(x) for x in _one(
        con, 'SELECT "both", a_only, b_only, neither FROM endpoints.cr_paired')))
    by_resp = {
        str(r[0]): (_int(r[1]), _int(r[2]))
        for r in con.execute(
            "SELECT cart_b_response, n_different_antigen, n_same_antigen "
            "FROM endpoints.cr_by_switch"
        ).fetchall()
    }
    cr_d, cr_s = by_resp.get("cr", (0, 0))
    no_d, no_s = by_resp.get("not_cr", (0, 0))
    rel = con.execute(
        "SELECT n_cr, n_relapsed FROM endpoints.relapse_after_cr WHERE course_label = 'B'"
    ).fetchone()
    phen = {
        str(p): _int(n)
        for p, n in con.execute(
            "SELECT phenotype, n FROM endpoints.relapse_phenotype WHERE course_label = 'B'"
        ).fetchall()
    }
    optional = _read_optional(con, {s.split(" ")[0] for s in soft})
    tte, tte_notes = _tte(con)
    return CohortInputs(
        n_screened=_int(screened),
        n_cohort=_int(cohort),
        n_more_than_two=_int(gt2),
        n_distinct_constructs=_int(distinct),
        n_sites=_int(sites) or None,
        age_at_a_years=age,
        interval_ab_days=interval,
        antigen_rule=str(rule),
        n_different=_int(n_diff),
        n_sets_differ=None if n_sets is None else int(n_sets),
        n_disjoint=None if n_disj is None else int(n_disj),
        cr_paired=paired,
        switch=SwitchCounts(cr_d, no_d, cr_s, no_s),
        # a cohort without CART-B responders has no 'B' row
        n_cr_b=_int(rel[0]) if rel else paired.b,
        n_relapsed_b=_int(rel[1]) if rel else 0,
        phenotype_b=phen,
        time_to_event=tte,
        missing=(*(f"view {s}" for s in soft), *tte_notes),
        **optional,
    )


def _read_optional(con: duckdb.DuckDBPyConnection, absent: set[str]) -> dict[str, Any]:
    """The optional tables' inputs; a relation in ``absent`` leaves its input empty."""
    out: dict[str, Any] = {}
    if "endpoints.toxicity_paired" not in absent:
        out["toxicity_paired"] = tuple(
            ToxicityPaired(str(t), str(m), PairedCounts(*(_int(x) for x in rest)))
            for t, m, *rest in con.execute(
                'SELECT tox_type, measure, "both", a_only, b_only, neither '
                "FROM endpoints.toxicity_paired ORDER BY tox_type, measure"
            ).fetchall()
        )
    if "endpoints.toxicity_by_course" not in absent:
        out["toxicity_course"] = tuple(
            ToxicityCourse(str(c), str(t), str(b), str(s), _int(n), _int(a), _int(g3),
                           None if nr is None else int(nr), None if ap is None else int(ap))
            for c, t, b, s, n, a, g3, nr, ap in con.execute(
                "SELECT course_label, tox_type, basis, coalesce(grading_scale, 'unknown'), "
                "n_courses, n_any_grade, n_grade_3_plus, n_not_recomputable, n_approximate "
                "FROM endpoints.toxicity_by_course WHERE course_label IN ('A', 'B') "
                "ORDER BY ALL"
            ).fetchall()
        )
    if "derived.cart_ab" not in absent:
        out["target_sequences"] = tuple(
            (str(a), str(b), _int(n))
            for a, b, n in con.execute(
                "SELECT coalesce(array_to_string(cart_a_targets, '+'), 'unknown'), "
                "coalesce(array_to_string(cart_b_targets, '+'), 'unknown'), count(*) "
                "FROM derived.cart_ab GROUP BY ALL ORDER BY ALL"
            ).fetchall()
        )
    if "endpoints.switch_reason" not in absent:
        out["switch_reason"] = {
            str(s): _int(n)
            for s, n in con.execute(
                "SELECT cart_a_antigen_before_b, n FROM endpoints.switch_reason"
            ).fetchall()
        }
    if "endpoints.antigen_modulation" not in absent:
        out["antigen_status"] = tuple(
            (str(a), str(t), str(s), _int(n))
            for a, t, s, n in con.execute(
                "SELECT antigen, timepoint, status, n FROM endpoints.antigen_modulation "
                "ORDER BY ALL"
            ).fetchall()
        )
    if "derived.antigen_status" not in absent:
        out["antigen_transitions"] = tuple(
            (str(a), str(x), str(y), _int(n))
            for a, x, y, n in con.execute(
                "SELECT antigen, coalesce(status_pre_a, 'not_measured'), "
                "coalesce(status_pre_b, 'not_measured'), count(*) "
                "FROM derived.antigen_status GROUP BY ALL ORDER BY ALL"
            ).fetchall()
        )
    out.update(_read_secondary(con, absent))
    return out


def _read_secondary(con: duckdb.DuckDBPyConnection, absent: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "endpoints.response_by_course" not in absent:
        cats = READS["endpoints.response_by_course"][1:]
        rows = con.execute(
            f"SELECT course_label, {', '.join(cats)} FROM endpoints.response_by_course "
            "WHERE course_label IN ('A', 'B') ORDER BY course_label"
        ).fetchall()
        out["best_response"] = tuple(
            (str(r[0]), "cr" if c == "n_cr" else c.removeprefix("best_"), _int(v))
            for r in rows
            for c, v in zip(cats, r[1:], strict=True)
        )
    if "endpoints.interval_therapy" not in absent:
        out["interval_therapy"] = tuple(
            (str(t), _int(n))
            for t, n in con.execute(
                "SELECT therapy, n_patients FROM endpoints.interval_therapy ORDER BY ALL"
            ).fetchall()
        )
    if "endpoints.hsct_after_cart_b_cr" not in absent:
        h = _one(con, "SELECT " + ", ".join(READS["endpoints.hsct_after_cart_b_cr"])
                 + " FROM endpoints.hsct_after_cart_b_cr")
        out["hsct_after_cr_b"] = HsctAfterCR(
            _int(h[0]), _int(h[1]), _int(h[2]),
            _median_range((_int(h[1]), h[3], h[4], h[5])),
        )
    if "endpoints.status_by_constructs" not in absent:
        out["status_by_constructs"] = tuple(
            (str(g), str(st), _int(n))
            for g, st, n in con.execute(
                "SELECT constructs, status, n FROM endpoints.status_by_constructs ORDER BY ALL"
            ).fetchall()
        )
    return out
