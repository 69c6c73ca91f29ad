"""Conformance rules generated from the standard, and the SQL that runs them.

Every declared constraint of ``schemas/*.yaml`` becomes one rule with a deterministic id
``<table>.<column>.<check>`` (DQD ``getCheckId``): ``not_null``, ``in_value_set``,
``in_range``, ``pattern``, ``sorted_set``; plus ``<table>.primary_key.unique`` and
``<table>.<column>.foreign_key``. The SQL is plain DuckDB over the canonical tables and
returns the violating rows in the shape every rule returns (see ``runner.VIOLATION_COLUMNS``).
Ingest ran pandera already, so on a clean pipeline these find nothing; they are the safety
net for any canonical data (hand-made, FHIR, older submissions) and cost milliseconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cart_registry.standard import Column, ColumnType, Standard, Table

if TYPE_CHECKING:
    from cart_registry.validation.catalog import Rule, _GeneratedSpec

#: checks generated per column, with their Kahn tags (category, subcategory)
_KAHN: dict[str, tuple[str, str | None]] = {
    "not_null": ("completeness", None),
    "in_value_set": ("conformance", "value"),
    "in_range": ("conformance", "value"),
    "pattern": ("conformance", "value"),
    "sorted_set": ("conformance", "value"),
    "primary_key": ("conformance", "relational"),
    "foreign_key": ("conformance", "relational"),
    "column_empty_at_site": ("completeness", None),
}


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def key_expr(table: Table, alias: str = "") -> str:
    """The record key of a row: its primary key as text (composite keys joined by '|')."""
    pre = f"{alias}." if alias else ""
    parts = [f"CAST({pre}{q(k)} AS VARCHAR)" for k in table.primary_key]
    return parts[0] if len(parts) == 1 else "concat_ws('|', " + ", ".join(parts) + ")"


def patient_expr(table: Table, alias: str = "") -> str:
    pre = f"{alias}." if alias else ""
    return f"{pre}patient_id" if "patient_id" in table.column_names else "CAST(NULL AS VARCHAR)"


def _select(
    table: Table, column: str | None, value: str, expected: str, detail: str = "NULL",
    alias: str = "t",
) -> str:
    col = lit(column) if column else "CAST(NULL AS VARCHAR)"
    return (
        f"SELECT {alias}.site_id, {patient_expr(table, alias)} AS patient_id, "
        f"{lit(table.name)} AS target_table, {col} AS target_column, "
        f"{key_expr(table, alias)} AS record_key, CAST({value} AS VARCHAR) AS value, "
        f"CAST({expected} AS VARCHAR) AS expected, CAST({detail} AS VARCHAR) AS detail"
    )


def _values_list(col: Column) -> str:
    return "[" + ", ".join(lit(v) for v in col.values or ()) + "]"


def column_check_sql(table: Table, col: Column, check: str) -> str:
    c = f"t.{q(col.name)}"
    frm = f" FROM {q(table.name)} t WHERE "
    if check == "not_null":
        return _select(table, col.name, "NULL", "'a value'") + frm + f"{c} IS NULL"
    if check == "in_value_set" and col.type is ColumnType.LIST_STRING:
        vals = _values_list(col)
        return (
            _select(table, col.name, f"array_to_string({c}, ',')", lit("each of " + ", ".join(col.values or ())))
            + frm + f"{c} IS NOT NULL AND len(list_filter({c}, lambda x: NOT list_contains({vals}, x))) > 0"
        )
    if check == "in_value_set":
        return (
            _select(table, col.name, c, lit("one of " + ", ".join(col.values or ())))
            + frm + f"{c} IS NOT NULL AND NOT list_contains({_values_list(col)}, {c})"
        )
    if check == "in_range":
        conds, exp = [], []
        if col.min is not None:
            conds.append(f"{c} < {col.min!r}")
            exp.append(f">= {col.min:g}")
        if col.max is not None:
            conds.append(f"{c} > {col.max!r}")
            exp.append(f"<= {col.max:g}")
        return (
            _select(table, col.name, c, lit(" and ".join(exp)))
            + frm + f"{c} IS NOT NULL AND (" + " OR ".join(conds) + ")"
        )
    if check == "pattern":
        return (
            _select(table, col.name, c, lit(f"text matching {col.pattern}"))
            + frm + f"{c} IS NOT NULL AND NOT regexp_matches({c}, {lit(col.pattern or '')})"
        )
    if check == "sorted_set":
        return (
            _select(table, col.name, f"array_to_string({c}, ',')", "'a sorted list without repeats'")
            + frm + f"{c} IS NOT NULL AND (len({c}) = 0 OR {c} <> list_sort(list_distinct({c})))"
        )
    raise ValueError(f"unknown check {check}")


def primary_key_sql(table: Table) -> str:
    """One issue per duplicated key (not per row, so the fingerprint stays unique)."""
    keys = [q(k) for k in table.primary_key]
    group = ", ".join(["site_id"] + [k for k in keys if k != '"site_id"'])
    pat = "any_value(patient_id)" if "patient_id" in table.column_names else "CAST(NULL AS VARCHAR)"
    return (
        f"SELECT site_id, {pat} AS patient_id, {lit(table.name)} AS target_table, "
        f"{lit(table.primary_key[-1])} AS target_column, {key_expr(table)} AS record_key, "
        f"{key_expr(table)} AS value, 'a unique key' AS expected, "
        f"'key appears ' || count(*) || ' times' AS detail FROM {q(table.name)} "
        f"WHERE {' AND '.join(k + ' IS NOT NULL' for k in keys)} "
        f"GROUP BY {group} HAVING count(*) > 1"
    )


def foreign_key_sql(table: Table, cols: tuple[str, ...], parent: str, ref: tuple[str, ...]) -> str:
    not_null = " AND ".join(f"t.{q(c)} IS NOT NULL" for c in cols)
    match = " AND ".join(f"p.{q(r)} = t.{q(c)}" for c, r in zip(cols, ref, strict=True))
    value = f"t.{q(cols[0])}" if len(cols) == 1 else "concat_ws('|', " + ", ".join(f"t.{q(c)}" for c in cols) + ")"
    return (
        _select(table, cols[0], value, lit(f"a {parent} that exists"))
        + f" FROM {q(table.name)} t WHERE {not_null} AND NOT EXISTS "
        + f"(SELECT 1 FROM {q(parent)} p WHERE {match})"
    )


def column_empty_at_site_sql(standard: Standard, skip: list[str]) -> str:
    """Columns empty at one site but populated at another (GENIE QuAC check 35)."""
    parts = []
    for t in standard:
        if t.name in skip or "site_id" not in t.column_names:
            continue
        for c in t.business_columns:
            if not c.nullable or c.name in t.primary_key:
                continue
            parts.append(
                f"SELECT site_id, {lit(t.name)} AS tbl, {lit(c.name)} AS col, count(*) AS n, "
                f"count({q(c.name)}) AS nn FROM {q(t.name)} GROUP BY site_id"
            )
    body = "\nUNION ALL ".join(parts)
    return (
        f"WITH counts AS ({body}),\n"
        "elsewhere AS (SELECT tbl, col, count(*) FILTER (WHERE nn > 0) AS sites_populated "
        "FROM counts GROUP BY tbl, col)\n"
        "SELECT c.site_id, CAST(NULL AS VARCHAR) AS patient_id, c.tbl AS target_table, "
        "c.col AS target_column, CAST(NULL AS VARCHAR) AS record_key, CAST(NULL AS VARCHAR) AS value, "
        "'populated as at other sites' AS expected, "
        "'empty in all ' || c.n || ' rows here; populated at ' || e.sites_populated || ' other site(s)' AS detail "
        "FROM counts c JOIN elsewhere e USING (tbl, col) WHERE c.n > 0 AND c.nn = 0 AND e.sites_populated > 0"
    )


def _fill(template: str, **kw: str) -> str:
    # Only the generation-time placeholders are replaced; {value}, {expected} and {detail}
    # stay for the issue-time rendering in SQL.
    for k, v in kw.items():
        template = template.replace("{" + k + "}", v)
    return " ".join(template.split())


def generated_rules(
    standard: Standard, spec: _GeneratedSpec, table_endpoints: dict[str, list[str]]
) -> list[Rule]:
    from cart_registry.validation.catalog import Denominator, Rule, Threshold

    out: list[Rule] = []
    threshold = Threshold(0, None, spec.threshold_note)

    def add(
        rid: str, check: str, table: Table, columns: tuple[str, ...], sql: str, critical: bool,
        denom: Denominator, title: str, fmt: dict[str, str], requires: tuple[str, ...] = (),
    ) -> None:
        cat, sub = _KAHN[check]
        out.append(
            Rule(
                id=rid, version=spec.version, title=title, kind="conformance",
                category=cat,  # type: ignore[arg-type]
                subcategory=sub, context="verification", severity=spec.severity[check],
                threshold=threshold, message=_fill(spec.messages[check], **fmt),
                fix_hint=_fill(spec.fix_hints[check], **fmt), critical=critical,
                endpoints=tuple(table_endpoints.get(table.name, [])) if critical else (),
                refs=(), answer_key_tags=tuple(spec.answer_key_tags.get(check, [])),
                table=table.name, columns=columns, denominator=denom, sql=sql,
                requires_tables=requires,
            )
        )

    for t in standard:
        if t.name in spec.skip_tables:
            continue
        for c in t.business_columns:
            fmt = {
                "table": t.name, "column": c.name,
                "values": ", ".join(c.values or ()),
                "min": "" if c.min is None else f"{c.min:g}",
                "max": "" if c.max is None else f"{c.max:g}",
                "pattern": c.pattern or "",
            }
            checks = []
            if not c.nullable:
                checks.append("not_null")
            if c.values is not None:
                checks.append("in_value_set")
            if c.min is not None or c.max is not None:
                checks.append("in_range")
            if c.pattern is not None:
                checks.append("pattern")
            if c.sorted_set:
                checks.append("sorted_set")
            for check in checks:
                denom = Denominator("table", t.name) if check == "not_null" else Denominator(
                    "table", t.name, c.name, None
                )
                add(
                    f"{t.name}.{c.name}.{check}", check, t, (c.name,),
                    column_check_sql(t, c, check), c.critical, denom,
                    f"{t.name}.{c.name}: {check.replace('_', ' ')}", fmt,
                )
        if t.primary_key:
            add(
                f"{t.name}.primary_key.unique", "primary_key", t, t.primary_key,
                primary_key_sql(t), True, Denominator("table", t.name),
                f"{t.name}: primary key unique",
                {"table": t.name, "column": ", ".join(t.primary_key)},
            )
        for fk in t.foreign_keys:
            if fk.references in spec.skip_tables and fk.references != "car_construct":
                continue
            name = "+".join(fk.columns)
            add(
                f"{t.name}.{name}.foreign_key", "foreign_key", t, fk.columns,
                foreign_key_sql(t, fk.columns, fk.references, fk.ref_columns),
                any(t.column(c).critical for c in fk.columns) or fk.references == "car_construct",
                Denominator("table", t.name, fk.columns[0], None),
                f"{t.name}.{name} → {fk.references}",
                {"table": t.name, "column": name, "values": fk.references},
                requires=(fk.references,),
            )
    patient = standard.table("patient")
    add(
        "cross_site.column_empty_at_site", "column_empty_at_site", patient, (),
        column_empty_at_site_sql(standard, spec.skip_tables), False,
        Denominator("sites"), "column empty at this site but populated elsewhere",
        {"table": "", "column": ""},
    )
    return out


INGEST_COLUMNS = (
    "submission_id", "source_file", "source_sha256", "source_row", "source_key",
    "source_field", "mapping_rule", "reason_code", "raw_row",
)


def ingest_rule_sql(reason_codes: list[str] | None, catch_all: bool, claimed: set[str]) -> str:
    """Ingest issues of the given reason codes, in the violation shape plus their own location."""
    if catch_all:
        cond = "reason_code NOT IN (" + ", ".join(lit(c) for c in sorted(claimed)) + ")" if claimed else "true"
    else:
        cond = "reason_code IN (" + ", ".join(lit(c) for c in reason_codes or []) + ")"
    extra = ", ".join(INGEST_COLUMNS)
    return (
        "SELECT site_id, CAST(NULL AS VARCHAR) AS patient_id, target_table, target_column, "
        "CAST(NULL AS VARCHAR) AS record_key, value, CAST(NULL AS VARCHAR) AS expected, "
        f"reason || ' (' || action || ')' AS detail, {extra} FROM ingest_issue WHERE {cond}"
    )
