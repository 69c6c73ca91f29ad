"""The report's sections, computed in SQL over the run's workspace.

Issue records (nested, in the shape of the proposed issue record of validation.md section 7),
the flat query-list rows, resolved issues, per-site scorecards, the Kahn matrix, critical-field
error rates (CIBMTR: share of critical data items in error; pass at 3% or less), the top issues
and the ledger. Each function returns plain dicts; masking was done by ``display_sql``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from cart_registry.standard import Standard
from cart_registry.validation.conformance import lit, q
from cart_registry.validation.runner import RuleResult

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

#: CIBMTR audit pass criterion for the critical-field error rate
CRITICAL_RATE_PASS_PCT = 3.0

ISSUE_RECORD_SQL = """
SELECT {
  'issue_fingerprint': fingerprint,
  'site_id': site_id,
  'submission_id': submission_id,
  'rule': {'id': rule_id, 'version': rule_version, 'severity': severity,
           'kahn_category': kahn_category, 'kahn_subcategory': kahn_subcategory,
           'kahn_context': kahn_context, 'critical_field': critical OR critical_column,
           'endpoints': endpoints},
  'status_vs_previous': status_vs_previous,
  'waiver': CASE WHEN waived THEN {'reason': waiver_reason, 'responder': waiver_responder,
                                   'expires_on': CAST(waiver_expires_on AS VARCHAR)} END,
  'patient': patient_display,
  'source': {
    'format': source_format, 'file': source_file, 'file_sha256': source_sha256,
    'row': source_row, 'record_id': record_id_display,
    'redcap_event_name': redcap_event_name,
    'redcap_repeat_instrument': redcap_repeat_instrument,
    'redcap_repeat_instance': redcap_repeat_instance,
    'field': source_field,
    'fhir': {'resource_type': fhir_resource_type, 'id': fhir_id_display,
             'expression': CASE WHEN fhir_resource_type IS NOT NULL THEN source_field END,
             'ndjson_line': CASE WHEN fhir_resource_type IS NOT NULL
                                  AND coalesce(source_format, '') <> 'fhir_bundle' THEN source_row END}
  },
  'canonical': {'table': target_table, 'column': target_column, 'record_key': record_display,
                'mapping_rule': mapping_rule},
  'value_display': value_display,
  'expected': expected_display,
  'detail': detail_display,
  'message': message,
  'fix_hint': fix_hint
} AS issue
FROM dq_issue_display
"""

#: columns of queries_<site>.csv; the last five are for the site to fill in
QUERY_COLUMNS = (
    "issue_fingerprint", "site_id", "submission_id", "rule_id", "severity",
    "status_vs_previous", "patient_id", "source_file", "source_row", "record_id",
    "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
    "fhir_resource", "source_field", "canonical_table", "canonical_column", "mapping_rule",
    "value", "expected", "message", "fix_hint", "waiver_expires_on",
    "site_response", "resolution", "responder", "response_date",
)
RESOLUTIONS = ("corrected", "confirmed_as_is", "not_available", "disagree")

QUERY_ROWS_SQL = """
SELECT fingerprint AS issue_fingerprint, site_id, submission_id, rule_id, severity,
       status_vs_previous, patient_display AS patient_id, source_file, source_row,
       record_id_display AS record_id, redcap_event_name, redcap_repeat_instrument,
       redcap_repeat_instance,
       CASE WHEN fhir_resource_type IS NOT NULL THEN fhir_resource_type || '/' || fhir_id_display END AS fhir_resource,
       source_field, target_table AS canonical_table, target_column AS canonical_column,
       mapping_rule, value_display AS value, expected_display AS expected, message, fix_hint,
       CAST(waiver_expires_on AS VARCHAR) AS waiver_expires_on,
       CAST(NULL AS VARCHAR) AS site_response, CAST(NULL AS VARCHAR) AS resolution,
       CAST(NULL AS VARCHAR) AS responder, CAST(NULL AS VARCHAR) AS response_date
