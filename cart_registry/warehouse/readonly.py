"""Reading the registry: a read-only attachment with the views rebuilt for today's settings.

Queries, endpoint tables and exports never take the write lock. They open an in-memory
DuckDB, attach the registry file READ_ONLY, expose its ``canonical``, ``admin`` and ``store``
relations under the same names, and build ``study.settings`` and every derived, endpoint and
ADaM view in memory from the *current* settings file. So an endpoint always reflects the
settings it reports, even when those changed after the last load, and the views stored in
the file (built at load time, for other DuckDB clients) are never trusted blindly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from cart_registry.errors import ProjectError
from cart_registry.project import Project
from cart_registry.settings import StudySettings, load_settings
from cart_registry.standard.derive import duckdb_ddl
from cart_registry.warehouse.connection import (
    ALIAS,
    DEFAULT_LOCK_TIMEOUT,
    attach,
    registry_exists,
)
from cart_registry.warehouse.views import build_views, views_fingerprint

if TYPE_CHECKING:
    import duckdb

#: schemas of the file that readers see as they are (the views are rebuilt instead)
MIRRORED_SCHEMAS = ("canonical", "admin", "store")


def _stored_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    has = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'admin' "
        "AND table_name = 'registry_info'", [ALIAS]).fetchone()
    if not has or not has[0]:
        return None
    row = con.execute(
        f"SELECT value FROM {ALIAS}.admin.registry_info WHERE key = 'views_fingerprint'"
    ).fetchone()
    return str(row[0]) if row else None


def _mirror(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> set[str]:
    rows = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
        "UNION ALL "
        "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = ? "
        "AND NOT internal",
        [ALIAS, ALIAS],
    ).fetchall()
    made: set[str] = set()
    for schema, name in sorted(rows):
        if schema not in schemas:
            continue
        con.execute(f"CREATE SCHEMA IF NOT EXISTS memory.{schema}")
        con.execute(
            f'CREATE OR REPLACE VIEW memory.{schema}."{name}" AS '
            f'SELECT * FROM {ALIAS}.{schema}."{name}"'
        )
        made.add(f"{schema}.{name}")
    return made


@contextlib.contextmanager
def open_readonly(
    project: Project,
    *,
    settings: StudySettings | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    lock_down: bool = True,
    materialize: bool = False,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory connection over the registry (attached read-only), views built.

    With ``lock_down`` the connection then refuses file system access (no COPY TO, no
    read_csv of arbitrary files) and further configuration changes, so a user's query can
    read the registry and nothing else. ``materialize`` computes the derived and ADaM layers
    once, as in-memory tables (see ``build_views``).
    """
    import duckdb

    path = project.db_path
    if not registry_exists(path):
        raise ProjectError(f"no registry at {path}", hint="run `cart-registry load` first")
    study = settings or load_settings(project.settings_file).study
    standard = project.standard()
    con = duckdb.connect()
    try:
        attach(con, path, read_only=True, lock_timeout=lock_timeout)
        # the views stored at load time are used as they are when they were built from
        # exactly today's SQL, standard and settings: the file becomes the default catalog
        # (still read-only). Otherwise, or to materialize, they are rebuilt in memory.
        if not materialize and _stored_fingerprint(con) == views_fingerprint(study, standard):
            con.execute(f"USE {ALIAS}")
        else:
            made = _mirror(con, MIRRORED_SCHEMAS)
            con.execute("CREATE SCHEMA IF NOT EXISTS memory.canonical")
            for t in standard:
                if f"canonical.{t.name}" not in made:  # the standard grew since the last load
                    con.execute(duckdb_ddl(t, schema="memory.canonical", constraints=False))
            build_views(con, study, standard=standard, materialize=materialize)
        if lock_down:
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        yield con
    finally:
        con.close()
