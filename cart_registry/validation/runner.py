"""Run the catalog's rules in a workspace; count, threshold and assign a status per rule and site.

A rule's SQL returns only its violating rows (style anchor R6). The runner owns the rest:
numerator (violations not waived), denominator (from the rule's structured ``denominator``),
percentage and the DQD status, mutually exclusive in this priority order:

* ``error``: the rule's SQL raised (the message is kept; the other rules still run);
* ``not_applicable``: nothing to check at this site (zero denominator and no violation, or a
  table the rule needs is empty in the whole run);
* ``fail``: the violations exceed the rule's threshold;
* ``pass``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from cart_registry.validation.catalog import Denominator, Rule
from cart_registry.validation.conformance import INGEST_COLUMNS, lit, q
from cart_registry.validation.issues import VIOLATION_DDL

if TYPE_CHECKING:
    import duckdb

#: every rule's SQL returns exactly these columns (ingest rules add ``INGEST_COLUMNS``)
VIOLATION_COLUMNS = (
    "site_id", "patient_id", "target_table", "target_column", "record_key", "value",
    "expected", "detail",
)
STATUSES = ("pass", "fail", "not_applicable", "error")


@dataclass(frozen=True)
class RuleRun:
    rule_id: str
    error: str | None
    seconds: float


@dataclass(frozen=True)
class RuleResult:
    rule_id: str
    rule_version: int
    site_id: str
    submission_id: str
    severity: str
    status: str
    num_violated: int
    num_waived: int
    num_denominator: int
    pct_violated: float | None
    threshold_count: int | None
    threshold_pct: float | None
    not_applicable_reason: str | None
    error_message: str | None
    execution_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _strip(sql: str) -> str:
    return sql.strip().rstrip(";").strip()


def rule_select_sql(rule: Rule) -> str:
    """The rule's SQL wrapped into the ``dq_violation`` column order."""
    cols = [f"CAST({q(c)} AS VARCHAR)" for c in VIOLATION_COLUMNS]
    if rule.kind == "ingest":
        extra = [
            f"CAST({q(c)} AS BIGINT)" if c == "source_row" else f"CAST({q(c)} AS VARCHAR)"
            for c in INGEST_COLUMNS
        ]
    else:
        extra = ["CAST(NULL AS BIGINT)" if c == "source_row" else "CAST(NULL AS VARCHAR)"
                 for c in INGEST_COLUMNS]
    return (
        f"SELECT {lit(rule.id)} AS rule_id, {', '.join(cols + extra)}\n"
        f"FROM (\n{_strip(rule.sql)}\n) AS violations"
    )


def rule_table(rules: list[Rule]) -> pa.Table:
    return pa.table(
        {
            "rule_id": [r.id for r in rules],
            "rule_version": [r.version for r in rules],
            "kind": [r.kind for r in rules],
            "severity": [r.severity for r in rules],
            "kahn_category": [r.category for r in rules],
            "kahn_subcategory": [r.subcategory for r in rules],
            "kahn_context": [r.context for r in rules],
            "critical": [r.critical for r in rules],
            "endpoints": [list(r.endpoints) for r in rules],
            "message": [r.message for r in rules],
            "fix_hint": [r.fix_hint for r in rules],
        },
        schema=pa.schema(
            [("rule_id", pa.string()), ("rule_version", pa.int64()), ("kind", pa.string()),
             ("severity", pa.string()), ("kahn_category", pa.string()),
             ("kahn_subcategory", pa.string()), ("kahn_context", pa.string()),
             ("critical", pa.bool_()), ("endpoints", pa.list_(pa.string())),
             ("message", pa.string()), ("fix_hint", pa.string())]
        ),
    )


