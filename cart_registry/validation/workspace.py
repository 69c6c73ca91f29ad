"""The in-memory DuckDB workspace one validation run works in.

The canonical tables of the validated submissions are copied from their Parquet into memory
once (every rule reads them, and ~200 scans of Parquet would cost more than one copy), next to
small helper tables built from the manifests: ``dq_run_site`` (site, submission, format),
``dq_param`` (as-of date, study cut-off, windows), ``dq_ledger`` (row ledger per file),
``dq_lineage`` (canonical column -> mapping rule + source fields), ``dq_column`` (PHI class
and free-text flag of every column) and ``dq_provenance`` (where every canonical row came
from). Then the prelude views of ``sql/_prelude.sql``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from cart_registry.canonical.store import SubmissionRef, attach_submission_views
from cart_registry.project import Project
from cart_registry.standard import Standard
from cart_registry.validation.conformance import key_expr, lit, q

if TYPE_CHECKING:
    import duckdb

    from cart_registry.settings import RegistrySettings

LEDGER_FIELDS = ("rows_read", "rows_mapped", "rows_quarantined", "rows_ignored")


def _ledger_entries(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    raw = manifest.get("ledger")
    if isinstance(raw, dict):
        raw = raw.get("entries", raw)
        if isinstance(raw, dict):
            raw = [dict(v, source_file=v.get("source_file", k)) for k, v in raw.items()
                   if isinstance(v, dict)]
    return [e for e in raw or [] if isinstance(e, dict) and "source_file" in e]


def ledger_table(refs: Iterable[SubmissionRef]) -> pa.Table:
    rows: dict[str, list[Any]] = {
        k: [] for k in ("site_id", "submission_id", "source_file", "sha256", *LEDGER_FIELDS)
    }
    for r in refs:
        for e in _ledger_entries(r.manifest):
            rows["site_id"].append(r.site_id)
            rows["submission_id"].append(r.submission_id)
            rows["source_file"].append(str(e["source_file"]))
            rows["sha256"].append(e.get("sha256"))
            for k in LEDGER_FIELDS:
                rows[k].append(int(e.get(k) or 0))
    return pa.table(
        rows,
        schema=pa.schema(
            [("site_id", pa.string()), ("submission_id", pa.string()),
             ("source_file", pa.string()), ("sha256", pa.string())]
            + [(k, pa.int64()) for k in LEDGER_FIELDS]
        ),
    )


def _fields(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return " + ".join(str(v) for v in value)
    return str(value)


def _lineage_records(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Accept the shapes a manifest may use for lineage and flatten them.

    ``[{table, column, mapping_rule, source_fields}]``, ``{"table.column": {...}}`` or
    ``{table: {column: {...} | [fields] | "field"}}``.
    """
    raw = manifest.get("lineage")
    out: list[dict[str, Any]] = []

    def add(table: str, column: str, spec: Any) -> None:
        if isinstance(spec, dict):
            fields = spec.get("source_fields", spec.get("source_field", spec.get("fields")))
            # the ingest names the table rule (what canonical rows carry as mapping_rule)
            # 'table_rule' and the column's own rule 'rule'
            table_rule = spec.get("table_rule", spec.get("mapping_rule"))
            out.append({"target_table": table, "target_column": column,
                        "mapping_rule": table_rule,
                        "column_rule": spec.get("rule", table_rule),
                        "source_field": _fields(fields)})
        else:
            out.append({"target_table": table, "target_column": column, "mapping_rule": None,
                        "column_rule": None, "source_field": _fields(spec)})

    if isinstance(raw, list):
        for e in raw:
            if isinstance(e, dict):
                table = e.get("table", e.get("target_table"))
                column = e.get("column", e.get("target_column"))
                if table and column:
                    add(str(table), str(column), e)
    elif isinstance(raw, dict):
        for k, v in raw.items():
            if "." in k:
                table, _, column = k.partition(".")
                add(table, column, v)
            elif isinstance(v, dict):
                for col, spec in v.items():
                    add(k, str(col), spec)
    return out


def lineage_table(refs: Iterable[SubmissionRef]) -> pa.Table:
    cols = ("site_id", "submission_id", "target_table", "target_column", "mapping_rule",
            "column_rule", "source_field")
    rows: dict[str, list[Any]] = {k: [] for k in cols}
    for r in refs:
        for rec in _lineage_records(r.manifest):
            rows["site_id"].append(r.site_id)
            rows["submission_id"].append(r.submission_id)
            for k in cols[2:]:
                v = rec.get(k)
                rows[k].append(None if v is None else str(v))
    return pa.table(rows, schema=pa.schema([(k, pa.string()) for k in cols]))


