"""Conformance of mapped rows to the standard, before anything is written.

Each canonical table is checked with its generated Pandera schema on an eager polars frame
with ``lazy=True`` so that every failure is collected. Rows that fail go to quarantine with
the check's name as reason code (``isin``, ``in_range``, ``str_matches``, ``not_nullable``,
``list_values_in_set``, ``sorted_set`` ...); nothing is dropped silently and
``drop_invalid_rows`` is never used. Duplicate primary keys are found first (all rows that
share a key are quarantined: which one is right is the site's call, not ours).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from cart_registry.errors import ProjectError
from cart_registry.mapping.apply import INDEX_COL, empty_issues
from cart_registry.standard import Table

if TYPE_CHECKING:
    import pandera.polars as pap
    import polars as pl

#: (mapping_rule, index in the rule's source frame) -> raw rows as JSON
RawLookup = Callable[["pl.DataFrame"], "pl.Series"]


def check_code(check: str) -> str:
    """Stable reason code from a Pandera check name: ``isin(['a', ...])`` -> ``isin``."""
    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", check)
    return m.group(0) if m else "conformance"


def _issues_for(
    rows: pl.DataFrame,
    *,
    table: str,
    column: pl.Series | str,
    value: pl.Series | None,
    code: pl.Series | str,
    reason: pl.Series | str,
    raw: RawLookup,
) -> pl.DataFrame:
    import polars as pl

    n = rows.height

    def s(v: pl.Series | str | None, name: str) -> pl.Series:
        if isinstance(v, pl.Series):
            return v.cast(pl.String).alias(name)
        return pl.Series(name, [v] * n, dtype=pl.String)

    return pl.DataFrame([
        rows.get_column("site_id"),
        rows.get_column("submission_id"),
        rows.get_column("source_file"),
        rows.get_column("source_sha256"),
        rows.get_column("source_row").cast(pl.Int64),
        rows.get_column("source_key"),
        pl.Series("source_field", [None] * n, dtype=pl.String),
        s(table, "target_table"),
        s(column, "target_column"),
        s(value, "value"),
        s(code, "reason_code"),
        s(reason, "reason"),
        s("row_quarantined", "action"),
        rows.get_column("mapping_rule"),
        raw(rows).alias("raw_row"),
    ])


def duplicated_keys(frame: pl.DataFrame, key: list[str]) -> pl.Series | None:
    """Rows whose key is shared with another row (nulls count as equal), or None if none is.

    Comparing a million strings is the costly part, so the 64-bit hashes of the keys go first:
    equal keys have equal hashes, so distinct hashes prove there are no duplicates, and only
    the rows whose hash repeats are compared exactly.
    """
    import polars as pl

    key_expr = pl.col(key[0]) if len(key) == 1 else pl.struct(key)
    hashed = frame.select(key_expr.hash().alias("__h"))
    if hashed.get_column("__h").n_unique() == frame.height:
        return None
    maybe = hashed.select(pl.col("__h").is_duplicated()).to_series()
    cand = frame.select(key_expr.alias("__k")).with_row_index("__r").filter(maybe)
    exact = cand.filter(pl.col("__k").is_duplicated()).get_column("__r")
    if exact.len() == 0:
        return None
    return pl.int_range(0, frame.height, dtype=pl.UInt32, eager=True).is_in(exact.implode())


#: provenance columns the engine fills with one value per source file and rule: Pandera
#: checks them on their distinct combinations (a few), not on every row
PER_FILE_COLUMNS = ("site_id", "submission_id", "source_file", "source_sha256", "mapping_rule")


def engine_checked_columns(table: Table, frame: pl.DataFrame) -> list[str]:
    """Columns whose every value the mapping engine vouches for, checked on their distinct
    values: the provenance columns above, and value-set columns the mapping hands over as
    ``Enum`` (it does so only when every value it made is in the set, and a blank required
    value was quarantined before, see ``mapping.apply``)."""
    import polars as pl

    return [c for c in table.column_names if c in frame.columns and (
        c in PER_FILE_COLUMNS or isinstance(frame.schema[c], pl.Enum))]


def check_engine_columns(table: Table, schema: pap.DataFrameSchema,
                         values: dict[str, list[object]]) -> None:
    """The engine wrote these values, not the site: a failure is a bug, not a data problem."""
    import polars as pl

    from cart_registry.standard.derive import first_failure

    for name, distinct in values.items():
        column = schema.select_columns([name])
        first = first_failure(column, pl.DataFrame(
            {name: distinct}, schema={name: column.dtypes[name].type}))
        if first is not None:
            kind = "provenance column" if name in PER_FILE_COLUMNS else "coded column"
            raise ProjectError(
                f"{table.name}: {kind} {name} fails {first['check']} "
                f"({first['failure_case']!r}): this is a bug in the mapping engine")


def conform_table(table: Table, frame: pl.DataFrame, raw: RawLookup) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows that conform, issues of the rows quarantined). ``frame`` holds the table's
    columns plus ``INDEX_COL``; the returned rows hold the table's columns only."""
    import pandera.errors
    import polars as pl

    from cart_registry.standard.derive import pandera_schema

    issues: list[pl.DataFrame] = []
    work = frame.with_row_index("__pos")
    pk = list(table.primary_key)
    if pk and work.height:
        dup = duplicated_keys(work, pk)
        if dup is not None:
            rows = work.filter(dup)
            key = rows.select(pl.concat_str([pl.col(c).cast(pl.String).fill_null("")
                                             for c in pk], separator="|")).to_series()
            issues.append(_issues_for(
                rows, table=table.name, column="|".join(pk), value=key, code="duplicate_key",
                reason=f"{'/'.join(pk)} is not unique: every row sharing it is quarantined",
                raw=raw))
            work = work.filter(~dup)

    data = work.drop(["__pos", INDEX_COL])
    # primary-key duplicates were quarantined above (all rows of a key, not Pandera's
    # choice), so the schema's own uniqueness check would only repeat that work
    schema = pandera_schema(table)
    schema.unique = None
    vouched = engine_checked_columns(table, data)
    if vouched and data.height:
        check_engine_columns(table, schema, data.select(
            pl.col(c).unique().cast(pl.String).implode() for c in vouched).row(0, named=True))
    try:
        schema.remove_columns(vouched).validate(data.drop(vouched), lazy=True)
    except pandera.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        if fc.get_column("index").null_count():
            first = fc.filter(pl.col("index").is_null()).row(0, named=True)
            raise ProjectError(
                f"{table.name}: conformance failed without a row ({first['check']} on "
                f"{first['column']}): this is a bug in the mapping engine"
            ) from None
        fc = fc.with_columns(pl.col("index").cast(pl.UInt32))
        rows = work.with_row_index("__vpos").join(fc, left_on="__vpos", right_on="index")
        codes = rows.select(
            pl.col("check").cast(pl.String).str.extract(r"^([A-Za-z_][A-Za-z0-9_]*)", 1)
            .fill_null("conformance")
        ).to_series()
        reasons = pl.concat_str([pl.lit("fails "), rows.get_column("check").cast(pl.String),
                                 pl.lit(" on "), rows.get_column("column")], separator="")
        reason = rows.select(reasons).to_series()
        issues.append(_issues_for(
            rows, table=table.name, column=rows.get_column("column"),
            value=rows.get_column("failure_case"), code=codes, reason=reason, raw=raw))
        bad = fc.get_column("index").unique()
        work = work.with_row_index("__vpos").filter(~pl.col("__vpos").is_in(bad.implode())).drop("__vpos")
    good = work.select(table.column_names)
    out = pl.concat(issues, how="vertical_relaxed") if issues else empty_issues()
    return good, out
