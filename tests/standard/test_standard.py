"""The canonical standard is declared once and every derived form agrees with it."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pandera.errors
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from cart_registry.cli.main import cli
from cart_registry.errors import ConfigError
from cart_registry.standard import ColumnType, Table, derive, load_standard

STANDARD = load_standard()

#: one valid example per declared pattern; a new pattern without an example fails the test
PATTERN_EXAMPLES = {
    r"^[a-z][a-z0-9_]{1,31}$": "site_a",
    r"^[0-9a-f]{64}$": "0" * 64,
    r"^[a-z0-9][a-z0-9_-]{1,47}$": "tisa-cel",
    r"^NCT\d{8}$": "NCT01234567",
    r"^[a-z][a-z0-9_]{1,31}-[A-Za-z0-9_.-]{1,64}$": "site_a-0001",
    r"^[A-Z]{2}$": "US",
    r"^C91\.0[0-2]?$": "C91.00",
    r"^\d{1,8}$": "2049574",
}

EXPECTED_TABLES = {
    "site", "car_construct", "patient", "cart_infusion", "lymphodepletion",
    "antileukemic_therapy", "hsct", "disease_assessment", "antigen_expression", "relapse",
    "toxicity_event", "death", "follow_up",
}


def valid_value(col: Any) -> Any:
    if col.pattern is not None:
        return PATTERN_EXAMPLES[col.pattern]
    if col.type is ColumnType.LIST_STRING:
        return sorted(col.values[:2]) if col.values else ["x"]
    if col.values is not None:
        return col.values[0]
    if col.type is ColumnType.STRING:
        return "text"
    if col.type is ColumnType.INT:
        return int(col.min) if col.min is not None else 1
    if col.type is ColumnType.FLOAT:
        return float(col.min) if col.min is not None else 1.5
    if col.type is ColumnType.BOOL:
        return True
    if col.type is ColumnType.DATE:
        return dt.date(2021, 3, 4)
    raise AssertionError(f"no example for {col.type}")


def breaking_value(col: Any, constraint: str) -> Any:
    if constraint == "not_nullable":
        return None
    if constraint == "isin":
        return "not_a_code"
    if constraint == "list_values_in_set":
        return ["zzz_not_in_set"]
    if constraint == "sorted_set":
        return sorted(col.values[:2], reverse=True)
    if constraint == "str_matches":
        return "!! not matching"
    if constraint == "in_range":
        bad = (col.max + 1) if col.max is not None else (col.min - 1)
        return int(bad) if col.type is ColumnType.INT else float(bad)
    raise AssertionError(constraint)


def one_row(table: Table, **override: Any) -> pl.DataFrame:
    row = {c.name: valid_value(c) for c in table.columns}
    row.update(override)
    return pl.DataFrame([row], schema=derive.polars_schema(table))


def test_every_issue_table_is_declared() -> None:
    assert set(STANDARD.table_names) == EXPECTED_TABLES


def test_every_pattern_has_an_example() -> None:
    patterns = {c.pattern for t in STANDARD for c in t.columns if c.pattern}
    assert patterns <= set(PATTERN_EXAMPLES), patterns - set(PATTERN_EXAMPLES)
    for pattern, example in PATTERN_EXAMPLES.items():
        assert re.fullmatch(pattern, example)


def test_foreign_key_order_puts_referenced_tables_first() -> None:
    seen: set[str] = set()
    for t in STANDARD:
        for fk in t.foreign_keys:
            assert fk.references in seen or fk.references == t.name
        seen.add(t.name)


@pytest.mark.parametrize("table", STANDARD.tables, ids=lambda t: t.name)
def test_pandera_arrow_duckdb_agree(table: Table, tmp_path: Path) -> None:
    """Zero-row Parquet and DuckDB tables built from the declaration agree with Pandera."""
    arrow = derive.arrow_schema(table)
    path = tmp_path / f"{table.name}.parquet"
    pq.write_table(derive.empty_arrow_table(table), path)
    back = pq.read_schema(path)

    con = duckdb.connect()
    con.execute(derive.duckdb_ddl(table))
    described = con.execute(f"DESCRIBE {table.name}").fetchall()
    duck = {r[0]: (r[1], r[2] == "YES") for r in described}
    # DuckDB reads the Parquet file with the same column types as the DDL declares
    from_parquet = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()

    schema = derive.pandera_schema(table)
    assert list(schema.columns) == table.column_names
    assert [f.name for f in arrow] == table.column_names
    assert [f.name for f in back] == table.column_names
    assert list(duck) == table.column_names
    assert [r[0] for r in from_parquet] == table.column_names
    for col, field, pq_row in zip(table.columns, arrow, from_parquet, strict=True):
        pcol = schema.columns[col.name]
        assert pcol.nullable == col.nullable == field.nullable == duck[col.name][1], col.name
        assert back.field(col.name).type == field.type
        assert duck[col.name][0] == derive.duckdb_type(col) == pq_row[1], col.name
        # Pandera's polars dtype and Arrow's type describe the same values
        assert pl.Series([], dtype=pcol.dtype.type).to_arrow().type in (
            field.type,
            pa.large_string() if field.type == pa.string() else field.type,
            pa.large_list(pa.large_string()) if col.type is ColumnType.LIST_STRING else field.type,
        ), col.name


@pytest.mark.parametrize("table", STANDARD.tables, ids=lambda t: t.name)
def test_valid_row_passes_and_each_constraint_is_reported(table: Table) -> None:
    schema = derive.pandera_schema(table)
    schema.validate(one_row(table), lazy=True)  # a valid row passes
    cases = [(c, k) for c in table.columns for k in c.constraints()]
    assert cases, f"{table.name} declares no constraint"
    for col, constraint in cases:
        bad = one_row(table, **{col.name: breaking_value(col, constraint)})
        with pytest.raises(pandera.errors.SchemaErrors) as info:
            schema.validate(bad, lazy=True)
        fc = info.value.failure_cases
        reported = {(r["column"], str(r["check"]).split("(")[0]) for r in fc.iter_rows(named=True)}
        assert reported == {(col.name, constraint)}, (table.name, col.name, constraint, reported)


@pytest.mark.parametrize("table", STANDARD.tables, ids=lambda t: t.name)
def test_duplicate_primary_key_is_reported(table: Table) -> None:
    df = pl.concat([one_row(table), one_row(table)])
    with pytest.raises(pandera.errors.SchemaErrors):
        derive.pandera_schema(table).validate(df, lazy=True)


def test_duckdb_rejects_a_value_outside_the_set() -> None:
    con = duckdb.connect()
    table = STANDARD.table("site")
    con.execute(derive.duckdb_ddl(table))
    with pytest.raises(duckdb.ConstraintException):
        con.execute(
            "INSERT INTO site VALUES ('site_a', NULL, 'US', 'paper', 'none', NULL, DATE '2023-06-30')"
        )


def test_schema_json_lists_every_column_with_its_attributes() -> None:
    result = CliRunner().invoke(cli, ["schema", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    tables = {t["name"]: t for t in doc["tables"]}
    assert set(tables) == EXPECTED_TABLES
    for t in STANDARD:
        cols = {c["name"]: c for c in tables[t.name]["columns"]}
        assert list(cols) == t.column_names
        for c in cols.values():
            assert {"type", "values", "phi", "critical", "binding", "nullable"} <= set(c)
            assert c["phi"] in {"direct", "quasi", "none"}
    # spot checks against the declaration files, read independently
    assert tables["patient"]["columns"][1]["values"] == ["female", "male", "other", "unknown"]
    binding = {c["name"]: c for c in tables["patient"]["columns"]}["diagnosis_snomed"]["binding"]
    assert binding["code"] == "277571004" and binding["verified"] is True


def test_schema_csv_has_one_line_per_column() -> None:
    result = CliRunner().invoke(cli, ["schema", "--format", "csv"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 + sum(len(t.columns) for t in STANDARD)


def test_data_dictionary_is_not_stale(repo_root: Path) -> None:
    committed = (repo_root / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    assert committed == derive.data_dictionary_markdown(STANDARD) + "\n", (
        "docs/data-dictionary.md is stale: run `make docs`"
    )


def test_toxicity_keeps_astct_components_and_no_converted_grade() -> None:
    tox = STANDARD.table("toxicity_event")
    names = set(tox.column_names)
    assert {"grade_reported", "grading_scale", "fever", "hypotension", "vasopressors_max",
            "o2_support_max", "ice_min", "capd_max", "consciousness_worst", "seizure_worst",
            "deep_focal_motor_weakness", "cerebral_edema", "tocilizumab_doses",
            "corticosteroids"} <= names
    assert not any("converted" in n or n == "grade_astct" for n in names)


def test_provenance_on_every_site_table() -> None:
    prov = [c.name for c in STANDARD.provenance_columns]
    for t in STANDARD:
        if t.name == "site":
            continue
        assert set(prov) <= set(t.column_names), t.name


def test_bad_declaration_names_file_and_key(tmp_path: Path) -> None:
    src = Path(load_standard().root)
    for f in src.glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    p = tmp_path / "relapse.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("nullable: true", "nulable: true", 1))
    with pytest.raises(ConfigError, match=r"relapse\.yaml: .*unknown key 'nulable'; did you mean 'nullable'"):
        load_standard(tmp_path)
