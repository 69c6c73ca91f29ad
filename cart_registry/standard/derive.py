"""Everything derived from the canonical declaration: Pandera, Arrow, DuckDB, JSON Schema, docs.

Each function reads a ``Table`` (or the whole ``Standard``) and nothing else, so the forms can
never disagree about a name, a type or a nullability; ``tests/standard`` checks that they agree.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from cart_registry.standard.model import Column, ColumnType, Standard, Table

if TYPE_CHECKING:
    import pandera.polars as pap
    import polars as pl

_ARROW: dict[ColumnType, pa.DataType] = {
    ColumnType.STRING: pa.string(),
    ColumnType.INT: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.BOOL: pa.bool_(),
    ColumnType.DATE: pa.date32(),
    ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    ColumnType.LIST_STRING: pa.list_(pa.string()),
}

_DUCKDB: dict[ColumnType, str] = {
    ColumnType.STRING: "VARCHAR",
    ColumnType.INT: "BIGINT",
    ColumnType.FLOAT: "DOUBLE",
    ColumnType.BOOL: "BOOLEAN",
    ColumnType.DATE: "DATE",
    ColumnType.TIMESTAMP: "TIMESTAMPTZ",
    ColumnType.LIST_STRING: "VARCHAR[]",
}

_JSON: dict[ColumnType, dict[str, Any]] = {
    ColumnType.STRING: {"type": "string"},
    ColumnType.INT: {"type": "integer"},
    ColumnType.FLOAT: {"type": "number"},
    ColumnType.BOOL: {"type": "boolean"},
    ColumnType.DATE: {"type": "string", "format": "date"},
    ColumnType.TIMESTAMP: {"type": "string", "format": "date-time"},
    ColumnType.LIST_STRING: {"type": "array", "items": {"type": "string"}},
}


# ---------------------------------------------------------------------------- Arrow / Parquet
def arrow_type(col: Column) -> pa.DataType:
    return _ARROW[col.type]


def arrow_schema(table: Table) -> pa.Schema:
    return pa.schema(
        [pa.field(c.name, arrow_type(c), nullable=c.nullable) for c in table.columns],
        metadata={b"cart_registry.table": table.name.encode()},
    )


def empty_arrow_table(table: Table) -> pa.Table:
    return arrow_schema(table).empty_table()


# ---------------------------------------------------------------------------- DuckDB
def duckdb_type(col: Column) -> str:
    return _DUCKDB[col.type]


def duckdb_ddl(table: Table, *, schema: str | None = None, constraints: bool = True) -> str:
    """``CREATE TABLE`` for one canonical table.

    ``constraints`` adds NOT NULL, CHECK (value sets, ranges) and the primary key. Foreign keys
    are left to the validation rules: a registry must be able to hold (and report) orphans.
    """
    qualified = f"{schema}.{table.name}" if schema else table.name
    lines = []
    for c in table.columns:
        parts = [f'"{c.name}" {duckdb_type(c)}']
        if constraints and not c.nullable:
            parts.append("NOT NULL")
        if constraints and c.values is not None and c.type is ColumnType.STRING:
            vals = ", ".join("'" + v.replace("'", "''") + "'" for v in c.values)
            parts.append(f'CHECK ("{c.name}" IN ({vals}))')
        if constraints and c.type in (ColumnType.INT, ColumnType.FLOAT):
            if c.min is not None:
                parts.append(f'CHECK ("{c.name}" >= {c.min:g})')
            if c.max is not None:
                parts.append(f'CHECK ("{c.name}" <= {c.max:g})')
        lines.append("    " + " ".join(parts))
    if constraints and table.primary_key:
        lines.append("    PRIMARY KEY (" + ", ".join(f'"{k}"' for k in table.primary_key) + ")")
    return f"CREATE TABLE {qualified} (\n" + ",\n".join(lines) + "\n);"


def duckdb_ddl_all(standard: Standard, *, schema: str | None = None, constraints: bool = True) -> str:
    return "\n\n".join(duckdb_ddl(t, schema=schema, constraints=constraints) for t in standard)


# ---------------------------------------------------------------------------- Pandera (polars)
def polars_dtype(col: Column) -> pl.DataType:
    import polars as pl

    return {
        ColumnType.STRING: pl.String(),
        ColumnType.INT: pl.Int64(),
        ColumnType.FLOAT: pl.Float64(),
        ColumnType.BOOL: pl.Boolean(),
        ColumnType.DATE: pl.Date(),
        ColumnType.TIMESTAMP: pl.Datetime("us", "UTC"),
        ColumnType.LIST_STRING: pl.List(pl.String()),
    }[col.type]


def polars_schema(table: Table) -> dict[str, pl.DataType]:
    return {c.name: polars_dtype(c) for c in table.columns}


def _list_checks(col: Column) -> list[pap.Check]:
    import pandera.polars as pap
    import polars as pl

    checks: list[pap.Check] = []
    if col.values is not None:
        allowed = list(col.values)

        def _in_set(data: Any) -> Any:
            # every element of the list is in the value set (null lists pass: nullability is
            # checked separately)
            return data.lazyframe.select(
                pl.col(data.key).list.eval(pl.element().is_in(allowed)).list.all().fill_null(True)
            )

        checks.append(
            pap.Check(_in_set, name="list_values_in_set")
        )
    if col.sorted_set:

        def _sorted_set(data: Any) -> Any:
            c = pl.col(data.key)
            ok = (c.list.sort() == c) & (c.list.n_unique() == c.list.len()) & (c.list.len() > 0)
            return data.lazyframe.select(ok.fill_null(True))

        checks.append(
            pap.Check(_sorted_set, name="sorted_set")
        )
    return checks


def pandera_column_checks(col: Column) -> list[pap.Check]:
    """The Pandera checks of one column; their names are ``Column.constraints()``."""
    import pandera.polars as pap

    if col.type is ColumnType.LIST_STRING:
        return _list_checks(col)
    checks: list[pap.Check] = []
    if col.values is not None:
        checks.append(pap.Check.isin(list(col.values)))
    if col.min is not None or col.max is not None:
        lo = col.min if col.min is not None else float("-inf")
        hi = col.max if col.max is not None else float("inf")
        checks.append(pap.Check.in_range(lo, hi))
    if col.pattern is not None:
        checks.append(pap.Check.str_matches(col.pattern))
    return checks


def pandera_schema(table: Table) -> pap.DataFrameSchema:
    """A strict Pandera (polars backend) schema for one canonical table.

    Validate an eager ``polars.DataFrame`` with ``lazy=True`` so that every failure is
    collected: validating a LazyFrame skips the data-level checks by default.
    """
    import pandera.polars as pap

    columns = {
        c.name: pap.Column(
            polars_dtype(c),
            checks=pandera_column_checks(c),
            nullable=c.nullable,
            description=c.description,
            title=c.name,
        )
        for c in table.columns
    }
    return pap.DataFrameSchema(
        columns,
        name=table.name,
        strict=True,
        ordered=False,
        unique=list(table.primary_key) or None,
        description=table.description,
    )


def first_failure(schema: pap.DataFrameSchema, frame: pl.DataFrame) -> dict[str, Any] | None:
    """Validate ``frame`` eagerly; the first failure case (``column``, ``check``,
    ``failure_case``, ``index``) or None when it conforms. For values the project itself
    declared or made, where one failure is enough to name the problem."""
    import pandera.errors

    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        first: dict[str, Any] = exc.failure_cases.row(0, named=True)
        return first
    return None


# ---------------------------------------------------------------------------- JSON / docs
def column_record(col: Column) -> dict[str, Any]:
    """The machine-readable description of a column (``schema --format json|csv``)."""
    return {
        "name": col.name,
        "type": col.type.value,
        "nullable": col.nullable,
        "values": list(col.values) if col.values is not None else None,
        "min": col.min,
        "max": col.max,
        "pattern": col.pattern,
        "sorted_set": col.sorted_set,
        "unit": col.unit,
        "phi": col.phi,
        "free_text": col.free_text,
        "critical": col.critical,
        "provenance": col.provenance,
        "binding": (
            {
                "system": col.binding.system,
                "code": col.binding.code,
                "display": col.binding.display,
                "verified": col.binding.verified,
            }
            if col.binding
            else None
        ),
        "description": col.description,
    }


def standard_record(standard: Standard) -> dict[str, Any]:
    from cart_registry import __version__

    return {
        "standard": "cart_registry canonical model",
        "tool_version": __version__,
        "tables": [
            {
                "name": t.name,
                "description": t.description,
                "grain": t.grain,
                "primary_key": list(t.primary_key),
                "foreign_keys": [
                    {
                        "columns": list(fk.columns),
                        "references": fk.references,
                        "ref_columns": list(fk.ref_columns),
                    }
                    for fk in t.foreign_keys
                ],
                "columns": [column_record(c) for c in t.columns],
            }
            for t in standard
        ],
    }


def json_schema(table: Table) -> dict[str, Any]:
    """JSON Schema (2020-12) of one row of a canonical table."""
    props: dict[str, Any] = {}
    for c in table.columns:
        p: dict[str, Any] = dict(_JSON[c.type])
        if c.values is not None:
            if c.type is ColumnType.LIST_STRING:
                p["items"] = {"type": "string", "enum": list(c.values)}
                p["uniqueItems"] = True
            else:
                p["enum"] = list(c.values)
        if c.min is not None:
            p["minimum"] = c.min
        if c.max is not None:
            p["maximum"] = c.max
        if c.pattern is not None:
            p["pattern"] = c.pattern
        p["description"] = c.description
        if c.nullable:
            p = {"anyOf": [p, {"type": "null"}], "description": c.description}
        props[c.name] = p
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"cart_registry/{table.name}.schema.json",
        "title": table.name,
        "description": table.description,
        "type": "object",
        "properties": props,
        "required": [c.name for c in table.columns if not c.nullable],
        "additionalProperties": False,
    }


def json_schemas(standard: Standard) -> dict[str, Any]:
    return {t.name: json_schema(t) for t in standard}


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _constraint_text(c: Column) -> str:
    parts = []
    if c.values is not None:
        parts.append(("each of " if c.type is ColumnType.LIST_STRING else "") + ", ".join(
            f"`{v}`" for v in c.values
        ))
    if c.min is not None or c.max is not None:
        lo = "" if c.min is None else f"{c.min:g}"
        hi = "" if c.max is None else f"{c.max:g}"
        parts.append(f"{lo}–{hi}")
    if c.pattern:
        parts.append(f"`{c.pattern}`")
    if c.sorted_set:
        parts.append("sorted set")
    return "; ".join(parts)


def data_dictionary_markdown(standard: Standard) -> str:
    """``docs/data-dictionary.md``: generated, never edited by hand."""
    out = [
        "# Data dictionary of the canonical standard",
        "",
        "<!-- Generated by `cart-registry schema --format markdown` from `schemas/`. "
        "Do not edit: a test fails when this file is stale. -->",
        "",
        "Types are the standard's own (`string`, `int`, `float`, `bool`, `date`, "
        "`list[string]`); Parquet, DuckDB, Pandera and JSON Schema forms are derived from them. "
        "PHI class: `direct` identifier, `quasi`-identifier or `none`. Critical = an endpoint "
        "depends on the column. Bindings marked *unverified* were not checked against the "
        "terminology server and must be confirmed before use.",
        "",
        "Provenance columns, on every table except `site`: "
        + ", ".join(f"`{c.name}`" for c in standard.provenance_columns)
        + ".",
        "",
    ]
    for t in standard:
        out += [f"## `{t.name}`", "", _md(t.description), ""]
        out += [f"- Grain: {t.grain}", f"- Primary key: {', '.join(t.primary_key)}"]
        for fk in t.foreign_keys:
            out.append(
                f"- Foreign key: {', '.join(fk.columns)} → "
                f"`{fk.references}`({', '.join(fk.ref_columns)})"
            )
        out += [
            "",
            "| column | type | null | allowed | unit | PHI | critical | binding | description |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for c in t.columns:
            if c.provenance:
                continue
            binding = ""
            if c.binding:
                binding = f"{c.binding.system} {c.binding.code}"
                if not c.binding.verified:
                    binding += " *(unverified)*"
            phi = c.phi + (", free text" if c.free_text else "")
            out.append(
                "| "
                + " | ".join(
                    [
                        f"`{c.name}`",
                        c.type.value,
                        "yes" if c.nullable else "no",
                        _md(_constraint_text(c)),
                        _md(c.unit or ""),
                        phi,
                        "yes" if c.critical else "",
                        _md(binding),
                        _md(c.description),
                    ]
                )
                + " |"
            )
        out.append("")
    return "\n".join(out)


def data_dictionary_csv(standard: Standard) -> str:
    buf = io.StringIO()
    fields = [
        "table", "name", "type", "nullable", "values", "min", "max", "pattern", "unit", "phi",
        "free_text", "critical", "provenance", "binding_system", "binding_code",
        "binding_verified", "description",
    ]
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for t in standard:
        for c in t.columns:
            rec = column_record(c)
            b = rec.pop("binding") or {}
            rec.pop("sorted_set")
            rec["values"] = "|".join(rec["values"]) if rec["values"] else ""
            w.writerow(
                {
                    "table": t.name,
                    **rec,
                    "binding_system": b.get("system", ""),
                    "binding_code": b.get("code", ""),
                    "binding_verified": b.get("verified", ""),
                }
            )
    return buf.getvalue()


def standard_json(standard: Standard) -> str:
    return json.dumps(standard_record(standard), indent=2, ensure_ascii=False)