FROM dq_issue_display
"""


def issue_records(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    tbl = con.sql(ISSUE_RECORD_SQL).to_arrow_table()
    return list(tbl.column("issue").to_pylist())


def query_rows(con: duckdb.DuckDBPyConnection) -> pa.Table:
    return con.sql(QUERY_ROWS_SQL).to_arrow_table()


def resolved_records(
    con: duckdb.DuckDBPyConnection, audience: str, salt: str, rule_ids: list[str]
) -> list[dict[str, Any]]:
    """Issues of the previous submission that this one no longer has."""
    from cart_registry.validation.issues import _pseudo

    cc = audience == "coordinating_center"
    patient = _pseudo("p.patient_id", "pt-", salt) if cc else "p.patient_id"
    key = _pseudo("p.record_key", "rec-", salt) if cc else "p.record_key"
    con.register("__rules_run", _ids_table(rule_ids))
    rows = con.sql(
        f"""
        SELECT {{'issue_fingerprint': p.fingerprint, 'site_id': p.site_id,
                 'previous_submission_id': p.submission_id, 'rule_id': p.rule_id,
                 'severity': p.severity, 'status_vs_previous': 'resolved', 'patient': {patient},
                 'canonical': {{'table': p.target_table, 'column': p.target_column,
                                'record_key': {key}}},
                 'source': {{'file': p.source_file, 'row': p.source_row, 'field': p.source_field}}
               }} AS r
        FROM dq_prev_issue p
        WHERE p.rule_id IN (SELECT rule_id FROM __rules_run)
          AND NOT EXISTS (SELECT 1 FROM dq_issue i WHERE i.site_id = p.site_id
                          AND i.fingerprint = p.fingerprint)
        ORDER BY p.site_id, p.rule_id, p.fingerprint
        """
    ).to_arrow_table()
    con.unregister("__rules_run")
    return list(rows.column("r").to_pylist())


def _ids_table(ids: list[str]) -> pa.Table:
    import pyarrow as pa

    return pa.table({"rule_id": pa.array(ids, pa.string())})


def critical_rates(con: duckdb.DuckDBPyConnection, standard: Standard) -> list[dict[str, Any]]:
    """Per site and table ("form"): critical items in error / critical items submitted."""
    parts = []
    for t in standard:
        n_crit = sum(1 for c in t.business_columns if c.critical)
        if not n_crit or "site_id" not in t.column_names or t.name == "car_construct":
            continue
        parts.append(
            f"SELECT site_id, {lit(t.name)} AS target_table, count(*) * {n_crit} AS items "
            f"FROM {q(t.name)} GROUP BY site_id"
        )
    sql = f"""
    WITH items AS ({' UNION ALL '.join(parts)}),
    err AS (
      SELECT site_id, target_table, count(DISTINCT fingerprint) AS errors FROM dq_issue
      WHERE critical_column AND severity IN ('fatal', 'error') AND NOT waived GROUP BY ALL
    ), per_table AS (
      SELECT r.site_id, i.target_table, coalesce(i.items, 0) AS items, coalesce(e.errors, 0) AS errors
      FROM dq_run_site r JOIN items i USING (site_id)
      LEFT JOIN err e USING (site_id, target_table)
    )
    SELECT site_id, target_table, items, errors FROM per_table
    UNION ALL
    SELECT site_id, '(all)', sum(items), sum(errors) FROM per_table GROUP BY site_id
    ORDER BY site_id, target_table = '(all)', target_table
    """
    out = []
    for site, table, items, errors in con.execute(sql).fetchall():
        pct = round(100.0 * errors / items, 3) if items else None
        out.append({
            "site_id": site, "table": table, "items": int(items), "errors": int(errors),
            "pct": pct, "pass": pct is None or pct <= CRITICAL_RATE_PASS_PCT,
        })
    return out


def site_scorecards(
    con: duckdb.DuckDBPyConnection,
    results: list[RuleResult],
    sites: list[tuple[str, str]],
    previous: dict[str, str | None],
    resolved: list[dict[str, Any]],
    rates: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    patients = dict(con.execute("SELECT site_id, count(*) FROM patient GROUP BY site_id").fetchall())
    by_sev: dict[str, dict[str, int]] = defaultdict(dict)
    by_change: dict[str, dict[str, int]] = defaultdict(dict)
    for site, sev, change, n in con.execute(
        "SELECT site_id, severity, status_vs_previous, count(*) FROM dq_issue GROUP BY ALL"
    ).fetchall():
        if change != "waived":
            by_sev[site][sev] = by_sev[site].get(sev, 0) + int(n)
        by_change[site][change] = by_change[site].get(change, 0) + int(n)
    impact: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for site, ep, n, npat in con.execute(
        "SELECT site_id, ep, count(*), count(DISTINCT patient_id) FROM "
        "(SELECT site_id, patient_id, unnest(endpoints) AS ep FROM dq_issue "
        " WHERE severity IN ('fatal', 'error') AND NOT waived) GROUP BY ALL ORDER BY 1, 3 DESC, 2"
    ).fetchall():
        impact[site].append({"endpoint": ep, "issues": int(n), "patients": int(npat)})
    n_resolved: dict[str, int] = defaultdict(int)
    for r in resolved:
        n_resolved[r["site_id"]] += 1
    overall = {r["site_id"]: r for r in rates if r["table"] == "(all)"}
    out = []
    for site, sub in sites:
        failed = dict.fromkeys(("fatal", "error", "warning", "info"), 0)
        evaluated = 0
        for res in results:
            if res.site_id != site:
                continue
            evaluated += res.status in ("pass", "fail")
            if res.status == "fail":
                failed[res.severity] += 1
        rate = overall.get(site)
        out.append({
            "site_id": site,
            "submission_id": sub,
            "previous_submission_id": previous.get(site),
            "status": "failed" if failed["fatal"] or failed["error"] else "passed",
            "patients": int(patients.get(site, 0)),
            "rules_evaluated": evaluated,
            "rules_failed": failed,
            "issues_by_severity": {s: by_sev[site].get(s, 0) for s in failed},
            "issues": {
                "new": by_change[site].get("new", 0),
                "persisting": by_change[site].get("persisting", 0),
                "resolved": n_resolved.get(site, 0),
                "waived": by_change[site].get("waived", 0),
            },
            "critical_field_error_rate": None if rate is None else {
                "items": rate["items"], "errors": rate["errors"], "pct": rate["pct"],
                "pass": rate["pass"],
            },
            "endpoint_impact": impact.get(site, []),
        })
    return out


def suppress_scorecards(cards: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """Coordinating-centre copy: counts of 1..k replaced by '1-10' (and their percentages)."""
    from cart_registry.validation.report import SUPPRESSED, suppress

    out = []
    for c in cards:
        c = dict(c)
        c["patients"] = suppress(c["patients"], k)
        c["issues_by_severity"] = {s: suppress(n, k) for s, n in c["issues_by_severity"].items()}
        c["issues"] = {s: suppress(n, k) for s, n in c["issues"].items()}
        rate = c["critical_field_error_rate"]
        if rate is not None:
            rate = dict(rate, items=suppress(rate["items"], k), errors=suppress(rate["errors"], k))
            if SUPPRESSED in (rate["items"], rate["errors"]):
                rate["pct"] = None
            c["critical_field_error_rate"] = rate
        c["endpoint_impact"] = [
            dict(e, issues=suppress(e["issues"], k), patients=suppress(e["patients"], k))
            for e in c["endpoint_impact"]
        ]
        out.append(c)
    return out


def suppress_rates(rates: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    from cart_registry.validation.report import SUPPRESSED, suppress

    out = []
    for r in rates:
        r = dict(r, items=suppress(r["items"], k), errors=suppress(r["errors"], k))
        if SUPPRESSED in (r["items"], r["errors"]):
            r["pct"] = None
        out.append(r)
    return out


def kahn_matrix(results: list[RuleResult], rules: dict[str, Any]) -> list[dict[str, Any]]:
    """DQD overview: category x context, passed / failed / n.a. / error over all sites."""
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for cat in ("conformance", "completeness", "plausibility", "total"):
        for ctx in ("verification", "validation", "total"):
            cells[(cat, ctx)] = dict.fromkeys(("pass", "fail", "not_applicable", "error"), 0)
    for r in results:
        rule = rules[r.rule_id]
        for cat in (rule.category, "total"):
            for ctx in (rule.context, "total"):
                cells[(cat, ctx)][r.status] += 1
    out = []
    for (cat, ctx), c in cells.items():
        decided = c["pass"] + c["fail"]
        out.append({
            "category": cat, "context": ctx, "passed": c["pass"], "failed": c["fail"],
            "not_applicable": c["not_applicable"], "error": c["error"],
            "total": decided + c["not_applicable"] + c["error"],
            "pct_passing": round(100.0 * c["pass"] / decided, 1) if decided else None,
        })
    return out


def top_issues(con: duckdb.DuckDBPyConnection, limit: int = 10) -> list[dict[str, Any]]:
    rows = con.execute(
        f"""
        SELECT i.rule_id, any_value(i.severity), count(*), count(DISTINCT i.site_id),
               arg_min(i.message, i.fingerprint), arg_min(i.fix_hint, i.fingerprint)
        FROM dq_issue_display i
        WHERE NOT i.waived
        GROUP BY i.rule_id
        ORDER BY CASE any_value(i.severity) WHEN 'fatal' THEN 0 WHEN 'error' THEN 1
                 WHEN 'warning' THEN 2 ELSE 3 END, count(*) DESC, i.rule_id
        LIMIT {int(limit)}
        """
    ).fetchall()
    return [
        {"rule_id": r, "severity": s, "issues": int(n), "sites": int(ns), "example": ex,
         "fix_hint": hint}
        for r, s, n, ns, ex, hint in rows
    ]


def ledger_rows(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cols = ["site_id", "submission_id", "source_file", "sha256", "rows_read", "rows_mapped",
            "rows_quarantined", "rows_ignored"]
    rows = con.execute(
        f"SELECT {', '.join(cols)}, rows_read = rows_mapped + rows_quarantined + rows_ignored "
        "FROM dq_ledger ORDER BY site_id, source_file"
    ).fetchall()
    return [dict(zip([*cols, "balanced"], r, strict=True)) for r in rows]
