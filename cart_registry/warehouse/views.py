"""Building the SQL views: the one-row settings table, then every view in dependency order.

The views read study definitions from ``study.settings`` (one row made from
``StudySettings``), never from literals, so a study that reads "different antigen" or the RFS
origin differently changes a setting, not SQL. The settings row also carries a hash of the
settings, which every endpoint output quotes.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cart_registry.errors import ConfigError
from cart_registry.settings import StudySettings
from cart_registry.standard.model import Standard, load_standard
from cart_registry.warehouse.sql_files import LAYERS, SqlView, load_views

if TYPE_CHECKING:
    import duckdb

SETTINGS_SCHEMA = "study"
SETTINGS_TABLE = f"{SETTINGS_SCHEMA}.settings"

#: layers that ``materialize`` turns into tables (endpoint views are cheap aggregates of them)
MATERIALIZABLE = ("derived", "adam")

_SQL_TYPES = {bool: "BOOLEAN", int: "INTEGER", float: "DOUBLE", str: "VARCHAR"}


def settings_record(settings: StudySettings) -> dict[str, Any]:
    """The settings as JSON-safe values, in declaration order."""
    out: dict[str, Any] = json.loads(settings.model_dump_json())
    return out


def settings_hash(settings: StudySettings) -> str:
    """Short, stable fingerprint of the study definitions (quoted by every output)."""
    blob = json.dumps(settings_record(settings), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def _column_type(value: Any) -> str:
    import datetime as dt

    if isinstance(value, dt.date):
        return "DATE"
    for py, sql in _SQL_TYPES.items():
        if type(value) is py:
            return sql
    raise ConfigError(f"study setting of unsupported type {type(value).__name__}")


def create_settings_table(con: duckdb.DuckDBPyConnection, settings: StudySettings) -> str:
    """(Re)create ``study.settings``: one row, one typed column per study setting."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SETTINGS_SCHEMA}")
    values = dict(settings)
    cols = [f'"{k}" {_column_type(v)}' for k, v in values.items()]
    cols += ['"settings_hash" VARCHAR', '"settings_json" VARCHAR']
    con.execute(f"CREATE OR REPLACE TABLE {SETTINGS_TABLE} ({', '.join(cols)})")
    digest = settings_hash(settings)
    params = [*values.values(), digest, json.dumps(settings_record(settings), sort_keys=True)]
    marks = ", ".join("?" for _ in params)
    con.execute(f"INSERT INTO {SETTINGS_TABLE} VALUES ({marks})", params)
    return digest


@dataclass(frozen=True)
class BuildResult:
    """What ``build_views`` created."""

    views: tuple[str, ...]
    settings_hash: str
    seconds: float
    #: relations created as tables rather than views (``materialize=True``)
    materialized: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "views": list(self.views),
            "materialized": list(self.materialized),
            "settings_hash": self.settings_hash,
            "seconds": round(self.seconds, 4),
        }


def views_fingerprint(settings: StudySettings, standard: Standard | None = None) -> str:
    """What a set of views is built from: their SQL, the standard and the settings."""
    from cart_registry.warehouse.layout import canonical_view_sql

    std = standard or load_standard()
    h = hashlib.sha256(json.dumps(settings_record(settings), sort_keys=True).encode())
    for t in std:
        h.update(canonical_view_sql(t).encode())
    for v in view_definitions(std):
        h.update(v.create_sql.encode())
    return h.hexdigest()


def _existing_kinds(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute(
        "SELECT schema_name || '.' || table_name, 'table' FROM duckdb_tables() "
        "WHERE database_name = current_database() "
        "UNION ALL SELECT schema_name || '.' || view_name, 'view' FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT internal"
    ).fetchall()
    return {str(n): str(k) for n, k in rows}


def view_definitions(standard: Standard | None = None) -> list[SqlView]:
    """Every packaged view, checked and in build order."""
    std = standard or load_standard()
    return load_views(std.table_names)


def build_views(
    con: duckdb.DuckDBPyConnection,
    settings: StudySettings,
    *,
    standard: Standard | None = None,
    materialize: bool = False,
) -> BuildResult:
    """Create the settings row and every derived, endpoint and ADaM view on ``con``.

    ``con`` must already expose ``canonical.<table>`` for every canonical table (views over
    the loaded submissions, or plain tables in tests). Views are ``CREATE OR REPLACE``, so a
    rebuild with other settings is one call; inside a transaction it is atomic.

    ``materialize`` creates the derived and ADaM layers as tables, in dependency order, so
    each is computed once. DuckDB re-plans a view tree on every reference, and an endpoint
    query that reaches the same derived view several times (antigen modulation reads its
    patients' status three times) would otherwise recompute it each time; the endpoint table
    and the exports read dozens of endpoint views and use this. Endpoint views stay views.
    """
    import duckdb

    start = time.perf_counter()
    views = view_definitions(standard)
    digest = create_settings_table(con, settings)
    for layer in LAYERS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
    tables: list[str] = []
    existing = _existing_kinds(con)
    for view in views:
        as_table = materialize and view.layer in MATERIALIZABLE
        sql = view.create_table_sql if as_table else view.create_sql
        # CREATE OR REPLACE cannot turn a view into a table or back
        kind = existing.get(view.name)
        if kind == "view" and as_table:
            con.execute(f"DROP VIEW {view.name}")
        elif kind == "table" and not as_table:
            con.execute(f"DROP TABLE {view.name}")
        try:
            con.execute(sql)
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise ConfigError(f"{view.path}: view {view.name} does not build: {first}") from None
        if as_table:
            tables.append(view.name)
    return BuildResult(
        views=tuple(v.name for v in views),
        settings_hash=digest,
        seconds=time.perf_counter() - start,
        materialized=tuple(tables),
    )