def run_rules(con: duckdb.DuckDBPyConnection, rules: list[Rule]) -> dict[str, RuleRun]:
    """Insert every rule's violations into ``dq_violation``; a failing rule is recorded."""
    con.execute(VIOLATION_DDL)
    con.register("__dq_rule", rule_table(rules))
    con.execute("CREATE OR REPLACE TEMP TABLE dq_rule AS SELECT * FROM __dq_rule")
    con.unregister("__dq_rule")
    runs: dict[str, RuleRun] = {}
    for rule in rules:
        t0 = time.perf_counter()
        error = None
        try:
            con.execute(f"INSERT INTO dq_violation {rule_select_sql(rule)}")
        except Exception as exc:  # any SQL failure is this rule's 'error' status, not the run's
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        runs[rule.id] = RuleRun(rule.id, error, time.perf_counter() - t0)
    return runs


def denominator_sql(d: Denominator) -> str:
    if d.kind == "patients":
        return "SELECT site_id, count(*) AS n FROM patient GROUP BY site_id"
    if d.kind == "source_rows":
        return "SELECT site_id, sum(rows_read) AS n FROM dq_ledger GROUP BY site_id"
    if d.kind == "sites":
        return "SELECT site_id, 1 AS n FROM dq_run_site"
    where = ""
    if d.column is not None and d.values is None:
        where = f" WHERE {q(d.column)} IS NOT NULL"
    elif d.column is not None:
        where = f" WHERE {q(d.column)} IN (" + ", ".join(lit(v) for v in d.values or ()) + ")"
    return f"SELECT site_id, count(*) AS n FROM {q(d.table or 'patient')}{where} GROUP BY site_id"


def _table_rows(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, int]:
    out = {}
    for t in sorted(tables):
        rows = con.execute(f"SELECT count(*) FROM {q(t)}").fetchall()
        out[t] = int(rows[0][0]) if rows else 0
    return out


def compute_results(
    con: duckdb.DuckDBPyConnection,
    rules: list[Rule],
    runs: dict[str, RuleRun],
    sites: list[tuple[str, str]],
) -> list[RuleResult]:
    """One result per rule and validated site, from ``dq_issue`` (after waivers)."""
    counts: dict[tuple[str, str], tuple[int, int]] = {
        (r, s): (int(n), int(w))
        for r, s, n, w in con.execute(
            "SELECT rule_id, site_id, count(*) FILTER (WHERE NOT waived), "
            "count(*) FILTER (WHERE waived) FROM dq_issue GROUP BY rule_id, site_id"
        ).fetchall()
    }
    denominators: dict[str, dict[str, int]] = {}
    for rule in rules:
        sql = denominator_sql(rule.denominator)
        if sql not in denominators:
            try:
                denominators[sql] = {s: int(n or 0) for s, n in con.execute(sql).fetchall()}
            except Exception:  # a broken denominator leaves the percentage unknown
                denominators[sql] = {}
    table_rows = _table_rows(con, {t for r in rules for t in r.requires_tables})
    out: list[RuleResult] = []
    for rule in rules:
        run = runs.get(rule.id)
        den_by_site = denominators[denominator_sql(rule.denominator)]
        empty = [t for t in rule.requires_tables if table_rows.get(t, 0) == 0]
        for site_id, submission_id in sites:
            num, waived = counts.get((rule.id, site_id), (0, 0))
            den = den_by_site.get(site_id, 0)
            pct = round(100.0 * num / den, 4) if den else None
            reason = None
            if run is not None and run.error:
                status = "error"
            elif empty and num == 0:
                status, reason = "not_applicable", f"table(s) {', '.join(empty)} empty"
            elif den == 0 and num == 0 and waived == 0:
                status, reason = "not_applicable", "nothing to check at this site"
            elif rule.threshold.exceeded(num, pct):
                status = "fail"
            else:
                status = "pass"
            out.append(
                RuleResult(
                    rule_id=rule.id, rule_version=rule.version, site_id=site_id,
                    submission_id=submission_id, severity=rule.severity, status=status,
                    num_violated=num, num_waived=waived, num_denominator=den, pct_violated=pct,
                    threshold_count=rule.threshold.count, threshold_pct=rule.threshold.pct,
                    not_applicable_reason=reason,
                    error_message=run.error if run is not None else None,
                    execution_seconds=round(run.seconds, 4) if run is not None else 0.0,
                )
            )
    return out
