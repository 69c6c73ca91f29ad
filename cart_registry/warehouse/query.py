"""``run_sql``: one read-only query over the registry (``cart-registry sql``)."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
from dataclasses import dataclass
from typing import Any

from cart_registry.errors import CartRegistryError
from cart_registry.project import Project
from cart_registry.warehouse.connection import DEFAULT_LOCK_TIMEOUT
from cart_registry.warehouse.readonly import open_readonly

#: statement types a read-only query may run (DESCRIBE and SHOW are SELECTs to DuckDB)
READ_TYPES = ("SELECT", "EXPLAIN")


class QueryError(CartRegistryError):
    """A query that cannot run: it writes, it is not one statement, or DuckDB rejects it."""


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    truncated: bool
    settings_hash: str

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]

    def to_json(self) -> dict[str, Any]:
        return {
            "columns": [{"name": n, "type": t} for n, t in zip(self.columns, self.types,
                                                                strict=True)],
            "rows": [{k: json_value(v) for k, v in r.items()} for r in self.records()],
            "row_count": len(self.rows),
            "truncated": self.truncated,
            "settings_hash": self.settings_hash,
        }

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.columns)
        for r in self.rows:
            w.writerow(["" if v is None else text_value(v) for v in r])
        return buf.getvalue()


def json_value(v: Any) -> Any:
    if isinstance(v, dt.date | dt.datetime | dt.time):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, list | tuple):
        return [json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): json_value(x) for k, x in v.items()}
    return v


def text_value(v: Any) -> str:
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return "|".join(text_value(x) for x in v)
    return str(v)


def check_read_only(con: Any, sql: str) -> None:
    """Refuse anything but one SELECT / EXPLAIN before it runs, with a clear message."""
    import duckdb

    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"SQL does not parse: {str(exc).strip().splitlines()[0]}") from None
    if len(statements) != 1:
        raise QueryError(f"give one SQL statement at a time (got {len(statements)})")
    kind = str(statements[0].type).rsplit(".", 1)[-1]
    if kind not in READ_TYPES:
        raise QueryError(
            f"cart-registry sql is read-only: a {kind} statement is not allowed",
            hint="the registry changes only through `cart-registry load`",
        )


def run_sql(
    project: Project,
    sql: str,
    *,
    max_rows: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> QueryResult:
    """Run one read-only statement over the registry's current submissions and views."""
    import duckdb

    with open_readonly(project, lock_timeout=lock_timeout) as con:
        check_read_only(con, sql)
        digest = con.execute("SELECT settings_hash FROM study.settings").fetchone()
        try:
            cur = con.execute(sql)
            columns = tuple(d[0] for d in cur.description or ())
            types = tuple(str(d[1]) for d in cur.description or ())
            rows = cur.fetchmany(max_rows + 1) if max_rows is not None else cur.fetchall()
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            if "read-only" in first or "read only" in first or "Permission Error" in first:
                raise QueryError(f"cart-registry sql is read-only: {first}") from None
            raise QueryError(f"query failed: {first}") from None
    truncated = max_rows is not None and len(rows) > max_rows
    return QueryResult(
        columns=columns,
        types=types,
        rows=tuple(tuple(r) for r in (rows[:max_rows] if truncated else rows)),
        truncated=truncated,
        settings_hash=str(digest[0]) if digest else "",
    )
