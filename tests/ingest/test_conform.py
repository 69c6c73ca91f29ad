"""Conformance: site values are checked row by row, engine-made provenance once per value."""

from __future__ import annotations

import polars as pl
import pytest

from cart_registry.errors import ProjectError
from cart_registry.ingest.conform import PER_FILE_COLUMNS, conform_table
from cart_registry.mapping.apply import INDEX_COL
from tests.standard.test_standard import STANDARD, one_row


def _no_raw(rows: pl.DataFrame) -> pl.Series:
    return pl.Series("raw_row", [None] * rows.height, dtype=pl.String)


def _frame(table_name: str, n: int, **override: object) -> pl.DataFrame:
    table = STANDARD.table(table_name)
    rows = pl.concat([one_row(table, **override)] * n)
    # distinct primary keys, so that only the checks under test can fire
    key = table.primary_key[0]
    rows = rows.with_columns((pl.col(key) + pl.int_range(0, n).cast(pl.String)).alias(key))
    return rows.with_columns(pl.int_range(0, n, dtype=pl.UInt32).alias(INDEX_COL))


def test_a_bad_site_value_quarantines_its_row_only() -> None:
    table = STANDARD.table("disease_assessment")
    frame = _frame("disease_assessment", 4)
    frame = frame.with_columns(
        pl.when(pl.int_range(0, 4) == 2).then(pl.lit("not_a_code")).otherwise(pl.col("specimen"))
        .alias("specimen"))
    good, issues = conform_table(table, frame, _no_raw)
    assert good.height == 3 and issues.height == 1
    row = issues.row(0, named=True)
    assert (row["target_column"], row["value"], row["reason_code"]) == ("specimen", "not_a_code",
                                                                          "isin")


@pytest.mark.parametrize("column", PER_FILE_COLUMNS)
def test_a_bad_provenance_value_is_an_engine_bug_not_a_data_issue(column: str) -> None:
    table = STANDARD.table("disease_assessment")
    frame = _frame("disease_assessment", 3)
    if column in ("site_id", "source_sha256"):  # the patterned ones
        frame = frame.with_columns(pl.lit("!! bad").alias(column))
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    with pytest.raises(ProjectError, match=f"provenance column {column} fails .*bug"):
        conform_table(table, frame, _no_raw)


def test_every_per_file_column_is_a_provenance_column_of_every_table() -> None:
    for table in STANDARD:
        if table.name in ("site", "car_construct"):
            continue
        assert set(PER_FILE_COLUMNS) <= set(table.column_names), table.name


def test_coded_columns_are_checked_on_their_distinct_values() -> None:
    """A value-set column the mapping hands over as Enum is written as it is; a value the
    engine should never have let through (a blank in a required column) is its bug."""
    table = STANDARD.table("disease_assessment")
    values = list(table.column("specimen").values or ())
    frame = _frame("disease_assessment", 4).with_columns(
        pl.col("specimen").cast(pl.Enum(values)))
    good, issues = conform_table(table, frame, _no_raw)
    assert good.height == 4 and issues.height == 0
    assert good.schema["specimen"] == pl.Enum(values)
    blank = frame.with_columns(pl.lit(None, dtype=pl.Enum(values)).alias("specimen"))
    with pytest.raises(ProjectError, match="coded column specimen fails .*bug"):
        conform_table(table, blank, _no_raw)


def test_a_table_fed_coded_by_one_rule_and_as_text_by_another_is_checked_as_text() -> None:
    """Two rules feed one table: one hands specimen over coded, the other as text with a
    value outside the set; the rows are joined as text and Pandera quarantines that row."""
    from cart_registry.ingest.run import conform_all
    from cart_registry.ingest.sources import SubmissionSources
    from cart_registry.mapping.apply import RuleOutput, empty_issues
    from cart_registry.readers.base import FILE_COL, KEY_COL, ROW_COL, SourceTable

    table = STANDARD.table("disease_assessment")
    values = list(table.column("specimen").values or ())
    coded = _frame("disease_assessment", 2).with_columns(
        pl.col("specimen").cast(pl.Enum(values)), pl.lit("rule_a").alias("mapping_rule"))
    text = _frame("disease_assessment", 2).with_columns(
        (pl.col("assessment_id") + "b").alias("assessment_id"),
        pl.Series("specimen", ["bone_marrow", "blood"]), pl.lit("rule_b").alias("mapping_rule"))
    source = pl.DataFrame({"x": ["1", "2"]}).with_columns(
        pl.int_range(1, 3, dtype=pl.Int64).alias(ROW_COL), pl.lit(None, dtype=pl.String)
        .alias(KEY_COL), pl.lit("f.csv").alias(FILE_COL))
    sources = SubmissionSources({"s": SourceTable("s", source, [])}, [], {"f.csv": 2})
    outputs = [RuleOutput(table.name, rule, "s", frame, empty_issues(), source.select(
        FILE_COL, ROW_COL)) for rule, frame in (("rule_a", coded), ("rule_b", text))]
    written, issues = conform_all(STANDARD, outputs, sources)
    good = written[table.name]
    assert good.height == 3 and good.schema["specimen"] == pl.String
    (bad,) = issues
    assert bad.select("target_column", "value", "reason_code").row(0) == (
        "specimen", "blood", "isin")