def source_format(manifest: dict[str, Any]) -> str | None:
    for key in ("source_format", "format", "export_format"):
        v = manifest.get(key)
        if isinstance(v, str):
            return v
    return None


def run_site_table(refs: Iterable[SubmissionRef]) -> pa.Table:
    refs = list(refs)
    return pa.table(
        {
            "site_id": [r.site_id for r in refs],
            "submission_id": [r.submission_id for r in refs],
            "source_format": [source_format(r.manifest) for r in refs],
        },
        schema=pa.schema([("site_id", pa.string()), ("submission_id", pa.string()),
                          ("source_format", pa.string())]),
    )


def column_table(standard: Standard) -> pa.Table:
    rows: dict[str, list[Any]] = {"target_table": [], "target_column": [], "phi": [],
                                  "free_text": [], "critical": [], "provenance": [],
                                  "identifier": []}
    for t in standard:
        # surrogate and foreign keys embed the site's patient ids ('<site>-<local id>-...'):
        # they are identifiers for masking whatever their declared PHI class
        keys = set(t.primary_key) | {
            c for fk in t.foreign_keys if fk.references not in ("car_construct", "site")
            for c in fk.columns
        }
        for c in t.columns:
            rows["identifier"].append(c.name in keys and c.name != "site_id")
            rows["target_table"].append(t.name)
            rows["target_column"].append(c.name)
            rows["phi"].append(c.phi)
            rows["free_text"].append(c.free_text)
            rows["critical"].append(c.critical)
            rows["provenance"].append(c.provenance)
    return pa.table(rows)


def provenance_sql(standard: Standard) -> str:
    """One row per canonical row: its table, site, key and source location."""
    parts = []
    for t in standard:
        if "source_file" not in t.column_names or not t.primary_key:
            continue
        parts.append(
            f"SELECT {lit(t.name)} AS target_table, site_id, {key_expr(t)} AS record_key, "
            "submission_id, source_file, source_sha256, source_row, source_key, mapping_rule "
            f"FROM {q(t.name)}"
        )
    body = "\nUNION ALL ".join(parts)
    # a duplicated key (reported by the primary-key rule) must not duplicate its issues
    return (
        f"CREATE OR REPLACE TEMP TABLE dq_provenance AS SELECT * FROM ({body}) "
        "QUALIFY row_number() OVER (PARTITION BY target_table, site_id, record_key "
        "ORDER BY source_row NULLS LAST, source_file) = 1"
    )


def param_sql(settings: RegistrySettings, as_of: dt.date) -> str:
    s = settings.study
    return (
        "CREATE OR REPLACE TEMP TABLE dq_param AS SELECT "
        f"DATE '{as_of.isoformat()}' AS as_of, DATE '{s.data_cutoff_date.isoformat()}' AS study_cutoff, "
        f"{int(s.response_window_days)} AS response_window_days, "
        f"{int(s.relapse_phenotype_window_days)} AS relapse_window_days"
    )


def open_workspace(
    project: Project,
    refs: list[SubmissionRef],
    settings: RegistrySettings,
    as_of: dt.date,
) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory connection holding the run's tables and prelude views."""
    import duckdb

    from cart_registry.validation.catalog import prelude_sql

    standard = project.standard()
    con = duckdb.connect(":memory:")
    attach_submission_views(con, project, refs, schema="src")
    for t in standard:
        con.execute(f"CREATE TABLE main.{q(t.name)} AS SELECT * FROM src.{q(t.name)}")
    con.execute("CREATE TABLE main.ingest_issue AS SELECT * FROM src.ingest_issue")
    for name, table in (
        ("dq_run_site", run_site_table(refs)),
        ("dq_ledger", ledger_table(refs)),
        ("dq_lineage", lineage_table(refs)),
        ("dq_column", column_table(standard)),
    ):
        con.register(f"__{name}", table)
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM __{name}")
        con.unregister(f"__{name}")
    con.execute(param_sql(settings, as_of))
    con.execute(provenance_sql(standard))
    con.execute(prelude_sql())
    return con


def workspace_sql_listing(project: Project, settings: RegistrySettings, as_of: dt.date) -> str:
    """The SQL a run executes before its rules (for ``--sql-only``)."""
    from cart_registry.validation.catalog import prelude_sql

    standard = project.standard()
    return "\n\n".join(
        [
            "-- canonical tables: one per table, copied from the validated submissions' Parquet",
            "-- helper tables dq_run_site, dq_ledger, dq_lineage, dq_column come from the manifests",
            param_sql(settings, as_of) + ";",
            provenance_sql(standard) + ";",
            prelude_sql(),
        ]
    )
