"""What the registry file holds, and the DDL that creates it.

Schemas in ``registry.duckdb``:

* ``store.<table>``: every canonical table, holding the rows of *every* loaded submission
  (old ones stay, so history is reproducible). DDL comes from the standard
  (``derive.duckdb_ddl``) with its NOT NULL and CHECK constraints; the primary key is
  ``(submission_id, <table key>)`` because a key is only unique within one submission.
  ``store.construct_catalog`` holds the central construct catalog as of the last load.
* ``admin.submission`` (one row per submission ever loaded), ``admin.current_submission``
  (one row per site) and the append-only ``admin.audit_log``. The schema is not called
  ``registry``: the default file is ``registry.duckdb``, and DuckDB refuses two-part names
  when a catalog and a schema share a name.
* ``canonical.<table>``: views showing only current submissions; the SQL views read these.
* ``study.settings`` and the ``derived``, ``endpoints`` and ``adam`` views (``views.py``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from cart_registry.errors import ProjectError
from cart_registry.standard.derive import duckdb_ddl, duckdb_type
from cart_registry.standard.model import Column, ColumnType, Standard, Table

if TYPE_CHECKING:
    import duckdb

LAYOUT_VERSION = "1"
CATALOG_TABLE = "store.construct_catalog"

ADMIN_DDL = """
CREATE SCHEMA IF NOT EXISTS admin;
CREATE TABLE IF NOT EXISTS admin.registry_info (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS admin.submission (
    submission_id VARCHAR PRIMARY KEY,
    site_id VARCHAR NOT NULL,
    received_at VARCHAR,
    manifest_json VARCHAR NOT NULL,
    source_files_json VARCHAR NOT NULL,
    parquet_sha256_json VARCHAR NOT NULL,
    row_counts_json VARCHAR NOT NULL,
    validation_status VARCHAR NOT NULL,
    validation_json VARCHAR,
    first_loaded_at_utc TIMESTAMP NOT NULL,
    forced BOOLEAN NOT NULL,
    reason VARCHAR,
    loaded_by VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS admin.current_submission (
    site_id VARCHAR PRIMARY KEY,
    submission_id VARCHAR NOT NULL,
    current_since_utc TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS admin.audit_log (
    audit_id BIGINT PRIMARY KEY,
    at_utc TIMESTAMP NOT NULL,
    os_user VARCHAR NOT NULL,
    host VARCHAR,
    tool_version VARCHAR NOT NULL,
    action VARCHAR NOT NULL CHECK (action IN ('load', 'replace', 'force-load', 'waiver')),
    site_id VARCHAR NOT NULL,
    submission_id VARCHAR NOT NULL,
    previous_submission_id VARCHAR,
    reason VARCHAR,
    validation_status VARCHAR NOT NULL,
    input_hashes_json VARCHAR NOT NULL
);
"""

#: information_schema spells some types differently from the DDL
_TYPE_ALIASES = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ"}

_SUBMISSION_ID = Column(
    name="submission_id",
    type=ColumnType.STRING,
    nullable=False,
    description="Submission that carried the row.",
    phi="none",
    provenance=True,
)


def store_table(table: Table) -> Table:
    """The store's form of a canonical table: always a submission_id, keyed within it."""
    cols = table.columns
    if "submission_id" not in table.column_names:
        cols = (*cols, _SUBMISSION_ID)
    key = ("submission_id", *table.primary_key) if table.primary_key else ()
    return replace(table, columns=cols, primary_key=key)


def _existing_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchall()
    return {str(n): _TYPE_ALIASES.get(str(t), str(t)) for n, t in rows}


def ensure_layout(con: duckdb.DuckDBPyConnection, standard: Standard) -> None:
    """Create whatever is missing; add columns the standard gained since the file was made.

    A column whose type changed cannot be migrated in place: the registry must be rebuilt
    from the submissions' Parquet, and we say so rather than guess.
    """
    con.execute(ADMIN_DDL)
    con.execute(
        "INSERT INTO admin.registry_info VALUES ('layout_version', ?) ON CONFLICT DO NOTHING",
        [LAYOUT_VERSION],
    )
    con.execute("CREATE SCHEMA IF NOT EXISTS store")
    catalog = replace(standard.table("car_construct"), name="construct_catalog")
    tables = [store_table(t) for t in standard] + [catalog]
    for t in tables:
        have = _existing_columns(con, "store", t.name)
        if not have:
            con.execute(duckdb_ddl(t, schema="store"))
            continue
        for c in t.columns:
            want = duckdb_type(c)
            if c.name not in have:
                con.execute(f'ALTER TABLE store.{t.name} ADD COLUMN "{c.name}" {want}')
            elif have[c.name] != want:
                raise ProjectError(
                    f"registry column store.{t.name}.{c.name} is {have[c.name]}, the standard "
                    f"now says {want}",
                    hint="rebuild the registry: move registry.duckdb aside and load again",
                )


def canonical_view_sql(table: Table) -> str:
    """``canonical.<table>``: the declared columns of the current submissions' rows."""
    cols = ", ".join(f'"{c.name}"' for c in table.columns)
    current = "SELECT submission_id FROM admin.current_submission"
    if table.name == "car_construct":
        # the central catalog, plus constructs a submission carries that it does not know
        return (
            f"SELECT {cols} FROM {CATALOG_TABLE}\n"
            f"UNION ALL\n"
            f"SELECT {cols} FROM store.car_construct s\n"
            f"WHERE s.submission_id IN ({current})\n"
            f"  AND s.construct_id NOT IN (SELECT construct_id FROM {CATALOG_TABLE})\n"
            f"QUALIFY row_number() OVER (PARTITION BY s.construct_id ORDER BY s.site_id) = 1"
        )
    return f"SELECT {cols} FROM store.{table.name}\nWHERE submission_id IN ({current})"


def create_canonical_views(con: duckdb.DuckDBPyConnection, standard: Standard) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS canonical")
    for t in standard:
        con.execute(f"CREATE OR REPLACE VIEW canonical.{t.name} AS\n{canonical_view_sql(t)}")


def create_empty_canonical(con: duckdb.DuckDBPyConnection, standard: Standard) -> None:
    """Zero-row ``canonical.<table>`` tables from the standard's DDL (tests, empty registry)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS canonical")
    for t in standard:
        con.execute(duckdb_ddl(t, schema="canonical", constraints=False))
